import { Telegraf } from 'telegraf';
import type { BotDeps } from './deps.js';
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
import { addressedOnly, allowlist, blockedUsers, rateLimit, recordSeen } from './guards.js';
import { sendPathMiddleware, useSendPath } from './send-path.js';

export type { AdminStats, BotDeps, ChatAi, ModelChoice, StatusReport } from './deps.js';
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

  useSendPath(bot.telegram, options.sender);
  bot.use(
    sendPathMiddleware(options.sender),
    recordSeen(deps),
    addressedOnly(),
    allowlist(deps),
    blockedUsers(deps),
    rateLimit(deps),
  );
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
