import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { createLogger } from '@herald/logger';
import { createCoreMetrics, createRegistry } from '@herald/ops';
import { createRedis, type Redis } from '@herald/redis';
import { startRedisServer, uniquePrefix, waitFor, type RedisServer } from '@herald/testing';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../src/app.js';
import { secretMatches, UPDATE_STREAM } from '../src/webhook.js';

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
      webhook: { secret: SECRET, redis },
    });
  });
  afterAll(async () => {
    await app.close();
    redis.disconnect();
    await server.stop();
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

describe('secretMatches', () => {
  it('accepts only the exact secret', () => {
    expect(secretMatches(SECRET, SECRET)).toBe(true);
    expect(secretMatches(SECRET.slice(0, -1), SECRET)).toBe(false);
    expect(secretMatches('', SECRET)).toBe(false);
    expect(secretMatches(undefined, SECRET)).toBe(false);
  });
});
