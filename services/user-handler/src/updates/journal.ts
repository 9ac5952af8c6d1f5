import { AsyncLocalStorage } from 'node:async_hooks';
import { createHash } from 'node:crypto';
import type { Redis } from '@herald/redis';
import type { Telegraf } from 'telegraf';
import type { ApiCall } from '../bot/send-path.js';
import type { QueuedUpdate, UpdateHandler } from './queue.js';

/**
 * The Bot API calls an update's handling has made, kept until the update is finished.
 * When a worker dies mid-update and another takes it over, the calls already made are
 * answered from here instead of being sent again, so the user sees each reply once.
 */
export interface CallJournal {
  load(updateId: number): Promise<Map<string, unknown>>;
  record(updateId: number, call: string, result: unknown): Promise<void>;
}

export const journalKey = (updateId: number): string => `update-calls:${updateId}`;
/** As long as Telegram may redeliver the update. */
const JOURNAL_TTL_SECONDS = 24 * 60 * 60;

export function createRedisJournal(redis: Redis): CallJournal {
  return {
    async load(updateId) {
      const stored = await redis.hgetall(journalKey(updateId));
      return new Map(Object.entries(stored).map(([call, json]) => [call, JSON.parse(json)]));
    },
    async record(updateId, call, result) {
      const [[error] = [null]] =
        (await redis
          .multi()
          .hset(journalKey(updateId), call, JSON.stringify(result ?? null))
          .expire(journalKey(updateId), JOURNAL_TTL_SECONDS)
          .exec()) ?? [];
      if (error) throw error;
    },
  };
}

interface JournalScope {
  updateId: number;
  journal: CallJournal;
  replay: Map<string, unknown>;
  /** How often each (method, payload) was called so far in this attempt. */
  occurrences: Map<string, number>;
  /** Aborted once another worker has taken the update over: it answers from then on. */
  signal?: AbortSignal | undefined;
}

const scope = new AsyncLocalStorage<JournalScope>();

/**
 * Calls that change nothing, or that are harmless to repeat (a typing action, a draft
 * that Telegram replaces anyway), go straight through.
 */
const unjournaled = (method: string) =>
  method.startsWith('get') || method === 'sendChatAction' || method === 'sendMessageDraft';

/**
 * A call is known by its method and payload (and how many identical calls came before):
 * a deterministic handler run again makes the same calls and gets the recorded results,
 * while a call with new content (an LLM's different second answer) is made for real.
 */
function callKey(scope: JournalScope, method: string, payload: object): string {
  const digest = createHash('sha1')
    .update(method)
    .update(JSON.stringify(payload))
    .digest('base64url');
  const count = scope.occurrences.get(digest) ?? 0;
  scope.occurrences.set(digest, count + 1);
  return `${digest}:${count}`;
}

/**
 * The signal of the update being handled: aborted once another worker has taken it over.
 * Long work for the update (an LLM answer) stops on it, since nothing it produces can be
 * sent any more.
 */
export function currentUpdateSignal(): AbortSignal | undefined {
  return scope.getStore()?.signal;
}

/**
 * The journal stage of the send path (see `useSendPath`), bound to the update being handled
 * when there is one. Once another worker has taken the update over, every further call
 * fails with the takeover as its reason: that worker answers now, and a call from here too
 * would show the user a second reply.
 */
export function journalStage(next: ApiCall): ApiCall {
  const current = scope.getStore();
  if (!current) return next;
  return async (method, payload, options) => {
    // Typing actions and drafts included: the user would see them too.
    current.signal?.throwIfAborted();
    if (unjournaled(method)) return next(method, payload, options);
    const key = callKey(current, method, payload);
    if (current.replay.has(key)) return current.replay.get(key);
    const result: unknown = await next(method, payload, options);
    await current.journal.record(current.updateId, key, result);
    return result;
  };
}

/**
 * The workers' handler: runs each update through the bot's logic. Each attempt starts from
 * the journal, so a retry or another worker's redelivery never repeats a sent call, and
 * stops calling the Bot API once the entry's signal says another worker took it over. The
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
    await scope.run(
      { updateId, journal, replay, occurrences: new Map(), signal: entry.signal },
      () => bot.handleUpdate(entry.update),
    );
  };
}
