import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createLogger } from '@herald/logger';
import {
  startRedisServer,
  testRedisUrl,
  uniquePrefix,
  waitFor,
  type RedisServer,
} from '@herald/testing';
import { Redis } from 'ioredis';
import {
  createRedis,
  openStateStore,
  pingRedis,
  pingStateStore,
  reconnectDelayMs,
} from './index.js';

const logger = createLogger({ service: 'test', level: 'silent' });

describe('createRedis', () => {
  let server: RedisServer;
  beforeAll(async () => {
    server = await startRedisServer();
  });
  afterAll(() => server.stop());

  it('fails fast while Redis is down and heals by itself when it is back', async () => {
    const errors: Error[] = [];
    const client = createRedis({ url: server.url, logger, onError: (e) => errors.push(e) });
    try {
      await pingRedis(client);
      await server.stop();
      const started = Date.now();
      await expect(client.set('k', 'v')).rejects.toThrow();
      // Bounded by the command timeout and one retry, not queued forever.
      expect(Date.now() - started).toBeLessThan(5_000);
      expect(errors.length).toBeGreaterThan(0);

      await server.start();
      await waitFor(() => pingRedis(client).then(() => true), { what: 'Redis to answer again' });
      await expect(client.set('k', 'v')).resolves.toBe('OK');
    } finally {
      client.disconnect();
    }
  });
});

describe('key prefix', () => {
  it('stores every key under the configured prefix', async () => {
    const prefix = uniquePrefix('herald');
    const client = createRedis({ url: testRedisUrl(), logger, keyPrefix: prefix });
    const raw = new Redis(testRedisUrl());
    try {
      await client.set('session:1', 'x');
      expect(await raw.get(`${prefix}session:1`)).toBe('x');
      expect(await raw.exists('session:1')).toBe(0);
    } finally {
      client.disconnect();
      raw.disconnect();
    }
  });
});

describe('state store', () => {
  it('is in-process without a URL and Redis with one', async () => {
    const local = openStateStore({ url: undefined, logger });
    expect(local.kind).toBe('in-process');
    await expect(pingStateStore(local)).resolves.toBeUndefined();

    const shared = openStateStore({ url: testRedisUrl(), logger });
    try {
      expect(shared.kind).toBe('redis');
      await expect(pingStateStore(shared)).resolves.toBeUndefined();
    } finally {
      if (shared.kind === 'redis') shared.redis.disconnect();
    }
  });
});

describe('a state store on a Redis with a password', () => {
  const password = 'redis-pass-5d1f9c';
  let server: RedisServer;
  beforeAll(async () => {
    server = await startRedisServer();
    const admin = new Redis(server.url);
    await admin.config('SET', 'requirepass', password);
    admin.disconnect();
  });
  afterAll(() => server.stop());

  it('connects with the password but keeps it out of every field it shows', async () => {
    const url = server.url.replace('redis://', `redis://:${password}@`);
    const store = openStateStore({ url, logger });
    try {
      await expect(pingStateStore(store)).resolves.toBeUndefined();
      if (store.kind !== 'redis') throw new Error('expected a Redis store');
      // Everything but the client itself, which must hold the password to authenticate.
      const fields = Object.fromEntries(Object.entries(store).filter(([key]) => key !== 'redis'));
      expect(JSON.stringify(fields)).not.toContain(password);
      expect(store.url).toBe(server.url.replace('redis://', 'redis://:***@'));
    } finally {
      if (store.kind === 'redis') store.redis.disconnect();
    }
  });
});

describe('reconnectDelayMs', () => {
  it('backs off but never waits more than 2 s between attempts', () => {
    for (let attempt = 1; attempt < 50; attempt++) {
      const delay = reconnectDelayMs(attempt);
      expect(delay).toBeGreaterThan(0);
      expect(delay).toBeLessThanOrEqual(2_000);
    }
    expect(reconnectDelayMs(1)).toBeLessThan(reconnectDelayMs(20));
  });
});
