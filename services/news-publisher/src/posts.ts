import type pg from 'pg';
import { composePost } from './compose.js';
import type { CycleDeps, CycleReport } from './cycle.js';
import { LeaseLost, type Lease } from './leader.js';

/** A story claimed for posting under the leader's epoch. */
export interface Claim {
  id: number;
  storyId: number;
  /** True when an older leader had claimed it and never recorded the answer. */
  reclaimed: boolean;
}

/**
 * Runs `write` in a transaction fenced by the leader's epoch: the newest epoch of `role`
 * is read FOR SHARE (a new leader taking its epoch waits for this transaction, and this
 * one fails once it has), so nothing `write` does commits under a stale epoch.
 *
 * A frozen process cannot hold the epoch row for long: the transaction is ended by
 * Postgres after `idle_in_transaction_session_timeout`.
 */
async function fenced<T>(
  pool: pg.Pool,
  lease: Lease,
  role: string,
  write: (client: pg.PoolClient) => Promise<T>,
): Promise<T> {
  lease.assertHeld();
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    await client.query("SET LOCAL idle_in_transaction_session_timeout = '5s'");
    const newest = await client.query<{ epoch: string }>(
      'SELECT epoch FROM leader_epochs WHERE role = $1 ORDER BY epoch DESC LIMIT 1 FOR SHARE',
      [role],
    );
    const epoch = Number(newest.rows[0]?.epoch ?? 0);
    if (epoch !== lease.epoch) {
      await client.query('ROLLBACK');
      throw new LeaseLost(`epoch ${lease.epoch} is fenced off: epoch ${epoch} leads now`);
    }
    const result = await write(client);
    await client.query('COMMIT');
    return result;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
}

/**
 * The fenced claim of a post: the post row is inserted under the unique (story, channel)
 * key in a transaction fenced by the epoch. A story already sent, or claimed by this
 * epoch, gives undefined. A claim an older epoch left `sending` (its leader died or froze
 * before recording Telegram's answer) is taken over.
 */
