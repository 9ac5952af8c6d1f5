import type { Logger } from '@herald/logger';
import {
  articleMeta,
  canonicalUrl,
  contentHash,
  decodeFeed,
  FetchError,
  NearDuplicateIndex,
  parseFeed,
  ParseError,
  parseListing,
  signature,
  type NewsFetcher,
  type ParsedItem,
  type Source,
} from '@herald/news';
import type { RawCall, Sender } from '@herald/telegram';
import type pg from 'pg';
import { composePost } from './compose.js';
import type { Judge } from './judge.js';
import { LeaseLost, type Lease } from './leader.js';
import type { NewsMetrics } from './metrics.js';
import { abandonClaim, claimPost, recordSent } from './posts.js';

export interface CycleConfig {
  /** The leader role whose epochs fence the posts. */
  role: string;
  channelId: string;
  /** The schedule's interval; a failing source backs off in multiples of it. */
  intervalMs: number;
  /** Posts per cycle, best first. */
  maxPosts: number;
  /** Articles published longer ago are archived but never posted. */
  maxAgeMs: number;
  /** How far back a new article is compared with stories for near-duplicates. */
  nearDuplicateWindowMs: number;
  /** Articles and stories older than this are deleted. */
  retentionMs: number;
  /** LLM verdicts asked at once, and at most per cycle (the rest wait for the next). The
   * checklist's first pass judges every new story. */
  judgeConcurrency: number;
  maxVerdictsPerCycle: number;
  /** Article pages read per HTML source and cycle, for the lead the listing lacks. */
  articlePagesPerSource: number;
}

export const DEFAULT_CYCLE_CONFIG: Omit<CycleConfig, 'channelId' | 'intervalMs'> = {
  role: 'news',
  maxPosts: 5,
  maxAgeMs: 48 * 3_600_000,
  nearDuplicateWindowMs: 72 * 3_600_000,
  retentionMs: 90 * 86_400_000,
  judgeConcurrency: 4,
  maxVerdictsPerCycle: 60,
  articlePagesPerSource: 10,
};

export interface CycleDeps {
  pool: pg.Pool;
  sources: readonly Source[];
  fetch: NewsFetcher;
  judge: Judge;
  sender: Sender;
  /** The Bot API call itself (telegraf's callApi); the sender spaces and retries it. */
  telegram: RawCall;
  logger: Logger;
  metrics: NewsMetrics;
  config: CycleConfig;
  /** Near-duplicate index kept between cycles (see `StoryIndex`). */
  stories: StoryIndex;
  /** True while admins paused posting; the cycle still fetches and archives. */
  paused?: () => Promise<boolean>;
}

export interface CycleReport {
  sources: { fetched: number; notModified: number; failed: number; skipped: number };
  articles: {
    new: number;
    duplicate: number;
    nearDuplicate: number;
    stale: number;
    irrelevant: number;
  };
  posted: number;
  postsFailed: number;
  durationMs: number;
}

const MAX_BACKOFF_CYCLES = 12;

/** Milliseconds of a source interval such as 30m. */
function intervalMs(value: string | undefined): number {
  if (!value) return 0;
  const amount = Number(value.slice(0, -1));
  return amount * { s: 1_000, m: 60_000, h: 3_600_000 }[value.slice(-1) as 's' | 'm' | 'h'];
}

/**
 * Recent stories' MinHash signatures, loaded from Postgres once and then only the new
 * ones, so a cycle does not reread the window. It starts over when the window has moved a
 * day past what it holds, dropping expired stories.
 */
export class StoryIndex {
  private index = new NearDuplicateIndex<number>();
  private lastId = 0;
  private loadedAt = 0;

  constructor(
    private readonly pool: pg.Pool,
    private readonly windowMs: number,
  ) {}

  async refresh(): Promise<NearDuplicateIndex<number>> {
    if (Date.now() - this.loadedAt > 86_400_000) {
      this.index = new NearDuplicateIndex<number>();
      this.lastId = 0;
      this.loadedAt = Date.now();
    }
    const rows = await this.pool.query<{ id: string; signature: Buffer }>(
      `SELECT id, signature FROM stories
       WHERE id > $1 AND first_seen_at > now() - make_interval(secs => $2)
       ORDER BY id`,
      [this.lastId, this.windowMs / 1000],
    );
    for (const row of rows.rows) {
      const id = Number(row.id);
      this.index.add(id, fromBytes(row.signature));
      this.lastId = Math.max(this.lastId, id);
    }
    return this.index;
  }

