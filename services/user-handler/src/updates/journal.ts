import { AsyncLocalStorage } from 'node:async_hooks';
import { createHash } from 'node:crypto';
import { redisConnected, RedisUnavailableError, type Redis } from '@herald/redis';
import { DEFAULT_RATE_LIMIT_WAIT_MS, type RateLimitBudget } from '@herald/telegram';
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
  /**
   * Resolves once the journal can take a record, waiting out a short outage (bounded);
   * rejects when it stays unreachable. Asked before a call that must be recorded, so a
   * send is never made while nothing could remember it.
   */
  reachable(signal?: AbortSignal): Promise<void>;
}

export const journalKey = (updateId: number): string => `update-calls:${updateId}`;
/** As long as Telegram may redeliver the update. */
const JOURNAL_TTL_SECONDS = 24 * 60 * 60;
/** Longest wait for Redis before a recorded call: beyond it the update waits in the queue. */
const REACHABLE_WAIT_MS = 30_000;
/** Longest a record of a call already made is retried before the attempt fails (see below). */
const RECORD_RETRY_MS = 30_000;

export function createRedisJournal(redis: Redis): CallJournal {
  const reachable = (signal?: AbortSignal) => redisConnected(redis, REACHABLE_WAIT_MS, signal);
  return {
    reachable,
    async load(updateId) {
      const stored = await redis.hgetall(journalKey(updateId));
      return new Map(Object.entries(stored).map(([call, json]) => [call, JSON.parse(json)]));
    },
    async record(updateId, call, result) {
      const write = async () => {
        const [[error] = [null]] =
          (await redis
            .multi()
            .hset(journalKey(updateId), call, JSON.stringify(result ?? null))
            .expire(journalKey(updateId), JOURNAL_TTL_SECONDS)
            .exec()) ?? [];
        if (error) throw error;
      };
      // The call was made: its record is retried through a short outage rather than failing
      // the update, whose retry would then find nothing and make the call again.
      const deadline = Date.now() + RECORD_RETRY_MS;
      for (;;) {
        try {
          await write();
          return;
        } catch (error) {
          const left = deadline - Date.now();
          if (left <= 0)
            throw new RedisUnavailableError('could not record a call', { cause: error });
          await reachable().catch(() => undefined);
          await new Promise((resolve) => setTimeout(resolve, Math.min(200, left)));
        }
      }
    },
  };
}

/**
 * What one update's handling keeps in this worker across its attempts: the calls made and
 * steps remembered (also in the journal, when it could be written), and the time its calls
 * may still wait on Telegram's 429s. An attempt that fails because the journal could not be
 * written is retried here from this memory, so even then nothing is sent twice.
 */
interface UpdateMemory {
  made: Map<string, unknown>;
  /** Keys of `made` the journal does not have yet. */
  unrecorded: Set<string>;
  rateLimitBudget: RateLimitBudget;
}

interface JournalScope {
  updateId: number;
  journal: CallJournal | undefined;
  memory: UpdateMemory;
  /** What earlier attempts did: the journal's records and this worker's memory. */
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

/** How long the calls of the update being handled may still wait on Telegram's 429s. */
export function currentRateLimitBudget(): RateLimitBudget | undefined {
  return scope.getStore()?.memory.rateLimitBudget;
}

/** Keeps a result in this worker's memory of the update, not yet in the journal. */
function hold(current: JournalScope, key: string, value: unknown): void {
  current.memory.made.set(key, value);
  current.replay.set(key, value);
  if (current.journal) current.memory.unrecorded.add(key);
}

/** Writes a result this worker holds for the update to the journal. */
async function persist(current: JournalScope, key: string): Promise<void> {
  if (!current.journal) return;
  await current.journal.record(current.updateId, key, current.memory.made.get(key));
  current.memory.unrecorded.delete(key);
}

/**
 * What an earlier attempt of the update being handled remembered under `name` (see
 * `remember`), whichever worker made it; undefined when none did, or outside an update.
 */
export function recall<T>(name: string): T | undefined {
  return scope.getStore()?.replay.get(`step:${name}`) as T | undefined;
}

/**
 * Remembers `value` for any later attempt of the update being handled, in this worker or
 * another. Work that cannot be repeated the same way (an LLM's answer, which differs each
 * time it is asked) is remembered before the user sees it, so a retry shows the same
 * answer instead of asking again. Waits (bounded) for the journal to be reachable.
 */
export async function remember(name: string, value: unknown): Promise<void> {
  const current = scope.getStore();
  if (!current) return;
  const key = `step:${name}`;
  // In this worker's memory at once: a retry here recalls it even if Redis stays away.
  hold(current, key, value);
  await current.journal?.reachable(current.signal);
  await persist(current, key);
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
    // Never make a call that could not be recorded: a retry would make it again.
    await current.journal?.reachable(current.signal);
    const result: unknown = await next(method, payload, options);
    hold(current, key, result);
    await persist(current, key);
    return result;
  };
}

/**
 * The workers' handler: runs each update through the bot's logic. Each attempt starts from
 * the journal and from what earlier attempts in this worker made, so a retry or another
 * worker's redelivery never repeats a sent call, and stops calling the Bot API once the
 * entry's signal says another worker took it over. The queue deletes the journal when it
 * finishes the update. Without a journal (local mode: one process) the memory alone serves.
 */
export function botUpdateHandler(bot: Telegraf, journal?: CallJournal): UpdateHandler {
  // Per entry, for as long as the dispatcher holds it (it keeps one object across attempts).
  const memories = new WeakMap<QueuedUpdate, UpdateMemory>();
  return async (entry: QueuedUpdate) => {
    const updateId = entry.update.update_id;
    let memory = memories.get(entry);
    if (!memory) {
      memory = {
        made: new Map(),
        unrecorded: new Set(),
        rateLimitBudget: { remainingMs: DEFAULT_RATE_LIMIT_WAIT_MS },
      };
      memories.set(entry, memory);
    }
    const replay = journal ? await journal.load(updateId) : new Map<string, unknown>();
    for (const [key, value] of memory.made) replay.set(key, value);
    const current: JournalScope = {
      updateId,
      journal,
      memory,
      replay,
      occurrences: new Map(),
      signal: entry.signal,
    };
    // What an earlier attempt made while the journal was down goes there first, so a worker
    // that takes the update over from here on sees it too.
    for (const key of [...memory.unrecorded]) await persist(current, key);
    await scope.run(current, () => bot.handleUpdate(entry.update));
  };
}
