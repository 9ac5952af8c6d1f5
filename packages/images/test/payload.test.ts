// Each service's production payload, built exactly as its Dockerfile builds it
// (packages/images/scripts/payload.sh), moved out of the repository like an image's /app, and
// started under the image's Node 24: the image's contents work on their own.
import { spawn, type ChildProcess } from 'node:child_process';
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdtempSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import {
  createTestDatabase,
  freePort,
  repositoryRoot,
  startBotApiDouble,
  startFeedServer,
  testRedisUrl,
  uniquePrefix,
  waitFor,
  type BotApiDouble,
  type TestDatabase,
} from '@herald/testing';
import {
  buildPayload,
  devOnlyPackagesIn,
  diskUsageKiB,
  linksLeaving,
  node24,
} from '../src/payload.js';

const root = repositoryRoot();
let node = '';
const payloads = new Map<string, { app: string; cleanup: () => void }>();
/** Where the Node 24 binary runs from. */
let nodeDir: string;
/** The folder a package's payload was moved to (built once per run, in beforeAll). */
const appOf = (packageName: string) => payloads.get(packageName)!.app;

interface Run {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
}

/** The image's ENV: nothing else is inherited. */
const IMAGE_ENV = { NODE_ENV: 'production', HOME: '/tmp' };
/**
 * The image's user where this run may switch to it (as root, as in CI's containers): the
 * payload then stays root-owned and unwritable, as /app is in the image.
 */
const IMAGE_USER = process.getuid?.() === 0 ? { uid: 10001, gid: 10001 } : {};

/** Starts `node <args>` in the payload folder as the image does, with `env` added. */
function start(app: string, args: string[], env: Record<string, string>): Run {
  let output = '';
  const child = spawn(node, args, {
    cwd: app,
    env: { ...IMAGE_ENV, ...env },
    ...IMAGE_USER,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, output: () => output, exited };
}

/** Builds a payload in a fresh temporary folder, then moves it, as an image build copies it. */
function payloadOf(packageName: string): { app: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'herald-payload-'));
  chmodSync(dir, 0o755);
  buildPayload(root, packageName, join(dir, 'out'));
  renameSync(join(dir, 'out'), join(dir, 'app'));
  const app = join(dir, 'app');
  console.info(`${packageName} payload: ${(diskUsageKiB(app) / 1024).toFixed(1)} MiB (du)`);
  return { app, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Which of `paths` a payload lacks. */
const missing = (app: string, paths: string[]) => paths.filter((p) => !existsSync(join(app, p)));
/** Which of `paths` a payload holds. */
const present = (app: string, paths: string[]) => paths.filter((p) => existsSync(join(app, p)));

async function untilReady(port: number, what: string): Promise<void> {
  await waitFor(async () => (await fetch(`http://127.0.0.1:${port}/readyz`)).status === 200, {
    what,
    timeoutMs: 20_000,
  });
}

// Generous: the first run on a machine also fetches Node 24 from the registry.
beforeAll(() => {
  // Beside the payloads, not in the checkout: the image's user must be able to run it even
  // when the checkout sits in a folder only root may enter (/root, `mktemp -d`).
  nodeDir = mkdtempSync(join(tmpdir(), 'herald-node24-'));
  chmodSync(nodeDir, 0o755);
  node = join(nodeDir, 'node');
  copyFileSync(node24(root), node);
  chmodSync(node, 0o755);
  for (const name of ['@herald/user-handler', '@herald/news-publisher']) {
    payloads.set(name, payloadOf(name));
  }
}, 180_000);
afterAll(() => {
  rmSync(nodeDir, { recursive: true, force: true });
  for (const payload of payloads.values()) payload.cleanup();
});

describe('user-handler image payload', () => {
  let app: string;
  let database: TestDatabase;
  let telegram: BotApiDouble;
  beforeAll(async () => {
    app = appOf('@herald/user-handler');
    database = await createTestDatabase();
    telegram = await startBotApiDouble();
  });
  afterAll(async () => {
    await telegram.close();
    await database.drop();
  });

  it('holds the compiled service and production dependencies only, self-contained', () => {
    expect(devOnlyPackagesIn(app)).toEqual([]);
    expect(linksLeaving(app)).toEqual([]);
    expect(missing(app, ['dist/main.js', 'dist/webhook-admin.js', 'prompts/chat.md'])).toEqual([]);
    expect(present(app, ['src', 'test', 'tsconfig.json', 'node_modules/@herald/db/src'])).toEqual(
      [],
    );
    expect(
      missing(app, ['node_modules/@herald/db/dist/migrate.js', 'node_modules/@herald/db/drizzle']),
    ).toEqual([]);
  });

  it('runs under Node 24 and exits 78 naming what is missing on an empty environment', async () => {
    const run = start(app, ['dist/main.js'], {});
    expect(await run.exited).toBe(78);
    expect(run.output()).toContain('- TELEGRAM_BOT_TOKEN:');
  });

  it("migrates a fresh database with the image's migration command", async () => {
    const run = start(app, ['node_modules/@herald/db/dist/migrate.js'], {
      DATABASE_URL: database.url,
    });
    expect(await run.exited).toBe(0);
    const report = run
      .output()
      .split('\n')
      .filter((line) => line.includes('database migrations are up to date'))
      .map((line) => JSON.parse(line) as { applied: number; total: number });
    expect(report).toHaveLength(1);
    expect(report[0]?.applied).toBeGreaterThan(0);
    expect(report[0]?.applied).toBe(report[0]?.total);
  });

  it('turns ready in webhook mode, answers /start sent to the webhook, and stops on SIGTERM with exit 0', async () => {
    const port = await freePort();
    const secret = 'image-check-webhook-secret';
    const run = start(app, ['dist/main.js'], {
      TELEGRAM_BOT_TOKEN: telegram.token,
      TELEGRAM_API_ROOT: telegram.apiRoot,
      TELEGRAM_MODE: 'webhook',
      WEBHOOK_SECRET: secret,
      DATABASE_URL: database.url,
      REDIS_URL: testRedisUrl(),
      REDIS_KEY_PREFIX: uniquePrefix('image-user-handler'),
      PORT: String(port),
    });
    try {
      await untilReady(port, 'the user-handler payload to be ready');
      const accepted = await fetch(`http://127.0.0.1:${port}/telegram/webhook`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-telegram-bot-api-secret-token': secret },
        body: JSON.stringify({
          update_id: 9001,
          message: {
            message_id: 1,
            date: 1_700_000_000,
            chat: { id: 77, type: 'private', first_name: 'Ada' },
            from: { id: 77, is_bot: false, first_name: 'Ada' },
            text: '/start',
            entities: [{ type: 'bot_command', offset: 0, length: 6 }],
          },
        }),
      });
      expect(accepted.status).toBe(200);
      await waitFor(() => telegram.callsOf('sendMessage').length === 1, {
        what: 'the /start reply from the payload',
      });
      expect(telegram.callsOf('sendMessage')[0]?.payload).toMatchObject({ chat_id: 77 });

      run.child.kill('SIGTERM');
      expect(await run.exited).toBe(0);
      expect(run.output()).not.toContain(telegram.token);
    } finally {
      run.child.kill('SIGKILL');
    }
  });
});

