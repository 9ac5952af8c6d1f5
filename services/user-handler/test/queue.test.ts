import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { createLogger } from '@herald/logger';
import { Registry } from '@herald/ops';
import { createRedis, type Redis } from '@herald/redis';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  startRedisServer,
  testRedisUrl,
  uniquePrefix,
  waitFor,
  type RedisServer,
} from '@herald/testing';
import type { Update } from 'telegraf/types';
import { startStallableRedis } from './stall.js';
import { createMemoryQueue } from '../src/updates/memory-queue.js';
import type { Consumer, ConsumeOptions, QueuedUpdate, UpdateQueue } from '../src/updates/queue.js';
import {
  createRedisQueue,
  DEAD_LETTER_STREAM,
  UPDATE_STREAM,
  WORKER_GROUP,
  type RedisQueueOptions,
} from '../src/updates/redis-queue.js';

const logger = createLogger({ service: 'test', level: 'silent' });
let nextId = 1;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function update(chatId: number, text: string): Update {
  const id = nextId++;
  return {
    update_id: id,
    message: {
      message_id: id,
      date: 1_700_000_000,
      chat: { id: chatId, type: 'private', first_name: 'U' },
      from: { id: chatId, is_bot: false, first_name: 'U' },
      text,
    },
  };
}
const textOf = (entry: QueuedUpdate) =>
  (entry.update as { message: { text: string } }).message.text;

type QueueOptions = Partial<Omit<RedisQueueOptions, 'redis' | 'logger' | 'registry'>>;

