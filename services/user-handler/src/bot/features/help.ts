import { Composer, type Context } from 'telegraf';

export const HELP_TEXT = [
  '<b>What I can do</b>',
  '/start - welcome and quick actions',
  '/help - this list',
  '/gold, /rwa, /bd - the latest on gold, tokenized assets, partnerships (add a question)',
  '/summary - the last day of news, summarized',
  '/meaning &lt;term&gt; - what a market term means',
  '/status - is everything up: database, queue, AI',
  '/models - the AI models you can pick; /switch &lt;model&gt; picks one',
  '/settings - language, answer length, showing the reasoning',
  '/reset - start a new conversation',
  '/forget - delete everything I store about you',
  '',
  'In groups, mention me or reply to my messages.',
].join('\n');

/** /help and the Help button. */
export function helpFeature(): Composer<Context> {
  const feature = new Composer<Context>();
  feature.help((ctx) => ctx.reply(HELP_TEXT, { parse_mode: 'HTML' }));
  feature.action('help', async (ctx) => {
    await ctx.answerCbQuery();
    await ctx.reply(HELP_TEXT, { parse_mode: 'HTML' });
  });
  return feature;
}
