import {
  bigserial,
  boolean,
  customType,
  index,
  pgTable,
  real,
  text,
  timestamp,
} from 'drizzle-orm/pg-core';

const bytea = customType<{ data: Buffer; driverData: Buffer }>({ dataType: () => 'bytea' });

/**
 * One piece of news, however many sites carried it: near-duplicate articles join the
 * same story, and the channel gets one post per story.
 */
export const stories = pgTable(
  'stories',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    title: text('title').notNull(),
    /** The verdict on the story's first article: null until judged. */
    relevant: boolean('relevant'),
    category: text('category'),
    score: real('score'),
    verdictReason: text('verdict_reason'),
    verdictBy: text('verdict_by', { enum: ['llm', 'checklist'] }),
    /** The AI's short summary with market context; null when the LLM did not judge it. */
    summary: text('summary'),
    /** MinHash signature (128 × uint32, little-endian) for near-duplicates, of the text
     * named by `keyedBy`. */
    signature: bytea('signature').notNull(),
    /** What the signature covers: `lead` (the lead alone, long enough to tell stories
     * apart), `title` (no usable lead), or null for stories signed over title and lead
     * together before leads were keyed on their own. */
    keyedBy: text('keyed_by', { enum: ['lead', 'title'] }),
    firstSeenAt: timestamp('first_seen_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (table) => [index('stories_first_seen_idx').on(table.firstSeenAt)],
);