  add(id: number, sig: Uint32Array): void {
    this.index.add(id, sig);
    this.lastId = Math.max(this.lastId, id);
  }
}

const toBytes = (sig: Uint32Array) => Buffer.from(sig.buffer, sig.byteOffset, sig.byteLength);
function fromBytes(bytes: Buffer): Uint32Array {
  const copy = new Uint8Array(bytes);
  return new Uint32Array(copy.buffer, 0, copy.byteLength / 4);
}

interface SourceState {
  id: string;
  etag: string | null;
  last_modified: string | null;
  consecutive_failures: number;
  backoff_until: Date | null;
  last_fetched_at: Date | null;
}

/** Writes the sources file into the sources table; sources no longer listed are disabled. */
export async function syncSources(pool: pg.Pool, sources: readonly Source[]): Promise<void> {
  for (const source of sources) {
    await pool.query(
      `INSERT INTO sources (id, url, kind, categories, weight, enabled)
       VALUES ($1, $2, $3, $4, $5, true)
       ON CONFLICT (id) DO UPDATE SET url = EXCLUDED.url, kind = EXCLUDED.kind,
         categories = EXCLUDED.categories, weight = EXCLUDED.weight, enabled = true`,
      [source.id, source.url, source.kind, source.categories, source.weight],
    );
  }
  await pool.query('UPDATE sources SET enabled = false WHERE NOT (id = ANY($1::text[]))', [
    sources.map((source) => source.id),
  ]);
}

type Fetched =
  | { source: Source; outcome: 'items'; items: ParsedItem[] }
  | { source: Source; outcome: 'not_modified' | 'skipped' }
  | { source: Source; outcome: 'failed' };

/** Fetches and parses one source, recording its health; never throws for the source's faults. */
async function readSource(
  deps: CycleDeps,
  source: Source,
  state: SourceState | undefined,
): Promise<Fetched> {
  const { pool, metrics, logger } = deps;
  const now = Date.now();
  if (state?.backoff_until && state.backoff_until.getTime() > now) {
    metrics.fetches.inc({ source: source.id, outcome: 'backing_off' });
    return { source, outcome: 'skipped' };
  }
  const own = intervalMs(source.interval);
  // A tenth of slack, so a 30m source is read every 30m cycle despite jitter.
  if (own > 0 && state?.last_fetched_at && state.last_fetched_at.getTime() + own * 0.9 > now) {
    return { source, outcome: 'skipped' };
  }
  try {
    const response = await deps.fetch(source.url, {
      etag: state?.etag,
      lastModified: state?.last_modified,
    });
    let items: ParsedItem[] = [];
    if (response.status === 200) {
      if (source.kind === 'rss') {
        const feed = await parseFeed(response.body, {
          url: response.url,
          contentType: response.contentType,
        });
        if (feed.repairs.length > 0)
          logger.info(
            { source: source.id, repairs: feed.repairs.slice(0, 3) },
            'the feed had XML errors; the readable items were kept',
          );
        items = feed.items;
      } else {
        const html = decodeFeed(response.body, response.contentType);
        items = parseListing(html, { url: response.url, selectors: source.selectors! });
        if (items.length === 0)
          throw new ParseError(
            'not_a_feed',
            'the page lists no stories under its selectors (did the site change its layout?)',
          );
      }
    }
    await pool.query(
      `UPDATE sources SET etag = $2, last_modified = $3, last_fetched_at = now(),
         last_success_at = now(), consecutive_failures = 0, backoff_until = NULL, last_error = NULL
       WHERE id = $1`,
      [
        source.id,
        response.etag ?? (response.status === 304 ? state?.etag : null) ?? null,
        response.lastModified ?? (response.status === 304 ? state?.last_modified : null) ?? null,
      ],
    );
    metrics.sourceUp.set({ source: source.id }, 1);
    metrics.sourceFailures.set({ source: source.id }, 0);
    if (response.status === 304) {
      metrics.fetches.inc({ source: source.id, outcome: 'not_modified' });
      return { source, outcome: 'not_modified' };
    }
    metrics.fetches.inc({ source: source.id, outcome: 'ok' });
    return { source, outcome: 'items', items };
  } catch (error) {
    const reason =
      error instanceof FetchError || error instanceof ParseError ? error.reason : 'error';
    const failures = (state?.consecutive_failures ?? 0) + 1;
    const backoffCycles = Math.min(2 ** (failures - 1) - 1, MAX_BACKOFF_CYCLES);
    const message = error instanceof Error ? error.message : String(error);
    await pool.query(
      `UPDATE sources SET last_fetched_at = now(), consecutive_failures = $2,
         backoff_until = now() + make_interval(secs => $3), last_error = $4
       WHERE id = $1`,
      [
        source.id,
        failures,
        (backoffCycles * deps.config.intervalMs) / 1000,
        `${reason}: ${message}`,
      ],
    );
    metrics.fetches.inc({ source: source.id, outcome: reason });
    metrics.sourceUp.set({ source: source.id }, 0);
    metrics.sourceFailures.set({ source: source.id }, failures);
    logger.warn(
      {
        source: source.id,
        url: source.url,
        reason,
        failures,
        skip_cycles: backoffCycles,
        err: message,
      },
      `news source ${source.id} failed (${reason}); the other sources go on. Check its url${source.kind === 'html' ? ' and selectors' : ''} in NEWS_SOURCES_FILE if this repeats`,
    );
    return { source, outcome: 'failed' };
  }
}

