import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import type { Logger } from '@herald/logger';
import type { Registry } from '@herald/ops';
import { duplicateRedis, type Redis } from '@herald/redis';
import type { Update } from 'telegraf/types';
import {
  chatIdOf,
  DEDUPE_TTL_SECONDS,
  queueMetrics,
  type ConsumeOptions,
  type DeadLetter,
  type DeadLetterQueue,
  updateKindOf,
  type Consumer,
  type QueuedUpdate,
  type QueueStats,
  type UpdateQueue,
} from './queue.js';
import { ChatDispatcher, type EntrySettled, type EntryTurn } from './dispatcher.js';
import { journalKey } from './journal.js';

// Redis keys, under the client's key prefix. The stream holds only unfinished entries:
// an entry is deleted when it is acknowledged. Each chat's list holds the ids of its
// unfinished entries in arrival order; its head is the only entry of that chat a worker
// may handle, which keeps a chat in order across pods.
export const UPDATE_STREAM = 'updates';
export const DEAD_LETTER_STREAM = 'updates:dead';
export const WORKER_GROUP = 'workers';
const seenKey = (updateId: number) => `update-seen:${updateId}`;
/** Present while the worker of that name is alive: it refreshes it well within its TTL. */
const aliveKey = (consumer: string) => `workers:alive:${consumer}`;
const chatKey = (chatId: number) => `updates:chat:${chatId}`;

/** Dead letters kept; older ones are trimmed. */
const DEAD_LETTER_MAXLEN = 10_000;

/** How long a worker's heartbeat outlives its last refresh (`QUEUE_HEARTBEAT_TTL`). */
export const DEFAULT_HEARTBEAT_TTL_MS = 3_000;

/** Ids per keep-alive script call: keeps each call short and its Lua argument list small. */
const KEEP_ALIVE_BATCH = 500;

// Dedupe and append in one step: an update is recorded as seen AND queued, or neither.
const ENQUEUE = `
if redis.call('SET', KEYS[1], '1', 'NX', 'EX', ARGV[1]) then
  local id = redis.call('XADD', KEYS[2], '*', 'update', ARGV[2], 'chat', ARGV[3])
  redis.call('RPUSH', KEYS[3], id)
  return id
end
return false`;

// Only the consumer that owns an entry (has it in its pending list) may finish it: a
// worker that stalled past the claim timeout and woke up must not finish, or delete, an
// entry another worker took over and is handling. One XPENDING for one id and consumer.
// Without the group (the stream was deleted, or Redis lost its data) nothing says another
// worker has the entry, and this worker's copy may be the only one left: it counts as ours.
const OWNS = `
local function owns(stream, group, consumer, id)
  local rows = redis.pcall('XPENDING', stream, group, id, id, 1, consumer)
  if rows.err then return true end
  return #rows > 0
end
`;

// Keeps alive the entries this worker holds by resetting their idle time, but only those it
// still owns; returns the others, which another worker claimed while this one stalled.
// Why not XCLAIM with a minimum idle time instead: no bound tells our entries from one
// another worker claimed. A bound below the claim timeout lets a worker that stalled take
// back an entry a live worker claimed moments ago (both then handle it); a bound at or
// above it never touches our own entries, which then look dead to everyone. The owner's
// name tells them apart, and checking it in the same script as the XCLAIM leaves no moment
// for another claim in between. JUSTID: a keep-alive is not a delivery, so the delivery
// count stays as it is.
const KEEP_ALIVE = `${OWNS}
local mine, lost = {}, {}
for i = 3, #ARGV do
  if owns(KEYS[1], ARGV[1], ARGV[2], ARGV[i]) then
    mine[#mine + 1] = ARGV[i]
  else
    lost[#lost + 1] = ARGV[i]
  end
end
if #mine > 0 then
  mine[#mine + 1] = 'JUSTID'
  redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[2], 0, unpack(mine))
end
return lost`;

// Whether this worker may handle an entry now: it must still own it, and no earlier entry
// of its chat may be unfinished.
const TURN = `${OWNS}
if not owns(KEYS[1], ARGV[1], ARGV[2], ARGV[3]) then return 'taken-over' end
local head = redis.call('LINDEX', KEYS[2], 0)
if not head or head == ARGV[3] then return 'next' end
return 'waiting'`;

