import { Telegraf } from 'telegraf';
import type { BotDeps } from './context.js';
import { helpFeature } from './features/help.js';
import { startFeature } from './features/start.js';
import { statusFeature } from './features/status.js';
import { unhandledFeature } from './features/unhandled.js';

export type { BotDeps, StatusReport } from './context.js';
export { formatStatus } from './features/status.js';

export interface BotOptions {
  token: string;
  apiRoot: string;
}

/**
 * The bot's logic as a telegraf instance: feed it updates with `bot.handleUpdate`. It
 * makes every Bot API call through `apiRoot`, so a local Bot API server or a test double
 * can stand in for Telegram.
 */
export function createBot(options: BotOptions, deps: BotDeps): Telegraf {
  const bot = new Telegraf(options.token, {
    telegram: { apiRoot: options.apiRoot },
    // The update queue, not telegraf, bounds processing time.
    handlerTimeout: Number.POSITIVE_INFINITY,
  });

  const allowed = deps.allowedUserIds;
  if (allowed && allowed.length > 0) {
    bot.use(async (ctx, next) => {
      const userId = ctx.from?.id;
      if (
        userId !== undefined &&
        (allowed.includes(userId) || deps.adminUserIds.includes(userId))
      ) {
        return next();
      }
      if (ctx.chat?.type === 'private') {
        await ctx.reply('This bot is private. Ask its operator to add your user id.');
      }
    });
  }

  bot.use(startFeature(), helpFeature(), statusFeature(deps), unhandledFeature());

  bot.catch(async (error, ctx) => {
    deps.logger.error(
      { err: error, update_id: ctx.update.update_id, chat_id: ctx.chat?.id },
      'handling an update failed',
    );
    if (ctx.chat) {
      await ctx
        .reply('Sorry, something went wrong on my side. Please try again in a moment.')
        .catch(() => undefined);
    }
  });
  return bot;
}
