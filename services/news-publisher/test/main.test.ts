import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { migrateDatabase } from '@herald/db';
import { createLogger } from '@herald/logger';
import { closeStateStore, openStateStore } from '@herald/redis';
import pg from 'pg';
import { createLeadership } from '../src/leader.js';
import {
  createTestDatabase,
  freePort,
  startBotApiDouble,
  startFeedServer,
  testRedisUrl,
  uniquePrefix,
  waitFor,
  type TestDatabase,
} from '@herald/testing';

const MAIN = fileURLToPath(new URL('../dist/main.js', import.meta.url));
const TOKEN = '7000000001:AAH-test-token-for-the-news-publisher';
const logger = createLogger({ service: 'test', level: 'silent' });

describe('news-publisher process', () => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await createTestDatabase();
    await migrateDatabase(database.url, createLogger({ service: 'test', level: 'silent' }));
  });
  afterAll(() => database.drop());

  it('reports ready and metrics, then drains and exits 0 on SIGTERM', async () => {
    const port = await freePort();
    let output = '';
    const child = spawn(process.execPath, [MAIN], {
      env: {
        PATH: process.env.PATH ?? '',
        TELEGRAM_BOT_TOKEN: '7000000001:AAH-test-token-for-the-news-publisher',
        TELEGRAM_API_ROOT: 'http://127.0.0.1:9',
        NEWS_CHANNEL_ID: '@herald_news_test',
        DATABASE_URL: database.url,
        REDIS_URL: testRedisUrl(),
        PORT: String(port),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
    try {
      await waitFor(async () => (await fetch(`http://127.0.0.1:${port}/readyz`)).status === 200, {
        what: 'the news-publisher to be ready',
        timeoutMs: 20_000,
      });
      const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      expect(metrics).toMatch(/herald_build_info\{version="[^"]+",service="news-publisher"\} 1/);

      child.kill('SIGTERM');
      expect(await exited).toBe(0);
      expect(output).toContain('"msg":"stopped"');
      expect(output).not.toContain('AAH-test-token-for-the-news-publisher');
    } finally {
      child.kill('SIGKILL');
    }
  });

  it('--once runs one cycle, prints its report and exits 0; 75 while another replica leads', async () => {
    const feeds = await startFeedServer();
    const bot = await startBotApiDouble(TOKEN);
    const dir = mkdtempSync(join(tmpdir(), 'herald-once-'));
    const sources = join(dir, 'sources.yaml');
    writeFileSync(
      sources,
      `sources:\n  - { id: wire, url: "${feeds.baseUrl}/feed.xml", kind: rss, categories: [gold] }\n`,
    );
    feeds.setFeed('/feed.xml', [
      {
        title: 'Gold bullion demand from central banks',
        link: 'https://wire.example/1',
        summary: 'Central bank gold buying rose.',
        publishedAt: new Date(),
      },
    ]);
    const prefix = uniquePrefix('once');
    const run = () =>
      new Promise<{ code: number | null; stdout: string }>((resolve) => {
        const child = spawn(process.execPath, [MAIN, '--once'], {
          env: {
            PATH: process.env.PATH ?? '',
            TELEGRAM_BOT_TOKEN: TOKEN,
            TELEGRAM_API_ROOT: bot.apiRoot,
            NEWS_CHANNEL_ID: '-1001',
            NEWS_SOURCES_FILE: sources,
            NEWS_FETCH_ALLOW: '127.0.0.1',
            NEWS_LOCK_TTL: '1s',
            DATABASE_URL: database.url,
            REDIS_URL: testRedisUrl(),
            REDIS_KEY_PREFIX: prefix,
          },
          stdio: ['ignore', 'pipe', 'inherit'],
        });
        let stdout = '';
        child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
        child.on('exit', (code) => resolve({ code, stdout }));
      });
    try {
      const first = await run();
      expect(first.code).toBe(0);
      const report: unknown = JSON.parse(
        first.stdout.split('\n').find((l) => l.startsWith('{"sources"'))!,
      );
      expect(report).toMatchObject({ sources: { fetched: 1 }, articles: { new: 1 }, posted: 1 });
      expect(bot.callsOf('sendMessage').map((c) => c.payload.chat_id)).toEqual(['-1001']);

      // A live leader holds the lock: --once gives up after two TTLs with 75.
      const store = openStateStore({ url: testRedisUrl(), keyPrefix: prefix, logger });
      const pool = new pg.Pool({ connectionString: database.url });
      const lease = await createLeadership({
        store,
        pool,
        logger,
        role: 'news',
        ttlMs: 1_000,
      }).campaign(AbortSignal.timeout(2_000));
      try {
        expect((await run()).code).toBe(75);
      } finally {
        await lease?.release();
        await closeStateStore(store);
        await pool.end();
      }
      expect(bot.callsOf('sendMessage')).toHaveLength(1);
    } finally {
      await Promise.all([feeds.close(), bot.close()]);
    }
  }, 30_000);

  it('refuses to start with a bad NEWS_INTERVAL and a missing channel, naming both', async () => {
    const child = spawn(process.execPath, [MAIN], {
      env: {
        PATH: process.env.PATH ?? '',
        NEWS_INTERVAL: 'often',
        TELEGRAM_BOT_TOKEN: '7000000001:AAH-test-token-for-the-news-publisher',
        DATABASE_URL: database.url,
        REDIS_URL: testRedisUrl(),
      },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    expect(code).toBe(78);
    expect(stderr).toContain('- NEWS_INTERVAL:');
    expect(stderr).toContain('- NEWS_CHANNEL_ID: missing');
  });
});
