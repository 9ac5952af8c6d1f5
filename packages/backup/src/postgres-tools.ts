import { spawn, type ChildProcessByStdio } from 'node:child_process';
import { join } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import pg from 'pg';

/** Where pg_dump and pg_restore are: a folder, or found on PATH when none is given. */
export interface PostgresTools {
  readonly pgDump: string;
  readonly pgRestore: string;
}

/** The tools in `binDir`, or the ones on PATH. */
export function postgresTools(binDir?: string): PostgresTools {
  return binDir
    ? { pgDump: join(binDir, 'pg_dump'), pgRestore: join(binDir, 'pg_restore') }
    : { pgDump: 'pg_dump', pgRestore: 'pg_restore' };
}

/** A Postgres tool that could not run or that failed, with what it printed. */
export class PostgresToolError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'PostgresToolError';
  }
}

const NOT_FOUND_ADVICE =
  'install the PostgreSQL client of the server major version (the backup image has it), ' +
  'or set BACKUP_PG_BIN_DIR to the folder holding pg_dump and pg_restore';

/**
 * The connection URL without its password, and the environment that carries the password
 * instead: a URL on a command line is visible to anyone who can list processes.
 */
export function toolConnection(url: string): { dbname: string; env: NodeJS.ProcessEnv } {
  const parsed = new URL(url);
  const password = decodeURIComponent(parsed.password);
  parsed.password = '';
  return {
    dbname: parsed.toString(),
    env: {
      // eslint-disable-next-line no-restricted-properties -- the tool inherits PATH, PGSSL* and the like
      ...process.env,
      PGAPPNAME: 'herald-backup',
      ...(password ? { PGPASSWORD: password } : {}),
    },
  };
}

/** A running tool: its streams, the tail of what it wrote to stderr, and its exit. */
export interface RunningTool<Stdin extends Writable | null, Stdout extends Readable | null> {
  readonly child: ChildProcessByStdio<Stdin, Stdout, Readable>;
  /** Resolves when the tool has exited 0; rejects with its stderr otherwise. */
  readonly finished: Promise<void>;
}

const STDERR_TAIL_BYTES = 8_192;

/** Starts a Postgres tool and watches its exit. */
export function runTool<Stdin extends 'pipe' | 'ignore', Stdout extends 'pipe' | 'ignore'>(
  program: string,
  args: readonly string[],
  options: { env: NodeJS.ProcessEnv; stdin: Stdin; stdout: Stdout },
): RunningTool<Stdin extends 'pipe' ? Writable : null, Stdout extends 'pipe' ? Readable : null> {
  const child = spawn(program, args, {
    env: options.env,
    stdio: [options.stdin, options.stdout, 'pipe'],
  }) as unknown as ChildProcessByStdio<
    Stdin extends 'pipe' ? Writable : null,
    Stdout extends 'pipe' ? Readable : null,
    Readable
  >;
  let stderr = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (text: string) => {
    stderr = (stderr + text).slice(-STDERR_TAIL_BYTES);
  });
  const finished = new Promise<void>((resolve, reject) => {
    child.once('error', (error: NodeJS.ErrnoException) => {
      reject(
        new PostgresToolError(
          error.code === 'ENOENT'
            ? `${program} not found: ${NOT_FOUND_ADVICE}`
            : `could not run ${program}: ${error.message}`,
          { cause: error },
        ),
      );
    });
    child.once('close', (code, signal) => {
      if (code === 0) resolve();
      else
        reject(
          new PostgresToolError(
            `${program} failed (${signal ? `signal ${signal}` : `exit code ${code}`}): ${stderr.trim() || 'no output'}`,
          ),
        );
    });
  });
  // The caller awaits `finished` at its own pace; an early failure must not go unhandled.
  finished.catch(() => undefined);
  return { child, finished };
}

/** The major version of a tool, from `pg_dump --version` ("pg_dump (PostgreSQL) 17.2 …"). */
export async function toolVersion(program: string): Promise<{ major: number; text: string }> {
  const tool = runTool(program, ['--version'], {
    // eslint-disable-next-line no-restricted-properties -- the tool inherits PATH and locale
    env: process.env,
    stdin: 'ignore',
    stdout: 'pipe',
  });
  let output = '';
  tool.child.stdout.setEncoding('utf8');
  tool.child.stdout.on('data', (text: string) => (output += text));
  await tool.finished;
  const match = /\(PostgreSQL\)\s+(\d+)(?:\.\d+)?/.exec(output);
  if (!match) throw new PostgresToolError(`${program} --version printed no version: ${output}`);
  return { major: Number(match[1]), text: output.trim() };
}

/** The server's version and the database's name, read over a connection. */
export async function serverInfo(
  url: string,
): Promise<{ major: number; version: string; database: string }> {
  const client = new pg.Client({ connectionString: url, application_name: 'herald-backup' });
  await client.connect();
  try {
    const result = await client.query<{ num: string; version: string; database: string }>(
      "SELECT current_setting('server_version_num') AS num, current_setting('server_version') AS version, current_database() AS database",
    );
    const row = result.rows[0]!;
    return {
      major: Math.floor(Number(row.num) / 10_000),
      version: row.version,
      database: row.database,
    };
  } finally {
    await client.end();
  }
}