describe.each(['redis', 'in-process'] as const)('the %s update queue', (kind) => {
  let redis: Redis | undefined;
  let consumers: Consumer[];
  const make = (options: QueueOptions = {}): UpdateQueue =>
    kind === 'redis'
      ? createRedisQueue({ redis: redis!, logger, registry: new Registry(), ...options })
      : createMemoryQueue({ logger, registry: new Registry(), ...options });
  const consume = (queue: UpdateQueue, options: ConsumeOptions) => {
    const consumer = queue.consume(options);
    consumers.push(consumer);
    return consumer;
  };

  beforeEach(() => {
    consumers = [];
    if (kind === 'redis') {
      redis = createRedis({ url: testRedisUrl(), logger, keyPrefix: uniquePrefix('queue') });
    }
  });
  afterEach(async () => {
    await Promise.all(consumers.map((c) => c.stop()));
    redis?.disconnect();
  });

  it("handles one chat's updates in order while other chats go on beside a slow one", async () => {
    const queue = make({ retryDelayMs: () => 10 });
    const events: string[] = [];
    consume(queue, {
      handler: async (entry) => {
        const text = textOf(entry);
        events.push(`start ${text}`);
        if (text === 'a1') await sleep(400);
        events.push(`end ${text}`);
      },
    });
    for (const u of [update(1, 'a1'), update(1, 'a2'), update(2, 'b1'), update(2, 'b2')]) {
      await queue.enqueue(u);
    }
    await waitFor(() => events.length === 8, { what: 'all four updates' });
    // Chat 2 finished while chat 1's first update was still running…
    expect(events.indexOf('end b2')).toBeLessThan(events.indexOf('end a1'));
    // …and chat 1's second update started only after its first ended.
    expect(events.indexOf('start a2')).toBeGreaterThan(events.indexOf('end a1'));
    expect(await queue.stats()).toMatchObject({ length: 0, deadLetters: 0 });
  });

  it('shows the updates of a chat waiting behind the one being handled, oldest first', async () => {
    const queue = make();
    let open!: () => void;
    const mayFinish = new Promise<void>((resolve) => (open = resolve));
    const handling: string[] = [];
    consume(queue, {
      handler: async (entry) => {
        handling.push(textOf(entry));
        if (textOf(entry) === 'question') await mayFinish;
      },
    });
    try {
      await queue.enqueue(update(6, 'question'));
      await waitFor(() => handling.includes('question'), { what: 'the question to be handled' });
      expect(await queue.waitingUpdates(6)).toEqual([]);
      await queue.enqueue(update(6, 'never mind'));
      await queue.enqueue(update(7, 'another chat'));
      await queue.enqueue(update(6, '/reset'));
      const waiting = await queue.waitingUpdates(6);
      expect(waiting.map((u) => (u as { message: { text: string } }).message.text)).toEqual([
        'never mind',
        '/reset',
      ]);
    } finally {
      open();
    }
    await waitFor(() => handling.length === 4, { what: 'all four updates' });
    expect(await queue.waitingUpdates(6)).toEqual([]);
  });

  it('takes an update_id it has already seen only once', async () => {
    const queue = make();
    const handled: number[] = [];
    consume(queue, { handler: async (entry) => void handled.push(entry.update.update_id) });
    const twice = update(3, 'hello');
    expect(await queue.enqueue(twice)).toBe('queued');
    expect(await queue.enqueue(twice)).toBe('duplicate');
    await waitFor(() => handled.length === 1);
    await sleep(100);
    expect(handled).toEqual([twice.update_id]);
  });

  it('retries a failing update before the next one of its chat', async () => {
    const queue = make({ retryDelayMs: () => 10 });
    const attempts: string[] = [];
    let failed = false;
    consume(queue, {
      handler: async (entry) => {
        attempts.push(textOf(entry));
        if (textOf(entry) === 'flaky' && !failed) {
          failed = true;
          throw new Error('Telegram answered 502');
        }
      },
    });
    await queue.enqueue(update(4, 'flaky'));
    await queue.enqueue(update(4, 'after'));
    await waitFor(() => attempts.length === 3);
    expect(attempts).toEqual(['flaky', 'flaky', 'after']);
  });

  it('dead-letters an update that keeps failing, tells the user, and the chat goes on', async () => {
    const queue = make({ maxAttempts: 2, retryDelayMs: () => 10 });
    const handled: string[] = [];
    const told: number[] = [];
    consume(queue, {
      handler: async (entry) => {
        if (textOf(entry) === 'poison') throw new Error('cannot handle this');
        handled.push(textOf(entry));
      },
      onDeadLetter: async (entry) => void told.push(entry.chatId),
    });
    await queue.enqueue(update(5, 'poison'));
    await queue.enqueue(update(5, 'fine'));
    await waitFor(() => handled.length === 1 && told.length === 1);
    expect(handled).toEqual(['fine']);
    expect(told).toEqual([5]);
    await waitFor(async () => (await queue.stats()).length === 0);
    expect((await queue.stats()).deadLetters).toBe(1);
    if (kind === 'redis') {
      const [[, fields] = ['', []]] = await redis!.xrange(DEAD_LETTER_STREAM, '-', '+');
      expect(fields).toEqual(
        expect.arrayContaining(['reason', 'failed 2 times: cannot handle this']),
      );
    }
  });

  it('waits out a dependency outage without counting it against the updates, then answers them all', async () => {
    // Postgres is down for a while: every handler that runs meanwhile fails on it.
    let postgresUp = true;
    const registry = new Registry();
    const options = {
      maxAttempts: 2,
      retryDelayMs: () => 10,
      dependencies: {
        postgres: async () => {
          if (!postgresUp) throw new Error('connect ECONNREFUSED 127.0.0.1:5432');
        },
      },
    };
    const queue =
      kind === 'redis'
        ? createRedisQueue({ redis: redis!, logger, registry, ...options })
        : createMemoryQueue({ logger, registry, ...options });
    const attempts: string[] = [];
    const handled: string[] = [];
    const told: number[] = [];
    consume(queue, {
      handler: async (entry) => {
        attempts.push(textOf(entry));
        if (!postgresUp) throw new Error('Connection terminated unexpectedly');
        handled.push(textOf(entry));
      },
      onDeadLetter: async (entry) => void told.push(entry.chatId),
    });
    const metric = async (name: string, labels: object = {}) => {
      const values = (await registry.getSingleMetric(name)?.get())?.values ?? [];
      return values.find((v) =>
        Object.entries(labels).every(([k, l]) => (v.labels as Record<string, unknown>)[k] === l),
      )?.value;
    };
    postgresUp = false;
    await queue.enqueue(update(6, 'first'));
    await waitFor(() => attempts.length === 1, { what: 'the first attempt' });
    for (let chat = 7; chat < 12; chat += 1) await queue.enqueue(update(chat, `chat ${chat}`));
    // Far longer than two attempts with their backoff: the updates wait, and nothing new starts.
    await sleep(1_500);
    expect(attempts).toEqual(['first']);
    expect(await metric('herald_update_workers_paused')).toBe(1);
    postgresUp = true;
    await waitFor(() => handled.length === 6, { what: 'every update once Postgres is back' });
    expect(handled[0]).toBe('first');
    expect(told).toEqual([]);
    expect((await queue.stats()).deadLetters).toBe(0);
    expect(await metric('herald_updates_processed_total', { outcome: 'waited_out' })).toBe(1);
    expect(await metric('herald_updates_processed_total', { outcome: 'retried' })).toBe(0);
    expect(await metric('herald_update_workers_paused')).toBe(0);
  });
});