// Acknowledge, drop from the stream, from the chat's order and the call journal, at once.
const COMPLETE = `${OWNS}
if not owns(KEYS[1], ARGV[1], ARGV[3], ARGV[2]) then return 0 end
redis.call('XACK', KEYS[1], ARGV[1], ARGV[2])
redis.call('XDEL', KEYS[1], ARGV[2])
redis.call('LREM', KEYS[2], 1, ARGV[2])
redis.call('DEL', KEYS[3])
return 1`;

const DEAD_LETTER = `${OWNS}
if not owns(KEYS[1], ARGV[1], ARGV[8], ARGV[2]) then return 0 end
redis.call('XADD', KEYS[3], 'MAXLEN', '~', ARGV[7], '*', 'update', ARGV[3], 'chat', ARGV[4],
  'entry', ARGV[2], 'reason', ARGV[5], 'deliveries', ARGV[6])
redis.call('XACK', KEYS[1], ARGV[1], ARGV[2])
redis.call('XDEL', KEYS[1], ARGV[2])
redis.call('LREM', KEYS[2], 1, ARGV[2])
redis.call('DEL', KEYS[4])
return 1`;

// Takes over what a dead worker held: its entries, once its heartbeat has expired. The
// heartbeat is checked and the entries claimed in one step, so a worker that is alive (its
// key is there) never loses an entry this way, and of two workers claiming at once the
// second finds the entries with the first, which is alive. Returns the claimed entries.
const CLAIM_DEAD = `
if redis.call('EXISTS', KEYS[2]) == 1 then return {} end
local rows = redis.call('XPENDING', KEYS[1], ARGV[1], '-', '+', ARGV[4], ARGV[2])
if #rows == 0 then return {} end
local ids = {}
for i = 1, #rows do ids[i] = rows[i][1] end
return redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[3], 0, unpack(ids))`;

// Moves a dead letter back into the queue, at the end of its chat's order. ARGV[2] is the
// chat id read beforehand (the chat's list key is built from it outside Lua, where the key
// prefix is known); an entry gone or changed meanwhile is left alone.
const REPLAY = `
local rows = redis.call('XRANGE', KEYS[1], ARGV[1], ARGV[1])
if #rows == 0 then return false end
local fields = rows[1][2]
local update, chat
for i = 1, #fields, 2 do
  if fields[i] == 'update' then update = fields[i + 1] end
  if fields[i] == 'chat' then chat = fields[i + 1] end
end
if update == nil or chat ~= ARGV[2] then return false end
local id = redis.call('XADD', KEYS[2], '*', 'update', update, 'chat', chat)
redis.call('RPUSH', KEYS[3], id)
redis.call('XDEL', KEYS[1], ARGV[1])
return id`;

interface QueueCommands {
  heraldClaimDead(
    stream: string,
    alive: string,
    group: string,
    dead: string,
    consumer: string,
    count: number,
  ): Promise<StreamEntry[]>;
  heraldReplay(
    dead: string,
    stream: string,
    chat: string,
    id: string,
    chatId: string,
  ): Promise<string | null>;
  heraldEnqueue(
    seen: string,
    stream: string,
    chat: string,
    ...argv: (string | number)[]
  ): Promise<string | null>;
  heraldComplete(
    stream: string,
    chat: string,
    journal: string,
    group: string,
    id: string,
    consumer: string,
  ): Promise<number>;
  heraldKeepAlive(
    stream: string,
    group: string,
    consumer: string,
    ...ids: string[]
  ): Promise<string[]>;
  heraldTurn(
    stream: string,
    chat: string,
    group: string,
    consumer: string,
    id: string,
  ): Promise<EntryTurn>;
  heraldDeadLetter(
    stream: string,
    chat: string,
    dead: string,
    journal: string,
    ...argv: (string | number)[]
  ): Promise<number>;
}

