// Herald's data written through its real schema after migrating: users and chats with
// history, sources, stories with their articles, posts and leader epochs.
import { randomBytes } from 'node:crypto';
import {
  articles,
  channelPosts,
  chats,
  conversationMessages,
  createDatabase,
  createPool,
  leaderEpochs,
  migrateDatabase,
  sources,
  stories,
  users,
} from '@herald/db';
import { createLogger, type Logger } from '@herald/logger';
import pg from 'pg';

export const quietLogger: Logger = createLogger({ service: 'backup-test', level: 'silent' });

/**
 * Migrates the database at `url` and fills every table. `bulkBytes` of incompressible
 * article text make the dump larger than one 5 MiB upload part.
 */
export async function fillHeraldData(url: string, { bulkBytes = 0 } = {}): Promise<void> {
  await migrateDatabase(url, quietLogger);
  const pool = createPool({ url, logger: quietLogger, applicationName: 'backup-test', max: 2 });
  const db = createDatabase(pool);
  try {
    await db.insert(users).values(
      Array.from({ length: 25 }, (_, i) => ({
        id: 1_000 + i,
        username: `user${i}`,
        firstName: `Ünïcode ${i} 🚀`,
        languageCode: i % 2 ? 'en' : 'de',
        settings: { model: 'qwen3', showReasoning: i % 3 === 0 },
      })),
    );
    await db
      .insert(chats)
      .values(Array.from({ length: 25 }, (_, i) => ({ id: 1_000 + i, type: 'private' as const })));
    await db.insert(conversationMessages).values(
      Array.from({ length: 200 }, (_, i) => ({
        chatId: 1_000 + (i % 25),
        userId: 1_000 + (i % 25),
        role: i % 2 ? ('assistant' as const) : ('user' as const),
        content: `message ${i}: what moved the market today? "quotes", \\ backslashes \t tabs`,
        promptTokens: i,
      })),
    );
    await db.insert(sources).values([
      {
        id: 'reuters',
        url: 'https://example.org/reuters.rss',
        kind: 'rss',
        categories: ['markets'],
      },
      { id: 'ft', url: 'https://example.org/ft', kind: 'html', categories: ['economy', 'tech'] },
    ]);
    const storyRows = await db
      .insert(stories)
      .values(
        Array.from({ length: 30 }, (_, i) => ({
          title: `Story ${i}`,
          relevant: i % 4 !== 0,
          score: i / 10,
          signature: randomBytes(512),
          keyedBy: 'lead' as const,
        })),
      )
      .returning({ id: stories.id });
    const articleCount = 60;
    const bodyBytes = Math.ceil(bulkBytes / articleCount);
    await db.insert(articles).values(
      Array.from({ length: articleCount }, (_, i) => ({
        sourceId: i % 2 ? 'reuters' : 'ft',
        storyId: storyRows[i % storyRows.length]!.id,
        url: `https://example.org/a/${i}`,
        canonicalUrl: `https://example.org/a/${i}`,
        contentHash: `hash-${i}`,
        title: `Article ${i} about rates`,
        summary: `Summary ${i}`,
        body: bodyBytes > 0 ? randomBytes(bodyBytes).toString('base64') : `Body ${i}`,
        publishedAt: new Date(Date.UTC(2025, 0, 1 + (i % 28))),
      })),
    );
    await db.insert(channelPosts).values(
      storyRows.slice(0, 20).map((story, i) => ({
        storyId: story.id,
        channelId: '@herald_news',
        epoch: 3,
        state: 'sent' as const,
        telegramMessageId: 500 + i,
        text: `<b>Story ${i}</b>`,
        articleIds: [i + 1],
      })),
    );
    await db.insert(leaderEpochs).values([
      { role: 'news-publisher', epoch: 1, holder: 'pod-a' },
      { role: 'news-publisher', epoch: 2, holder: 'pod-b' },
      { role: 'news-publisher', epoch: 3, holder: 'pod-a' },
    ]);
  } finally {
    await pool.end();
  }
}

/**
 * Every row of every table (migration bookkeeping included), as JSON text, by table:
 * two databases holding the same data give equal snapshots.
 */
export async function snapshot(url: string): Promise<Record<string, string[]>> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const tables = await client.query<{ schema: string; table: string }>(
      `SELECT schemaname AS schema, tablename AS table FROM pg_tables
        WHERE schemaname NOT IN ('pg_catalog', 'information_schema') ORDER BY 1, 2`,
    );
    const result: Record<string, string[]> = {};
    for (const { schema, table } of tables.rows) {
      const name = `${client.escapeIdentifier(schema)}.${client.escapeIdentifier(table)}`;
      const rows = await client.query<{ row: string }>(
        `SELECT row_to_json(t)::text AS row FROM ${name} t`,
      );
      result[`${schema}.${table}`] = rows.rows.map((row) => row.row).sort();
    }
    return result;
  } finally {
    await client.end();
  }
}

/** Row counts by table, from a snapshot. */
export function rowCounts(data: Record<string, string[]>): Record<string, number> {
  return Object.fromEntries(Object.entries(data).map(([table, rows]) => [table, rows.length]));
}
