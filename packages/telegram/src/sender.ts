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

/**
 * How long the calls of one piece of work (an update) may still wait in all on Telegram's
 * 429 answers. Shared by those calls: each wait takes from it.
 */
export interface RateLimitBudget {
  remainingMs: number;
}

export interface SendOptions {
  signal?: AbortSignal | undefined;
  /** The 429 waits this call may take; without it, the sender's `maxRateLimitWaitMs`. */
  rateLimitBudget?: RateLimitBudget | undefined;
}

export interface Sender {
  /**
   * Calls `method` when the limits allow. Once `signal` aborts, the call stops without
   * retrying and rejects with the signal's reason (a RawCall may abort it itself).
   */
  call(
    method: string,
    payload: Record<string, unknown>,
    raw: RawCall,
    options?: SendOptions,
  ): Promise<unknown>;
}

/** Default bound on the 429 waits of one call or one update: far longer than a flood storm. */
export const DEFAULT_RATE_LIMIT_WAIT_MS = 10 * 60_000;

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

/**
 * Whether a failed call may have reached Telegram, which decides whether it may be sent
 * again: `answered` (Telegram answered with an error code), `not-sent` (the request never
 * left: no address, nobody listening, no connection in time), `maybe-sent` (the connection
 * broke or timed out once the request may have been written, or the answer was unreadable),
 * `not-network` (an abort, or a bug such as a TypeError in building the request).
 */
type Delivery = 'answered' | 'not-sent' | 'maybe-sent' | 'not-network';

interface TelegramFailure {
  code: number | undefined;
  description: string;
  retryAfterSeconds: number | undefined;
  delivery: Delivery;
}

// Raised while resolving or connecting, before a byte of the request is written. Node's
// (and node-fetch's, which telegraf uses) system codes, and undici's connect timeout.
const NOT_SENT_CODES = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ENETUNREACH',
  'EHOSTUNREACH',
  'ERR_SOCKET_CONNECTION_TIMEOUT',
  'UND_ERR_CONNECT_TIMEOUT',
]);

// Raised once a connection may carry the request: a reset, a broken pipe, a socket closed
// or timed out while waiting for the answer. Telegram may have carried the call out.
const MAYBE_SENT_CODES = new Set([
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'ECONNABORTED',
  'EPROTO',
  'ERR_STREAM_PREMATURE_CLOSE',
  'UND_ERR_SOCKET',
  'UND_ERR_CLOSED',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
]);

/** The error and the ones it wraps (`cause`; an AggregateError's `errors`). */
function* errorChain(error: unknown, depth = 0): Generator<Record<string, unknown>> {
  if (typeof error !== 'object' || error === null || depth > 4) return;
  const link = error as Record<string, unknown>;
  yield link;
  yield* errorChain(link.cause, depth + 1);
  if (Array.isArray(link.errors))
    for (const inner of link.errors) yield* errorChain(inner, depth + 1);
}

/**
 * Reads where a call that threw without an answer got to. telegraf calls through node-fetch,
 * which rejects with a FetchError: `type: 'system'` with the socket's `code`, or
 * `type: 'request-timeout'`; fetch (undici) rejects with a TypeError whose `cause` has the
 * code. An AbortError is the caller stopping the call, never a reason to send it again.
 */
function deliveryOf(error: unknown): Exclude<Delivery, 'answered'> {
  let network = false;
  for (const link of errorChain(error)) {
    if (link.name === 'AbortError') return 'not-network';
    const code = typeof link.code === 'string' ? link.code : undefined;
    if (code !== undefined && NOT_SENT_CODES.has(code)) return 'not-sent';
    if (code !== undefined && MAYBE_SENT_CODES.has(code)) network = true;
    // node-fetch wraps every failure of the request or its answer; a timeout signal aborts
    // with a TimeoutError. Either may come after Telegram got the request.
    if (link.name === 'FetchError' || link.name === 'TimeoutError') network = true;
  }
  return network ? 'maybe-sent' : 'not-network';
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
  const code = response?.error_code;
  return {
    code,
    description: response?.description ?? (error instanceof Error ? error.message : String(error)),
    retryAfterSeconds: response?.parameters?.retry_after,
    delivery: typeof code === 'number' ? 'answered' : deliveryOf(error),
  };
}

