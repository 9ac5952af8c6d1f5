import { sql, type SQL } from 'drizzle-orm';
import {
  bigint,
  bigserial,
  boolean,
  customType,
  date,
  index,
  pgTable,
  real,
  text,
  timestamp,
  uniqueIndex,
} from 'drizzle-orm/pg-core';
import { sources } from './sources.js';
import { stories } from './stories.js';

const tsvector = customType<{ data: string }>({ dataType: () => 'tsvector' });

/**
 * An article as fetched from a source. Exact duplicates are refused by the unique
 * canonical URL, and by the content hash within one source and day; the full-text column
 * feeds /gold, /rwa and /summary.
 */
export const articles = pgTable(
  'articles',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    sourceId: text('source_id')
      .notNull()
      .references(() => sources.id, { onDelete: 'cascade' }),
    storyId: bigint('story_id', { mode: 'number' }).references(() => stories.id, {
      onDelete: 'set null',
    }),
    url: text('url').notNull(),
    canonicalUrl: text('canonical_url').notNull(),
    /** SHA-256 of the normalised title and text. */
    contentHash: text('content_hash').notNull(),
    title: text('title').notNull(),
    summary: text('summary'),
    body: text('body'),
    author: text('author'),
    imageUrl: text('image_url'),
    publishedAt: timestamp('published_at', { withTimezone: true }),
    fetchedAt: timestamp('fetched_at', { withTimezone: true }).notNull().defaultNow(),
    /** The UTC day it was first seen: the scope of exact-content dedup. A daily "Gold price
     * today" with a new link is a new article the next day, while a source repeating an
     * item under a second URL the same day stays one article. */
    fetchedOn: date('fetched_on').generatedAlwaysAs(
      (): SQL => sql`(fetched_at AT TIME ZONE 'UTC')::date`,
    ),
    relevant: boolean('relevant'),
    category: text('category'),
    score: real('score'),
    verdictReason: text('verdict_reason'),
    verdictBy: text('verdict_by', { enum: ['llm', 'checklist'] }),
    search: tsvector('search').generatedAlwaysAs(
      (): SQL =>
        sql`setweight(to_tsvector('english', coalesce(title, '')), 'A') || setweight(to_tsvector('english', coalesce(summary, '')), 'B')`,
    ),
  },
  (table) => [
    uniqueIndex('articles_canonical_url_key').on(table.canonicalUrl),
    uniqueIndex('articles_source_content_day_key').on(
      table.sourceId,
      table.contentHash,
      table.fetchedOn,
    ),
    index('articles_story_idx').on(table.storyId),
    index('articles_published_idx').on(table.publishedAt),
    index('articles_search_idx').using('gin', table.search),
  ],
);
