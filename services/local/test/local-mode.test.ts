import { spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { MIGRATIONS_DIR } from '@herald/db';
import { freePort } from '@herald/testing';

const MAIN = fileURLToPath(new URL('../dist/main.js', import.meta.url));

/** Runs local mode with `input` typed into the console chat; resolves at exit. */
async function chat(home: string, input: string): Promise<{ code: number | null; stdout: string }> {
  const port = await freePort();
  const child = spawn(process.execPath, [MAIN], {
    env: { PATH: process.env.PATH ?? '', HERALD_HOME: home, PORT: String(port) },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stdout = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stdin.end(input);
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  return { code, stdout };
}

describe('local mode (pnpm start)', () => {
  let home: string;
  let clusterDir: string | undefined;
  beforeAll(async () => {
    home = await mkdtemp(join(tmpdir(), 'herald-local-'));
  });
  afterAll(async () => {
    await rm(home, { recursive: true, force: true });
    // As root the cluster may live outside HERALD_HOME (see @herald/embedded).
    if (clusterDir) await rm(clusterDir, { recursive: true, force: true });
  });

  it('answers the console chat on an embedded Postgres with nothing configured', async () => {
    const { code, stdout } = await chat(home, '/start\n[Status]\n/nope\n');
    expect(code).toBe(0);
    expect(stdout).toContain('console chat (TELEGRAM_BOT_TOKEN is not set)');
    clusterDir = /embedded, data in (\S+)/.exec(stdout)?.[1];
    expect(stdout).toContain("Hello, You! I'm Herald");
    expect(stdout).toContain('[Help] [Status]');
    // The Status button was pressed on the welcome message.
    expect(stdout).toContain('✅ Database');
    expect(stdout).toContain('✅ Shared state: in-process (local mode)');
    expect(stdout).toContain("I don't know /nope.");
  }, 60_000);

  it('keeps its data: a second start finds the database migrated', async () => {
    const { code, stdout } = await chat(home, '/help\n');
    expect(code).toBe(0);
    expect(stdout).toContain('What I can do');
    const log = await readFile(join(home, 'herald.log'), 'utf8');
    const migrations = log
      .split('\n')
      .filter((line) => line.includes('database migrations are up to date'))
      .map((line) => (JSON.parse(line) as { applied: number }).applied);
    // The first start applies every committed migration; the second finds none to apply.
    const committed = (await readdir(MIGRATIONS_DIR)).filter((f) => f.endsWith('.sql')).length;
    expect(migrations).toEqual([committed, 0]);
  }, 60_000);
});
