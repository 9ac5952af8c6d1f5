import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  startPostgres,
  startRedisServer,
  type EmbeddedPostgresServer,
  type RedisServer,
} from '@herald/embedded';

/** What the global setup started, kept for the global teardown (same process). */
interface Started {
  postgres?: EmbeddedPostgresServer;
  /** The throwaway folder the started Postgres keeps its credentials and cluster in. */
  postgresDir?: string;
  redis?: RedisServer;
}

const STATE = Symbol.for('herald.testing.servers');
type Holder = { [STATE]?: Started };

// Ctrl-C or a CI job's timeout: the servers stop with the run rather than outlive it.
const SIGNALS = ['SIGINT', 'SIGTERM'] as const;

function stopOnSignal(signal: NodeJS.Signals): void {
  // Once the servers are stopped (which removes this listener), the same signal ends the
  // process as it would have without it.
  void stopServers().finally(() => process.kill(process.pid, signal));
}

/**
 * Gives the test run a real Postgres and Redis. `DATABASE_URL` and `REDIS_URL` are used
 * when set (a CI service, a developer's own servers); otherwise throwaway servers start
 * here and stop in {@link stopServers}. Jest runs every project's global setup in one
 * process, so the second call finds the first one's servers and reuses them.
 */
export async function startServers(): Promise<void> {
  const holder = globalThis as Holder;
  if (holder[STATE]) return;
  const started: Started = {};
  holder[STATE] = started;

  if (!process.env.HERALD_TEST_POSTGRES_URL) {
    if (process.env.DATABASE_URL) {
      process.env.HERALD_TEST_POSTGRES_URL = process.env.DATABASE_URL;
    } else {
      started.postgresDir = await mkdtemp(join(tmpdir(), 'herald-test-pg-'));
      started.postgres = await startPostgres({
        dataDir: started.postgresDir,
        persistent: false,
        fast: true,
      });
      process.env.HERALD_TEST_POSTGRES_URL = started.postgres.url;
    }
  }
  if (!process.env.HERALD_TEST_REDIS_URL) {
    if (process.env.REDIS_URL) {
      process.env.HERALD_TEST_REDIS_URL = process.env.REDIS_URL;
    } else {
      started.redis = await startRedisServer();
      process.env.HERALD_TEST_REDIS_URL = started.redis.url;
    }
  }
  if (started.postgres || started.redis) {
    for (const signal of SIGNALS) process.on(signal, stopOnSignal);
  }
}

/** Stops what {@link startServers} started; servers it was given are left alone. */
export async function stopServers(): Promise<void> {
  const holder = globalThis as Holder;
  const started = holder[STATE];
  if (!started) return;
  delete holder[STATE];
  for (const signal of SIGNALS) process.off(signal, stopOnSignal);
  await Promise.all([started.postgres?.stop(), started.redis?.stop()]);
  if (started.postgresDir) await rm(started.postgresDir, { recursive: true, force: true });
}
