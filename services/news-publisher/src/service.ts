import { fileURLToPath } from 'node:url';
import { createAiClient } from '@herald/ai';
import type { Logger } from '@herald/logger';
import {
  createFetcher,
  createNewsControl,
  loadChecklist,
  loadSources,
  type NewsControl,
} from '@herald/news';
import type { ServiceRuntime } from '@herald/ops';
import { createSender, sendLimitsFromEnv } from '@herald/telegram';
import { Telegram } from 'telegraf';
import { DEFAULT_CYCLE_CONFIG, type CycleConfig } from './cycle.js';
import type { NewsPublisherEnv } from './env.js';
import { createJudge } from './judge.js';
import { createLeadership } from './leader.js';
import { createNewsMetrics } from './metrics.js';
import { createPublisher } from './publisher.js';
import { StoryIndex } from './story-index.js';

export const DEFAULT_SOURCES_FILE = fileURLToPath(new URL('../sources.yaml', import.meta.url));
export const DEFAULT_CHECKLIST_FILE = fileURLToPath(new URL('../checklist.yaml', import.meta.url));

/**
 * Everything the news publisher runs on, built from its environment: the sources and
 * checklist files (read and checked now, so a bad file stops the boot with its errors),
 * the SSRF-safe fetcher, the LLM judge, the shared throttled sender and the leadership.
 */
export function createNewsPublisher(deps: {
  /** Its settings; where Postgres and Redis are is the runtime's business. */
  env: Omit<
    NewsPublisherEnv,
    'DATABASE_URL' | 'REDIS_URL' | 'REDIS_KEY_PREFIX' | 'COST_HOURLY_USD'
  >;
  runtime: ServiceRuntime;
  logger: Logger;
  control?: NewsControl;
  config?: Partial<CycleConfig>;
}) {
  const { env, runtime, logger } = deps;
  const sources = loadSources(env.NEWS_SOURCES_FILE ?? DEFAULT_SOURCES_FILE);
  const checklist = loadChecklist(env.NEWS_CHECKLIST_FILE ?? DEFAULT_CHECKLIST_FILE);
  const metrics = createNewsMetrics(runtime.registry);
  const ai = env.AI_BASE_URL
    ? createAiClient({
        baseUrl: env.AI_BASE_URL,
        apiKey: env.AI_API_KEY,
        logger,
        registry: runtime.registry,
        timeouts: {
          firstTokenMs: env.AI_FIRST_TOKEN_TIMEOUT,
          gapMs: env.AI_TOKEN_GAP_TIMEOUT,
          totalMs: env.AI_TOTAL_TIMEOUT,
        },
        untaggedReasoning: env.AI_UNTAGGED_REASONING,
      })
    : undefined;
  const model = env.NEWS_MODEL ?? env.AI_DEFAULT_MODEL ?? env.AI_MODELS[0];
  if (ai && !model)
    logger.warn(
      'AI_BASE_URL is set but no model is (NEWS_MODEL, AI_DEFAULT_MODEL or AI_MODELS); the checklist alone judges news',
    );
  const judge = createJudge({
    checklist,
    ai,
    model,
    logger,
    onVerdict: (stage, verdict) =>
      metrics.verdicts.inc({ stage, relevant: String(verdict.relevant) }),
  });
  const telegram = new Telegram(env.TELEGRAM_BOT_TOKEN, { apiRoot: env.TELEGRAM_API_ROOT });
  const config: CycleConfig = {
    ...DEFAULT_CYCLE_CONFIG,
    channelId: env.NEWS_CHANNEL_ID,
    intervalMs: env.NEWS_INTERVAL,
    maxPosts: env.NEWS_MAX_POSTS,
    maxAgeMs: env.NEWS_MAX_AGE,
    nearDuplicateWindowMs: env.NEWS_DEDUP_WINDOW,
    retentionMs: env.NEWS_RETENTION,
    fetchAllow: env.NEWS_FETCH_ALLOW,
    ...deps.config,
  };
  const control = deps.control ?? createNewsControl(runtime.store);
  const leadership = createLeadership({
    store: runtime.store,
    pool: runtime.pool,
    logger,
    role: config.role,
    ttlMs: env.NEWS_LOCK_TTL,
  });
  const stories = new StoryIndex(
    runtime.pool,
    config.nearDuplicateWindowMs,
    config.titleOnlyWindowMs,
  );
  const publisher = createPublisher({
    leadership,
    control,
    logger,
    intervalMs: env.NEWS_INTERVAL,
    cycle: {
      pool: runtime.pool,
      sources,
      fetch: createFetcher({
        allow: env.NEWS_FETCH_ALLOW,
        timeoutMs: env.NEWS_FETCH_TIMEOUT,
        maxBytes: env.NEWS_FETCH_MAX_BYTES,
      }),
      judge,
      sender: createSender({
        store: runtime.store,
        logger,
        registry: runtime.registry,
        limits: sendLimitsFromEnv(env),
      }),
      telegram: (method, payload) => telegram.callApi(method as never, payload as never),
      logger,
      metrics,
      config,
      stories,
      pausedBy: () => control.pausedBy().catch(() => undefined),
    },
  });
  return {
    publisher,
    sources,
    /** The near-duplicate window, which `publisher.run` warms at start-up. */
    stories,
    close: async () => {
      await ai?.close();
    },
  };
}
