import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { createLogger } from '@herald/logger';
import { createCoreMetrics, createRegistry } from '@herald/ops';
import { createRedis, type Redis } from '@herald/redis';
import { startRedisServer, uniquePrefix, waitFor, type RedisServer } from '@herald/testing';
import type { FastifyInstance } from 'fastify';
import type { Update } from 'telegraf/types';
import { buildApp } from '../src/app.js';
import { createRedisQueue, UPDATE_STREAM } from '../src/updates/redis-queue.js';
import { secretMatches } from '../src/ingress/webhook.js';
import { message, startHarness, type Harness } from './harness.js';

const SECRET = 'webhook-secret-0123456789abcdef';
let nextId = 1;

function update(chatId = 42, text = 'hello') {
  const id = nextId++;
  return {
    update_id: id,
    message: {
      message_id: id,
      date: 1_700_000_000,
      chat: { id: chatId, type: 'private', first_name: 'Eve' },
      from: { id: chatId, is_bot: false, first_name: 'Eve' },
      text,
    },
  };
}

describe('POST /telegram/webhook', () => {
  const logger = createLogger({ service: 'test', level: 'silent' });
  let server: RedisServer;
  let redis: Redis;
  let prefix: string;
  let app: FastifyInstance;

  const post = (body: unknown, secret: string | null = SECRET) =>
    app.inject({
      method: 'POST',
      url: '/telegram/webhook',
      headers: {
        'content-type': 'application/json',
        ...(secret === null ? {} : { 'x-telegram-bot-api-secret-token': secret }),
      },
      payload: typeof body === 'string' ? body : JSON.stringify(body),
    });
  const queued = async () =>
    (await redis.xrange(UPDATE_STREAM, '-', '+')).map(
      ([, fields]) => JSON.parse(fields[1] ?? '{}') as { update_id: number },
    );

  beforeAll(async () => {
    server = await startRedisServer();
  });
  beforeEach(async () => {
    await app?.close();
    redis?.disconnect();
    prefix = uniquePrefix('webhook');
    redis = createRedis({ url: server.url, logger, keyPrefix: prefix });
    const registry = createRegistry('user-handler', 'test');
    app = await buildApp({
      logger,
      registry,
      metrics: createCoreMetrics(registry),
      checks: {},
      webhook: { secret: SECRET, queue: createRedisQueue({ redis, logger, registry }) },
    });
  });
  afterAll(async () => {
    await app.close();
    redis.disconnect();
    await server.stop();
  });

  it('exports every outcome from zero, so alerts see the first refusal or dead letter after a start', async () => {
    const metrics = (await app.inject({ method: 'GET', url: '/metrics' })).body;
    for (const outcome of ['accepted', 'duplicate', 'unauthorized', 'invalid', 'unavailable']) {
      expect(metrics).toMatch(
        new RegExp(`herald_updates_received_total\\{outcome="${outcome}"[^}]*\\} 0\\n`),
      );
    }
    for (const outcome of ['ok', 'retried', 'dead_lettered', 'dropped', 'taken_over']) {
      expect(metrics).toMatch(
        new RegExp(`herald_updates_processed_total\\{outcome="${outcome}"[^}]*\\} 0\\n`),
      );
    }
  });

  it('queues an update and answers 200 only after Redis stored it', async () => {
    const sent = update(77);
    const response = await post(sent);
    expect(response.statusCode).toBe(200);
    const [entry] = await redis.xrange(UPDATE_STREAM, '-', '+');
    expect(entry?.[1]).toEqual(['update', JSON.stringify(sent), 'chat', '77']);
  });

  it('queues the same update_id once however often Telegram delivers it', async () => {
    const sent = update();
    expect((await post(sent)).statusCode).toBe(200);
    expect((await post(sent)).statusCode).toBe(200);
    expect((await queued()).map((u) => u.update_id)).toEqual([sent.update_id]);
    const metrics = await app.inject({ method: 'GET', url: '/metrics' });
    expect(metrics.body).toMatch(
      /herald_updates_received_total\{outcome="duplicate",service="user-handler"\} 1/,
    );
  });

  it('refuses a wrong or missing secret with 401 and never queues the update', async () => {
    expect((await post(update(), 'wrong-secret')).statusCode).toBe(401);
    expect((await post(update(), null)).statusCode).toBe(401);
    expect((await post(update(), `${SECRET}x`)).statusCode).toBe(401);
    expect(await queued()).toEqual([]);
  });

  it.each([
    ['an array', '[1,2]'],
    ['no update_id', '{"message":{"text":"x"}}'],
    ['a negative update_id', '{"update_id":-1,"message":{}}'],
    ['only an update_id', '{"update_id":5}'],
    ['a string update_id', '{"update_id":"5","message":{}}'],
  ])('answers 400 to %s', async (_what, body) => {
    expect((await post(body)).statusCode).toBe(400);
    expect(await queued()).toEqual([]);
  });

  it('answers 413 to a body over 1 MiB', async () => {
    const response = await post(update(42, 'x'.repeat(1_100_000)));
    expect(response.statusCode).toBe(413);
    expect(await queued()).toEqual([]);
  });

  it('answers 503 while Redis is down, and takes the same update once it is back', async () => {
    const sent = update();
    await server.stop();
    const down = await post(sent);
    expect(down.statusCode).toBe(503);
    await server.start();
    await waitFor(async () => (await redis.ping()) === 'PONG', { what: 'Redis to be back' });
    expect((await post(sent)).statusCode).toBe(200);
    expect((await queued()).map((u) => u.update_id)).toEqual([sent.update_id]);
  });
});

