import { execFile } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { chmod, lstat, readdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** The system user Postgres runs as when we are root. */
export interface PostgresUser {
  readonly uid: number;
  readonly gid: number;
}

const NAME = 'postgres';

/** True when this process runs as root, where Postgres refuses to run. */
export function runningAsRoot(): boolean {
  return process.getuid?.() === 0;
}

async function lookUp(): Promise<PostgresUser | undefined> {
  try {
    const [uid, gid] = await Promise.all([
      run('id', ['-u', NAME]).then(({ stdout }) => Number.parseInt(stdout, 10)),
      run('id', ['-g', NAME]).then(({ stdout }) => Number.parseInt(stdout, 10)),
    ]);
    return { uid, gid };
  } catch {
    // `id` exits non-zero for an unknown user: the one outcome that means "create it".
    return undefined;
  }
}

/**
 * The `postgres` system user, created (with its group, no home, no login shell) when the
 * machine has none. Only root may call this.
 * @throws when the user is missing and cannot be created, saying what to do.
 */
export async function postgresUser(): Promise<PostgresUser> {
  const found = await lookUp();
  if (found) return found;
  try {
    await run('groupadd', ['--force', '--system', NAME]);
    await run('useradd', [
      '--system',
      '--gid',
      NAME,
      '--no-create-home',
      '--shell',
      '/usr/sbin/nologin',
      NAME,
    ]);
  } catch (error) {
    // A second server starting at the same moment may have created it first.
    const created = await lookUp();
    if (created) return created;
    throw new Error(
      'Postgres refuses to run as root and there is no `postgres` user to run it as, nor ' +
        `could one be created (${String(error)}). Create it with \`useradd --system postgres\`, ` +
        'or set DATABASE_URL to a running Postgres.',
      { cause: error },
    );
  }
  const created = await lookUp();
  if (!created) throw new Error('useradd reported success but `id postgres` finds no such user');
  return created;
}

/** True when other users (the `postgres` user) may pass through every parent of `dir`. */
export function traversableByOthers(dir: string): boolean {
  for (let current = dirname(dir); ; current = dirname(current)) {
    if (existsSync(current) && (statSync(current).mode & 0o001) === 0) return false;
    if (dirname(current) === current) return true;
  }
}

/**
 * Lets every user read everything under `dir`, enter its folders and run what its owner
 * may run, whatever umask the files were unpacked with. Links are left as they are.
 */
export async function openToOthers(dir: string): Promise<void> {
  await chmod(dir, 0o755);
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      await openToOthers(path);
    } else if (entry.isFile()) {
      const mode = (await lstat(path)).mode & 0o777;
      await chmod(path, mode | 0o444 | (mode & 0o100 ? 0o111 : 0));
    }
  }
}