export interface RedisQueueOptions {
  redis: Redis;
  logger: Logger;
  registry: Registry;
  /** Handlers running at once in this process. */
  concurrency?: number;
  /** Attempts in one worker before an update is dead-lettered. */
  maxAttempts?: number;
  /** Deliveries (workers that took it and died) before an update is dead-lettered. */
  maxDeliveries?: number;
  /**
   * An entry untouched this long is claimed whatever its worker's heartbeat says: the
   * fallback for a worker that is alive but stalled (its event loop blocked).
   */
  claimIdleMs?: number;
  /**
   * Each worker refreshes a heartbeat key with this TTL; once it expires (the process
   * died), the others take over its entries within about this time plus a check.
   */
  heartbeatTtlMs?: number | undefined;
  /** Most entries held in this process at once. */
  maxHeld?: number;
  retryDelayMs?: (attempt: number) => number;
  /** Name of this worker in the consumer group; unique per process by default. */
  consumerName?: string;
  /** Checks of what handlers depend on: attempts failed while one is down are not counted. */
  dependencies?: Record<string, () => Promise<void>>;
}

type StreamEntry = [id: string, fields: string[]];

/** A field of a stream entry (`[name, value, name, value…]`), or undefined when absent. */
function streamField(fields: readonly string[], name: string): string | undefined {
  const at = fields.indexOf(name);
  return at >= 0 && at % 2 === 0 ? fields[at + 1] : undefined;
}

/** The scripts that finish an entry answer 1 when they did, 0 when another worker owns it. */
const settled = (reply: number): EntrySettled => (reply === 1 ? 'recorded' : 'taken-over');

function parseEntry(
  id: string,
  fields: string[],
  deliveries: number,
): QueuedUpdate | { id: string; raw: string; chatId: number; error: string } {
  const field = (name: string) => streamField(fields, name);
  const raw = field('update') ?? '';
  const chatId = Number(field('chat') ?? 0);
  try {
    const update = JSON.parse(raw) as Update;
    if (typeof update !== 'object' || update === null || typeof update.update_id !== 'number') {
      return { id, raw, chatId, error: 'the entry holds no Telegram Update' };
    }
    return { id, update, chatId: Number.isFinite(chatId) ? chatId : chatIdOf(update), deliveries };
  } catch (error) {
    return { id, raw, chatId, error: `the entry is not JSON: ${String(error)}` };
  }
}

// Unref: a pending pause never keeps a stopping process alive.
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms).unref());

/**
 * The shared update queue on a Redis stream with one consumer group. Every pod appends
 * and consumes. An entry whose worker died is claimed by another once that worker's
 * heartbeat expires (`heartbeatTtlMs`), and any entry left untouched for `claimIdleMs`
 * (a worker alive but stalled) is claimed too.
 */
