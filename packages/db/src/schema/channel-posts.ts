import { sql } from 'drizzle-orm';
import {
  bigint,
  index,
  bigserial,
  integer,
  pgTable,
  text,
  timestamp,
  uniqueIndex,
} from 'drizzle-orm/pg-core';
import { stories } from './stories.js';

/**
 * A story posted to a channel. The unique (story, channel) key and the leader's epoch,
 * checked in the same transaction, are what make each story go out exactly once.
 */
export const channelPosts = pgTable(
  'channel_posts',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    storyId: bigint('story_id', { mode: 'number' })
      .notNull()
      .references(() => stories.id, { onDelete: 'cascade' }),
    channelId: text('channel_id').notNull(),
    /** The leader epoch that claimed (or last re-claimed) the post. */
    epoch: bigint('epoch', { mode: 'number' }).notNull(),
    /** `sending` from the fenced claim until Telegram's answer is recorded, then `sent`. */
    state: text('state', { enum: ['sending', 'sent'] })
      .notNull()
      .default('sending'),
    telegramMessageId: integer('telegram_message_id'),
    text: text('text').notNull(),
    /** The articles whose links `text` carries; a later copy of the story edits them in. */
    articleIds: bigint('article_ids', { mode: 'number' })
      .array()
      .notNull()
      .default(sql`'{}'`),
    /** An edit claimed under `editEpoch` whose Telegram answer is not yet recorded. */
    editText: text('edit_text'),
    editArticleIds: bigint('edit_article_ids', { mode: 'number' }).array(),
    editEpoch: bigint('edit_epoch', { mode: 'number' }),
    editedAt: timestamp('edited_at', { withTimezone: true }),
    postedAt: timestamp('posted_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (table) => [
    uniqueIndex('channel_posts_story_channel_key').on(table.storyId, table.channelId),
    index('channel_posts_sending_idx')
      .on(table.channelId)
      .where(sql`state = 'sending'`),
  ],
);
