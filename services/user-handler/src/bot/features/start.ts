import { Composer, Markup, type Context } from 'telegraf';
import { escapeHtml } from '@herald/telegram';

/** /start: a welcome and quick actions. */
export function startFeature(): Composer<Context> {
  const feature = new Composer<Context>();
  feature.start(async (ctx) => {
    const name = escapeHtml(ctx.from.first_name);
    await ctx.reply(
      `Hello, <b>${name}</b>! I'm Herald: ask me about gold, tokenized real-world assets and ` +
        'digital-asset markets, and follow the news channel for curated stories.',
      {
        parse_mode: 'HTML',
        ...Markup.inlineKeyboard([
          [Markup.button.callback('Help', 'help'), Markup.button.callback('Status', 'status')],
          [
            Markup.button.callback('Models', 'models'),
            Markup.button.callback('Settings', 'settings'),
          ],
        ]),
      },
    );
  });
  return feature;
}
