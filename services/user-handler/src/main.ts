// Wires the user-handler from its environment and runs it until SIGTERM.
import { loadEnv } from '@herald/config';
import { createLogger } from '@herald/logger';
import { onShutdownSignal, openRuntime } from '@herald/ops';
import { buildApp } from './app.js';
import { userHandlerEnv, userHandlerRules } from './env.js';
import { createUserHandler } from './service.js';
import { VERSION } from './status.js';

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
  redisKeyPrefix: env.REDIS_KEY_PREFIX,
});

const handler = createUserHandler({
  logger,
  runtime,
  telegram: { token: env.TELEGRAM_BOT_TOKEN, apiRoot: env.TELEGRAM_API_ROOT },
  adminUserIds: env.ADMIN_USER_IDS,
  allowedUserIds: env.ALLOWED_USER_IDS,
  ai: env.AI_BASE_URL
    ? { baseUrl: env.AI_BASE_URL, apiKey: env.AI_API_KEY, models: env.AI_MODELS }
    : undefined,
  models: { available: env.AI_MODELS, default: env.AI_DEFAULT_MODEL },
  limits: {
    perUserPerMinute: env.RATE_LIMIT_USER_PER_MINUTE,
    globalPerMinute: env.RATE_LIMIT_GLOBAL_PER_MINUTE,
  },
  workers: { concurrency: env.WORKER_CONCURRENCY, claimIdleMs: env.QUEUE_CLAIM_IDLE },
});

let shuttingDown = false;
const app = await buildApp({
  logger,
  registry: runtime.registry,
  metrics: runtime.metrics,
  checks: runtime.checks,
  isShuttingDown: () => shuttingDown,
  webhook:
    env.TELEGRAM_MODE === 'webhook' && env.WEBHOOK_SECRET
      ? { secret: env.WEBHOOK_SECRET, queue: handler.queue }
      : undefined,
});

onShutdownSignal({
  logger,
  steps: [
    { name: 'mark not ready', run: async () => (shuttingDown = true) },
    // Telegram gets 503s meanwhile (not ready) and retries on another pod.
    { name: 'close HTTP server', run: () => app.close() },
    { name: 'stop polling and workers', run: () => handler.stop() },
    { name: 'close Postgres and Redis', run: () => runtime.close() },
  ],
});

await app.listen({ port: env.PORT, host: '0.0.0.0' });
handler.start({ polling: env.TELEGRAM_MODE === 'polling' });
logger.info({ mode: env.TELEGRAM_MODE, version: VERSION }, 'user-handler started');
