import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, startPostgres, type EmbeddedPostgresServer } from '@herald/embedded';

/**
 * A Postgres that one test owns and may stop and start again, keeping its data, port and
 * credentials, as a database restarted under a running service (a failover, an upgrade).
 */
export interface OwnPostgres {
  /** URL of the `postgres` maintenance database: a role that may create databases. */
  readonly url: string;
  readonly port: number;
  /** URL of another database on this server. */
  urlFor(database: string): string;
  /** Postgres's fast shutdown: sessions are ended, the data stays. */
  stop(): Promise<void>;
  /** Starts it again on the same data and port (after {@link OwnPostgres.stop}). */
  start(): Promise<void>;
  /** Whether it serves now. */
  readonly running: boolean;
  /** Stops it if it runs and deletes everything it kept. */
  close(): Promise<void>;
}

/**
 * Starts a throwaway embedded Postgres in a temporary folder of its own, built for speed
 * (no fsync: a crash may lose data, a stop does not). As root it runs as the `postgres`
 * user, like the run's shared server.
 */
export async function startOwnPostgres(
  options: { onLog?: (line: string) => void } = {},
): Promise<OwnPostgres> {
  const dataDir = await mkdtemp(join(tmpdir(), 'herald-own-pg-'));
  const port = await freePort();
  const launch = () =>
    startPostgres({
      dataDir,
      persistent: true,
      port,
      fast: true,
      ...(options.onLog ? { onLog: options.onLog } : {}),
    });
  let server: EmbeddedPostgresServer | undefined;
  try {
    server = await launch();
  } catch (error) {
    await rm(dataDir, { recursive: true, force: true });
    throw error;
  }
  const first = server;
  // As root the cluster may live outside dataDir (see startPostgres); it goes at close too.
  const clusterDir = first.clusterDir;
  const stop = async (): Promise<void> => {
    const running = server;
    server = undefined;
    await running?.stop();
  };
  return {
    url: first.url,
    port,
    urlFor: (database) => first.urlFor(database),
    stop,
    async start() {
      if (server) throw new Error(`Postgres on port ${port} is already running`);
      server = await launch();
    },
    get running() {
      return server !== undefined;
    },
    async close() {
      await stop();
      await rm(dataDir, { recursive: true, force: true });
      await rm(clusterDir, { recursive: true, force: true });
    },
  };
}
