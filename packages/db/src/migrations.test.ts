import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createLogger } from '@herald/logger';
import { createTestDatabase, type TestDatabase } from '@herald/testing';
import pg from 'pg';
import { migrateDatabase } from './migrations.js';

const logger = createLogger({ service: 'test', level: 'silent' });

async function tables(url: string): Promise<string[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const result = await client.query<{ table_name: string }>(
      "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY 1",
    );
    return result.rows.map((row) => row.table_name);
  } finally {
    await client.end();
  }
}

describe('migrateDatabase', () => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await createTestDatabase();
  });
  afterAll(() => database.drop());

  it('creates the whole schema in an empty database', async () => {
    expect(await tables(database.url)).toEqual([]);
    const { applied } = await migrateDatabase(database.url, logger);
    expect(applied).toBeGreaterThan(0);
    expect(await tables(database.url)).toEqual([
      'articles',
      'channel_posts',
      'chats',
      'conversation_messages',
      'leader_epochs',
      'sources',
      'stories',
      'users',
    ]);
  });

  it('does nothing on a second run', async () => {
    const before = await tables(database.url);
    expect(await migrateDatabase(database.url, logger)).toEqual({ applied: 0 });
    expect(await tables(database.url)).toEqual(before);
  });

  it('lets concurrent runs (two migration Jobs) finish without errors', async () => {
    const fresh = await createTestDatabase();
    try {
      const results = await Promise.all([
        migrateDatabase(fresh.url, logger),
        migrateDatabase(fresh.url, logger),
        migrateDatabase(fresh.url, logger),
      ]);
      const applied = results.map((r) => r.applied).sort();
      expect(applied[0]).toBe(0);
      expect(applied[1]).toBe(0);
      expect(applied[2]).toBeGreaterThan(0);
    } finally {
      await fresh.drop();
    }
  });

  it('keeps articles unique by canonical URL and fills the search column', async () => {
    const client = new pg.Client({ connectionString: database.url });
    await client.connect();
    try {
      await client.query(
        "INSERT INTO sources (id, url, kind) VALUES ('s', 'https://example.com/rss', 'rss')",
      );
      const insert = (hash: string) =>
        client.query(
          `INSERT INTO articles (source_id, url, canonical_url, content_hash, title, summary)
           VALUES ('s', 'https://example.com/a?utm_source=x', 'https://example.com/a', $1, 'Gold hits a record', 'Bullion rallies')`,
          [hash],
        );
      await insert('hash-1');
      await expect(insert('hash-2')).rejects.toThrow(/articles_canonical_url_key/);
      const found = await client.query(
        "SELECT title FROM articles WHERE search @@ websearch_to_tsquery('english', 'gold record')",
      );
      expect(found.rows).toEqual([{ title: 'Gold hits a record' }]);
    } finally {
      await client.end();
    }
  });
});
