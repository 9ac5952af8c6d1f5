// The news cycle as a pipeline of stages, each in its own module: source health
// (source-health.ts), item cleaning (items.ts), archiving and the near-duplicate index
// (archive.ts, story-index.ts), verdicts (judge.ts), posting and late-link edits (posts.ts).
//
// The stages speak raw SQL through pg where the rest of Herald uses drizzle: their
// statements are set-based (unnest bulk inserts, ON CONFLICT … RETURNING, LATERAL joins,
// binary aggregates) or must run inside the fenced transaction with FOR SHARE, and read
// more plainly as SQL than as query-builder calls. drizzle owns the schema and migrations
// they run against.
import type { Logger } from '@herald/logger';
import type { NewsFetcher, Source } from '@herald/news';
import type { RawCall, Sender } from '@herald/telegram';
import type pg from 'pg';
import { archive, enrich } from './archive.js';
import { cleanItems, type CleanedItems } from './items.js';
import { judgeStories, type Judge } from './judge.js';
import { LeaseLost, type Lease } from './leader.js';
import type { NewsMetrics } from './metrics.js';
import { editLateLinks, publish, reportChannel } from './posts.js';
import {
  type Fetched,
  loadSourceStates,
  readSource,
  recordSourceFailure,
  recordSourceSuccess,
  syncSources,
  type SourceState,
} from './source-health.js';
import type { StoryIndex } from './story-index.js';

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
  /** How far back a headline with no usable lead is compared: a title alone recurs
   * ("Gold price today"), so an older match is a new story. */
  titleOnlyWindowMs: number;
  /** Hosts and CIDRs (NEWS_FETCH_ALLOW) whose links count as reachable although private. */
  fetchAllow: readonly string[];
  /** Posts younger than this get the links of late copies edited in (Telegram lets a
   * bot edit its channel posts for 48 hours). */
  editWindowMs: number;
  /** Late-link edits per cycle, oldest posts first. */
  maxEditsPerCycle: number;
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
  titleOnlyWindowMs: 12 * 3_600_000,
  fetchAllow: [],
  editWindowMs: 47 * 3_600_000,
  maxEditsPerCycle: 20,
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
  /** Who paused posting (an admin, or local mode without a channel), or undefined while it
   * runs; the cycle still fetches and archives. */
  pausedBy?: () => Promise<string | undefined>;
}

export interface CycleReport {
  sources: { fetched: number; notModified: number; failed: number; skipped: number };
  articles: {
    new: number;
    duplicate: number;
    nearDuplicate: number;
    stale: number;
    irrelevant: number;
    /** Items left out as unusable (no title, unreachable link…); see the skip metric. */
    skipped: number;
  };
  posted: number;
  /** Posts that late links were edited into. */
  edited: number;
  postsFailed: number;
  durationMs: number;
}

/** Counts and logs what cleaning left out or mended in one source's items. */
function reportCleaning(
  deps: CycleDeps,
  source: Source,
  cleaned: CleanedItems,
  report: CycleReport,
): void {
  const skipped: Record<string, number> = {};
  const examples: Record<string, string> = {};
  for (const [reason, { count, example }] of cleaned.skipped) {
    deps.metrics.itemsSkipped.inc({ source: source.id, reason }, count);
    report.articles.skipped += count;
    skipped[reason] = count;
    examples[reason] = example;
  }
  report.articles.duplicate += cleaned.duplicates;
  deps.metrics.articles.inc({ source: source.id, outcome: 'duplicate' }, cleaned.duplicates);
  const repaired = Object.fromEntries(cleaned.repaired);
  for (const [repair, count] of cleaned.repaired)
    deps.metrics.itemsRepaired.inc({ source: source.id, repair }, count);
  if (cleaned.skipped.size > 0)
    deps.logger.info(
      { source: source.id, skipped, examples, repaired },
      `news source ${source.id}: some items were left out (see skipped); the rest were kept`,
    );
  else if (cleaned.repaired.size > 0)
    deps.logger.debug({ source: source.id, repaired }, 'mended news items');
}

/** Cleans, enriches and archives one source's items; a failure fails only this source. */
async function archiveSource(
  deps: CycleDeps,
  fetched: Extract<Fetched, { outcome: 'items' }>,
  state: SourceState | undefined,
  report: CycleReport,
): Promise<boolean> {
  const { source } = fetched;
  try {
    const clean = (items: Parameters<typeof cleanItems>[0], unreadable = 0) => {
      const cleaned = cleanItems(items, { now: Date.now(), allow: deps.config.fetchAllow });
      if (unreadable > 0)
        cleaned.skipped.set('malformed', {
          count: (cleaned.skipped.get('malformed')?.count ?? 0) + unreadable,
          example: cleaned.skipped.get('malformed')?.example ?? '(unreadable item)',
        });
      reportCleaning(deps, source, cleaned, report);
      return cleaned.items;
    };
    let items = clean(fetched.items, fetched.unreadable);
    // Article pages bring leads, dates and images from outside the feed: cleaned again.
    if (source.kind === 'html') items = clean(await enrich(deps, items));
    await archive(deps, source, items, report);
    await recordSourceSuccess(deps, source, fetched);
    return true;
  } catch (error) {
    if (error instanceof LeaseLost) throw error;
    await recordSourceFailure(deps, source, state, error, 'archive');
    return false;
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
 * clean, archive with exact and near-duplicate dedup, judge relevance, post the best
 * stories, edit late links into recent posts, apply retention. A failing source (its
 * fetch, its feed or its items) is recorded and backs off; the rest goes on. Throws
 * LeaseLost as soon as it finds the lease gone.
 */
export async function runCycle(deps: CycleDeps, lease: Lease): Promise<CycleReport> {
  const started = performance.now();
  const report: CycleReport = {
    sources: { fetched: 0, notModified: 0, failed: 0, skipped: 0 },
    articles: { new: 0, duplicate: 0, nearDuplicate: 0, stale: 0, irrelevant: 0, skipped: 0 },
    posted: 0,
    edited: 0,
    postsFailed: 0,
    durationMs: 0,
  };
  // A first cycle (`--once`, or a leader that started moments ago) loads the near-duplicate
  // window while the sources are fetched, not after.
  deps.stories.warm();
  await syncSources(deps, deps.sources);
  const states = await loadSourceStates(deps);
  const fetched = await Promise.all(
    deps.sources.map((source) => readSource(deps, source, states.get(source.id))),
  );
  lease.assertHeld();
  await deps.stories.refresh();
  for (const result of fetched) {
    if (result.outcome === 'items') {
      if (await archiveSource(deps, result, states.get(result.source.id), report))
        report.sources.fetched += 1;
      else report.sources.failed += 1;
    } else if (result.outcome === 'failed') report.sources.failed += 1;
    else if (result.outcome === 'not_modified') report.sources.notModified += 1;
    else report.sources.skipped += 1;
  }
  lease.assertHeld();
  await judgeStories(deps, lease, report);
  const pausedBy = await deps.pausedBy?.();
  deps.metrics.postingPaused.set(pausedBy === undefined ? 0 : 1);
  if (pausedBy !== undefined) {
    deps.logger.info(
      { paused_by: pausedBy },
      `news posting is off (${pausedBy}); fetched and archived only`,
    );
  } else {
    await publish(deps, lease, report);
    await editLateLinks(deps, lease, report);
  }
  await reportChannel(deps);
  await applyRetention(deps);
  report.durationMs = Math.round(performance.now() - started);
  return report;
}
