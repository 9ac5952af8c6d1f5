import type { Logger } from '@herald/logger';
import { Counter, Histogram, type Registry } from '@herald/ops';
import type { StateStore } from '@herald/redis';
import { plainText } from './format.js';

/** Telegram's flood limits, as the spacing Herald keeps between calls. */
export interface SendLimits {
  /** Between two messages to one private chat (Telegram: about 1 a second). */
  perChatIntervalMs: number;
  /** Between two messages to one group (Telegram: 20 a minute). */
  perGroupIntervalMs: number;
  /** Between two messages of the bot as a whole (Telegram: about 30 a second). */
  botIntervalMs: number;
  /** Between two drafts (sendMessageDraft) to one chat; drafts are not messages. */
  draftIntervalMs: number;
}

export const DEFAULT_SEND_LIMITS: SendLimits = {
  perChatIntervalMs: 1_000,
  perGroupIntervalMs: 3_000,
  botIntervalMs: 34,
  draftIntervalMs: 250,
};

/** The limits set by `TELEGRAM_*_INTERVAL` (`sendLimitsEnv` of @herald/config). */
export function sendLimitsFromEnv(env: {
  TELEGRAM_CHAT_INTERVAL: number;
  TELEGRAM_GROUP_INTERVAL: number;
  TELEGRAM_BOT_INTERVAL: number;
  TELEGRAM_DRAFT_INTERVAL: number;
}): SendLimits {
  return {
    perChatIntervalMs: env.TELEGRAM_CHAT_INTERVAL,
    perGroupIntervalMs: env.TELEGRAM_GROUP_INTERVAL,
    botIntervalMs: env.TELEGRAM_BOT_INTERVAL,
    draftIntervalMs: env.TELEGRAM_DRAFT_INTERVAL,
  };
}

/** Calls a Bot API method for real; the sender decides when and how often. */
export type RawCall = (method: string, payload: Record<string, unknown>) => Promise<unknown>;

export interface Sender {
  /**
   * Calls `method` when the limits allow. Once `signal` aborts, the call stops without
   * retrying and rejects with the signal's reason (a RawCall may abort it itself).
   */
  call(
    method: string,
    payload: Record<string, unknown>,
    raw: RawCall,
    options?: { signal?: AbortSignal },
  ): Promise<unknown>;
}

/** Methods that post to a chat and count against Telegram's message limits. */
const MESSAGE_METHODS = new Set([
  'sendMessage',
  'editMessageText',
  'editMessageCaption',
  'sendPhoto',
  'sendDocument',
  'sendVoice',
  'sendMediaGroup',
  'copyMessage',
  'forwardMessage',
]);
const FORMATTED_METHODS = new Set(['sendMessage', 'editMessageText', 'sendMessageDraft']);

