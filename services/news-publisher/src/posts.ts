import type pg from 'pg';
import { LeaseLost, type Lease } from './leader.js';

/** A story claimed for posting under the leader's epoch. */
export interface Claim {
  id: number;
  storyId: number;
  /** True when an older leader had claimed it and never recorded the answer. */
  reclaimed: boolean;
}

/**
 * The fenced claim: in one transaction, the newest epoch of `role` is read FOR SHARE (a
 * new leader taking its epoch waits for this transaction, and this one fails once it has),
 * and the post row is inserted under the unique (story, channel) key. A story already
 * sent, or claimed by this epoch, gives undefined. A claim an older epoch left `sending`
 * (its leader died or froze before recording Telegram's answer) is taken over.
 *
 * A frozen process cannot hold the epoch row for long: the transaction is ended by
 * Postgres after `idle_in_transaction_session_timeout`.
 */
export async function claimPost(
  pool: pg.Pool,
  lease: Lease,
  post: { role: string; storyId: number; channelId: string; text: string },
): Promise<Claim | undefined> {
  lease.assertHeld();
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    await client.query("SET LOCAL idle_in_transaction_session_timeout = '5s'");
    const newest = await client.query<{ epoch: string }>(
      'SELECT epoch FROM leader_epochs WHERE role = $1 ORDER BY epoch DESC LIMIT 1 FOR SHARE',
      [post.role],
    );
    const epoch = Number(newest.rows[0]?.epoch ?? 0);
    if (epoch !== lease.epoch) {
      await client.query('ROLLBACK');
      throw new LeaseLost(`epoch ${lease.epoch} is fenced off: epoch ${epoch} leads now`);
    }
    const claimed = await client.query<{ id: string; reclaimed: boolean }>(
      `INSERT INTO channel_posts (story_id, channel_id, epoch, state, text)
       VALUES ($1, $2, $3, 'sending', $4)
       ON CONFLICT (story_id, channel_id) DO UPDATE
         SET epoch = EXCLUDED.epoch, text = EXCLUDED.text, posted_at = now()
         WHERE channel_posts.state = 'sending' AND channel_posts.epoch < EXCLUDED.epoch
       RETURNING id, (xmax <> 0) AS reclaimed`,
      [post.storyId, post.channelId, lease.epoch, post.text],
    );
    await client.query('COMMIT');
    const row = claimed.rows[0];
    return row
      ? { id: Number(row.id), storyId: post.storyId, reclaimed: row.reclaimed }
      : undefined;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
}

/** Records Telegram's answer: the post is sent and never goes out again. */
export async function recordSent(
  pool: pg.Pool,
  claim: Claim,
  telegramMessageId: number | undefined,
): Promise<void> {
  await pool.query(
    `UPDATE channel_posts SET state = 'sent', telegram_message_id = $2, posted_at = now()
     WHERE id = $1`,
    [claim.id, telegramMessageId ?? null],
  );
}

/**
 * Drops a claim whose send certainly failed (Telegram refused it, or it never left), so
 * the next cycle tries the story again.
 */
export async function abandonClaim(pool: pg.Pool, claim: Claim, epoch: number): Promise<void> {
  await pool.query("DELETE FROM channel_posts WHERE id = $1 AND epoch = $2 AND state = 'sending'", [
    claim.id,
    epoch,
  ]);
}
