import { createPool, pingPostgres } from '@herald/db';
import type { Logger } from '@herald/logger';
import { closeStateStore, openStateStore, pingStateStore, type StateStore } from '@herald/redis';
import type pg from 'pg';
import { createCoreMetrics, createRegistry, type CoreMetrics, type Registry } from './metrics.js';
import type { ReadinessCheck } from './routes.js';

/** The connections and metrics every Herald service process holds. */
export interface ServiceRuntime {
  pool: pg.Pool;
  store: StateStore;
  registry: Registry;
  metrics: CoreMetrics;
  /** Readiness checks of Postgres and the state store, for /readyz and /status. */
  checks: { postgres: ReadinessCheck; redis: ReadinessCheck };
  /** Closes the pool and the state store, letting queries in flight finish. */
  close(): Promise<void>;
}

export interface RuntimeOptions {
  service: string;
  version: string;
  logger: Logger;
  databaseUrl: string;
  /** Redis URL; undefined keeps shared state in-process (local mode). */
  redisUrl: string | undefined;
  /** Prepended to every Redis key (`REDIS_KEY_PREFIX`); default `herald:`. */
  redisKeyPrefix?: string | undefined;
}

/**
 * Opens the Postgres pool and the state store of a service, with their connection errors
 * counted in `herald_dependency_errors_total`.
 */
export function openRuntime(options: RuntimeOptions): ServiceRuntime {
  const registry = createRegistry(options.service, options.version);
  const metrics = createCoreMetrics(registry);
  const pool = createPool({
    url: options.databaseUrl,
    logger: options.logger,
    applicationName: `herald-${options.service}`,
    onIdleError: () => metrics.dependencyErrors.inc({ dependency: 'postgres' }),
  });
  const store = openStateStore({
    url: options.redisUrl,
    logger: options.logger,
    keyPrefix: options.redisKeyPrefix ?? 'herald:',
    connectionName: `herald-${options.service}`,
    onError: () => metrics.dependencyErrors.inc({ dependency: 'redis' }),
  });
  return {
    pool,
    store,
    registry,
    metrics,
    checks: { postgres: () => pingPostgres(pool), redis: () => pingStateStore(store) },
    close: async () => {
      await Promise.all([pool.end(), closeStateStore(store)]);
    },
  };
}
