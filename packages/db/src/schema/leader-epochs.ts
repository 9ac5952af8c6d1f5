import { bigint, pgTable, primaryKey, text, timestamp } from 'drizzle-orm/pg-core';

/**
 * Fencing tokens: each new leader of a role takes the next epoch. A write made under an
 * epoch lower than the newest is from a stale leader and is refused.
 */
export const leaderEpochs = pgTable(
  'leader_epochs',
  {
    role: text('role').notNull(),
    epoch: bigint('epoch', { mode: 'number' }).notNull(),
    holder: text('holder').notNull(),
    acquiredAt: timestamp('acquired_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (table) => [primaryKey({ columns: [table.role, table.epoch] })],
);