/** For HTML listings: reads new articles' own pages for the lead, image and date they lack. */
async function enrich(deps: CycleDeps, items: ParsedItem[]): Promise<ParsedItem[]> {
  const known = await deps.pool.query<{ canonical_url: string }>(
    'SELECT canonical_url FROM articles WHERE canonical_url = ANY($1::text[])',
    [items.map((item) => canonicalUrl(item.url))],
  );
  const seen = new Set(known.rows.map((row) => row.canonical_url));
  let budget = deps.config.articlePagesPerSource;
  return Promise.all(
    items.map(async (item) => {
      if (item.summary || seen.has(canonicalUrl(item.url)) || budget <= 0) return item;
      budget -= 1;
      try {
        const page = await deps.fetch(item.url);
        const meta = articleMeta(decodeFeed(page.body, page.contentType), page.url, 2_000);
        return {
          ...item,
          summary: meta.description ?? meta.text?.slice(0, 600),
          imageUrl: item.imageUrl ?? meta.imageUrl,
          publishedAt: item.publishedAt ?? meta.publishedAt,
        };
      } catch (error) {
        deps.logger.debug({ url: item.url, err: error }, 'could not read an article page');
        return item;
      }
    }),
  );
}

/** Inserts a source's items; exact duplicates (URL or content) are left out by Postgres. */
async function archive(
  deps: CycleDeps,
  source: Source,
  items: ParsedItem[],
  report: CycleReport,
  stories: NearDuplicateIndex<number>,
  index: StoryIndex,
): Promise<void> {
  const { pool, metrics } = deps;
  const oldest = Date.now() - deps.config.maxAgeMs;
  const fresh = items.filter((item) => {
    if (item.publishedAt && item.publishedAt.getTime() < oldest) {
      metrics.articles.inc({ source: source.id, outcome: 'stale' });
      report.articles.stale += 1;
      return false;
    }
    return true;
  });
  if (fresh.length === 0) return;
  const rows = fresh.map((item) => ({
    item,
    canonical: canonicalUrl(item.url),
    hash: contentHash(item.title, item.summary),
  }));
  const inserted = await pool.query<{ id: string; canonical_url: string }>(
    `INSERT INTO articles (source_id, url, canonical_url, content_hash, title, summary, author,
       image_url, published_at)
     SELECT $1, * FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::text[],
       $7::text[], $8::text[], $9::timestamptz[])
     ON CONFLICT DO NOTHING
     RETURNING id, canonical_url`,
    [
      source.id,
      rows.map((row) => row.item.url),
      rows.map((row) => row.canonical),
      rows.map((row) => row.hash),
      rows.map((row) => row.item.title.slice(0, 1_000)),
      rows.map((row) => row.item.summary?.slice(0, 4_000) ?? null),
      rows.map((row) => row.item.author ?? null),
      rows.map((row) => row.item.imageUrl ?? null),
      rows.map((row) => row.item.publishedAt?.toISOString() ?? null),
    ],
  );
  const duplicates = rows.length - inserted.rows.length;
  report.articles.duplicate += duplicates;
  metrics.articles.inc({ source: source.id, outcome: 'duplicate' }, duplicates);
  const byCanonical = new Map(rows.map((row) => [row.canonical, row.item]));
  for (const row of inserted.rows) {
    const item = byCanonical.get(row.canonical_url)!;
    const sig = signature(`${item.title} ${item.summary ?? ''}`);
    const match = stories.find(sig);
    let storyId: number;
    if (match) {
      storyId = match.id;
      report.articles.nearDuplicate += 1;
      metrics.articles.inc({ source: source.id, outcome: 'near_duplicate' });
    } else {
      const story = await pool.query<{ id: string }>(
        'INSERT INTO stories (title, signature) VALUES ($1, $2) RETURNING id',
        [item.title.slice(0, 1_000), toBytes(sig)],
      );
      storyId = Number(story.rows[0]!.id);
      index.add(storyId, sig);
      report.articles.new += 1;
      metrics.articles.inc({ source: source.id, outcome: 'new' });
    }
    await pool.query('UPDATE articles SET story_id = $2 WHERE id = $1', [row.id, storyId]);
  }
}