describe('webhook to answer, with the workers running', () => {
  let server: RedisServer;
  let harness: Harness;
  let app: FastifyInstance;
  const post = (body: Update, secret = SECRET) =>
    app.inject({
      method: 'POST',
      url: '/telegram/webhook',
      headers: { 'content-type': 'application/json', 'x-telegram-bot-api-secret-token': secret },
      payload: JSON.stringify(body),
    });

  beforeAll(async () => {
    server = await startRedisServer();
    harness = await startHarness('redis', { redisUrl: server.url });
    app = await buildApp({
      logger: harness.logger,
      registry: harness.runtime.registry,
      metrics: harness.runtime.metrics,
      checks: harness.runtime.checks,
      webhook: { secret: SECRET, queue: harness.handler.queue },
    });
  });
  beforeEach(() => harness.clear());
  afterAll(async () => {
    await app.close();
    await harness.close();
    await server.stop();
  });

  it('answers an update Telegram delivers twice only once', async () => {
    const sent = message('/help');
    expect((await post(sent)).statusCode).toBe(200);
    expect((await post(sent)).statusCode).toBe(200);
    await waitFor(() => harness.replies().length > 0, { what: 'the answer' });
    await harness.send();
    await new Promise((r) => setTimeout(r, 200));
    expect(harness.replies()).toHaveLength(1);
  });

  it('never handles an update sent with a wrong secret', async () => {
    expect((await post(message('/help'), 'not-the-secret')).statusCode).toBe(401);
    await new Promise((r) => setTimeout(r, 300));
    expect(harness.telegram.callsOf('sendMessage')).toEqual([]);
  });

  it('answers 503 while Redis is down, then answers the update Telegram sends again', async () => {
    const sent = message('/help');
    await server.stop();
    expect((await post(sent)).statusCode).toBe(503);
    await server.start();
    await waitFor(async () => (await post(sent)).statusCode === 200, {
      what: 'the webhook to accept the update again',
      timeoutMs: 15_000,
      intervalMs: 200,
    });
    await waitFor(() => harness.replies().length === 1, { what: 'the answer', timeoutMs: 15_000 });
    expect(harness.replies()[0]).toContain('What I can do');
  });
});

describe('secretMatches', () => {
  it('accepts only the exact secret', () => {
    expect(secretMatches(SECRET, SECRET)).toBe(true);
    expect(secretMatches(SECRET.slice(0, -1), SECRET)).toBe(false);
    expect(secretMatches('', SECRET)).toBe(false);
    expect(secretMatches(undefined, SECRET)).toBe(false);
  });
});
