// Wires the news-publisher from its environment and runs it until SIGTERM.
import { readFileSync } from 'node:fs';
import { loadEnv } from '@herald/config';
import { createPool, pingPostgres } from '@herald/db';
import { createLogger } from '@herald/logger';
import { createCoreMetrics, createRegistry, onShutdownSignal } from '@herald/ops';
import { closeStateStore, openStateStore, pingStateStore } from '@herald/redis';
import { buildApp } from './app.js';
import { newsPublisherEnv } from './env.js';

const { version } = JSON.parse(
  readFileSync(new URL('../package.json', import.meta.url), 'utf8'),
) as { version: string };

const env = loadEnv('news-publisher', newsPublisherEnv);
const logger = createLogger({
  service: 'news-publisher',
  level: env.LOG_LEVEL,
  secrets: [env.TELEGRAM_BOT_TOKEN, env.AI_API_KEY],
});
const registry = createRegistry('news-publisher', version);
const metrics = createCoreMetrics(registry);

const pool = createPool({
  url: env.DATABASE_URL,
  logger,
  applicationName: 'herald-news-publisher',
  onIdleError: () => metrics.dependencyErrors.inc({ dependency: 'postgres' }),
});
const store = openStateStore({
  url: env.REDIS_URL,
  logger,
  keyPrefix: 'herald:',
  connectionName: 'herald-news-publisher',
  onError: () => metrics.dependencyErrors.inc({ dependency: 'redis' }),
});

let shuttingDown = false;
const app = await buildApp({
  logger,
  registry,
  metrics,
  checks: { postgres: () => pingPostgres(pool), redis: () => pingStateStore(store) },
  isShuttingDown: () => shuttingDown,
});

onShutdownSignal({
  logger,
  steps: [
    { name: 'mark not ready', run: async () => (shuttingDown = true) },
    { name: 'close HTTP server', run: () => app.close() },
    { name: 'close Postgres pool', run: () => pool.end() },
    { name: 'close Redis', run: () => closeStateStore(store) },
  ],
});

await app.listen({ port: env.PORT, host: '0.0.0.0' });
logger.info({ version, intervalMs: env.NEWS_INTERVAL }, 'news-publisher started');
