import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createLogger } from '@herald/logger';
import { createTestDatabase, waitFor, type TestDatabase } from '@herald/testing';
import pg from 'pg';
import { createPool, pingPostgres } from './pool.js';

describe('createPool', () => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await createTestDatabase();
  });
  afterAll(() => database.drop());

  it('survives idle connections being killed by the server, and reconnects', async () => {
    const idleErrors: Error[] = [];
    const pool = createPool({
      url: database.url,
      logger: createLogger({ service: 'test', level: 'silent' }),
      applicationName: 'herald-pool-test',
      onIdleError: (error) => idleErrors.push(error),
    });
    try {
      // Open three connections and return them to the pool, idle.
      const clients = await Promise.all([pool.connect(), pool.connect(), pool.connect()]);
      for (const client of clients) client.release();
      expect(pool.idleCount).toBe(3);

      // What a Postgres restart or failover does to idle connections.
      const admin = new pg.Client({ connectionString: database.url });
      await admin.connect();
      await admin.query(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'herald-pool-test'",
      );
      await admin.end();

      await waitFor(() => idleErrors.length === 3, { what: 'three idle-client errors' });
      // The process is still here (an unhandled 'error' event would have crashed it),
      // and the pool serves queries on fresh connections.
      await expect(pingPostgres(pool)).resolves.toBeUndefined();
      const result = await pool.query<{ one: number }>('SELECT 1 AS one');
      expect(result.rows[0]?.one).toBe(1);
    } finally {
      await pool.end();
    }
  });

  it('fails a ping within its timeout when Postgres does not answer', async () => {
    const pool = createPool({
      url: 'postgres://nobody:nothing@127.0.0.1:9/none',
      logger: createLogger({ service: 'test', level: 'silent' }),
      applicationName: 'herald-pool-test',
    });
    try {
      await expect(pingPostgres(pool, 500)).rejects.toThrow();
    } finally {
      await pool.end();
    }
  });
});
