import { Telegraf } from 'telegraf';
import { journalMiddleware } from '../updates/journal.js';
import type { BotDeps } from './context.js';
import type { Sender } from '@herald/telegram';
import { adminFeature } from './features/admin.js';
import { chatFeature } from './features/chat.js';
import { conversationFeature } from './features/conversation.js';
import { filesFeature } from './features/files.js';
import { forgetFeature } from './features/forget.js';
import { helpFeature } from './features/help.js';
import { marketFeature } from './features/market.js';
import { modelsFeature } from './features/models.js';
import { settingsFeature } from './features/settings.js';
import { startFeature } from './features/start.js';
import { statusFeature } from './features/status.js';
import { unhandledFeature } from './features/unhandled.js';
import { addressedOnly, allowlist, rateLimit, recordSeen } from './guards.js';

export type { AdminStats, BotDeps, ChatAi, ModelChoice, StatusReport } from './context.js';
export { unavailableText } from './features/chat.js';
export { formatAdminStats } from './features/admin.js';
export { currentModel } from './features/models.js';
export { formatStatus } from './features/status.js';

export interface BotOptions {
  token: string;
  apiRoot: string;
  /** Every Bot API call goes through it (rate limits, 429, plain-text fallback). */
  sender?: Sender | undefined;
}

type CallApi = Telegraf['telegram']['callApi'];

/** Routes a Telegram instance's calls through the shared sender. */
function throughSender(telegram: Telegraf['telegram'], sender: Sender): void {
  const callApi = telegram.callApi.bind(telegram);
  // The caller's signal (polling's stop) also ends the sender's waits and retries.
  telegram.callApi = ((method: string, payload: object, options?: { signal?: AbortSignal }) =>
    sender.call(
      method,
      payload as Record<string, unknown>,
      (m, p) => callApi(m as never, p as never, options as never),
      options?.signal ? { signal: options.signal } : {},
    )) as CallApi;
}

/** Commands shown in Telegram's menu (setMyCommands). */
export const BOT_COMMANDS = [
  { command: 'start', description: 'Welcome and quick actions' },
  { command: 'help', description: 'What I can do' },
  { command: 'gold', description: 'Gold and precious metals, from the latest news' },
  { command: 'rwa', description: 'Tokenized real-world assets, from the latest news' },
  { command: 'bd', description: 'Partnerships and deals, from the latest news' },
  { command: 'summary', description: 'The last day of news, summarized' },
  { command: 'meaning', description: 'What a market term means' },
  { command: 'status', description: 'Is everything up' },
  { command: 'models', description: 'AI models you can pick' },
  { command: 'settings', description: 'Language, answer length, reasoning' },
  { command: 'reset', description: 'Start a new conversation' },
  { command: 'forget', description: 'Delete everything stored about you' },
];

/**
 * The bot's logic as a telegraf instance: the update workers feed it with
 * `bot.handleUpdate`. Every Bot API call goes to `apiRoot`, so a local Bot API server or
 * a test double can stand in for Telegram. A failing update is thrown back to the worker,
 * which retries it and finally dead-letters it; nothing is swallowed here.
 */
export function createBot(options: BotOptions, deps: BotDeps): Telegraf {
  const bot = new Telegraf(options.token, {
    telegram: { apiRoot: options.apiRoot },
    // The update queue, not telegraf, bounds processing time.
    handlerTimeout: Number.POSITIVE_INFINITY,
  });

  const sender = options.sender;
  if (sender) {
    throughSender(bot.telegram, sender);
    // Each update gets its own Telegram instance: route it too, before the journal wraps it.
    bot.use((ctx, next) => {
      throughSender(ctx.telegram, sender);
      return next();
    });
  }
  bot.use(journalMiddleware(), recordSeen(deps), addressedOnly(), allowlist(deps), rateLimit(deps));
  bot.use(
    startFeature(),
    helpFeature(),
    statusFeature(deps),
    modelsFeature(deps),
    settingsFeature(deps),
    conversationFeature(deps),
    marketFeature(deps),
    forgetFeature(deps),
    adminFeature(deps),
    chatFeature(deps),
    filesFeature(deps),
    unhandledFeature(),
  );
  bot.catch((error) => {
    throw error;
  });
  return bot;
}

/** Tells the user, in the update's chat, that their update could not be handled. */
export async function apologize(bot: Telegraf, chatId: number): Promise<void> {
  if (chatId === 0) return;
  await bot.telegram.sendMessage(
    chatId,
    'Sorry, something went wrong on my side and I could not answer that. Please try again later.',
  );
}
