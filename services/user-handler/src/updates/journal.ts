import { AsyncLocalStorage } from 'node:async_hooks';
import type { Redis } from '@herald/redis';
import type { Context, Middleware, Telegraf } from 'telegraf';
import type { QueuedUpdate, UpdateHandler } from './queue.js';

/**
 * The Bot API calls an update's handling has made, kept until the update is finished.
 * When a worker dies mid-update and another takes it over, the calls already made are
 * answered from here instead of being sent again, so the user sees each reply once.
 */
export interface CallJournal {
  load(updateId: number): Promise<Map<number, unknown>>;
  record(updateId: number, sequence: number, result: unknown): Promise<void>;
}

export const journalKey = (updateId: number): string => `update-calls:${updateId}`;
/** As long as Telegram may redeliver the update. */
const JOURNAL_TTL_SECONDS = 24 * 60 * 60;

export function createRedisJournal(redis: Redis): CallJournal {
  return {
    async load(updateId) {
      const stored = await redis.hgetall(journalKey(updateId));
      return new Map(Object.entries(stored).map(([seq, json]) => [Number(seq), JSON.parse(json)]));
    },
    async record(updateId, sequence, result) {
      const [[error] = [null]] =
        (await redis
          .multi()
          .hset(journalKey(updateId), String(sequence), JSON.stringify(result ?? null))
          .expire(journalKey(updateId), JOURNAL_TTL_SECONDS)
          .exec()) ?? [];
      if (error) throw error;
    },
  };
}

interface JournalScope {
  updateId: number;
  journal: CallJournal;
  replay: Map<number, unknown>;
  next: number;
}

const scope = new AsyncLocalStorage<JournalScope>();

/** Calls that change nothing, or that are harmless to repeat, go straight through. */
const unjournaled = (method: string) => method.startsWith('get') || method === 'sendChatAction';

/**
 * First middleware of the bot: routes the context's Bot API calls through the journal of
 * the update being handled (when there is one).
 */
export function journalMiddleware(): Middleware<Context> {
  return (ctx, next) => {
    const current = scope.getStore();
    if (current) {
      const telegram = ctx.telegram;
      const callApi = telegram.callApi.bind(telegram);
      telegram.callApi = (async (method: string, payload: object, options?: object) => {
        if (unjournaled(method)) return callApi(method as never, payload as never, options);
        const sequence = current.next++;
        if (current.replay.has(sequence)) return current.replay.get(sequence);
        const result: unknown = await callApi(method as never, payload as never, options);
        await current.journal.record(current.updateId, sequence, result);
        return result;
      }) as typeof telegram.callApi;
    }
    return next();
  };
}

/**
 * The workers' handler: runs each update through the bot's logic. Each attempt starts from
 * the journal, so a retry or another worker's redelivery never repeats a sent call. The
 * queue deletes the journal when it finishes the update.
 */
export function botUpdateHandler(bot: Telegraf, journal?: CallJournal): UpdateHandler {
  return async (entry: QueuedUpdate) => {
    if (!journal) {
      await bot.handleUpdate(entry.update);
      return;
    }
    const updateId = entry.update.update_id;
    const replay = await journal.load(updateId);
    await scope.run({ updateId, journal, replay, next: 0 }, () => bot.handleUpdate(entry.update));
  };
}
