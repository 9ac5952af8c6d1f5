import { sql } from 'drizzle-orm';
import { bigint, boolean, jsonb, pgTable, text, timestamp } from 'drizzle-orm/pg-core';

/** What a user chose in /settings and /models; absent keys mean the defaults. */
export interface UserSettings {
  model?: string;
  language?: string;
  answerLength?: 'short' | 'normal' | 'long';
  showReasoning?: boolean;
}

/** A Telegram user who wrote to the bot. The id is Telegram's user id. */
export const users = pgTable('users', {
  id: bigint('id', { mode: 'number' }).primaryKey(),
  username: text('username'),
  firstName: text('first_name'),
  languageCode: text('language_code'),
  isBot: boolean('is_bot').notNull().default(false),
  settings: jsonb('settings')
    .$type<UserSettings>()
    .notNull()
    .default(sql`'{}'::jsonb`),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  lastSeenAt: timestamp('last_seen_at', { withTimezone: true }).notNull().defaultNow(),
  /** Set by an operator (admin API): the bot ignores the user's updates from then on. */
  blockedAt: timestamp('blocked_at', { withTimezone: true }),
});