/** Judges the stories still without a verdict, a few at a time. */
async function judgeStories(deps: CycleDeps, lease: Lease, report: CycleReport): Promise<void> {
  const { pool, metrics } = deps;
  const pending = await pool.query<{
    id: string;
    title: string;
    summary: string | null;
    source_id: string;
    url: string;
    weight: number;
  }>(
    `SELECT s.id, a.title, a.summary, a.source_id, a.url, src.weight
     FROM stories s
     JOIN LATERAL (SELECT * FROM articles WHERE story_id = s.id ORDER BY id LIMIT 1) a ON true
     JOIN sources src ON src.id = a.source_id
     WHERE s.relevant IS NULL AND s.first_seen_at > now() - make_interval(secs => $1)
     ORDER BY s.id DESC
     LIMIT 5000`,
    [deps.config.maxAgeMs / 1000],
  );
  const queue = [...pending.rows];
  let llmBudget = deps.config.maxVerdictsPerCycle;
  const worker = async () => {
    for (let story = queue.shift(); story; story = queue.shift()) {
      lease.assertHeld();
      const candidate = {
        title: story.title,
        lead: story.summary ?? undefined,
        source: story.source_id,
        url: story.url,
      };
      let verdict = deps.judge.firstPass(candidate);
      if (!verdict) {
        // Past the budget, the story waits for the next cycle's LLM verdict.
        if (llmBudget <= 0) continue;
        llmBudget -= 1;
        verdict = await deps.judge.secondPass(candidate, lease.lost);
      }
      await pool.query(
        `UPDATE stories SET relevant = $2, category = $3, score = $4, verdict_reason = $5,
           verdict_by = $6, summary = $7 WHERE id = $1`,
        [
          story.id,
          verdict.relevant,
          verdict.category ?? null,
          verdict.score * story.weight,
          verdict.reason.slice(0, 500),
          verdict.by,
          verdict.summary ?? null,
        ],
      );
      await pool.query(
        `UPDATE articles SET relevant = $2, category = $3, score = $4, verdict_reason = $5,
           verdict_by = $6 WHERE story_id = $1 AND relevant IS NULL`,
        [
          story.id,
          verdict.relevant,
          verdict.category ?? null,
          verdict.score,
          verdict.reason.slice(0, 500),
          verdict.by,
        ],
      );
      const outcome = verdict.relevant ? 'relevant' : 'irrelevant';
      if (!verdict.relevant) report.articles.irrelevant += 1;
      metrics.articles.inc({ source: story.source_id, outcome });
    }
  };
  await Promise.all(Array.from({ length: deps.config.judgeConcurrency }, worker));
}

