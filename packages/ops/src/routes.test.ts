import { describe, expect, it } from '@jest/globals';
import { createLogger } from '@herald/logger';
import { createHttpApp } from './app.js';
import { createCoreMetrics, createRegistry } from './metrics.js';

describe('/readyz', () => {
  it('names a failing dependency without showing a password from its error', async () => {
    const registry = createRegistry('test', 'test');
    const app = await createHttpApp({
      logger: createLogger({ service: 'test', level: 'silent' }),
      registry,
      metrics: createCoreMetrics(registry),
      checks: {
        postgres: async () => {
          // What a driver may say: the connection string, password included.
          throw new Error('cannot connect to postgres://herald:pg-pass-3k9d@db:5432/herald');
        },
        redis: async () => undefined,
      },
    });
    try {
      const response = await app.inject({ method: 'GET', url: '/readyz' });
      expect(response.statusCode).toBe(503);
      expect(response.json()).toMatchObject({
        status: 'unavailable',
        failing: ['postgres'],
        checks: { postgres: 'cannot connect to postgres://herald:***@db:5432/herald', redis: 'ok' },
      });
      expect(response.body).not.toContain('pg-pass-3k9d');
    } finally {
      await app.close();
    }
  });
});
