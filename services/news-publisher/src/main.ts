// Wires the news-publisher from its environment and runs it until SIGTERM.
import { loadEnv } from '@herald/config';
import { createLogger } from '@herald/logger';
import { onShutdownSignal, openRuntime, packageVersion } from '@herald/ops';
import { buildApp } from './app.js';
import { newsPublisherEnv } from './env.js';

const version = packageVersion(import.meta.url);
const env = loadEnv('news-publisher', newsPublisherEnv);
const logger = createLogger({
  service: 'news-publisher',
  level: env.LOG_LEVEL,
  secrets: [env.TELEGRAM_BOT_TOKEN, env.AI_API_KEY],
});
const runtime = openRuntime({
  service: 'news-publisher',
  version,
  logger,
  databaseUrl: env.DATABASE_URL,
  redisUrl: env.REDIS_URL,
  redisKeyPrefix: env.REDIS_KEY_PREFIX,
});

let shuttingDown = false;
const app = await buildApp({
  logger,
  registry: runtime.registry,
  metrics: runtime.metrics,
  checks: runtime.checks,
  isShuttingDown: () => shuttingDown,
});

onShutdownSignal({
  logger,
  steps: [
    { name: 'mark not ready', run: async () => (shuttingDown = true) },
    { name: 'close HTTP server', run: () => app.close() },
    { name: 'close Postgres and Redis', run: () => runtime.close() },
  ],
});

await app.listen({ port: env.PORT, host: '0.0.0.0' });
logger.info({ version, intervalMs: env.NEWS_INTERVAL }, 'news-publisher started');
