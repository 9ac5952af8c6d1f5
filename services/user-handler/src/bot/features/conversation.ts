import { Composer, type Context } from 'telegraf';
import type { BotDeps } from '../context.js';

/** /reset: the next message starts a new conversation. */
export function conversationFeature(deps: BotDeps): Composer<Context> {
  const feature = new Composer<Context>();
  feature.command('reset', async (ctx) => {
    await deps.sessions.reset(ctx.chat.id);
    await ctx.reply('Conversation cleared. Your next message starts a new one.');
  });
  return feature;
}
