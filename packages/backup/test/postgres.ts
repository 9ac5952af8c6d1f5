// A Postgres that this machine's pg_dump can dump. pg_dump refuses a server of a newer
// major than its own; the run's shared test server is the embedded one (18.x) and
// Debian's client is older (bookworm: 15), so unless a new enough client is installed,
// a throwaway server of the client's own major is started from the same bin folder
// (Debian's postgresql-<major> package; scripts/ensure-pg-client.sh installs it).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { chown, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTestDatabase, freePort } from '@herald/testing';
import pg from 'pg';
import { toolVersion } from '../src/postgres-tools.js';

const PROGRAMS = ['pg_dump', 'pg_restore'] as const;
const SERVER_PROGRAMS = ['initdb', 'postgres'] as const;

const has = (dir: string, programs: readonly string[]): boolean =>
  programs.every((program) => existsSync(join(dir, program)));

/** Candidate bin folders, newest major first: Debian's layout, then pg_config's. */
function binFolders(): string[] {
  const folders: string[] = [];
  if (existsSync('/usr/lib/postgresql')) {
    const majors = readdirSync('/usr/lib/postgresql')
      .filter((name) => /^\d+$/.test(name))
      .sort((a, b) => Number(b) - Number(a));
    folders.push(...majors.map((major) => `/usr/lib/postgresql/${major}/bin`));
  }
  const pgConfig = spawnSync('pg_config', ['--bindir'], { encoding: 'utf8' });
  if (pgConfig.status === 0) folders.push(pgConfig.stdout.trim());
  return folders.filter((dir) => has(dir, PROGRAMS));
}

const INSTALL_ADVICE =
  "run 'bash packages/backup/scripts/ensure-pg-client.sh' as root (installs Debian's " +
  "postgresql-client-<major> and postgresql-<major>), or install PostgreSQL's client and server programs of one major";

export interface TestDatabase {
  readonly url: string;
  drop(): Promise<void>;
}

export interface DumpablePostgres {
  /** The folder holding the pg_dump and pg_restore the tests use. */
  readonly binDir: string;
  /** Which server: the run's shared one, or one started here. */
  readonly description: string;
  createDatabase(): Promise<TestDatabase>;
  stop(): Promise<void>;
}

async function serverMajor(url: string): Promise<number> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const result = await client.query<{ num: string }>(
      "SELECT current_setting('server_version_num') AS num",
    );
    return Math.floor(Number(result.rows[0]!.num) / 10_000);
  } finally {
    await client.end();
  }
}

function postgresAccount(): { uid: number; gid: number } {
  const line = readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .find((entry) => entry.startsWith('postgres:'));
  const [, , uid, gid] = line?.split(':') ?? [];
  if (!uid || !gid) {
    throw new Error(`no 'postgres' user to run a test server as root: ${INSTALL_ADVICE}`);
  }
  return { uid: Number(uid), gid: Number(gid) };
}

function waitForExit(child: ChildProcess, what: string): Promise<void> {
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code) =>
      code === 0 ? resolve() : reject(new Error(`${what} failed (code ${code}): ${output}`)),
    );
  });
}

/** Starts a throwaway server from `binDir` on 127.0.0.1, as `postgres` when we are root. */
async function startOwnServer(binDir: string, major: number): Promise<DumpablePostgres> {
  if (!has(binDir, SERVER_PROGRAMS)) {
    throw new Error(
      `pg_dump ${major} in ${binDir} cannot dump the test Postgres, and there is no initdb/postgres of major ${major} beside it: ${INSTALL_ADVICE}`,
    );
  }
  const owner = process.getuid?.() === 0 ? postgresAccount() : undefined;
  const baseDir = await mkdtemp(join(tmpdir(), 'herald-backup-pg-'));
  const dataDir = join(baseDir, 'data');
  const passwordFile = join(baseDir, 'password');
  const password = randomBytes(12).toString('hex');
  await writeFile(passwordFile, `${password}\n`, { mode: 0o600 });
  if (owner) {
    await chown(baseDir, owner.uid, owner.gid);
    await chown(passwordFile, owner.uid, owner.gid);
  }
  const as = { ...(owner ?? {}), cwd: baseDir };
  await waitForExit(
    spawn(
      join(binDir, 'initdb'),
      [
        `--pgdata=${dataDir}`,
        '--username=herald',
        `--pwfile=${passwordFile}`,
        '--auth=scram-sha-256',
        '--encoding=UTF8',
        '--locale=C',
        '--no-sync',
      ],
      { ...as, stdio: ['ignore', 'pipe', 'pipe'] },
    ),
    'initdb',
  );
  const port = await freePort();
  const server = spawn(
    join(binDir, 'postgres'),
    [
      '-D',
      dataDir,
      '-p',
      String(port),
      '-c',
      'listen_addresses=127.0.0.1',
      '-c',
      'unix_socket_directories=',
      '-c',
      'fsync=off',
      '-c',
      'synchronous_commit=off',
      '-c',
      'full_page_writes=off',
      '-c',
      'lc_messages=C',
    ],
    { ...as, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const exited = new Promise<void>((resolve) => server.once('exit', () => resolve()));
  await new Promise<void>((ready, fail) => {
    let log = '';
    const watch = (chunk: Buffer): void => {
      log = (log + chunk.toString()).slice(-8_192);
      if (log.includes('database system is ready to accept connections')) ready();
    };
    server.stdout.on('data', watch);
    server.stderr.on('data', watch);
    server.once('exit', (code) => fail(new Error(`postgres exited (code ${code}): ${log}`)));
  });
  const urlFor = (database: string): string =>
    `postgres://herald:${password}@127.0.0.1:${port}/${database}`;
  const admin = async (sql: string): Promise<void> => {
    const client = new pg.Client({ connectionString: urlFor('postgres') });
    await client.connect();
    try {
      await client.query(sql);
    } finally {
      await client.end();
    }
  };
  return {
    binDir,
    description: `PostgreSQL ${major} started from ${binDir}`,
    async createDatabase() {
      const name = `backup_test_${randomBytes(5).toString('hex')}`;
      await admin(`CREATE DATABASE ${name}`);
      return {
        url: urlFor(name),
        drop: () => admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`),
      };
    },
    async stop() {
      if (server.exitCode === null && server.signalCode === null) server.kill('SIGINT');
      await exited;
      await rm(baseDir, { recursive: true, force: true });
    },
  };
}

/**
 * A Postgres the installed pg_dump can dump: the run's shared server when the client is
 * new enough, else one of the client's major started here.
 * @throws with what to install when no usable pg_dump is found.
 */
export async function startDumpablePostgres(): Promise<DumpablePostgres> {
  const binDir = binFolders()[0];
  if (!binDir) throw new Error(`no pg_dump/pg_restore found: ${INSTALL_ADVICE}`);
  const { major } = await toolVersion(join(binDir, 'pg_dump'));
  const shared = process.env.HERALD_TEST_POSTGRES_URL;
  if (shared && (await serverMajor(shared)) <= major) {
    return {
      binDir,
      description: `the run's shared Postgres, dumped with pg_dump ${major}`,
      createDatabase: () => createTestDatabase(),
      stop: async () => undefined,
    };
  }
  return startOwnServer(binDir, major);
}
