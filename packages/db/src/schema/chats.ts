import { bigint, pgTable, text, timestamp } from 'drizzle-orm/pg-core';

/** A private chat, group, supergroup or channel the bot has seen. Telegram's chat id. */
export const chats = pgTable('chats', {
  id: bigint('id', { mode: 'number' }).primaryKey(),
  type: text('type', { enum: ['private', 'group', 'supergroup', 'channel'] }).notNull(),
  title: text('title'),
  username: text('username'),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  lastSeenAt: timestamp('last_seen_at', { withTimezone: true }).notNull().defaultNow(),
});