/** Posts the best stories not yet in the channel, each claimed under the leader's epoch. */
async function publish(deps: CycleDeps, lease: Lease, report: CycleReport): Promise<void> {
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
    const links = await pool.query<{ source_id: string; url: string; categories: string[] }>(
      `SELECT a.source_id, a.url, src.categories FROM articles a
       JOIN sources src ON src.id = a.source_id
       WHERE a.story_id = $1 ORDER BY src.weight DESC, a.id`,
      [story.id],
    );
    const text = composePost({
      title: story.title,
      summary: story.summary,
      category: story.category,
      links: links.rows.map((row) => ({
        source: row.source_id,
        url: row.url,
        categories: row.categories,
      })),
    });
    const storyId = Number(story.id);
    const claim = await claimPost(pool, lease, {
      role: config.role,
      storyId,
      channelId: config.channelId,
      text,
    });
    if (!claim) {
      metrics.posts.inc({ outcome: 'taken' });
      continue;
    }
    let sent: { message_id?: number } | undefined;
    try {
      sent = (await deps.sender.call(
        'sendMessage',
        {
          chat_id: config.channelId,
          text,
          parse_mode: 'HTML',
          link_preview_options: { is_disabled: links.rows.length === 0 },
        },
        (method, payload) => {
          // The last moment to find out this process no longer leads.
          lease.assertHeld();
          return deps.telegram(method, payload);
        },
        { signal: lease.lost },
      )) as { message_id?: number } | undefined;
    } catch (error) {
      if (error instanceof LeaseLost) throw error;
      await abandonClaim(pool, claim, lease.epoch);
      metrics.posts.inc({ outcome: 'failed' });
      report.postsFailed += 1;
      const description = (error as { description?: string }).description ?? String(error);
      logger.error(
        { story_id: storyId, channel_id: config.channelId, err: error },
        `Telegram refused the channel post (${description}); it is tried again next cycle. Check that the bot is an admin of NEWS_CHANNEL_ID with the right to post`,
      );
      continue;
    }
    await recordSent(pool, claim, sent?.message_id);
    report.posted += 1;
    metrics.posts.inc({ outcome: claim.reclaimed ? 'reposted' : 'posted' });
    for (const link of links.rows)
      metrics.articles.inc({ source: link.source_id, outcome: 'posted' });
    if (claim.reclaimed)
      logger.warn(
        { story_id: storyId },
        'posted a story an earlier leader had claimed without recording the outcome (it stopped mid-post)',
      );
  }
}

/** Deletes what is older than the retention; posts go with their stories. */
async function applyRetention(deps: CycleDeps): Promise<void> {
  const seconds = deps.config.retentionMs / 1000;
  await deps.pool.query(
    'DELETE FROM articles WHERE fetched_at < now() - make_interval(secs => $1)',
    [seconds],
  );
  await deps.pool.query(
    `DELETE FROM stories s WHERE s.first_seen_at < now() - make_interval(secs => $1)
       AND NOT EXISTS (SELECT 1 FROM articles a WHERE a.story_id = s.id)`,
    [seconds],
  );
}

/**
 * One news cycle, as the leader holding `lease`: fetch every due source at once, parse,
 * archive with exact and near-duplicate dedup, judge relevance, post the best stories,
 * apply retention. A failing source is recorded and backs off; the rest goes on. Throws
 * LeaseLost as soon as it finds the lease gone.
 */
export async function runCycle(deps: CycleDeps, lease: Lease): Promise<CycleReport> {
  const started = performance.now();
  const report: CycleReport = {
    sources: { fetched: 0, notModified: 0, failed: 0, skipped: 0 },
    articles: { new: 0, duplicate: 0, nearDuplicate: 0, stale: 0, irrelevant: 0 },
    posted: 0,
    postsFailed: 0,
    durationMs: 0,
  };
  await syncSources(deps.pool, deps.sources);
  const states = await deps.pool.query<SourceState>(
    `SELECT id, etag, last_modified, consecutive_failures, backoff_until, last_fetched_at
     FROM sources WHERE enabled`,
  );
  const stateOf = new Map(states.rows.map((row) => [row.id, row]));
  const fetched = await Promise.all(
    deps.sources.map((source) => readSource(deps, source, stateOf.get(source.id))),
  );
  lease.assertHeld();
  const stories = await deps.stories.refresh();
  for (const result of fetched) {
    if (result.outcome === 'skipped') report.sources.skipped += 1;
    else if (result.outcome === 'failed') report.sources.failed += 1;
    else if (result.outcome === 'not_modified') report.sources.notModified += 1;
    else if (result.outcome === 'items') {
      report.sources.fetched += 1;
      const items = result.source.kind === 'html' ? await enrich(deps, result.items) : result.items;
      await archive(deps, result.source, items, report, stories, deps.stories);
    }
  }
  lease.assertHeld();
  await judgeStories(deps, lease, report);
  if (deps.paused && (await deps.paused())) {
    deps.logger.info('news posting is paused (/admin news resume); fetched and archived only');
  } else {
    await publish(deps, lease, report);
  }
  await applyRetention(deps);
  report.durationMs = Math.round(performance.now() - started);
  return report;
}
