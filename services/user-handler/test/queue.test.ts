import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { createLogger } from '@herald/logger';
import { Registry } from '@herald/ops';
import { createRedis, type Redis } from '@herald/redis';
import { testRedisUrl, uniquePrefix, waitFor } from '@herald/testing';
import type { Update } from 'telegraf/types';
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
});