export async function claimPost(
  pool: pg.Pool,
  lease: Lease,
  post: {
    role: string;
    storyId: number;
    channelId: string;
    text: string;
    /** The articles whose links `text` carries. */
    articleIds?: readonly number[];
  },
): Promise<Claim | undefined> {
  const claimed = await fenced(pool, lease, post.role, (client) =>
    client.query<{ id: string; reclaimed: boolean }>(
      `INSERT INTO channel_posts (story_id, channel_id, epoch, state, text, article_ids)
       VALUES ($1, $2, $3, 'sending', $4, $5)
       ON CONFLICT (story_id, channel_id) DO UPDATE
         SET epoch = EXCLUDED.epoch, text = EXCLUDED.text, article_ids = EXCLUDED.article_ids,
           posted_at = now()
         WHERE channel_posts.state = 'sending' AND channel_posts.epoch < EXCLUDED.epoch
       RETURNING id, (xmax <> 0) AS reclaimed`,
      [post.storyId, post.channelId, lease.epoch, post.text, post.articleIds ?? []],
    ),
  );
  const row = claimed.rows[0];
  return row ? { id: Number(row.id), storyId: post.storyId, reclaimed: row.reclaimed } : undefined;
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

type PostDeps = Pick<CycleDeps, 'pool' | 'sender' | 'telegram' | 'logger' | 'metrics' | 'config'>;

interface StoryLink {
  id: string;
  source_id: string;
  url: string;
  categories: string[];
}

/** Every article of a story with its source, best source first: the post's links. */
async function storyLinks(pool: pg.Pool, storyId: number): Promise<StoryLink[]> {
  const links = await pool.query<StoryLink>(
    `SELECT a.id, a.source_id, a.url, src.categories FROM articles a
     JOIN sources src ON src.id = a.source_id
     WHERE a.story_id = $1 ORDER BY src.weight DESC, a.id`,
    [storyId],
  );
  return links.rows;
}

const composeWith = (
  story: { title: string; summary: string | null; category: string | null },
  links: StoryLink[],
) =>
  composePost({
    title: story.title,
    summary: story.summary,
    category: story.category,
    links: links.map((row) => ({
      source: row.source_id,
      url: row.url,
      categories: row.categories,
    })),
  });

const idsOf = (links: StoryLink[]) => links.map((link) => Number(link.id)).sort((a, b) => a - b);

/** Sends one Bot API call to the channel through the sender, as long as the lease holds. */
function callAsLeader(
  deps: PostDeps,
  lease: Lease,
  method: string,
  payload: Record<string, unknown>,
): Promise<unknown> {
  return deps.sender.call(
    method,
    payload,
    (name, body) => {
      // The last moment to find out this process no longer leads.
      lease.assertHeld();
      return deps.telegram(name, body);
    },
    { signal: lease.lost },
  );
}

const describe = (error: unknown) =>
  (error as { description?: string }).description ?? String(error);

/** Posts the best stories not yet in the channel, each claimed under the leader's epoch. */
export async function publish(deps: PostDeps, lease: Lease, report: CycleReport): Promise<void> {
  const { pool, metrics, logger, config } = deps;
  const candidates = await pool.query<{
    id: string;
    title: string;
    summary: string | null;
    category: string | null;
  }>(
    `SELECT s.id, s.title, s.summary, s.category FROM stories s
     WHERE s.relevant AND s.first_seen_at > now() - make_interval(secs => $1)
       AND NOT EXISTS (SELECT 1 FROM channel_posts p WHERE p.story_id = s.id
         AND p.channel_id = $2 AND (p.state = 'sent' OR p.epoch >= $3))
     ORDER BY s.score DESC NULLS LAST, s.id
     LIMIT $4`,
    [config.maxAgeMs / 1000, config.channelId, lease.epoch, config.maxPosts],
  );
  for (const story of candidates.rows) {
    const storyId = Number(story.id);
    const links = await storyLinks(pool, storyId);
    const text = composeWith(story, links);
    const claim = await claimPost(pool, lease, {
      role: config.role,
      storyId,
      channelId: config.channelId,
      text,
      articleIds: idsOf(links),
    });
    if (!claim) {
      metrics.posts.inc({ outcome: 'taken' });
      continue;
    }
    let sent: { message_id?: number } | undefined;
    try {
      sent = (await callAsLeader(deps, lease, 'sendMessage', {
        chat_id: config.channelId,
        text,
        parse_mode: 'HTML',
        link_preview_options: { is_disabled: links.length === 0 },
      })) as { message_id?: number } | undefined;
    } catch (error) {
      if (error instanceof LeaseLost) throw error;
      await abandonClaim(pool, claim, lease.epoch);
      metrics.posts.inc({ outcome: 'failed' });
      report.postsFailed += 1;
      logger.error(
        { story_id: storyId, channel_id: config.channelId, err: error },
        `Telegram refused the channel post (${describe(error)}); it is tried again next cycle. Check that the bot is an admin of NEWS_CHANNEL_ID with the right to post`,
      );
      continue;
    }
    await recordSent(pool, claim, sent?.message_id);
    report.posted += 1;
    metrics.posts.inc({ outcome: claim.reclaimed ? 'reposted' : 'posted' });
    for (const link of links) metrics.articles.inc({ source: link.source_id, outcome: 'posted' });
    if (claim.reclaimed)
      logger.warn(
        { story_id: storyId },
        'posted a story an earlier leader had claimed without recording the outcome (it stopped mid-post)',
      );
  }
}

/**
 * Reports the channel's state from the archive: when it last got a post and how many relevant
 * stories still wait for one. Alerts tell a silent channel from a quiet news day with these.
 */
export async function reportChannel(deps: Pick<PostDeps, 'pool' | 'metrics' | 'config'>) {
  const { pool, metrics, config } = deps;
  const channel = config.channelId;
  const state = await pool.query<{ last_post: string | null; waiting: string }>(
    `SELECT
       (SELECT extract(epoch FROM max(p.posted_at)) FROM channel_posts p
         WHERE p.channel_id = $1 AND p.state = 'sent') AS last_post,
       (SELECT count(*) FROM stories s
         WHERE s.relevant AND s.first_seen_at > now() - make_interval(secs => $2)
           AND NOT EXISTS (SELECT 1 FROM channel_posts p WHERE p.story_id = s.id
             AND p.channel_id = $1 AND p.state = 'sent')) AS waiting`,
    [channel, config.maxAgeMs / 1000],
  );
  const row = state.rows[0];
  if (row?.last_post != null) metrics.lastPost.set({ channel }, Number(row.last_post));
  metrics.storiesWaiting.set({ channel }, Number(row?.waiting ?? 0));
}

/**
 * Adds the links of sites that carried a story after it was posted: the channel post is
 * edited (at most once per post and cycle, within Telegram's edit window) instead of the
 * late copy being dropped.
 *
 * Exactly once, like posting: the edit is claimed in a transaction fenced by the epoch,
 * compare-and-set on the links the post carries, so a stale leader never edits and two
 * leaders never both add one link. A claim whose leader died before recording Telegram's
 * answer is taken over by the next leader; sending that same text again is harmless, as
 * Telegram answers "message is not modified" and changes nothing.
 */
export async function editLateLinks(
  deps: PostDeps,
  lease: Lease,
  report: CycleReport,
): Promise<void> {
  const { pool, metrics, logger, config } = deps;
  const posts = await pool.query<{
    id: string;
    story_id: string;
    telegram_message_id: number;
    text: string;
    article_ids: string[];
    title: string;
    summary: string | null;
    category: string | null;
  }>(
    `SELECT p.id, p.story_id, p.telegram_message_id, p.text, p.article_ids,
       s.title, s.summary, s.category
     FROM channel_posts p JOIN stories s ON s.id = p.story_id
     WHERE p.channel_id = $1 AND p.state = 'sent' AND p.telegram_message_id IS NOT NULL
       AND p.posted_at > now() - make_interval(secs => $2)
       AND (p.edit_epoch < $3 OR EXISTS (SELECT 1 FROM articles a
         WHERE a.story_id = p.story_id AND NOT (a.id = ANY (p.article_ids))))
     ORDER BY p.id
     LIMIT $4`,
    [config.channelId, config.editWindowMs / 1000, lease.epoch, config.maxEditsPerCycle],
  );
  for (const post of posts.rows) {
    const postId = Number(post.id);
    const links = await storyLinks(pool, Number(post.story_id));
    const text = composeWith(post, links);
    const carried = post.article_ids.map(Number);
    const ids = idsOf(links);
    // Past the links a post shows, a late copy changes nothing readers see: the links
    // only count as carried. Otherwise the edit is claimed, then sent.
    const unchanged = text === post.text;
    const claimed = await fenced(pool, lease, config.role, (client) =>
      client.query(
        `UPDATE channel_posts
         SET article_ids = CASE WHEN $6 THEN $3 ELSE article_ids END,
           edit_text = CASE WHEN $6 THEN NULL ELSE $2 END,
           edit_article_ids = CASE WHEN $6 THEN NULL ELSE $3 END,
           edit_epoch = CASE WHEN $6 THEN NULL ELSE $5 END
         WHERE id = $1 AND article_ids = $4 AND (edit_epoch IS NULL OR edit_epoch < $5)
         RETURNING id`,
        [postId, text, ids, carried, lease.epoch, unchanged],
      ),
    );
    if (claimed.rowCount === 0 || unchanged) continue;
    let outcome: 'edited' | 'edit_refused' | 'edit_failed' = 'edited';
    try {
      await callAsLeader(deps, lease, 'editMessageText', {
        chat_id: config.channelId,
        message_id: post.telegram_message_id,
        text,
        parse_mode: 'HTML',
        link_preview_options: { is_disabled: false },
      });
    } catch (error) {
      if (error instanceof LeaseLost) throw error;
      const code = (error as { code?: number; response?: { error_code?: number } }).response
        ?.error_code;
      if (/message is not modified/i.test(describe(error))) outcome = 'edited';
      else if (code !== undefined && code >= 400 && code < 500) outcome = 'edit_refused';
      else outcome = 'edit_failed';
      if (outcome !== 'edited')
        logger.warn(
          { story_id: Number(post.story_id), message_id: post.telegram_message_id, err: error },
          outcome === 'edit_refused'
            ? `Telegram refused to add late links to a channel post (${describe(error)}); the post stays as it is`
            : `could not add late links to a channel post (${describe(error)}); tried again next cycle`,
        );
    }
    // A refused edit is not retried: the links count as carried, or every cycle would
    // ask Telegram again. A failed one (network, 5xx) is released for the next cycle.
    await pool.query(
      outcome === 'edit_failed'
        ? `UPDATE channel_posts SET edit_text = NULL, edit_article_ids = NULL, edit_epoch = NULL
           WHERE id = $1 AND edit_epoch = $2`
        : `UPDATE channel_posts SET text = CASE WHEN $3 THEN edit_text ELSE text END,
             article_ids = edit_article_ids, edit_text = NULL, edit_article_ids = NULL,
             edit_epoch = NULL, edited_at = CASE WHEN $3 THEN now() ELSE edited_at END
           WHERE id = $1 AND edit_epoch = $2`,
      outcome === 'edit_failed'
        ? [postId, lease.epoch]
        : [postId, lease.epoch, outcome === 'edited'],
    );
    metrics.posts.inc({ outcome });
    if (outcome === 'edited') report.edited += 1;
  }
}
