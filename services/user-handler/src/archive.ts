import { articles, sources, type Database } from '@herald/db';
import { and, desc, eq, gt, isNull, or, sql } from 'drizzle-orm';

/** An archived article, as the market commands use it. */
export interface ArchivedArticle {
  title: string;
  url: string;
  summary: string | null;
  source: string;
  category: string | null;
  publishedAt: Date | null;
}

export interface ArchiveQuery {
  /** Articles of this category (gold, rwa, partnerships, markets…), or any. */
  category?: string | undefined;
  /** Words to rank by (Postgres full-text search); the latest come first without. */
  text?: string | undefined;
  sinceHours: number;
  limit: number;
}

/** The news archive the publisher fills, searched for the market commands. */
export interface Archive {
  search(query: ArchiveQuery): Promise<ArchivedArticle[]>;
}

export function createArchive(db: Database): Archive {
  return {
    async search(query) {
      const when = sql`coalesce(${articles.publishedAt}, ${articles.fetchedAt})`;
      const words = query.text?.trim()
        ? sql`websearch_to_tsquery('english', ${query.text.trim()})`
        : undefined;
      const conditions = [
        gt(when, sql`now() - make_interval(hours => ${query.sinceHours})`),
        // Irrelevant articles never feed an answer; not-yet-judged ones may.
        or(isNull(articles.relevant), eq(articles.relevant, true)),
      ];
      if (query.category && words) {
        conditions.push(
          or(eq(articles.category, query.category), sql`${articles.search} @@ ${words}`),
        );
      } else if (query.category) {
        conditions.push(eq(articles.category, query.category));
      } else if (words) {
        conditions.push(sql`${articles.search} @@ ${words}`);
      }
      const rows = await db
        .select({
          title: articles.title,
          url: articles.url,
          summary: articles.summary,
          source: sources.id,
          category: articles.category,
          publishedAt: articles.publishedAt,
        })
        .from(articles)
        .innerJoin(sources, eq(sources.id, articles.sourceId))
        .where(and(...conditions))
        .orderBy(...(words ? [desc(sql`ts_rank(${articles.search}, ${words})`)] : []), desc(when))
        .limit(query.limit);
      return rows;
    },
  };
}