describe('news-publisher image payload', () => {
  let app: string;
  let database: TestDatabase;
  beforeAll(async () => {
    app = appOf('@herald/news-publisher');
    database = await createTestDatabase();
    // The user-handler image's migration command, as the chart's Job runs it before a rollout.
    const migrate = start(
      appOf('@herald/user-handler'),
      ['node_modules/@herald/db/dist/migrate.js'],
      {
        DATABASE_URL: database.url,
      },
    );
    if ((await migrate.exited) !== 0) throw new Error(`migrations failed:\n${migrate.output()}`);
  });
  afterAll(() => database.drop());

  it('holds the compiled service, its sources and checklist, and production dependencies only', () => {
    expect(devOnlyPackagesIn(app)).toEqual([]);
    expect(linksLeaving(app)).toEqual([]);
    expect(missing(app, ['dist/main.js', 'sources.yaml', 'checklist.yaml'])).toEqual([]);
    expect(present(app, ['src', 'test', 'tsconfig.json', 'node_modules/@herald/news/src'])).toEqual(
      [],
    );
  });

  it('runs under Node 24 and exits 78 naming what is missing on an empty environment', async () => {
    const run = start(app, ['dist/main.js'], {});
    expect(await run.exited).toBe(78);
    expect(run.output()).toContain('- TELEGRAM_BOT_TOKEN:');
  });

  it('turns ready against Postgres and Redis and stops on SIGTERM with exit 0', async () => {
    const port = await freePort();
    const run = start(app, ['dist/main.js'], {
      TELEGRAM_BOT_TOKEN: '7000000001:AAH-test-token-for-the-news-publisher',
      TELEGRAM_API_ROOT: 'http://127.0.0.1:9',
      NEWS_CHANNEL_ID: '@herald_news_test',
      DATABASE_URL: database.url,
      REDIS_URL: testRedisUrl(),
      REDIS_KEY_PREFIX: uniquePrefix('image-news'),
      PORT: String(port),
    });
    try {
      await untilReady(port, 'the news-publisher payload to be ready');
      run.child.kill('SIGTERM');
      expect(await run.exited).toBe(0);
    } finally {
      run.child.kill('SIGKILL');
    }
  });

  it('--once fetches a feed and posts its story to the channel', async () => {
    const feeds = await startFeedServer();
    const bot = await startBotApiDouble();
    const dir = mkdtempSync(join(tmpdir(), 'herald-image-once-'));
    chmodSync(dir, 0o755);
    try {
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
      const run = start(app, ['dist/main.js', '--once'], {
        TELEGRAM_BOT_TOKEN: bot.token,
        TELEGRAM_API_ROOT: bot.apiRoot,
        NEWS_CHANNEL_ID: '-1001',
        NEWS_SOURCES_FILE: sources,
        NEWS_FETCH_ALLOW: '127.0.0.1',
        DATABASE_URL: database.url,
        REDIS_URL: testRedisUrl(),
        REDIS_KEY_PREFIX: uniquePrefix('image-once'),
      });
      expect(await run.exited).toBe(0);
      expect(bot.callsOf('sendMessage').map((call) => call.payload.chat_id)).toEqual(['-1001']);
    } finally {
      await Promise.all([feeds.close(), bot.close()]);
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