// One round trip: reserves the next free slot for a call, bot-wide and for its chat,
// behind any pause a 429 set, and returns how long to wait for it. Time is Redis's, so
// every pod agrees; the reservation is what keeps the pods together under the limits.
const SCHEDULE = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local function at(key) return tonumber(redis.call('GET', key) or '0') end
local bot_interval, chat_interval, burst = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local chat_next = at(KEYS[2])
local slot = math.max(now, at(KEYS[3]), at(KEYS[4]), chat_next - burst)
if bot_interval > 0 then slot = math.max(slot, at(KEYS[1])) end
local ttl = slot - now + 60000
if bot_interval > 0 then redis.call('SET', KEYS[1], slot + bot_interval, 'PX', ttl) end
redis.call('SET', KEYS[2], math.max(chat_next, slot) + chat_interval, 'PX', ttl)
return slot - now`;

const PAUSE = `
local t = redis.call('TIME')
local until_ms = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) + tonumber(ARGV[1])
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
if until_ms > current then redis.call('SET', KEYS[1], until_ms, 'PX', tonumber(ARGV[1]) + 1000) end
return until_ms`;

interface Scheduler {
  /**
   * Milliseconds to wait before this call may go. `burstMs` lets a call go that much
   * ahead of its chat's spacing (drafts: the first words right after "thinking…").
   */
  reserve(
    chat: string,
    botIntervalMs: number,
    chatIntervalMs: number,
    burstMs: number,
  ): Promise<number>;
  /** Holds back every call to this chat (or the bot: chat '*') for `ms`. */
  pause(chat: string, ms: number): Promise<void>;
}

const keys = (chat: string) => [
  'send:next:bot',
  `send:next:${chat}`,
  'send:pause:*',
  `send:pause:${chat}`,
];

function redisScheduler(redis: Extract<StateStore, { kind: 'redis' }>['redis']): Scheduler {
  redis.defineCommand('heraldSendSchedule', { numberOfKeys: 4, lua: SCHEDULE });
  redis.defineCommand('heraldSendPause', { numberOfKeys: 1, lua: PAUSE });
  const commands = redis as unknown as {
    heraldSendSchedule(...args: (string | number)[]): Promise<number>;
    heraldSendPause(key: string, ms: number): Promise<number>;
  };
  return {
    reserve: (chat, botMs, chatMs, burstMs) =>
      commands.heraldSendSchedule(...keys(chat), botMs, chatMs, burstMs),
    pause: async (chat, ms) => {
      await commands.heraldSendPause(`send:pause:${chat}`, ms);
    },
  };
}

function memoryScheduler(): Scheduler {
  const next = new Map<string, number>();
  const at = (key: string) => next.get(key) ?? 0;
  return {
    reserve(chat, botMs, chatMs, burstMs) {
      const [bot, chatKey, pauseAll, pauseChat] = keys(chat) as [string, string, string, string];
      const now = Date.now();
      const chatNext = at(chatKey);
      let slot = Math.max(now, at(pauseAll), at(pauseChat), chatNext - burstMs);
      if (botMs > 0) slot = Math.max(slot, at(bot));
      if (botMs > 0) next.set(bot, slot + botMs);
      next.set(chatKey, Math.max(chatNext, slot) + chatMs);
      if (next.size > 10_000) for (const [key, value] of next) if (value < now) next.delete(key);
      return Promise.resolve(slot - now);
    },
    pause(chat, ms) {
      const key = `send:pause:${chat}`;
      next.set(key, Math.max(at(key), Date.now() + ms));
      return Promise.resolve();
    },
  };
}

interface TelegramFailure {
  code: number | undefined;
  description: string;
  retryAfterSeconds: number | undefined;
}

/** Reads telegraf's TelegramError (and plain network errors) into one shape. */
function failureOf(error: unknown): TelegramFailure {
  const response = (
    error as {
      response?: {
        error_code?: number;
        description?: string;
        parameters?: { retry_after?: number };
      };
    } | null
  )?.response;
  return {
    code: response?.error_code,
    description: response?.description ?? (error instanceof Error ? error.message : String(error)),
    retryAfterSeconds: response?.parameters?.retry_after,
  };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * One sender for every Bot API call, shared by all pods through Redis (or in-process in
 * local mode): it spaces messages to stay under Telegram's limits for the whole bot and
 * each chat, pauses a chat for every pod when Telegram answers 429 with `retry_after`,
 * retries 5xx and network errors with backoff, and resends as plain text when Telegram
 * cannot parse the HTML.
 */
export function createSender(deps: {
  store: StateStore;
  logger: Logger;
  registry?: Registry | undefined;
  limits?: Partial<SendLimits>;
  /** Retries of one call (429, 5xx, network) before giving up. */
  maxRetries?: number;
}): Sender {
  const limits = { ...DEFAULT_SEND_LIMITS, ...deps.limits };
  const scheduler =
    deps.store.kind === 'redis' ? redisScheduler(deps.store.redis) : memoryScheduler();
  const maxRetries = deps.maxRetries ?? 4;
  const requests = deps.registry
    ? new Counter({
        name: 'herald_telegram_requests_total',
        help: 'Bot API calls by method and outcome: ok, rate_limited, retried, plain_fallback, failed',
        labelNames: ['method', 'outcome'],
        registers: [deps.registry],
      })
    : undefined;
  const waits = deps.registry
    ? new Histogram({
        name: 'herald_telegram_wait_seconds',
        help: 'Time a Bot API call waited for its slot under the rate limits',
        buckets: [0, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30],
        registers: [deps.registry],
      })
    : undefined;

  return {
    async call(method, original, raw, options = {}) {
      const { signal } = options;
      let payload = original;
      const chatId = payload.chat_id;
      const limited =
        (MESSAGE_METHODS.has(method) || method === 'sendMessageDraft') && chatId !== undefined;
      const chat = String(chatId);
      const group = typeof chatId === 'string' || (typeof chatId === 'number' && chatId < 0);
      for (let attempt = 0; ; attempt += 1) {
        if (limited) {
          const draft = method === 'sendMessageDraft';
          const wait = await scheduler
            .reserve(
              draft ? `draft:${chat}` : chat,
              draft ? 0 : limits.botIntervalMs,
              draft
                ? limits.draftIntervalMs
                : group
                  ? limits.perGroupIntervalMs
                  : limits.perChatIntervalMs,
              draft ? limits.draftIntervalMs : 0,
            )
            .catch((error: unknown) => {
              // Without Redis the limits cannot be shared; sending a little fast beats not sending.
              deps.logger.warn(
                { err: error, method },
                'could not reserve a send slot (is Redis up?); sending now',
              );
              return 0;
            });
          waits?.observe(wait / 1000);
          if (wait > 0) await sleep(wait);
        }
        signal?.throwIfAborted();
        try {
          const result = await raw(method, payload);
          requests?.inc({ method, outcome: 'ok' });
          return result;
        } catch (error) {
          signal?.throwIfAborted();
          const failure = failureOf(error);
          const context = { method, chat_id: chatId, attempt: attempt + 1, code: failure.code };
          if (failure.code === 429 && attempt < maxRetries) {
            const seconds = failure.retryAfterSeconds ?? 1;
            requests?.inc({ method, outcome: 'rate_limited' });
            deps.logger.warn(
              { ...context, retry_after_s: seconds },
              'Telegram asked to slow down (429); pausing this chat for every pod',
            );
            await scheduler
              .pause(limited ? chat : '*', seconds * 1000)
              .catch(() => sleep(seconds * 1000));
            continue;
          }
          if (
            failure.code === 400 &&
            /can't parse entities/i.test(failure.description) &&
            FORMATTED_METHODS.has(method) &&
            payload.parse_mode !== undefined
          ) {
            requests?.inc({ method, outcome: 'plain_fallback' });
            deps.logger.warn(
              { ...context, reason: failure.description },
              'Telegram could not parse the HTML; sending the same text as plain text',
            );
            const rest = { ...payload };
            delete rest.parse_mode;
            payload = {
              ...rest,
              ...(typeof rest.text === 'string' ? { text: plainText(rest.text) } : {}),
            };
            continue;
          }
          const transient = failure.code === undefined || failure.code >= 500;
          if (transient && attempt < maxRetries) {
            requests?.inc({ method, outcome: 'retried' });
            deps.logger.warn(
              { ...context, reason: failure.description },
              'Bot API call failed; retrying with backoff',
            );
            await sleep(Math.min(250 * 2 ** attempt, 5_000));
            continue;
          }
          requests?.inc({ method, outcome: 'failed' });
          throw error;
        }
      }
    },
  };
}
