import {
  articleMeta,
  contentHash,
  decodeFeed,
  signature,
  storyKey,
  type Source,
} from '@herald/news';
import type { CycleDeps, CycleReport } from './cycle.js';
import type { CleanItem } from './items.js';
import { signatureBytes } from './story-index.js';

type ArchiveDeps = Pick<CycleDeps, 'pool' | 'fetch' | 'logger' | 'metrics' | 'config' | 'stories'>;

/** For HTML listings: reads new articles' own pages for the lead, image and date they lack. */
export async function enrich(deps: ArchiveDeps, items: CleanItem[]): Promise<CleanItem[]> {
  const known = await deps.pool.query<{ canonical_url: string }>(
    'SELECT canonical_url FROM articles WHERE canonical_url = ANY($1::text[])',
    [items.map((item) => item.canonicalUrl)],
  );
  const seen = new Set(known.rows.map((row) => row.canonical_url));
  let budget = deps.config.articlePagesPerSource;
  return Promise.all(
    items.map(async (item) => {
      if (item.summary || seen.has(item.canonicalUrl) || budget <= 0) return item;
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

/**
 * Archives a source's items in one transaction: exact duplicates (the same canonical URL,
 * or the same content from this source on the same day) are left out by Postgres, each
 * new article joins the story it near-duplicates or starts one. All of it commits or
 * none does: a crash between the two steps would leave articles without a story that
 * the unique keys then hide for good, never judged and never posted.
 */
export async function archive(
  deps: ArchiveDeps,
  source: Source,
  items: CleanItem[],
  report: CycleReport,
): Promise<void> {
  const { metrics, stories } = deps;
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
  const counts = { new: 0, nearDuplicate: 0, duplicate: 0 };
  const client = await deps.pool.connect();
  try {
    await client.query('BEGIN');
    const inserted = await client.query<{ id: string; canonical_url: string }>(
      `INSERT INTO articles (source_id, url, canonical_url, content_hash, title, summary, author,
         image_url, published_at)
       SELECT $1, * FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::text[],
         $7::text[], $8::text[], $9::timestamptz[])
       ON CONFLICT DO NOTHING
       RETURNING id, canonical_url`,
      [
        source.id,
        fresh.map((item) => item.url),
        fresh.map((item) => item.canonicalUrl),
        fresh.map((item) => contentHash(item.title, item.summary)),
        fresh.map((item) => item.title),
        fresh.map((item) => item.summary ?? null),
        fresh.map((item) => item.author ?? null),
        fresh.map((item) => item.imageUrl ?? null),
        fresh.map((item) => item.publishedAt?.toISOString() ?? null),
      ],
    );
    counts.duplicate = fresh.length - inserted.rows.length;
    const byCanonical = new Map(fresh.map((item) => [item.canonicalUrl, item]));
    for (const row of inserted.rows) {
      const item = byCanonical.get(row.canonical_url)!;
      const key = storyKey(item.title, item.summary);
      const sig = signature(key.text);
      let storyId = stories.find(sig, key.keyedBy);
      if (storyId !== undefined) {
        counts.nearDuplicate += 1;
      } else {
        const story = await client.query<{ id: string }>(
          'INSERT INTO stories (title, signature, keyed_by) VALUES ($1, $2, $3) RETURNING id',
          [item.title, signatureBytes(sig), key.keyedBy],
        );
        storyId = Number(story.rows[0]!.id);
        // Known at once, so the source's later items can join it; forgotten on rollback.
        stories.add(storyId, sig, key.keyedBy);
        counts.new += 1;
      }
      await client.query('UPDATE articles SET story_id = $2 WHERE id = $1', [row.id, storyId]);
    }
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    client.release(error as Error);
    if (counts.new > 0) stories.reset();
    throw error;
  }
  client.release();
  report.articles.duplicate += counts.duplicate;
  report.articles.nearDuplicate += counts.nearDuplicate;
  report.articles.new += counts.new;
  metrics.articles.inc({ source: source.id, outcome: 'duplicate' }, counts.duplicate);
  metrics.articles.inc({ source: source.id, outcome: 'near_duplicate' }, counts.nearDuplicate);
  metrics.articles.inc({ source: source.id, outcome: 'new' }, counts.new);
}
