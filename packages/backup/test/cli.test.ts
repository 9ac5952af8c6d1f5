// herald-backup as the CronJob and an operator run it: the built CLI, configured by the
// environment, against a real Postgres, an S3 server and a Pushgateway endpoint on loopback.
import { spawn } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { repositoryRoot } from '@herald/testing';
import { fillHeraldData, snapshot } from './herald-data.js';
import { startDumpablePostgres, type DumpablePostgres, type TestDatabase } from './postgres.js';
import {
  TEST_ACCESS_KEY_ID,
  TEST_BUCKET,
  TEST_REGION,
  TEST_SECRET_ACCESS_KEY,
  startTestStore,
  type TestStore,
} from './s3.js';

const CLI = join(repositoryRoot(), 'packages/backup/dist/cli.js');

interface Pushed {
  method: string;
  url: string;
  body: string;
}

let postgres: DumpablePostgres;
let store: TestStore;
let source: TestDatabase;
let pushgateway: Server;
let pushgatewayUrl: string;
const pushed: Pushed[] = [];
const databases: TestDatabase[] = [];

function cli(
  args: string[],
  env: Record<string, string | undefined>,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], {
      env: { PATH: process.env.PATH, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}

function storeEnv(prefix: string): Record<string, string> {
  return {
    BACKUP_S3_URL: `s3://${TEST_BUCKET}/${prefix}`,
    BACKUP_S3_ENDPOINT: store.endpoint,
    AWS_REGION: TEST_REGION,
    AWS_ACCESS_KEY_ID: TEST_ACCESS_KEY_ID,
    AWS_SECRET_ACCESS_KEY: TEST_SECRET_ACCESS_KEY,
    BACKUP_PG_BIN_DIR: postgres.binDir,
  };
}

const logLines = (text: string): Record<string, unknown>[] =>
  text
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Record<string, unknown>);

beforeAll(async () => {
  [postgres, store] = await Promise.all([startDumpablePostgres(), startTestStore()]);
  source = await postgres.createDatabase();
  databases.push(source);
  await fillHeraldData(source.url);
  pushgateway = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk: Buffer) => (body += chunk.toString()));
    request.on('end', () => {
      pushed.push({ method: request.method ?? '', url: request.url ?? '', body });
      response.writeHead(200).end();
    });
  });
  await new Promise<void>((resolve) => pushgateway.listen(0, '127.0.0.1', resolve));
  pushgatewayUrl = `http://127.0.0.1:${(pushgateway.address() as AddressInfo).port}`;
});

afterAll(async () => {
  for (const database of databases) await database.drop().catch(() => undefined);
  await Promise.all([
    postgres?.stop(),
    store?.stop(),
    new Promise((resolve) => (pushgateway ? pushgateway.close(resolve) : resolve(undefined))),
  ]);
});

describe('herald-backup', () => {
  it('run stores a backup, pushes its metrics and ends with a line naming what it wrote; list and restore bring it back', async () => {
    const env = storeEnv('cli');
    const run = await cli(['run'], {
      ...env,
      DATABASE_URL: source.url,
      BACKUP_PUSHGATEWAY_URL: pushgatewayUrl,
    });
    expect(run.code).toBe(0);
    const last = logLines(run.stdout).at(-1)!;
    expect(last).toEqual(
      expect.objectContaining({
        level: 'info',
        name: expect.stringMatching(/^herald-.*Z\.dump$/),
        bytes: expect.any(Number),
        sha256: expect.stringMatching(/^[0-9a-f]{64}$/),
        seconds: expect.any(Number),
        msg: expect.stringMatching(/^backup written: herald-/),
      }),
    );
    expect(run.stdout).not.toContain(new URL(source.url).password);
    const success = pushed.find((push) => push.method === 'PUT');
    expect(success?.url).toBe('/metrics/job/herald_backup');
    expect(success?.body).toMatch(/^herald_backup_last_success_timestamp_seconds \d+(\.\d+)?$/m);
    expect(success?.body).toContain(`herald_backup_last_size_bytes ${String(last.bytes)}\n`);
    expect(success?.body).toMatch(/^herald_backup_last_duration_seconds \d+(\.\d+)?$/m);

    const list = await cli(['list', '--json'], env);
    expect(list.code).toBe(0);
    expect(JSON.parse(list.stdout)).toEqual([
      expect.objectContaining({ name: last.name, sha256: last.sha256, complete: true }),
    ]);
    const table = await cli(['list'], env);
    expect(table.stdout).toMatch(new RegExp(`${String(last.name)}.*complete`));

    const target = await postgres.createDatabase();
    databases.push(target);
    const restore = await cli(['restore', String(last.name), '--to', target.url], env);
    expect(restore.code).toBe(0);
    expect(restore.stdout).toMatch(/^ {2}users +25$/m);
    expect(restore.stdout).toMatch(/^ {2}conversation_messages +200$/m);
    expect(restore.stdout).toMatch(
      /8 tables, \d+ rows; 0 migration\(s\) applied after the restore/,
    );
    expect(restore.stdout).not.toContain(new URL(target.url).password);
    expect(await snapshot(target.url)).toEqual(await snapshot(source.url));

    const again = await cli(['restore', 'latest', '--to', target.url], env);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/restore failed: the target database is not empty/);
  });

  it('run that cannot dump exits 1, says nothing was stored and pushes the failure time', async () => {
    const url = new URL(source.url);
    url.pathname = '/no_such_database';
    pushed.length = 0;
    const run = await cli(['run'], {
      ...storeEnv('cli-failed'),
      DATABASE_URL: url.toString(),
      BACKUP_PUSHGATEWAY_URL: `${pushgatewayUrl}/metrics/job/herald_backup/instance/staging`,
    });
    expect(run.code).toBe(1);
    expect(logLines(run.stdout).at(-1)).toEqual(
      expect.objectContaining({
        level: 'error',
        msg: expect.stringMatching(/^backup failed, nothing was stored: .*no_such_database/),
      }),
    );
    expect(pushed).toEqual([
      {
        method: 'POST',
        url: '/metrics/job/herald_backup/instance/staging',
        body: expect.stringMatching(/^herald_backup_last_failure_timestamp_seconds \d+/m),
      },
    ]);
  });

  it('exits 78 naming every missing or invalid variable, without echoing secrets', async () => {
    const result = await cli(['run'], {
      BACKUP_S3_URL: 'https://bucket.example.org/backups',
      BACKUP_ENCRYPTION_KEY: 'not-a-key-but-a-secret',
    });
    expect(result.code).toBe(78);
    for (const variable of [
      'BACKUP_S3_URL',
      'AWS_ACCESS_KEY_ID',
      'AWS_SECRET_ACCESS_KEY',
      'BACKUP_ENCRYPTION_KEY',
      'DATABASE_URL',
    ]) {
      expect(result.stderr).toContain(`  - ${variable}:`);
    }
    expect(result.stderr).not.toContain('not-a-key-but-a-secret');
  });

  it('exits 64 with the usage on a bad command line', async () => {
    const commandLines = [
      [],
      ['backup'],
      ['restore', 'latest'],
      ['restore', '--to', 'x'],
      ['run', '--clean'],
    ];
    const results = await Promise.all(commandLines.map((args) => cli(args, {})));
    expect(results.map((result) => result.code)).toEqual(commandLines.map(() => 64));
    for (const result of results) expect(result.stderr).toContain('usage: herald-backup run');
  });
});
