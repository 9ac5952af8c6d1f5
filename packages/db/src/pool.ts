import type { Logger } from '@herald/logger';
import { drizzle, type NodePgDatabase } from 'drizzle-orm/node-postgres';
import pg from 'pg';
import * as schema from './schema/index.js';

export type Database = NodePgDatabase<typeof schema>;

export interface PoolOptions {
  url: string;
  logger: Logger;
  /** Shown in pg_stat_activity, so an operator sees which service holds a connection. */
  applicationName: string;
  max?: number;
  /** Called when an idle connection fails (server restart, network cut); wire a counter here. */
  onIdleError?: (error: Error) => void;
}

/**
 * A pg pool with bounded waits everywhere: no connect, statement or query can hang a
 * request forever when Postgres is slow or gone.
 */
export function createPool(options: PoolOptions): pg.Pool {
  const pool = new pg.Pool({
    connectionString: options.url,
    application_name: options.applicationName,
    max: options.max ?? 10,
    connectionTimeoutMillis: 5_000,
    idleTimeoutMillis: 30_000,
    // Ended by the server, so the connection stays usable.
    statement_timeout: 30_000,
    // Ended by the client, for when the server does not answer at all.
    query_timeout: 35_000,
    keepAlive: true,
  });
  // An idle client's error is emitted on the pool; without a listener it would crash the
  // process. The pool drops that client and opens a new one on the next checkout.
  pool.on('error', (error) => {
    options.logger.warn(
      { err: error },
      'an idle Postgres connection failed; the pool will reconnect. If this repeats, check that Postgres is up and reachable',
    );
    options.onIdleError?.(error);
  });
  return pool;
}

/** Drizzle over the pool, with Herald's schema. */
export function createDatabase(pool: pg.Pool): Database {
  return drizzle(pool, { schema });
}

/** Resolves when Postgres answers a trivial query within `timeoutMs`. */
export async function pingPostgres(pool: pg.Pool, timeoutMs = 2_000): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      pool.query('SELECT 1'),
      new Promise((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`Postgres did not answer within ${timeoutMs} ms`)),
          timeoutMs,
        );
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}
