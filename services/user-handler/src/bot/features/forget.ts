import { Composer, type Context } from 'telegraf';
import type { BotDeps } from '../deps.js';

/**
 * Deletes everything Herald keeps about a user: their profile, settings and conversation
 * (Postgres and every cache, their turns in groups included) and what the rate limiter
 * counts. /forget and the admin API's forget both run it.
 */
export async function forgetUser(
  deps: Pick<BotDeps, 'sessions' | 'limiter'>,
  userId: number,
): Promise<{ messages: number }> {
  const forgotten = await deps.sessions.forget(userId);
  await deps.limiter.forget(userId);
  return forgotten;
}

/** /forget: deletes everything stored about the user, then says what went. */
export function forgetFeature(deps: BotDeps): Composer<Context> {
  const feature = new Composer<Context>();
  feature.command('forget', async (ctx) => {
    const userId = ctx.from.id;
    const { messages } = await forgetUser(deps, userId);
    deps.logger.info(
      { update_id: ctx.update.update_id, chat_id: ctx.chat.id },
      'user data deleted on request',
    );
    await ctx.reply(
      `Done. I deleted your profile, your settings and ${messages} message${messages === 1 ? '' : 's'} ` +
        'of conversation history. If you write again, I start from scratch.',
    );
  });
  return feature;
}