const IDEMPOTENT_METHODS = new Set(['sendChatAction', 'sendMessageDraft', 'answerCallbackQuery']);

/**
 * Methods a repeat cannot act on twice: reads, and calls that set a state rather than add
 * to it. An edit to the same text leaves the message as it is (Telegram answers "message is
 * not modified", which callers take as done); a typing action or a draft is replaced by the
 * next; a callback query is answered once. Every other method (sendMessage, sendPhoto,
 * sendMediaGroup, copyMessage, forwardMessage, createChatInviteLink…) adds something each
 * time it is carried out, and so does any method not known here.
 */
function isIdempotent(method: string, payload: Record<string, unknown>): boolean {
  // A repeat would drop the updates that arrived between the two calls.
  if (payload.drop_pending_updates === true) return false;
  return /^(get|set|edit|delete)[A-Z]/.test(method) || IDEMPOTENT_METHODS.has(method);
}

/**
 * Whether a failed call may go again without risking a second delivery. Telegram's 5xx
 * answers say the call failed (the Bot API documents no other meaning for them), except a
 * 504: the gateway stopped waiting for a Bot API server that may still carry it out.
 */
function mayRetry(failure: TelegramFailure, idempotent: boolean): boolean {
  switch (failure.delivery) {
    case 'answered':
      return (
        failure.code !== undefined && failure.code >= 500 && (idempotent || failure.code !== 504)
      );
    case 'not-sent':
      return true;
    case 'maybe-sent':
      return idempotent;
    case 'not-network':
      return false;
  }
}

/**
 * Whether a call that failed with `error` may still have been carried out by Telegram: the
 * connection broke or timed out after the request may have been written, or the gateway
 * answered 504. The sender never repeats such a send; a caller that would (an update retried
 * from the start) can ask this first.
 */
export function mayHaveReachedTelegram(error: unknown): boolean {
  const failure = failureOf(error);
  return failure.delivery === 'maybe-sent' || failure.code === 504;
}

/** Waits `ms`, or rejects with the signal's reason as soon as it aborts. */
function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason as Error);
      return;
    }
    const stop = () => {
      clearTimeout(timer);
      reject(signal?.reason as Error);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', stop);
      resolve();
    }, ms);
    signal?.addEventListener('abort', stop, { once: true });
  });
}

/**
 * One sender for every Bot API call, shared by all pods through Redis (or in-process in
 * local mode): it spaces messages to stay under Telegram's limits for the whole bot and
 * each chat, pauses a chat for every pod when Telegram answers 429 with `retry_after`,
 * and resends as plain text when Telegram cannot parse the HTML.
 *
 * A 429 is Telegram asking to wait, not a failure: the call waits `retry_after` and goes
 * again, as often as Telegram asks, within its rate-limit budget (the update's, or
 * `maxRateLimitWaitMs` per call); only then does it fail with the 429.
 *
 * It sends a failed call again (with backoff, at most `maxRetries` times) only when that
 * cannot deliver it twice:
 * - Telegram answered 5xx (but not a 504 for a method that adds something): it did not
 *   carry the call out;
 * - the request never left: DNS failure (ENOTFOUND, EAI_AGAIN), connection refused, no
 *   connection in time (UND_ERR_CONNECT_TIMEOUT);
 * - any network error of a method that a repeat cannot act on twice: reads, edits,
 *   settings, sendChatAction, sendMessageDraft, answerCallbackQuery.
 * A send (sendMessage, sendPhoto, copyMessage…) whose connection broke or timed out once
 * the request may have been written (ECONNRESET, EPIPE, a timeout, an unreadable answer)
 * is not sent again: Telegram may have delivered it. It fails with the error and the
 * caller, which knows what the update has done, decides. Errors that are not network
 * errors (a TypeError in building the request, an abort) are never retried.
 * Every wait (a slot, a 429 pause, a backoff) ends as soon as `signal` aborts.
 */
