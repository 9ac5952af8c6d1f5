import { createAiClient, type AiClient, type ChatEvent, type ChatRequest } from '@herald/ai';
import { createDatabase, type Database } from '@herald/db';
import type { Logger } from '@herald/logger';
import type { ServiceRuntime } from '@herald/ops';
import {
  createSender,
  DEFAULT_SEND_LIMITS,
  sendLimitsFromEnv,
  type SendLimits,
} from '@herald/telegram';
import type { Telegraf } from 'telegraf';
import { AiSlots } from './ai-slots.js';
import { createArchive } from './archive.js';
import { createNewsAdmin, type NewsAdmin } from './news-admin.js';
import { apologize, createBot, type ModelChoice } from './bot/index.js';
import { startPolling, type Poller } from './ingress/polling.js';
import { DEFAULT_PROMPTS_DIR, loadPrompts } from './prompts.js';
import { createRateLimiter, type RateLimiter, type RateLimits } from './rate-limit.js';
import { createSessionStore, type SessionStore } from './sessions.js';
import { adminStatsReporter, statusReporter, type AiEndpoint } from './reports.js';
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
  /** The LLM endpoint, when one is configured. */
  ai?:
    | (AiEndpoint & {
        timeouts: { firstTokenMs: number; gapMs: number; totalMs: number };
        untaggedReasoning: boolean;
        maxConcurrency: number;
        historyTokens: number;
        maxTokens: number;
        promptsDir?: string | undefined;
        visionModel?: string | undefined;
        transcribeModel?: string | undefined;
        fileMaxBytes?: number | undefined;
      })
    | undefined;
  sendLimits?: Partial<SendLimits>;
  /** `AI_MODELS` and `AI_DEFAULT_MODEL`. */
  models: ModelChoice;
  limits: RateLimits;
  workers: { concurrency: number; claimIdleMs: number; heartbeatTtlMs?: number | undefined };
}

/** The user-handler's parts, built but not started. */
export interface UserHandler {
  bot: Telegraf;
  queue: UpdateQueue;
  sessions: SessionStore;
  limiter: RateLimiter;
  news: NewsAdmin;
  db: Database;
  ai: AiClient | undefined;
  /** Starts the workers, and with `polling` a getUpdates loop feeding the queue. */
  start(options: { polling: boolean }): void;
  /**
   * Stops polling, then the workers: the updates in hand get `answerGraceMs` (default
   * 10 s) to finish; answers still being written then are cut short (see
   * {@link answersCutShortOn}) and finished. Then closes the AI client.
   */
  stop(options?: { answerGraceMs?: number }): Promise<void>;
}

/**
 * Time answers in progress get to finish on shutdown before they are cut short. Most
 * answers end within it; cutting later would leave too little of the 25 s shutdown cap to
 * send the partial answers, record them and close the pools.
 */
export const ANSWER_GRACE_MS = 10_000;

/** What the user reads at the end of an answer a restart cut short (Markdown). */
export const CUT_SHORT_NOTE = '_(cut short: Herald is restarting; ask again)_';

/**
 * The AI client as the bot sees it: once `stopping` aborts, each answer being written ends
 * where it is, with {@link CUT_SHORT_NOTE} after it, and so does any answer that starts
 * after that. Its update is then finished and acknowledged by this pod: handing it to
 * another pod to redo would show the user a second, different answer after the part they
 * already read, where the queue promises each update answered once.
 */
export function answersCutShortOn(stopping: AbortSignal, client: AiClient): AiClient {
  async function* streamChat(
    chat: ChatRequest,
    options: { signal?: AbortSignal } = {},
  ): AsyncGenerator<ChatEvent> {
    const cutShort = async function* (): AsyncGenerator<ChatEvent> {
      yield { type: 'answer', text: `\n\n${CUT_SHORT_NOTE}` };
      yield { type: 'done', usage: undefined, finishReason: 'cut_short' };
    };
    if (stopping.aborted) {
      yield* cutShort();
      return;
    }
    const signal = options.signal ? AbortSignal.any([options.signal, stopping]) : stopping;
    try {
      yield* client.streamChat(chat, { ...options, signal });
    } catch (error) {
      // The caller's own reasons to stop (a newer message) keep their meaning.
      if (!stopping.aborted || options.signal?.aborted) throw error;
      yield* cutShort();
    }
  }
  return { ...client, streamChat };
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
          heartbeatTtlMs: options.workers.heartbeatTtlMs,
          dependencies: runtime.checks,
        })
      : createMemoryQueue({
          logger,
          registry,
          concurrency: options.workers.concurrency,
          dependencies: runtime.checks,
        });
  const sessions = createSessionStore({ db, store });
  const limiter = createRateLimiter({ store, limits: options.limits, registry });
  const news = createNewsAdmin({ db, store });
  const sender = createSender({ store, logger, registry, limits: options.sendLimits });
  const aiOptions = options.ai;
  const ai = aiOptions
    ? createAiClient({
        baseUrl: aiOptions.baseUrl,
        apiKey: aiOptions.apiKey,
        logger,
        registry,
        timeouts: aiOptions.timeouts,
        untaggedReasoning: aiOptions.untaggedReasoning,
        connections: aiOptions.maxConcurrency * 2,
      })
    : undefined;
  // Aborted on shutdown, once in-flight answers had their grace.
  const stopping = new AbortController();
  const bot = createBot(
    { ...options.telegram, sender },
    {
      ai:
        ai && aiOptions
          ? {
              client: answersCutShortOn(stopping.signal, ai),
              prompts: loadPrompts(aiOptions.promptsDir ?? DEFAULT_PROMPTS_DIR),
              slots: new AiSlots(aiOptions.maxConcurrency),
              historyTokens: aiOptions.historyTokens,
              maxTokens: aiOptions.maxTokens,
              stream: {
                drafts: { supported: true },
                editIntervalMs: 1_500,
                draftIntervalMs:
                  options.sendLimits?.draftIntervalMs ?? DEFAULT_SEND_LIMITS.draftIntervalMs,
                minGrowthChars: 24,
                placeholderDelayMs: 400,
              },
              waitingInChat: (chatId) => queue.waitingUpdates(chatId),
            }
          : undefined,
      logger,
      registry,
      adminUserIds: options.adminUserIds,
      allowedUserIds: options.allowedUserIds,
      sessions,
      limiter,
      models: options.models,
      status: statusReporter({
        runtime,
        queue,
        ai: ai && aiOptions ? { client: ai, models: aiOptions.models } : undefined,
        startedAt: Date.now(),
      }),
      adminStats: adminStatsReporter({ db, queue }),
      archive: createArchive(db),
      news,
      files: aiOptions
        ? {
            maxBytes: aiOptions.fileMaxBytes ?? 10 * 1024 * 1024,
            visionModel: aiOptions.visionModel,
            transcribeModel: aiOptions.transcribeModel,
            registry,
          }
        : undefined,
    },
  );

  let consumer: Consumer | undefined;
  let poller: Poller | undefined;
  return {
    bot,
    queue,
    sessions,
    limiter,
    news,
    db,
    ai,
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
    async stop({ answerGraceMs = ANSWER_GRACE_MS } = {}) {
      await poller?.stop();
      const workersStopped = consumer?.stop() ?? Promise.resolve();
      let grace: NodeJS.Timeout | undefined;
      const finishedInGrace = await Promise.race([
        workersStopped.then(() => true),
        new Promise<false>((resolve) => {
          grace = setTimeout(() => resolve(false), answerGraceMs);
        }),
      ]).finally(() => clearTimeout(grace));
      if (!finishedInGrace) {
        logger.info(
          { answer_grace_ms: answerGraceMs },
          'updates still in hand after the grace: cutting short the answers being written, whose users are told to ask again',
        );
      }
      stopping.abort();
      await workersStopped;
      // Every answer has ended, so nothing is left for the client to wait for.
      await ai?.close();
    },
  };
}