export function createRedisQueue(options: RedisQueueOptions): UpdateQueue {
  const { redis, logger } = options;
  const commands = redis as unknown as QueueCommands;
  redis.defineCommand('heraldEnqueue', { numberOfKeys: 3, lua: ENQUEUE });
  redis.defineCommand('heraldReplay', { numberOfKeys: 3, lua: REPLAY });
  redis.defineCommand('heraldComplete', { numberOfKeys: 3, lua: COMPLETE });
  redis.defineCommand('heraldDeadLetter', { numberOfKeys: 4, lua: DEAD_LETTER });
  redis.defineCommand('heraldKeepAlive', { numberOfKeys: 1, lua: KEEP_ALIVE });
  redis.defineCommand('heraldTurn', { numberOfKeys: 2, lua: TURN });
  redis.defineCommand('heraldClaimDead', { numberOfKeys: 2, lua: CLAIM_DEAD });

  // ioredis adds the key prefix to most commands' keys, but not to XGROUP's and XINFO's,
  // whose key follows a subcommand.
  const streamKey = `${redis.options.keyPrefix ?? ''}${UPDATE_STREAM}`;
  const claimIdleMs = options.claimIdleMs ?? 30_000;
  const heartbeatTtlMs = options.heartbeatTtlMs ?? DEFAULT_HEARTBEAT_TTL_MS;
  const maxDeliveries = options.maxDeliveries ?? 5;
  const maxHeld = options.maxHeld ?? 1_000;

  const readDeadLetter = ([id, fields]: StreamEntry): DeadLetter => {
    const field = (name: string) => streamField(fields, name);
    const raw = field('update') ?? '';
    let update: unknown;
    try {
      update = JSON.parse(raw);
    } catch {
      update = raw;
    }
    const updateId = (update as { update_id?: unknown } | null)?.update_id;
    return {
      id,
      updateId: typeof updateId === 'number' ? updateId : undefined,
      chatId: Number(field('chat') ?? 0),
      reason: field('reason') ?? '',
      deliveries: Number(field('deliveries') ?? 0),
      failedAt: new Date(Number(id.split('-')[0])),
      kind: typeof update === 'string' ? 'unreadable' : updateKindOf(update),
      update,
    };
  };
  const deadLetterQueue: DeadLetterQueue = {
    async list(limit) {
      const rows = (await redis.xrevrange(
        DEAD_LETTER_STREAM,
        '+',
        '-',
        'COUNT',
        limit,
      )) as StreamEntry[];
      return rows.map(readDeadLetter);
    },
    async get(id) {
      const [row] = (await redis.xrange(DEAD_LETTER_STREAM, id, id)) as StreamEntry[];
      return row && readDeadLetter(row);
    },
    async replay(id) {
      const letter = await deadLetterQueue.get(id);
      if (!letter || letter.kind === 'unreadable') return undefined;
      const queued = await commands.heraldReplay(
        DEAD_LETTER_STREAM,
        UPDATE_STREAM,
        chatKey(letter.chatId),
        id,
        String(letter.chatId),
      );
      return queued ?? undefined;
    },
    async drop(id) {
      return (await redis.xdel(DEAD_LETTER_STREAM, id)) > 0;
    },
  };

  const queue: UpdateQueue = {
    kind: 'redis',
    deadLetterQueue,
    async enqueue(update, json) {
      const chatId = chatIdOf(update);
      const id = await commands.heraldEnqueue(
        seenKey(update.update_id),
        UPDATE_STREAM,
        chatKey(chatId),
        DEDUPE_TTL_SECONDS,
        json ?? JSON.stringify(update),
        chatId,
      );
      return id === null ? 'duplicate' : 'queued';
    },
    consume: (consume) => startConsumer(consume),
    async waitingUpdates(chatId) {
      // The chat's list is its order; its head is the entry being handled.
      const ids = await redis.lrange(chatKey(chatId), 1, -1);
      if (ids.length === 0) return [];
      const pipeline = redis.pipeline();
      for (const id of ids) pipeline.xrange(UPDATE_STREAM, id, id);
      const updates: Update[] = [];
      for (const [error, value] of (await pipeline.exec()) ?? []) {
        if (error) throw error;
        // Gone: finished between the two reads. Malformed: the workers dead-letter it.
        const [entry] = value as StreamEntry[];
        if (!entry) continue;
        const parsed = parseEntry(entry[0], entry[1], 1);
        if (!('error' in parsed)) updates.push(parsed.update);
      }
      return updates;
    },
    async stats(): Promise<QueueStats> {
      const results = await redis
        .multi()
        .xlen(UPDATE_STREAM)
        .xrange(UPDATE_STREAM, '-', '+', 'COUNT', 1)
        .xlen(DEAD_LETTER_STREAM)
        .exec();
      const [length, oldest, dead] = (results ?? []).map(([error, value]) => {
        if (error) throw error;
        return value;
      }) as [number, StreamEntry[], number];
      const oldestMs = Number(oldest[0]?.[0].split('-')[0] ?? Date.now());
      return { length, lagSeconds: Math.max(0, (Date.now() - oldestMs) / 1000), deadLetters: dead };
    },
  };
  const metrics = queueMetrics(options.registry, queue);

  function startConsumer(consume: ConsumeOptions): Consumer {
    const consumer =
      options.consumerName ?? `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`;
    // Blocking reads get their own connection so they never delay other commands.
    const reader = duplicateRedis(redis, {
      logger,
      commandTimeoutMs: 10_000,
      connectionName: `herald-reader-${consumer}`,
    });
    // Reading stops first; claims keep our entries alive until the last one is finished.
    let reading = true;
    let stopped = false;
    let wake: () => void = () => undefined;
    const stopSignal = new Promise<void>((resolve) => (wake = resolve));
    const dispatcher = new ChatDispatcher({
      ...consume,
      logger,
      metrics,
      concurrency: options.concurrency ?? 64,
      maxAttempts: options.maxAttempts ?? 3,
      ...(options.retryDelayMs ? { retryDelayMs: options.retryDelayMs } : {}),
      ...(options.dependencies ? { dependencies: options.dependencies } : {}),
      backend: {
        turnOf: (entry) =>
          commands.heraldTurn(
            UPDATE_STREAM,
            chatKey(entry.chatId),
            WORKER_GROUP,
            consumer,
            entry.id,
          ),
        async repairHead(entry) {
          const head = await redis.lindex(chatKey(entry.chatId), 0);
          if (head === null || head === entry.id) return;
          const exists = await redis.xrange(UPDATE_STREAM, head, head);
          if (exists.length === 0) {
            await redis.lrem(chatKey(entry.chatId), 1, head);
            logger.warn(
              { chat_id: entry.chatId, entry: head },
              'removed an entry that no longer exists from the head of its chat; the chat goes on',
            );
          }
        },
        complete: async (entry) =>
          settled(
            await commands.heraldComplete(
              UPDATE_STREAM,
              chatKey(entry.chatId),
              journalKey(entry.update.update_id),
              WORKER_GROUP,
              entry.id,
              consumer,
            ),
          ),
        deadLetter: (entry, reason) =>
          deadLetter(entry, JSON.stringify(entry.update), reason, entry.deliveries),
      },
    });

    const deadLetter = async (
      entry: { id: string; chatId: number; update?: { update_id: number } },
      raw: string,
      reason: string,
      deliveries: number,
    ): Promise<EntrySettled> =>
      settled(
        await commands.heraldDeadLetter(
          UPDATE_STREAM,
          chatKey(entry.chatId),
          DEAD_LETTER_STREAM,
          journalKey(entry.update?.update_id ?? -1),
          WORKER_GROUP,
          entry.id,
          raw,
          entry.chatId,
          reason,
          deliveries,
          DEAD_LETTER_MAXLEN,
          consumer,
        ),
      );

    /** Takes entries into the dispatcher; malformed ones go straight to dead letters. */
    const take = async (entries: StreamEntry[], deliveriesOf: (id: string) => number) => {
      for (const [id, fields] of entries) {
        if (dispatcher.holds(id)) continue;
        const parsed = parseEntry(id, fields, deliveriesOf(id));
        if ('error' in parsed) {
          logger.error(
            { entry: id, chat_id: parsed.chatId, reason: parsed.error },
            'malformed queue entry moved to the dead-letter stream',
          );
          metrics.processed.inc({ outcome: 'dead_lettered' });
          metrics.deadLetters.inc();
          await deadLetter(parsed, parsed.raw, parsed.error, deliveriesOf(id));
        } else if (parsed.deliveries > maxDeliveries) {
          await dispatcher.giveUp(
            parsed,
            undefined,
            `taken ${parsed.deliveries} times by workers that never finished it (did it crash them?)`,
          );
        } else {
          dispatcher.add(parsed);
        }
      }
    };

    const ensureGroup = async () => {
      try {
        // From the start of the stream: entries appended before the first worker count too.
        await redis.xgroup('CREATE', streamKey, WORKER_GROUP, '0', 'MKSTREAM');
      } catch (error) {
        if (!String(error).includes('BUSYGROUP')) throw error;
      }
    };

    let failing = false;
    const reportFailure = (error: unknown, what: string) => {
      if (!failing) {
        logger.error(
          { reason: error instanceof Error ? error.message : String(error) },
          `${what} failed; retrying every second. Check that Redis is up: updates wait in the queue meanwhile`,
        );
      }
      failing = true;
    };

    const readLoop = async () => {
      let groupReady = false;
      while (reading) {
        try {
          if (!groupReady) {
            await ensureGroup();
            groupReady = true;
          }
          if (dispatcher.size >= maxHeld) {
            await sleep(50);
            continue;
          }
          const reply = (await reader.xreadgroup(
            'GROUP',
            WORKER_GROUP,
            consumer,
            'COUNT',
            Math.min(100, maxHeld - dispatcher.size),
            'BLOCK',
            1_000,
            'STREAMS',
            UPDATE_STREAM,
            '>',
          )) as [string, StreamEntry[]][] | null;
          failing = false;
          if (reply?.[0]) await take(reply[0][1], () => 1);
        } catch (error) {
          if (!reading) break;
          if (String(error).includes('NOGROUP')) {
            // The stream was deleted (FLUSHALL, a new Redis): make the group again.
            groupReady = false;
            continue;
          }
          reportFailure(error, 'reading the update queue');
          await sleep(1_000);
        }
      }
    };

    /** Takes claimed entries in hand, each with how many workers took it so far. */
    const takeClaimed = async (entries: StreamEntry[], from: string) => {
      // A claimed entry deleted meanwhile comes back as null (its update was finished).
      const present = entries.filter((entry): entry is StreamEntry => Array.isArray(entry));
      if (present.length === 0) return;
      const counts = new Map<string, number>();
      const pipeline = redis.pipeline();
      for (const [id] of present) pipeline.xpending(UPDATE_STREAM, WORKER_GROUP, id, id, 1);
      for (const [error, value] of (await pipeline.exec()) ?? []) {
        const row = (value as [string, string, number, number][] | undefined)?.[0];
        if (!error && row) counts.set(row[0], row[3]);
      }
      logger.warn(
        { entries: present.length, consumer, from },
        `claimed updates ${from} left unfinished`,
      );
      await take(present, (id) => counts.get(id) ?? 2);
    };

    // Heartbeats. After a Redis outage every heartbeat has expired, the live workers' too:
    // a worker whose connection broke claims from others only once its own heartbeat has
    // been refreshed without a break for two TTLs, and no worker claims from a dead-looking
    // one while Redis itself has been up for less than that (it restarted). Either way each
    // live worker has had the time to refresh its own heartbeat before any other may take
    // its entries. A worker starting while Redis is steady may claim at once.
    const heartbeatKey = aliveKey(consumer);
    const settleMs = 2 * heartbeatTtlMs;
    let steadySince: number | undefined;
    let connectedBefore = false;
    const onConnectionLost = () => (steadySince = undefined);
    redis.on('close', onConnectionLost);
    // When the Redis this connection reaches started: read once per connection, since a
    // restart of Redis always breaks the connection first.
    let redisStartedAt = 0;
    const steady = () =>
      steadySince !== undefined &&
      Date.now() - steadySince >= settleMs &&
      Date.now() - redisStartedAt >= settleMs;

    const beat = async () => {
      await redis.set(heartbeatKey, '1', 'PX', heartbeatTtlMs);
      if (steadySince === undefined) {
        const info = await redis.info('server');
        redisStartedAt = Date.now() - 1000 * Number(/uptime_in_seconds:(\d+)/.exec(info)?.[1] ?? 0);
        steadySince = connectedBefore ? Date.now() : 0;
        connectedBefore = true;
        // Back after a break: mark what this worker holds as alive before anyone looks.
        await keepAlive();
      }
    };

    const claimFromDead = async () => {
      if (!steady()) return;
      const summary = (await redis.xpending(UPDATE_STREAM, WORKER_GROUP)) as [
        number,
        string | null,
        string | null,
        [string, string][] | null,
      ];
      const others = (summary[3] ?? []).filter(([name]) => name !== consumer);
      if (others.length === 0) return;
      const alive = await redis.exists(...others.map(([name]) => aliveKey(name)));
      if (alive === others.length) return;
      for (const [name] of others) {
        if (!reading) return;
        const entries = await commands.heraldClaimDead(
          UPDATE_STREAM,
          aliveKey(name),
          WORKER_GROUP,
          name,
          consumer,
          Math.max(1, Math.min(100, maxHeld - dispatcher.size)),
        );
        await takeClaimed(entries, `worker ${name}, whose heartbeat stopped,`);
      }
    };

    // Beats a few times per TTL, so one late beat never lets the key expire; looks for dead
    // workers more often, so their updates wait little past their heartbeat's expiry.
    const heartbeatLoop = async () => {
      const beatEvery = Math.max(50, Math.min(heartbeatTtlMs / 4, 1_000));
      const lookEvery = Math.max(25, Math.min(heartbeatTtlMs / 12, 250));
      let lastBeat = Date.now();
      while (!stopped) {
        await Promise.race([sleep(lookEvery), stopSignal]);
        if (stopped) break;
        try {
          if (Date.now() - lastBeat >= beatEvery || steadySince === undefined) {
            await beat();
            lastBeat = Date.now();
          }
          if (reading) await claimFromDead();
        } catch (error) {
          steadySince = undefined;
          if (!String(error).includes('NOGROUP')) reportFailure(error, 'the worker heartbeat');
        }
      }
    };

    /**
     * Keeps what we hold marked as alive, so no other worker claims it as idle; lets go of
     * what another worker claimed while this one stalled.
     */
    const keepAlive = async () => {
      const held = dispatcher.heldIds();
      for (let at = 0; at < held.length; at += KEEP_ALIVE_BATCH) {
        const batch = held.slice(at, at + KEEP_ALIVE_BATCH);
        dispatcher.takenOver(
          await commands.heraldKeepAlive(UPDATE_STREAM, WORKER_GROUP, consumer, ...batch),
        );
      }
    };

    const claimOnce = async () => {
      await keepAlive();
      if (!steady()) return;
      let cursor = '0-0';
      for (let round = 0; round < 10 && reading; round += 1) {
        const [next, entries] = (await redis.xautoclaim(
          UPDATE_STREAM,
          WORKER_GROUP,
          consumer,
          claimIdleMs,
          cursor,
          'COUNT',
          100,
        )) as [string, StreamEntry[], string[]];
        await takeClaimed(entries, 'a stalled or stopped worker');
        cursor = next;
        if (cursor === '0-0') break;
      }
    };

    let lastPrune = 0;
    const pruneConsumers = async () => {
      if (Date.now() - lastPrune < 10 * 60_000) return;
      lastPrune = Date.now();
      const rows = (await redis.xinfo('CONSUMERS', streamKey, WORKER_GROUP)) as (
        string | number
      )[][];
      for (const row of rows) {
        const info = new Map<string, string | number>();
        for (let i = 0; i + 1 < row.length; i += 2) info.set(String(row[i]), row[i + 1]!);
        const name = String(info.get('name'));
        if (
          name !== consumer &&
          Number(info.get('pending')) === 0 &&
          Number(info.get('idle')) > 3_600_000
        ) {
          await redis.xgroup('DELCONSUMER', streamKey, WORKER_GROUP, name);
        }
      }
    };

    const claimLoop = async () => {
      const every = Math.max(100, Math.min(claimIdleMs / 3, 10_000));
      while (!stopped) {
        await Promise.race([sleep(every), stopSignal]);
        if (stopped) break;
        try {
          await claimOnce();
          await pruneConsumers();
        } catch (error) {
          if (!String(error).includes('NOGROUP'))
            reportFailure(error, 'claiming unfinished updates');
        }
      }
    };

    // The first heartbeat goes before the first read: no entry is ever held by a worker
    // that others could take for dead.
    const reads = beat()
      .catch(() => undefined)
      .then(readLoop);
    const claims = claimLoop();
    const heartbeats = heartbeatLoop();
    logger.info(
      { consumer, claim_idle_ms: claimIdleMs, heartbeat_ttl_ms: heartbeatTtlMs },
      'update workers started',
    );
    return {
      async stop() {
        reading = false;
        await reads;
        await dispatcher.stop(20_000);
        stopped = true;
        wake();
        await Promise.all([claims, heartbeats]);
        redis.off('close', onConnectionLost);
        // Whatever is left in hand goes to the other workers at once.
        await redis.del(heartbeatKey).catch(() => undefined);
        reader.disconnect();
      },
    };
  }

  return queue;
}
