import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import {
  createTestDatabase,
  freePort,
  testRedisUrl,
  waitFor,
  type TestDatabase,
} from '@herald/testing';

const MAIN = fileURLToPath(new URL('../dist/main.js', import.meta.url));

describe('news-publisher process', () => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await createTestDatabase();
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