export function createSender(deps: {
  store: StateStore;
  logger: Logger;
  registry?: Registry | undefined;
  limits?: Partial<SendLimits>;
  /** Retries of one call (5xx, a request that never left) before giving up. */
  maxRetries?: number;
  /** Most time one call waits on 429s in all, when the caller gives no budget. */
  maxRateLimitWaitMs?: number;
}): Sender {
  const limits = { ...DEFAULT_SEND_LIMITS, ...deps.limits };
  const scheduler =
    deps.store.kind === 'redis' ? redisScheduler(deps.store.redis) : memoryScheduler();
  const maxRetries = deps.maxRetries ?? 4;
  const maxRateLimitWaitMs = deps.maxRateLimitWaitMs ?? DEFAULT_RATE_LIMIT_WAIT_MS;
  let reserveFailing = false;
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
      const budget = options.rateLimitBudget ?? { remainingMs: maxRateLimitWaitMs };
      let payload = original;
      const chatId = payload.chat_id;
      const limited =
        (MESSAGE_METHODS.has(method) || method === 'sendMessageDraft') && chatId !== undefined;
      const chat = String(chatId);
      const group = typeof chatId === 'string' || (typeof chatId === 'number' && chatId < 0);
      const idempotent = isIdempotent(method, original);
      // Failures that count toward maxRetries; 429s take from the budget instead.
      let attempt = 0;
      for (let tries = 1; ; tries += 1) {
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
            .then(
              (wait) => {
                reserveFailing = false;
                return wait;
              },
              (error: unknown) => {
                // Without Redis the limits cannot be shared; sending a little fast beats not
                // sending. One line per outage: every call meanwhile would say the same.
                (reserveFailing ? deps.logger.debug : deps.logger.warn).call(
                  deps.logger,
                  { method, reason: error instanceof Error ? error.message : String(error) },
                  'could not reserve a send slot (is Redis up?); sending without the shared limits until it is back',
                );
                reserveFailing = true;
                return 0;
              },
            );
          waits?.observe(wait / 1000);
          if (wait > 0) await sleep(wait, signal);
        }
        signal?.throwIfAborted();
        try {
          const result = await raw(method, payload);
          requests?.inc({ method, outcome: 'ok' });
          return result;
        } catch (error) {
          signal?.throwIfAborted();
          const failure = failureOf(error);
          const context = { method, chat_id: chatId, attempt: tries, code: failure.code };
          const retryAfterMs = Math.max(1, failure.retryAfterSeconds ?? 1) * 1000;
          if (failure.code === 429 && retryAfterMs <= budget.remainingMs) {
            const seconds = retryAfterMs / 1000;
            budget.remainingMs -= retryAfterMs;
            requests?.inc({ method, outcome: 'rate_limited' });
            // One line per call held back, not per 429: a storm answers many in a row.
            const log = tries === 1 ? deps.logger.warn : deps.logger.debug;
            log.call(
              deps.logger,
              { ...context, retry_after_s: seconds, budget_left_s: budget.remainingMs / 1000 },
              'Telegram asked to slow down (429); pausing this chat for every pod and sending ' +
                'again after retry_after',
            );
            const paused = await scheduler.pause(limited ? chat : '*', seconds * 1000).then(
              () => true,
              () => false,
            );
            // A limited call waits for its slot behind the pause; any other waits here.
            if (!limited || !paused) await sleep(seconds * 1000, signal);
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
          if (mayRetry(failure, idempotent) && attempt < maxRetries) {
            requests?.inc({ method, outcome: 'retried' });
            deps.logger.warn(
              { ...context, reason: failure.description },
              'Bot API call failed; retrying with backoff',
            );
            await sleep(Math.min(250 * 2 ** attempt, 5_000), signal);
            attempt += 1;
            continue;
          }
          requests?.inc({ method, outcome: 'failed' });
          if (failure.code === 429) {
            deps.logger.warn(
              { ...context, retry_after_s: retryAfterMs / 1000 },
              'Telegram kept answering 429 past the time this work may wait for it; giving up ' +
                'on the call. If this repeats, the bot sends more than Telegram allows: raise ' +
                'TELEGRAM_*_INTERVAL',
            );
          }
          if (failure.delivery === 'maybe-sent' && !idempotent) {
            deps.logger.warn(
              { ...context, reason: failure.description },
              'Bot API call failed after the request may have reached Telegram; not sending it ' +
                'again, as Telegram may have delivered it. The caller decides (an update is retried ' +
                'from its journal)',
            );
          }
          throw error;
        }
      }
    },
  };
}
