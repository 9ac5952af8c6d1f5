import { join } from 'node:path';
import { startPostgres, type EmbeddedPostgresServer } from '@herald/embedded';
import type { Logger } from '@herald/logger';
import pg from 'pg';

/**
 * Starts the embedded Postgres kept under `<home>/postgres` and makes sure its `herald`
 * database exists. Data survives restarts; delete the directory to start afresh. Stopping
 * it is left to local mode's shutdown, as its last step: @herald/embedded installs no
 * signal handlers of its own.
 */
export async function startLocalDatabase(
  home: string,
  logger: Logger,
): Promise<{ url: string; server: EmbeddedPostgresServer }> {
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
