import {
  decodeFeed,
  FetchError,
  parseFeed,
  ParseError,
  parseListing,
  type ParsedItem,
  type Source,
} from '@herald/news';
import type { CycleDeps } from './cycle.js';

/** A source's row: what its next fetch sends (validators) and how it has been doing. */
export interface SourceState {
  id: string;
  etag: string | null;
  last_modified: string | null;
  consecutive_failures: number;
  backoff_until: Date | null;
  last_fetched_at: Date | null;
}

export type Fetched =
  | {
      source: Source;
      outcome: 'items';
      items: ParsedItem[];
      /** Items the parser could not read at all (counted as skipped, malformed). */
      unreadable: number;
      /** Validators to store once the items are archived: a 304 must never hide items
       * that were fetched but not kept. */
      etag: string | null;
      lastModified: string | null;
    }
  | { source: Source; outcome: 'not_modified' | 'skipped' }
  | { source: Source; outcome: 'failed' };

type HealthDeps = Pick<CycleDeps, 'pool' | 'fetch' | 'logger' | 'metrics' | 'config'>;

const MAX_BACKOFF_CYCLES = 12;

/** Writes the sources file into the sources table; sources no longer listed are disabled. */
export async function syncSources(deps: HealthDeps, sources: readonly Source[]): Promise<void> {
  for (const source of sources) {
    await deps.pool.query(
      `INSERT INTO sources (id, url, kind, categories, weight, enabled)
       VALUES ($1, $2, $3, $4, $5, true)
       ON CONFLICT (id) DO UPDATE SET url = EXCLUDED.url, kind = EXCLUDED.kind,
         categories = EXCLUDED.categories, weight = EXCLUDED.weight, enabled = true`,
      [source.id, source.url, source.kind, source.categories, source.weight],
    );
  }
  await deps.pool.query('UPDATE sources SET enabled = false WHERE NOT (id = ANY($1::text[]))', [
    sources.map((source) => source.id),
  ]);
}

/** The enabled sources' rows, by id. */
export async function loadSourceStates(deps: HealthDeps): Promise<Map<string, SourceState>> {
  const states = await deps.pool.query<SourceState>(
    `SELECT id, etag, last_modified, consecutive_failures, backoff_until, last_fetched_at
     FROM sources WHERE enabled`,
  );
  return new Map(states.rows.map((row) => [row.id, row]));
}

/** Records a source as healthy, with the validators its next conditional GET sends. */
export async function recordSourceSuccess(
  deps: HealthDeps,
  source: Source,
  validators: { etag: string | null; lastModified: string | null },
): Promise<void> {
  await deps.pool.query(
    `UPDATE sources SET etag = $2, last_modified = $3, last_fetched_at = now(),
       last_success_at = now(), consecutive_failures = 0, backoff_until = NULL, last_error = NULL
     WHERE id = $1`,
    [source.id, validators.etag, validators.lastModified],
  );
  deps.metrics.sourceUp.set({ source: source.id }, 1);
  deps.metrics.sourceFailures.set({ source: source.id }, 0);
}

/**
 * Records a failed source: its row says why and when to try again (0, 1, 3, 7… cycles,
 * at most 12), its metrics count the reason, and one log line says what to check. The
 * validators are cleared, so the next try reads the whole feed again. `stage` is
 * `archive` when the feed was read but its items could not be kept.
 */
export async function recordSourceFailure(
  deps: HealthDeps,
  source: Source,
  state: SourceState | undefined,
  error: unknown,
  stage: 'fetch' | 'archive' = 'fetch',
): Promise<void> {
  const { pool, metrics, logger } = deps;
  const reason =
    stage === 'archive'
      ? 'archive_failed'
      : error instanceof FetchError || error instanceof ParseError
        ? error.reason
        : 'error';
  const failures = (state?.consecutive_failures ?? 0) + 1;
  const backoffCycles = Math.min(2 ** (failures - 1) - 1, MAX_BACKOFF_CYCLES);
  const message = error instanceof Error ? error.message : String(error);
  await pool.query(
    `UPDATE sources SET last_fetched_at = now(), consecutive_failures = $2,
       backoff_until = now() + make_interval(secs => $3), last_error = $4,
       etag = NULL, last_modified = NULL
     WHERE id = $1`,
    [
      source.id,
      failures,
      (backoffCycles * deps.config.intervalMs) / 1000,
      `${reason}: ${message}`.slice(0, 1_000),
    ],
  );
  if (stage === 'fetch') metrics.fetches.inc({ source: source.id, outcome: reason });
  else metrics.articles.inc({ source: source.id, outcome: reason });
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
    stage === 'archive'
      ? `news source ${source.id} was read but its items could not be archived; the other sources go on and it is read again later. If this repeats, check Postgres and report this line with the feed`
      : `news source ${source.id} failed (${reason}); the other sources go on. Check its url${source.kind === 'html' ? ' and selectors' : ''} in NEWS_SOURCES_FILE if this repeats`,
  );
}

/** Fetches and parses one source; never throws for the source's faults (they are recorded). */
export async function readSource(
  deps: HealthDeps,
  source: Source,
  state: SourceState | undefined,
): Promise<Fetched> {
  const { metrics, logger } = deps;
  const now = Date.now();
  if (state?.backoff_until && state.backoff_until.getTime() > now) {
    metrics.fetches.inc({ source: source.id, outcome: 'backing_off' });
    return { source, outcome: 'skipped' };
  }
  // A tenth of slack, so a 30m source is read every 30m cycle despite jitter.
  const own = source.interval ?? 0;
  if (own > 0 && state?.last_fetched_at && state.last_fetched_at.getTime() + own * 0.9 > now) {
    return { source, outcome: 'skipped' };
  }
  try {
    const response = await deps.fetch(source.url, {
      etag: state?.etag,
      lastModified: state?.last_modified,
    });
    if (response.status === 304) {
      await recordSourceSuccess(deps, source, {
        etag: response.etag ?? state?.etag ?? null,
        lastModified: response.lastModified ?? state?.last_modified ?? null,
      });
      metrics.fetches.inc({ source: source.id, outcome: 'not_modified' });
      return { source, outcome: 'not_modified' };
    }
    let items: ParsedItem[];
    let unreadable = 0;
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
      unreadable = feed.unreadable;
    } else {
      const html = decodeFeed(response.body, response.contentType);
      items = parseListing(html, { url: response.url, selectors: source.selectors! });
      if (items.length === 0)
        throw new ParseError(
          'not_a_feed',
          'the page lists no stories under its selectors (did the site change its layout?)',
        );
    }
    metrics.fetches.inc({ source: source.id, outcome: 'ok' });
    return {
      source,
      outcome: 'items',
      items,
      unreadable,
      etag: response.etag ?? null,
      lastModified: response.lastModified ?? null,
    };
  } catch (error) {
    await recordSourceFailure(deps, source, state, error);
    return { source, outcome: 'failed' };
  }
}
