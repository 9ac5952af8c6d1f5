import { aiEnv, envVar, serverEnv, storageEnv, telegramEnv, z } from '@herald/config';

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
};

export const newsPublisherEnv = z.object({
  ...telegramEnv,
  ...storageEnv,
  ...newsEnv,
  ...aiEnv,
  ...serverEnv,
});

export type NewsPublisherEnv = z.infer<typeof newsPublisherEnv>;
