// Wires the news-publisher from its environment. It leads or stands by until SIGTERM;
// with --once it runs one news cycle as the leader and exits (0 done, 1 failed, 75 when
// another replica holds the lock).
import { loadEnv } from '@herald/config';
import { createLogger, urlPasswords } from '@herald/logger';
import { onShutdownSignal, openRuntime, packageVersion, registerCostMetric } from '@herald/ops';
import { buildApp } from './app.js';
import { newsPublisherEnv } from './env.js';
import { createNewsPublisher } from './service.js';

const once = process.argv.includes('--once');
const version = packageVersion(import.meta.url);
const env = loadEnv('news-publisher', newsPublisherEnv);
const logger = createLogger({
  service: 'news-publisher',
  level: env.LOG_LEVEL,
  secrets: [
    env.TELEGRAM_BOT_TOKEN,
    env.AI_API_KEY,
    ...urlPasswords(env.DATABASE_URL, env.REDIS_URL, env.AI_BASE_URL),
  ],
});
const runtime = openRuntime({
  service: 'news-publisher',
  version,
  logger,
  databaseUrl: env.DATABASE_URL,
  redisUrl: env.REDIS_URL,
  redisKeyPrefix: env.REDIS_KEY_PREFIX,
});
registerCostMetric(runtime.registry, env.COST_HOURLY_USD);
const news = createNewsPublisher({ env, runtime, logger });
const stop = new AbortController();

if (once) {
  // The leader keeps its lock; waiting two TTLs tells a live one from a dead one.
  let gaveUp = false;
  const giveUp = setTimeout(() => {
    gaveUp = true;
    stop.abort();
  }, 2 * env.NEWS_LOCK_TTL);
  process.once('SIGTERM', () => stop.abort());
  process.once('SIGINT', () => stop.abort());
  let code = 0;
  try {
    const report = await news.publisher.once(stop.signal);
    clearTimeout(giveUp);
    if (report === undefined) {
      code = gaveUp ? 75 : 1;
      if (code === 75)
        logger.error(
          'another replica leads the news cycle; ask it for a cycle with /admin news now instead',
        );
    } else {
      process.stdout.write(`${JSON.stringify(report)}\n`);
    }
  } finally {
    await news.close();
    await runtime.close();
  }
  process.exit(code);
}

let shuttingDown = false;
const app = await buildApp({
  logger,
  registry: runtime.registry,
  metrics: runtime.metrics,
  checks: runtime.checks,
  isShuttingDown: () => shuttingDown,
});
const running = news.publisher.run(stop.signal);

onShutdownSignal({
  logger,
  steps: [
    { name: 'mark not ready', run: async () => (shuttingDown = true) },
    { name: 'close HTTP server', run: () => app.close() },
    {
      // The cycle in flight finishes; then the lock is released for a standby.
      name: 'stop leading',
      run: async () => {
        stop.abort();
        await running;
      },
    },
    { name: 'close the LLM client', run: () => news.close() },
    { name: 'close Postgres and Redis', run: () => runtime.close() },
  ],
});

await app.listen({ port: env.PORT, host: '0.0.0.0' });
logger.info(
  { version, intervalMs: env.NEWS_INTERVAL, sources: news.sources.length },
  'news-publisher started',
);
