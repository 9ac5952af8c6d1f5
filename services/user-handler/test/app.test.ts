import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createPool, pingPostgres } from '@herald/db';
import { createLogger } from '@herald/logger';
import { createCoreMetrics, createRegistry } from '@herald/ops';
import { closeStateStore, openStateStore, pingStateStore, type StateStore } from '@herald/redis';
import {
  createTestDatabase,
  startRedisServer,
  waitFor,
  type RedisServer,
  type TestDatabase,
} from '@herald/testing';
import type { FastifyInstance } from 'fastify';
import type pg from 'pg';
import { createAiClient } from '@herald/ai';
import { startLlmDouble } from '@herald/testing';
import { buildApp } from '../src/app.js';
import { llmReadiness } from '../src/reports.js';

describe('user-handler HTTP app', () => {
  const logger = createLogger({ service: 'test', level: 'silent' });
  let database: TestDatabase;
  let redisServer: RedisServer;
  let pool: pg.Pool;
  let store: StateStore;
  let app: FastifyInstance;

  beforeAll(async () => {
    database = await createTestDatabase();
    redisServer = await startRedisServer();
    pool = createPool({ url: database.url, logger, applicationName: 'test' });
    store = openStateStore({ url: redisServer.url, logger });
    const registry = createRegistry('user-handler', '0.0.0-test');
    app = await buildApp({
      logger,
      registry,
      metrics: createCoreMetrics(registry),
      checks: { postgres: () => pingPostgres(pool), redis: () => pingStateStore(store, 500) },
    });
  });
  afterAll(async () => {
    await app.close();
    await pool.end();
    await closeStateStore(store);
    await redisServer.stop();
    await database.drop();
  });

  it('answers /healthz', async () => {
    const response = await app.inject({ method: 'GET', url: '/healthz' });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({ status: 'ok' });
  });

  it('turns /readyz 503 naming Redis while it is down, and 200 once it is back', async () => {
    const ready = await app.inject({ method: 'GET', url: '/readyz' });
    expect(ready.statusCode).toBe(200);
    expect(ready.json()).toMatchObject({
      status: 'ready',
      checks: { postgres: 'ok', redis: 'ok' },
    });

    await redisServer.stop();
    const down = await app.inject({ method: 'GET', url: '/readyz' });
    expect(down.statusCode).toBe(503);
    expect(down.json()).toMatchObject({
      status: 'unavailable',
      failing: ['redis'],
      checks: { postgres: 'ok' },
    });

    // Same app, same client: no restart needed.
    await redisServer.start();
    await waitFor(
      async () => (await app.inject({ method: 'GET', url: '/readyz' })).statusCode === 200,
      { what: '/readyz to turn 200 again' },
    );
  });

  it('serves Prometheus metrics: process defaults and herald_ ones', async () => {
    await app.inject({ method: 'GET', url: '/readyz' });
    const response = await app.inject({ method: 'GET', url: '/metrics' });
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toContain('text/plain');
    expect(response.body).toContain('process_cpu_user_seconds_total');
    expect(response.body).toMatch(
      /herald_build_info\{version="0.0.0-test",service="user-handler"\} 1/,
    );
    expect(response.body).toMatch(
      /herald_dependency_up\{dependency="postgres",service="user-handler"\} 1/,
    );
    expect(response.body).toContain('herald_http_request_duration_seconds_bucket');
  });

  it('stays ready without the LLM, and says in /readyz that it is degraded and why', async () => {
    const llm = await startLlmDouble();
    const client = createAiClient({
      baseUrl: llm.baseUrl,
      logger,
      retries: 0,
      breaker: { failureThreshold: 1, openMs: 60_000 },
    });
    const registry = createRegistry('user-handler', '0.0.0-test');
    const withLlm = await buildApp({
      logger,
      registry,
      metrics: createCoreMetrics(registry),
      checks: { postgres: () => pingPostgres(pool) },
      report: llmReadiness({ client, models: ['deepseek-r1-14b'] }, 0),
    });
    try {
      const up = await withLlm.inject({ method: 'GET', url: '/readyz' });
      expect(up.statusCode).toBe(200);
      expect(up.json()).toMatchObject({
        status: 'ready',
        llm: { status: 'ok', circuit: 'closed', models: ['deepseek-r1-14b'] },
      });
      expect(up.json()).not.toHaveProperty('degraded');

      await llm.close();
      const unreachable = await withLlm.inject({ method: 'GET', url: '/readyz' });
      expect(unreachable.statusCode).toBe(200);
      expect(unreachable.json()).toMatchObject({
        status: 'ready',
        degraded: ['llm'],
        llm: { status: 'degraded', circuit: 'closed' },
      });

      // One failed answer opens this client's circuit: /readyz says when calls resume.
      await expect(
        (async () => {
          const events = client.streamChat({
            model: 'deepseek-r1-14b',
            messages: [{ role: 'user', content: 'hi' }],
          });
          while (!(await events.next()).done);
        })(),
      ).rejects.toThrow();
      const open = await withLlm.inject({ method: 'GET', url: '/readyz' });
      expect(open.statusCode).toBe(200);
      expect(open.json()).toMatchObject({
        degraded: ['llm'],
        llm: {
          status: 'degraded',
          circuit: 'open',
          detail: expect.stringMatching(/resume in \d+ s/),
        },
      });
    } finally {
      await withLlm.close();
      await client.close();
    }
  });
});
