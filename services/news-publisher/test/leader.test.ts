import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { migrateDatabase } from '@herald/db';
import { createLogger } from '@herald/logger';
import { openRuntime, type ServiceRuntime } from '@herald/ops';
import { createTestDatabase, testRedisUrl, uniquePrefix, type TestDatabase } from '@herald/testing';
import { createLeadership, LeaseLost, takeEpoch } from '../src/leader.js';
import { claimPost, recordSent } from '../src/posts.js';

const logger = createLogger({ service: 'news-publisher', level: 'silent' });
let database: TestDatabase;
let runtime: ServiceRuntime;

beforeAll(async () => {
  database = await createTestDatabase();
  await migrateDatabase(database.url, logger);
  runtime = openRuntime({
    service: 'news-publisher',
    version: 'test',
    logger,
    databaseUrl: database.url,
    redisUrl: testRedisUrl(),
    redisKeyPrefix: uniquePrefix('leader'),
  });
});
afterAll(async () => {
  await runtime.close();
  await database.drop();
});

const replica = (role: string, ttlMs = 2_000) =>
  createLeadership({
    store: runtime.store,
    pool: runtime.pool,
    logger,
    role,
    ttlMs,
    retryMs: 50,
  });

async function story(title: string): Promise<number> {
  const { rows } = await runtime.pool.query<{ id: string }>(
    "INSERT INTO stories (title, signature) VALUES ($1, '\\x00') RETURNING id",
    [title],
  );
  return Number(rows[0]!.id);
}

describe('leadership', () => {
  it('has one leader at a time; the standby takes over with the next epoch on release', async () => {
    const a = replica('lead-a');
    const b = replica('lead-a');
    const first = await a.campaign(AbortSignal.timeout(2_000));
    expect(first?.epoch).toBe(1);
    // The lock is extended past its TTL while held: the standby keeps waiting.
    expect(await b.campaign(AbortSignal.timeout(2_500))).toBeUndefined();
    expect(() => first!.assertHeld()).not.toThrow();
    const waiting = b.campaign(AbortSignal.timeout(3_000));
    await first!.release();
    const second = await waiting;
    expect(second?.epoch).toBe(2);
    expect(first!.lost.aborted).toBe(true);
    expect(() => first!.assertHeld()).toThrow(LeaseLost);
    await second!.release();
  });

  it('fences a leader whose lock was lost: its claims fail once a newer epoch exists', async () => {
    const a = replica('lead-b');
    const lease = (await a.campaign(AbortSignal.timeout(2_000)))!;
    const id = await story('fenced');
    // Another process took a newer epoch (its lock after this one's expired).
    await takeEpoch(runtime.pool, 'lead-b', 'someone-else');
    await expect(
      claimPost(runtime.pool, lease, { role: 'lead-b', storyId: id, channelId: '-1', text: 'x' }),
    ).rejects.toThrow(LeaseLost);
    const { rowCount } = await runtime.pool.query(
      'SELECT 1 FROM channel_posts WHERE story_id = $1',
      [id],
    );
    expect(rowCount).toBe(0);
    await lease.release();
  });

  it('takes over a claim an older leader left unrecorded, never one that was sent', async () => {
    const a = replica('lead-c');
    const old = (await a.campaign(AbortSignal.timeout(2_000)))!;
    const left = await story('left mid-post');
    const sent = await story('sent');
    const post = { role: 'lead-c', channelId: '-1', text: 'x' };
    const leftClaim = await claimPost(runtime.pool, old, { ...post, storyId: left });
    const sentClaim = await claimPost(runtime.pool, old, { ...post, storyId: sent });
    await recordSent(runtime.pool, sentClaim!, 10);
    // The same epoch never claims twice.
    expect(await claimPost(runtime.pool, old, { ...post, storyId: left })).toBeUndefined();
    expect(leftClaim?.reclaimed).toBe(false);
    await old.release();

    const next = (await replica('lead-c').campaign(AbortSignal.timeout(2_000)))!;
    expect(await claimPost(runtime.pool, next, { ...post, storyId: left })).toMatchObject({
      reclaimed: true,
    });
    expect(await claimPost(runtime.pool, next, { ...post, storyId: sent })).toBeUndefined();
    await next.release();
  });

  it('a new epoch waits for a claim still checking the old one', async () => {
    await takeEpoch(runtime.pool, 'lead-d', 'first');
    const client = await runtime.pool.connect();
    await client.query('BEGIN');
    await client.query(
      "SELECT epoch FROM leader_epochs WHERE role = 'lead-d' ORDER BY epoch DESC LIMIT 1 FOR SHARE",
    );
    let taken = false;
    const next = takeEpoch(runtime.pool, 'lead-d', 'second').then((epoch) => {
      taken = true;
      return epoch;
    });
    await new Promise((r) => setTimeout(r, 300));
    expect(taken).toBe(false);
    await client.query('COMMIT');
    client.release();
    expect(await next).toBe(2);
  });
});
