import { Composer, type Context } from 'telegraf';
import { escapeHtml } from '@herald/telegram';
import { replyHtml } from '../reply-html.js';
import { HELP_TEXT } from './help.js';

/** Registered last: unknown commands get help instead of silence. */
export function unhandledFeature(): Composer<Context> {
  const feature = new Composer<Context>();
  feature.on('message', async (ctx, next) => {
    if (!('text' in ctx.message)) return next();
    // Only what is meant for the bot gets here (see guards.ts), in any kind of chat.
    const text = ctx.message.text;
    if (text.startsWith('/')) {
      const command = escapeHtml(text.split(/\s/, 1)[0] ?? text);
      // The unknown command is the user's text, up to a whole message long.
      await replyHtml(ctx, `I don't know ${command}.\n\n${HELP_TEXT}`);
      return;
    }
    await ctx.reply(`Chatting with the AI is not available on this instance.\n\n${HELP_TEXT}`, {
      parse_mode: 'HTML',
    });
  });
  feature.on('callback_query', (ctx) => ctx.answerCbQuery('This button is no longer active.'));
  return feature;
}