describe('the Redis update queue across workers', () => {
  let redis: Redis;
  let prefix: string;
  const clients: Redis[] = [];
  const consumers: Consumer[] = [];
  const client = () => {
    const c = createRedis({ url: testRedisUrl(), logger, keyPrefix: prefix });
    clients.push(c);
    return c;
  };
  const make = (options: QueueOptions = {}) =>
    createRedisQueue({ redis: client(), logger, registry: new Registry(), ...options });

  beforeEach(() => {
    prefix = uniquePrefix('queue');
    redis = client();
  });
  afterEach(async () => {
    await Promise.all(consumers.splice(0).map((c) => c.stop()));
    for (const c of clients.splice(0)) c.disconnect();
  });

  it("claims a dead worker's entries after the idle timeout, keeping each chat in order", async () => {
    const queue = make({ claimIdleMs: 300 });
    await redis.xgroup('CREATE', `${prefix}${UPDATE_STREAM}`, WORKER_GROUP, '0', 'MKSTREAM');
    for (const u of [update(10, 'u1'), update(10, 'u2'), update(11, 'v1')]) await queue.enqueue(u);
    // A worker takes all three and dies without finishing them.
    await redis.xreadgroup(
      'GROUP',
      WORKER_GROUP,
      'dead-worker',
      'COUNT',
      10,
      'STREAMS',
      UPDATE_STREAM,
      '>',
    );
    await queue.enqueue(update(10, 'u3'));
    const handled: string[] = [];
    consumers.push(queue.consume({ handler: async (entry) => void handled.push(textOf(entry)) }));
    await waitFor(() => handled.length === 4, { what: 'the claimed updates' });
    expect(handled.filter((t) => t.startsWith('u'))).toEqual(['u1', 'u2', 'u3']);
    expect(handled).toContain('v1');
    expect(await queue.stats()).toMatchObject({ length: 0, deadLetters: 0 });
  });

  it('shares the work between two workers without reordering or repeating a chat', async () => {
    const handled = new Map<number, string[]>();
    let total = 0;
    const handler = async (entry: QueuedUpdate) => {
      await sleep(Math.random() * 4);
      const list = handled.get(entry.chatId) ?? [];
      list.push(textOf(entry));
      handled.set(entry.chatId, list);
      total += 1;
    };
    const first = make();
    const second = make();
    consumers.push(first.consume({ handler }), second.consume({ handler }));
    const expected = new Map<number, string[]>();
    for (let n = 0; n < 20; n += 1) {
      for (let chat = 100; chat < 110; chat += 1) {
        const text = `${chat}:${n}`;
        expected.set(chat, [...(expected.get(chat) ?? []), text]);
        await (n % 2 === 0 ? first : second).enqueue(update(chat, text));
      }
    }
    await waitFor(() => total === 200, { what: 'all 200 updates' });
    await sleep(100);
    expect(total).toBe(200);
    expect(handled).toEqual(expected);
  });

  it('dead-letters a malformed entry and an update that crashed its workers too often', async () => {
    const queue = make({ claimIdleMs: 100, maxDeliveries: 5 });
    await redis.xgroup('CREATE', `${prefix}${UPDATE_STREAM}`, WORKER_GROUP, '0', 'MKSTREAM');
    await queue.enqueue(update(20, 'crasher'));
    // Six workers took it in turn and each died handling it.
    const read = (await redis.xreadgroup(
      'GROUP',
      WORKER_GROUP,
      'dead-1',
      'COUNT',
      1,
      'STREAMS',
      UPDATE_STREAM,
      '>',
    )) as [string, [string, string[]][]][];
    const crasherId = read[0]![1][0]![0];
    for (let n = 2; n <= 6; n += 1)
      await redis.xclaim(UPDATE_STREAM, WORKER_GROUP, `dead-${n}`, 0, crasherId);
    await redis.xadd(UPDATE_STREAM, '*', 'update', '{not json', 'chat', '21');
    await queue.enqueue(update(21, 'fine'));
    const handled: string[] = [];
    const told: number[] = [];
    consumers.push(
      queue.consume({
        handler: async (entry) => void handled.push(textOf(entry)),
        onDeadLetter: async (entry) => void told.push(entry.chatId),
      }),
    );
    await waitFor(async () => (await queue.stats()).deadLetters === 2, {
      what: 'two dead letters',
    });
    expect(handled).toEqual(['fine']);
    expect(told).toEqual([20]);
    const reasons = (await redis.xrange(DEAD_LETTER_STREAM, '-', '+')).map(
      ([, fields]) => fields[fields.indexOf('reason') + 1],
    );
    expect(reasons).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/not JSON/),
        expect.stringMatching(/taken \d+ times by workers that never finished it/),
      ]),
    );
  });

  /** Owner of each unfinished entry, in id order, as Redis's pending list has it. */
  const owners = async () =>
    (
      (await redis.xpending(UPDATE_STREAM, WORKER_GROUP, '-', '+', 10)) as [
        string,
        string,
        number,
        number,
      ][]
    ).map(([, consumer]) => consumer);
  const counted = async (registry: Registry, name: string, labels: object = {}) => {
    const values = (await registry.getSingleMetric(name)?.get())?.values ?? [];
    const match = values.find((v) =>
      Object.entries(labels).every(([k, l]) => (v.labels as Record<string, unknown>)[k] === l),
    );
    return match?.value ?? 0;
  };
  const gate = () => {
    let open!: () => void;
    const opened = new Promise<void>((resolve) => (open = resolve));
    return { open, opened };
  };

  it("takes over a dead worker's updates once its heartbeat stops, long before the claim timeout", async () => {
    const queue = make({ claimIdleMs: 60_000, heartbeatTtlMs: 1_000, consumerName: 'pod-live' });
    await redis.xgroup('CREATE', `${prefix}${UPDATE_STREAM}`, WORKER_GROUP, '0', 'MKSTREAM');
    for (const u of [update(40, 'w1'), update(40, 'w2'), update(41, 'x1')]) await queue.enqueue(u);
    // A worker with a heartbeat takes all three, and its process dies: the heartbeat is no
    // longer refreshed and expires.
    await redis.set('workers:alive:pod-dead', '1', 'PX', 1_000);
    await redis.xreadgroup(
      'GROUP',
      WORKER_GROUP,
      'pod-dead',
      'COUNT',
      10,
      'STREAMS',
      UPDATE_STREAM,
      '>',
    );
    const diedAt = Date.now();
    const handled: string[] = [];
    consumers.push(queue.consume({ handler: async (entry) => void handled.push(textOf(entry)) }));
    await waitFor(() => handled.length === 3, {
      what: "the dead worker's updates",
      timeoutMs: 8_000,
    });
    const takeoverMs = Date.now() - diedAt;
    // Its heartbeat's TTL, then the live worker's own two TTLs of steady heartbeats.
    expect(takeoverMs).toBeLessThan(5_000);
    expect(handled.filter((t) => t.startsWith('w'))).toEqual(['w1', 'w2']);
    expect(await owners()).toEqual([]);
  });

  it('never takes an update from a live worker, however long that worker takes', async () => {
    const finish = gate();
    const slow = make({ claimIdleMs: 60_000, heartbeatTtlMs: 500, consumerName: 'pod-slow' });
    const other = make({ claimIdleMs: 60_000, heartbeatTtlMs: 500, consumerName: 'pod-other' });
    const handled: string[] = [];
    consumers.push(
      slow.consume({
        handler: async (entry) => {
          handled.push(`slow ${textOf(entry)}`);
          await finish.opened;
        },
      }),
    );
    await slow.enqueue(update(42, 'long answer'));
    await waitFor(() => handled.length === 1, { what: 'the slow worker to start' });
    consumers.push(
      other.consume({ handler: async (entry) => void handled.push(`other ${textOf(entry)}`) }),
    );
    // Ten heartbeat TTLs: time enough for the other worker to have claimed it if it would.
    await sleep(5_000);
    expect(await owners()).toEqual(['pod-slow']);
    finish.open();
    await waitFor(async () => (await slow.stats()).length === 0, { what: 'the slow answer' });
    expect(handled).toEqual(['slow long answer']);
  });

  it('leaves updates to the worker that took them over while this one stalled, handling none twice', async () => {
    // Pod A reaches Redis through a relay the test can freeze: a stalled pod. Both pods
    // share the claim timeout, as pods of one deployment do.
    const stall = await startStallableRedis();
    const clientA = createRedis({ url: stall.url, logger, keyPrefix: prefix });
    clients.push(clientA);
    const registryA = new Registry();
    const queueA = createRedisQueue({
      redis: clientA,
      logger,
      registry: registryA,
      claimIdleMs: 1_500,
      consumerName: 'pod-a',
    });
    const queueB = make({ claimIdleMs: 1_500, consumerName: 'pod-b' });
    await queueB.enqueue(update(30, 'first'));
    await queueB.enqueue(update(30, 'second'));
    const handled: string[] = [];
    const aborted: boolean[] = [];
    const [aMayFinish, bMayFinish] = [gate(), gate()];
    const podA = queueA.consume({
      handler: async (entry) => {
        handled.push(`A ${textOf(entry)}`);
        if (textOf(entry) !== 'first') return;
        await aMayFinish.opened;
        aborted.push(entry.signal?.aborted ?? false);
      },
    });
    let podB: Consumer | undefined;
    try {
      // A is answering "first", with "second" waiting behind it, when it stalls.
      await waitFor(
        async () => handled.includes('A first') && (await owners()).join() === 'pod-a,pod-a',
        { what: 'pod A to take both updates' },
      );
      stall.freeze();
      podB = queueB.consume({
        handler: async (entry) => {
          handled.push(`B ${textOf(entry)}`);
          if (textOf(entry) === 'first') await bMayFinish.opened;
        },
      });
      await waitFor(() => handled.includes('B first'), {
        what: 'pod B to take over the stalled updates',
      });
      // A wakes up: what it sent while stalled, its keep-alive included, reaches Redis.
      stall.thaw();
      await waitFor(
        async () =>
          (await counted(registryA, 'herald_updates_taken_over_total')) >= 2 ||
          (await owners()).includes('pod-a'),
        { what: "pod A's keep-alive after the stall" },
      );
      expect(await owners()).toEqual(['pod-b', 'pod-b']);

      aMayFinish.open();
      await waitFor(
        async () =>
          (await counted(registryA, 'herald_updates_processed_total', {
            outcome: 'taken_over',
          })) === 1,
        { what: 'pod A to leave "first" to pod B' },
      );
      // A's handler was told it no longer owns the update, and A finished nothing of B's.
      expect(aborted).toEqual([true]);
      expect(await owners()).toEqual(['pod-b', 'pod-b']);

      bMayFinish.open();
      await waitFor(async () => (await queueB.stats()).length === 0, { what: 'pod B to finish' });
      expect(handled).toEqual(['A first', 'B first', 'B second']);
    } finally {
      aMayFinish.open();
      bMayFinish.open();
      await podA.stop();
      await podB?.stop();
      await stall.close();
    }
  });

  it('does not finish an update another worker took over, whether or not it noticed in time', async () => {
    const registry = new Registry();
    const queue = createRedisQueue({
      redis: client(),
      logger,
      registry,
      claimIdleMs: 1_500,
      consumerName: 'pod-a',
    });
    await queue.enqueue(update(31, 'only'));
    const handling = gate();
    const mayFinish = gate();
    consumers.push(
      queue.consume({
        handler: async () => {
          handling.open();
          await mayFinish.opened;
        },
      }),
    );
    await handling.opened;
    // Pod B decided pod A was gone and took the update; A's handler ends right after.
    const [[id] = ['']] = (await redis.xpending(UPDATE_STREAM, WORKER_GROUP, '-', '+', 1)) as [
      string,
    ][];
    await redis.xclaim(UPDATE_STREAM, WORKER_GROUP, 'pod-b', 0, id);
    mayFinish.open();
    await waitFor(
      async () =>
        (await counted(registry, 'herald_updates_processed_total', { outcome: 'taken_over' })) ===
          1 || (await redis.xlen(UPDATE_STREAM)) === 0,
      { what: 'pod A to settle the update' },
    );
    expect(await redis.xlen(UPDATE_STREAM)).toBe(1);
    expect(await owners()).toEqual(['pod-b']);
  });
});

