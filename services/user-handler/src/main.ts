// Wires the user-handler from its environment and runs it until SIGTERM.
import { loadEnv } from '@herald/config';
import { createLogger, urlPasswords } from '@herald/logger';
import { onShutdownSignal, openRuntime, registerCostMetric } from '@herald/ops';
import { buildAdminApi } from './admin/api.js';
import { backupAdminFromEnv } from './admin/backups.js';
import { buildApp } from './app.js';
import { userHandlerEnv, userHandlerRules } from './env.js';
import { ANSWER_GRACE_MS, createUserHandler, optionsFromEnv } from './service.js';
import { llmReadiness, VERSION } from './reports.js';

const env = loadEnv('user-handler', userHandlerEnv, { rules: userHandlerRules });
const logger = createLogger({
  service: 'user-handler',
  level: env.LOG_LEVEL,
  secrets: [
    env.TELEGRAM_BOT_TOKEN,
    env.WEBHOOK_SECRET,
    env.AI_API_KEY,
    env.ADMIN_API_TOKEN,
    env.AWS_SECRET_ACCESS_KEY,
    env.AWS_SESSION_TOKEN,
    ...urlPasswords(env.DATABASE_URL, env.REDIS_URL, env.AI_BASE_URL),
  ],
});
const runtime = openRuntime({
  service: 'user-handler',
  version: VERSION,
  logger,
  databaseUrl: env.DATABASE_URL,
  redisUrl: env.REDIS_URL,
  redisKeyPrefix: env.REDIS_KEY_PREFIX,
});
registerCostMetric(runtime.registry, env.COST_HOURLY_USD);

const handler = createUserHandler({
  logger,
  runtime,
  telegram: { token: env.TELEGRAM_BOT_TOKEN, apiRoot: env.TELEGRAM_API_ROOT },
  adminUserIds: env.ADMIN_USER_IDS,
  ...optionsFromEnv(env),
});

let shuttingDown = false;
const llm = llmReadiness(handler.ai && { client: handler.ai, models: env.AI_MODELS });
const app = await buildApp({
  logger,
  registry: runtime.registry,
  metrics: runtime.metrics,
  checks: runtime.checks,
  isShuttingDown: () => shuttingDown,
  report: llm,
  webhook:
    env.TELEGRAM_MODE === 'webhook' && env.WEBHOOK_SECRET
      ? { secret: env.WEBHOOK_SECRET, queue: handler.queue }
      : undefined,
});

const admin = env.ADMIN_API_TOKEN
  ? await buildAdminApi({
      token: env.ADMIN_API_TOKEN,
      logger,
      version: VERSION,
      db: handler.db,
      queue: handler.queue,
      sessions: handler.sessions,
      limiter: handler.limiter,
      news: handler.news,
      checks: runtime.checks,
      llm,
      backups: backupAdminFromEnv(env, logger),
    })
  : undefined;

// Each step has its share of the 25 s cap, so a stuck one still leaves time to close the
// pools: the workers get the answer grace plus time to send the answers cut short.
onShutdownSignal({
  logger,
  timeoutMs: 25_000,
  steps: [
    { name: 'mark not ready', run: async () => (shuttingDown = true) },
    // Telegram gets 503s meanwhile (not ready) and retries on another pod.
    {
      name: 'close HTTP servers',
      run: () => Promise.all([app.close(), admin?.close()]),
      timeoutMs: 3_000,
    },
    {
      name: 'stop polling and workers',
      run: () => handler.stop({ answerGraceMs: ANSWER_GRACE_MS }),
      timeoutMs: ANSWER_GRACE_MS + 7_000,
    },
    { name: 'close Postgres and Redis', run: () => runtime.close(), timeoutMs: 3_000 },
  ],
});

await app.listen({ port: env.PORT, host: '0.0.0.0' });
if (admin) {
  await admin.listen({ port: env.ADMIN_PORT, host: '0.0.0.0' });
  logger.info({ port: env.ADMIN_PORT }, 'admin API listening (bearer ADMIN_API_TOKEN)');
}
handler.start({ polling: env.TELEGRAM_MODE === 'polling' });
logger.info({ mode: env.TELEGRAM_MODE, version: VERSION }, 'user-handler started');
