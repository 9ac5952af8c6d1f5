import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';

export {
  freePort,
  startRedisServer,
  type RedisServer,
  type RedisServerOptions,
} from '@herald/embedded';

function required(name: string): string {
  const value = process.env[name];
  if (!value) {
    throw new Error(
      `${name} is not set: run the tests through the Herald Jest preset ` +
        '(`pnpm test` at the repository root), whose global setup starts Postgres and Redis.',
    );
  }
  return value;
}

/** URL of the test run's shared Redis. Give each test its own key prefix. */
export function testRedisUrl(): string {
  return required('HERALD_TEST_REDIS_URL');
}

/** A key prefix no other test uses, so tests can share one Redis. */
export function uniquePrefix(label = 'test'): string {
  return `${label}:${randomBytes(4).toString('hex')}:`;
}

export interface TestDatabase {
  readonly url: string;
  readonly name: string;
  /** Drops the database, ending any connection still open to it. */
  drop(): Promise<void>;
}

async function withAdmin<T>(adminUrl: string, run: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    return await run(client);
  } finally {
    await client.end();
  }
}

/**
 * Creates an empty database of its own for one test file: on the run's Postgres, or on
 * the server of `adminUrl` (a role that may create databases), e.g. one the test can stop.
 */
export async function createTestDatabase(adminUrl?: string): Promise<TestDatabase> {
  const admin = adminUrl ?? required('HERALD_TEST_POSTGRES_URL');
  const name = `herald_test_${randomBytes(5).toString('hex')}`;
  await withAdmin(admin, (client) => client.query(`CREATE DATABASE ${name}`));
  const url = new URL(admin);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    name,
    drop: () =>
      withAdmin(admin, (client) =>
        client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`),
      ).then(() => undefined),
  };
}

/** Polls `check` until it returns a value other than undefined/false, or fails after `timeoutMs`. */
export async function waitFor<T>(
  check: () => T | undefined | false | Promise<T | undefined | false>,
  { timeoutMs = 10_000, intervalMs = 25, what = 'condition' } = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined && value !== false) return value;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() > deadline) {
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for ${what}` +
          (lastError instanceof Error ? ` (last error: ${lastError.message})` : ''),
      );
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/** The repository root (where pnpm-workspace.yaml is). */
export function repositoryRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'pnpm-workspace.yaml'))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error('pnpm-workspace.yaml not found above @herald/testing');
    dir = parent;
  }
  return dir;
}

/**
 * Path of a folder of third-party fixtures in `../shared/fixtures`, beside the repository,
 * or undefined where it is absent (a user's own clone). Tests skip with a message then.
 */
export function sharedFixtures(name: string): string | undefined {
  const dir = resolve(repositoryRoot(), '..', 'shared', 'fixtures', name);
  return existsSync(dir) ? dir : undefined;
}
export * from './bot-api-double.js';
export * from './telegram-html.js';
export * from './llm-double.js';
export * from './feed-server.js';
export * from './own-postgres.js';
export * from './webhook-deliverer.js';