describe('the Redis update queue when Redis restarts', () => {
  let server: RedisServer;
  let dir: string;
  const clients: Redis[] = [];
  const consumers: Consumer[] = [];

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'herald-queue-aof-'));
    server = await startRedisServer({ appendOnly: true, dir });
  });
  afterEach(async () => {
    await Promise.all(consumers.splice(0).map((c) => c.stop()));
    for (const c of clients.splice(0)) c.disconnect();
    await server.kill();
    await rm(dir, { recursive: true, force: true });
  });

  it('takes nothing from a live worker whose heartbeat expired while Redis was down', async () => {
    const make = (consumerName: string) => {
      const redis = createRedis({ url: server.url, logger, keyPrefix: 'restart:' });
      clients.push(redis);
      return createRedisQueue({
        redis,
        logger,
        registry: new Registry(),
        claimIdleMs: 60_000,
        heartbeatTtlMs: 500,
        consumerName,
      });
    };
    const [podA, podB] = [make('pod-a'), make('pod-b')];
    let release!: () => void;
    const mayFinish = new Promise<void>((resolve) => (release = resolve));
    const handled: string[] = [];
    consumers.push(
      podA.consume({
        handler: async (entry) => {
          handled.push(`A ${textOf(entry)}`);
          await mayFinish;
        },
      }),
    );
    await podA.enqueue(update(60, 'long answer'));
    await waitFor(() => handled.length === 1, { what: 'pod A to start the answer' });
    consumers.push(
      podB.consume({ handler: async (entry) => void handled.push(`B ${textOf(entry)}`) }),
    );
    // Down for three TTLs: every heartbeat, pod A's included, has expired when Redis is back.
    await server.kill();
    await sleep(1_500);
    await server.start();
    const owners = async () => {
      const redis = clients[0]!;
      const rows = (await redis.xpending(UPDATE_STREAM, WORKER_GROUP, '-', '+', 10)) as [
        string,
        string,
      ][];
      return rows.map(([, consumer]) => consumer);
    };
    await waitFor(async () => (await owners()).length === 1, { what: 'Redis to answer again' });
    // Eight TTLs after the restart: pod B would have claimed by now if it were going to.
    await sleep(4_000);
    expect(await owners()).toEqual(['pod-a']);
    release();
    await waitFor(async () => (await podA.stats()).length === 0, { what: 'pod A to finish' });
    expect(handled).toEqual(['A long answer']);
  });

  it('says once per connection that Redis is gone, without stack traces or unhandled errors', async () => {
    const lines: Record<string, unknown>[] = [];
    const captured = createLogger({
      service: 'test',
      level: 'info',
      destination: {
        write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>),
      },
    });
    const unhandled: unknown[] = [];
    const consoleError = console.error;
    console.error = (...args: unknown[]) => void unhandled.push(args);
    try {
      const redis = createRedis({ url: server.url, logger: captured, keyPrefix: 'outage:' });
      clients.push(redis);
      const queue = createRedisQueue({ redis, logger: captured, registry: new Registry() });
      consumers.push(queue.consume({ handler: async () => undefined }));
      // Both connections up: the one for commands and the one for blocking reads.
      await waitFor(() => lines.filter((l) => l.msg === 'connected to Redis').length === 2);
      await server.kill();
      // Several reconnect attempts of both connections (commands and blocking reads).
      await sleep(3_000);
      await server.start();
      await queue.enqueue(update(61, 'after the outage'));
      const lost = lines.filter((l) => String(l.msg).startsWith('lost the connection to Redis'));
      expect(lost.map((l) => l.connection).sort()).toEqual(
        [
          'main',
          'herald-reader-' +
            String(lines.find((l) => l.msg === 'update workers started')?.consumer),
        ].sort(),
      );
      expect(lines.filter((l) => JSON.stringify(l).includes('"stack"'))).toEqual([]);
      expect(unhandled).toEqual([]);
    } finally {
      console.error = consoleError;
    }
  });
});
