import { bigint, bigserial, index, pgTable, real, text, timestamp } from 'drizzle-orm/pg-core';

/**
 * One piece of news, however many sites carried it: near-duplicate articles join the
 * same story, and the channel gets one post per story.
 */
export const stories = pgTable(
  'stories',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    title: text('title').notNull(),
    category: text('category'),
    score: real('score'),
    /** 64-bit SimHash of title and lead, for near-duplicate lookups. */
    simhash: bigint('simhash', { mode: 'bigint' }),
    firstSeenAt: timestamp('first_seen_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (table) => [index('stories_first_seen_idx').on(table.firstSeenAt)],
);
