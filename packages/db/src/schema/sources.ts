import { sql } from 'drizzle-orm';
import { boolean, integer, pgTable, real, text, timestamp } from 'drizzle-orm/pg-core';

/**
 * A news source from NEWS_SOURCES_FILE, with what the fetcher keeps between cycles:
 * validators for conditional GET, and health for backoff and /admin news sources.
 */
export const sources = pgTable('sources', {
  id: text('id').primaryKey(),
  url: text('url').notNull(),
  kind: text('kind', { enum: ['rss', 'html'] }).notNull(),
  categories: text('categories')
    .array()
    .notNull()
    .default(sql`'{}'::text[]`),
  weight: real('weight').notNull().default(1),
  enabled: boolean('enabled').notNull().default(true),
  etag: text('etag'),
  lastModified: text('last_modified'),
  lastFetchedAt: timestamp('last_fetched_at', { withTimezone: true }),
  lastSuccessAt: timestamp('last_success_at', { withTimezone: true }),
  consecutiveFailures: integer('consecutive_failures').notNull().default(0),
  backoffUntil: timestamp('backoff_until', { withTimezone: true }),
  lastError: text('last_error'),
});
