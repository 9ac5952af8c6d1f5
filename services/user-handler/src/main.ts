// Wires the user-handler from its environment and runs it until SIGTERM.
import { loadEnv } from '@herald/config';
import { createLogger } from '@herald/logger';
import { onShutdownSignal, openRuntime } from '@herald/ops';
import { buildApp } from './app.js';
import { createBot } from './bot/index.js';
import { userHandlerEnv, userHandlerRules } from './env.js';
import { startPolling, type Poller } from './polling.js';
import { statusReporter, VERSION } from './status.js';

const env = loadEnv('user-handler', userHandlerEnv, { rules: userHandlerRules });
const logger = createLogger({
  service: 'user-handler',
  level: env.LOG_LEVEL,
  secrets: [env.TELEGRAM_BOT_TOKEN, env.WEBHOOK_SECRET, env.AI_API_KEY],
});
const runtime = openRuntime({
  service: 'user-handler',
  version: VERSION,
  logger,
  databaseUrl: env.DATABASE_URL,
  redisUrl: env.REDIS_URL,
});

const status = statusReporter({
  runtime,
  startedAt: Date.now(),
  ai: env.AI_BASE_URL
    ? { baseUrl: env.AI_BASE_URL, apiKey: env.AI_API_KEY, models: env.AI_MODELS }
    : undefined,
});
const bot = createBot(
  { token: env.TELEGRAM_BOT_TOKEN, apiRoot: env.TELEGRAM_API_ROOT },
  { logger, adminUserIds: env.ADMIN_USER_IDS, allowedUserIds: env.ALLOWED_USER_IDS, status },
);

let shuttingDown = false;
const app = await buildApp({
  logger,
  registry: runtime.registry,
  metrics: runtime.metrics,
  checks: runtime.checks,
  isShuttingDown: () => shuttingDown,
  webhook:
    env.TELEGRAM_MODE === 'webhook' && env.WEBHOOK_SECRET && runtime.store.kind === 'redis'
      ? { secret: env.WEBHOOK_SECRET, redis: runtime.store.redis }
      : undefined,
});

let poller: Poller | undefined;
onShutdownSignal({
  logger,
  steps: [
    { name: 'mark not ready', run: async () => (shuttingDown = true) },
    { name: 'stop polling', run: async () => poller?.stop() },
    { name: 'close HTTP server', run: () => app.close() },
    { name: 'close Postgres and Redis', run: () => runtime.close() },
  ],
});

await app.listen({ port: env.PORT, host: '0.0.0.0' });
if (env.TELEGRAM_MODE === 'polling') poller = startPolling(bot, logger);
logger.info({ mode: env.TELEGRAM_MODE, version: VERSION }, 'user-handler started');
