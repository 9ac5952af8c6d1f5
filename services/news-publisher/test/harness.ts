// A news publisher on a real Postgres (its own database) and the test run's real Redis
// (a key prefix of its own), fetching from feeds on loopback, judging with an LLM double
// and posting to a Bot API double.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { migrateDatabase } from '@herald/db';
import { createLogger } from '@herald/logger';
import { createRegistry, openRuntime, type Registry, type ServiceRuntime } from '@herald/ops';
import {
  createTestDatabase,
  startBotApiDouble,
  startFeedServer,
  testRedisUrl,
  uniquePrefix,
  type BotApiDouble,
  type FeedServer,
  type TestDatabase,
} from '@herald/testing';
import { stringify } from 'yaml';
import type { CycleConfig } from '../src/cycle.js';
import { newsPublisherEnv } from '../src/env.js';
import { createNewsPublisher } from '../src/service.js';

export const CHANNEL = '-1001234567890';
export const TOKEN = '7000000001:AAH-news-publisher-test-token-0123456789';

export interface SourceSpec {
  id: string;
  path: string;
  kind?: 'rss' | 'html';
  categories?: string[];
  weight?: number;
  selectors?: Record<string, string>;
}

/** Log lines a test can read. */
export class LogLines extends Writable {
  readonly lines: Record<string, unknown>[] = [];
  override _write(chunk: Buffer, _encoding: string, done: () => void) {
    for (const line of chunk.toString().split('\n').filter(Boolean))
      this.lines.push(JSON.parse(line) as Record<string, unknown>);
    done();
  }
  messages(): string[] {
    return this.lines.map((line) => String(line.msg));
  }
}

export interface NewsHarness {
  database: TestDatabase;
  runtime: ServiceRuntime;
  feeds: FeedServer;
  bot: BotApiDouble;
  logs: LogLines;
  /** A publisher over `sources`; each call makes a new one (a new replica). */
  publisher(
    sources: SourceSpec[],
    options?: { env?: Record<string, string>; config?: Partial<CycleConfig> },
  ): ReturnType<typeof createNewsPublisher>;
  /** Texts the channel received, in order. */
  posts(): string[];
  /** A metric of the last publisher made, summed over the series matching `labels`. */
  metric(name: string, labels?: Record<string, string>): Promise<number>;
  close(): Promise<void>;
}

export async function startNewsHarness(): Promise<NewsHarness> {
  const database = await createTestDatabase();
  const logs = new LogLines();
  const logger = createLogger({ service: 'news-publisher', level: 'debug', destination: logs });
  await migrateDatabase(database.url, logger);
  const runtime = openRuntime({
    service: 'news-publisher',
    version: 'test',
    logger,
    databaseUrl: database.url,
    redisUrl: testRedisUrl(),
    redisKeyPrefix: uniquePrefix('news'),
  });
  const feeds = await startFeedServer();
  const bot = await startBotApiDouble(TOKEN);
  const dir = mkdtempSync(join(tmpdir(), 'herald-news-'));
  let files = 0;
  // Each publisher is a replica of its own, with its own metrics.
  let registry: Registry = runtime.registry;

  return {
    database,
    runtime,
    feeds,
    bot,
    logs,
    publisher(sources, options = {}) {
      const file = join(dir, `sources-${(files += 1)}.yaml`);
      writeFileSync(
        file,
        stringify({
          sources: sources.map(({ path, kind = 'rss', categories = ['gold'], ...rest }) => ({
            ...rest,
            url: `${feeds.baseUrl}${path}`,
            kind,
            categories,
          })),
        }),
      );
      const env = newsPublisherEnv.parse({
        TELEGRAM_BOT_TOKEN: TOKEN,
        TELEGRAM_API_ROOT: bot.apiRoot,
        TELEGRAM_GROUP_INTERVAL: '10ms',
        TELEGRAM_BOT_INTERVAL: '1ms',
        NEWS_CHANNEL_ID: CHANNEL,
        NEWS_SOURCES_FILE: file,
        NEWS_FETCH_ALLOW: '127.0.0.0/8',
        NEWS_LOCK_TTL: '3s',
        DATABASE_URL: database.url,
        REDIS_URL: testRedisUrl(),
        ...options.env,
      });
      registry = createRegistry('news-publisher', 'test');
      return createNewsPublisher({
        env,
        runtime: { ...runtime, registry },
        logger,
        config: options.config ?? {},
      });
    },
    posts: () =>
      bot
        .callsOf('sendMessage')
        .filter((call) => String(call.payload.chat_id) === CHANNEL)
        .map((call) => String(call.payload.text)),
    async metric(name, labels = {}) {
      const metric = await registry.getSingleMetric(name)?.get();
      const wanted = Object.entries(labels);
      return (metric?.values ?? [])
        .filter((value) =>
          wanted.every(([key, expected]) => String(value.labels[key]) === expected),
        )
        .reduce((sum, value) => sum + value.value, 0);
    },
    async close() {
      await Promise.all([feeds.close(), bot.close()]);
      await runtime.close();
      await database.drop();
    },
  };
}

/** Runs one cycle as the leader and returns its report (failing the test if there is none). */
export async function runOnce(news: ReturnType<typeof createNewsPublisher>) {
  const report = await news.publisher.once(AbortSignal.timeout(10_000));
  if (!report) throw new Error('the cycle did not run (no lease, or it failed: see the logs)');
  return report;
}