/** The parsed environment a user-handler is built from (the user-handler's, or local mode's). */
export interface HandlerSettingsEnv {
  ADMIN_USER_IDS: number[];
  ALLOWED_USER_IDS?: number[] | undefined;
  AI_BASE_URL?: string | undefined;
  AI_API_KEY?: string | undefined;
  AI_MODELS: string[];
  AI_DEFAULT_MODEL?: string | undefined;
  AI_FIRST_TOKEN_TIMEOUT: number;
  AI_TOKEN_GAP_TIMEOUT: number;
  AI_TOTAL_TIMEOUT: number;
  AI_UNTAGGED_REASONING: boolean;
  AI_VISION_MODEL?: string | undefined;
  AI_TRANSCRIBE_MODEL?: string | undefined;
  AI_FILE_MAX_BYTES: number;
  AI_MAX_CONCURRENCY: number;
  AI_HISTORY_TOKENS: number;
  AI_MAX_TOKENS: number;
  PROMPTS_DIR?: string | undefined;
  RATE_LIMIT_USER_PER_MINUTE: number;
  RATE_LIMIT_GLOBAL_PER_MINUTE: number;
  WORKER_CONCURRENCY: number;
  QUEUE_CLAIM_IDLE: number;
  QUEUE_HEARTBEAT_TTL: number;
  TELEGRAM_CHAT_INTERVAL: number;
  TELEGRAM_GROUP_INTERVAL: number;
  TELEGRAM_BOT_INTERVAL: number;
  TELEGRAM_DRAFT_INTERVAL: number;
}

/** The options of `createUserHandler` that come from the environment. */
export function optionsFromEnv(
  env: HandlerSettingsEnv,
): Omit<UserHandlerOptions, 'logger' | 'runtime' | 'telegram' | 'adminUserIds'> {
  return {
    allowedUserIds: env.ALLOWED_USER_IDS,
    ai: env.AI_BASE_URL
      ? {
          baseUrl: env.AI_BASE_URL,
          apiKey: env.AI_API_KEY,
          models: env.AI_MODELS,
          timeouts: {
            firstTokenMs: env.AI_FIRST_TOKEN_TIMEOUT,
            gapMs: env.AI_TOKEN_GAP_TIMEOUT,
            totalMs: env.AI_TOTAL_TIMEOUT,
          },
          untaggedReasoning: env.AI_UNTAGGED_REASONING,
          maxConcurrency: env.AI_MAX_CONCURRENCY,
          historyTokens: env.AI_HISTORY_TOKENS,
          maxTokens: env.AI_MAX_TOKENS,
          promptsDir: env.PROMPTS_DIR,
          visionModel: env.AI_VISION_MODEL,
          transcribeModel: env.AI_TRANSCRIBE_MODEL,
          fileMaxBytes: env.AI_FILE_MAX_BYTES,
        }
      : undefined,
    models: { available: env.AI_MODELS, default: env.AI_DEFAULT_MODEL },
    limits: {
      perUserPerMinute: env.RATE_LIMIT_USER_PER_MINUTE,
      globalPerMinute: env.RATE_LIMIT_GLOBAL_PER_MINUTE,
    },
    sendLimits: sendLimitsFromEnv(env),
    workers: {
      concurrency: env.WORKER_CONCURRENCY,
      claimIdleMs: env.QUEUE_CLAIM_IDLE,
      heartbeatTtlMs: env.QUEUE_HEARTBEAT_TTL,
    },
  };
}
