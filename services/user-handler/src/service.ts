import { createDatabase } from '@herald/db';
import type { Logger } from '@herald/logger';
import type { ServiceRuntime } from '@herald/ops';
import type { Telegraf } from 'telegraf';
import { apologize, createBot, type ModelChoice } from './bot/index.js';
import { startPolling, type Poller } from './polling.js';
import { createRateLimiter, type RateLimits } from './rate-limit.js';
import { createSessionStore, type SessionStore } from './sessions.js';
import { adminStatsReporter, statusReporter, type AiEndpoint } from './status.js';
import { botUpdateHandler, createRedisJournal } from './updates/journal.js';
import { createMemoryQueue } from './updates/memory-queue.js';
import type { Consumer, UpdateQueue } from './updates/queue.js';
import { createRedisQueue } from './updates/redis-queue.js';

export interface UserHandlerOptions {
  logger: Logger;
  runtime: ServiceRuntime;
  telegram: { token: string; apiRoot: string };
  adminUserIds: readonly number[];
  allowedUserIds?: readonly number[] | undefined;
  /** The LLM endpoint, when one is configured (probed by /status). */
  ai?: AiEndpoint | undefined;
  /** `AI_MODELS` and `AI_DEFAULT_MODEL`. */
  models: ModelChoice;
  limits: RateLimits;
  workers: { concurrency: number; claimIdleMs: number };
}

/** The user-handler's parts, built but not started. */
export interface UserHandler {
  bot: Telegraf;
  queue: UpdateQueue;
  sessions: SessionStore;
  /** Starts the workers, and with `polling` a getUpdates loop feeding the queue. */
  start(options: { polling: boolean }): void;
  /** Stops polling, then the workers (finishing the updates in hand). */
  stop(): Promise<void>;
}

/**
 * Builds the bot and everything around it from the runtime: the update queue (Redis, or
 * in-process in local mode), sessions, rate limits and the workers that run the bot.
 */
export function createUserHandler(options: UserHandlerOptions): UserHandler {
  const { logger, runtime } = options;
  const { store, registry } = runtime;
  const db = createDatabase(runtime.pool);
  const queue =
    store.kind === 'redis'
      ? createRedisQueue({
          redis: store.redis,
          logger,
          registry,
          concurrency: options.workers.concurrency,
          claimIdleMs: options.workers.claimIdleMs,
        })
      : createMemoryQueue({ logger, registry, concurrency: options.workers.concurrency });
  const sessions = createSessionStore({ db, store });
  const bot = createBot(options.telegram, {
    logger,
    adminUserIds: options.adminUserIds,
    allowedUserIds: options.allowedUserIds,
    sessions,
    limiter: createRateLimiter({ store, limits: options.limits, registry }),
    models: options.models,
    status: statusReporter({ runtime, queue, ai: options.ai, startedAt: Date.now() }),
    adminStats: adminStatsReporter({ db, queue }),
  });

  let consumer: Consumer | undefined;
  let poller: Poller | undefined;
  return {
    bot,
    queue,
    sessions,
    start({ polling }) {
      consumer = queue.consume({
        handler: botUpdateHandler(
          bot,
          store.kind === 'redis' ? createRedisJournal(store.redis) : undefined,
        ),
        onDeadLetter: (entry) => apologize(bot, entry.chatId),
      });
      if (polling) poller = startPolling(bot.telegram, queue, logger);
    },
    async stop() {
      await poller?.stop();
      await consumer?.stop();
    },
  };
}
