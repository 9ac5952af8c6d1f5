import { costEnv } from '@herald/ops';
import {
  aiEnv,
  envVar,
  sendLimitsEnv,
  serverEnv,
  storageEnv,
  telegramEnv,
  z,
} from '@herald/config';

/** News settings, shared with local mode. */
export const newsEnv = {
  NEWS_CHANNEL_ID: z
    .string()
    .regex(/^(-100\d+|@[A-Za-z][A-Za-z0-9_]{4,})$/, 'not a channel id or @username')
    .describe('the channel to post to: its numeric id (-100...) or @username'),
  NEWS_INTERVAL: envVar.durationMs().default(30 * 60_000),
  NEWS_SOURCES_FILE: z.string().min(1).describe('path of the news sources YAML file').optional(),
  NEWS_FETCH_ALLOW: envVar
    .list('comma-separated hosts or CIDRs the fetcher may reach although private or loopback')
    .default([]),
  NEWS_CHECKLIST_FILE: z
    .string()
    .min(1)
    .describe('path of the relevance checklist YAML file')
    .optional(),
  NEWS_MAX_POSTS: envVar.count(1, 100).default(5),
  NEWS_MAX_AGE: envVar.durationMs().default(48 * 3_600_000),
  NEWS_DEDUP_WINDOW: envVar.durationMs().default(72 * 3_600_000),
  NEWS_RETENTION: envVar.durationMs().default(90 * 86_400_000),
  NEWS_LOCK_TTL: envVar.durationMs().default(30_000),
  NEWS_FETCH_TIMEOUT: envVar.durationMs().default(20_000),
  NEWS_FETCH_MAX_BYTES: envVar.count(1_024, 100 * 1024 * 1024).default(5 * 1024 * 1024),
  NEWS_MODEL: z
    .string()
    .min(1)
    .describe('the model that judges and summarises news (default AI_DEFAULT_MODEL)')
    .optional(),
};

export const newsPublisherEnv = z.object({
  ...telegramEnv,
  ...sendLimitsEnv,
  ...storageEnv,
  ...newsEnv,
  ...aiEnv,
  ...serverEnv,
  ...costEnv,
});

export type NewsPublisherEnv = z.infer<typeof newsPublisherEnv>;
