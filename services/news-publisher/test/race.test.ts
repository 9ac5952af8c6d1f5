// Two publisher processes race for the channel while one is killed (SIGKILL) or frozen
// (SIGSTOP) past the lock's TTL in the middle of posting, again and again, over at least
// 100 cycles. Every relevant story must reach the channel exactly once, none missed, and
// every late copy's link must be edited into its post once.
//
// "Mid-post" here is after the leader claimed a story in Postgres and before its request
// left: it sleeps until its send slot, which the test reads from the sender's reservation
// in Redis, stopping the process only with 60 ms or more of that sleep left. (Between
// Telegram accepting a message and Postgres recording it, no fencing can tell a sent post
// from an unsent one, since Telegram has no idempotency key; the README says so.) The test
// then checks that the request had not reached the Bot API double.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { migrateDatabase } from '@herald/db';
import { createLogger } from '@herald/logger';
import { escapeHtml } from '@herald/telegram';
import {
  createTestDatabase,
  freePort,
  startBotApiDouble,
  startFeedServer,
  testRedisUrl,
  uniquePrefix,
  waitFor,
  type BotApiDouble,
  type FeedServer,
  type FeedStory,
  type TestDatabase,
} from '@herald/testing';
import { Redis } from 'ioredis';
import pg from 'pg';

const MAIN = fileURLToPath(new URL('../dist/main.js', import.meta.url));
const TOKEN = '7000000001:AAH-news-race-test-token-0123456789abcd';
const CHANNEL = '-1009876543210';
const TTL_MS = 1_500;
const GROUP_INTERVAL_MS = 150;

const WORDS =
  'amber basalt cobalt dune ember fjord garnet harbor indigo jasper kelp lagoon marble nickel onyx pewter quartz russet sable topaz umber velvet walnut xenon yarrow zinc'.split(
    ' ',
  );
let counter = 0;
/** A story no other shares three words in a row with, relevant or not. */
function newStory(relevant: boolean): FeedStory {
  counter += 1;
  const n = counter;
  const words = Array.from({ length: 8 }, (_, i) => WORDS[(n * 7 + i * 11 + n * i) % 26]!);
  const tag = `${words.slice(0, 4).join(' ')} ${n}`;
  return relevant
    ? {
        title: `Gold bullion report ${tag}`,
        link: `https://gold.example/${n}`,
        summary: `Central bank gold ${words.slice(4).join(' ')} ${n} item`,
        publishedAt: new Date(),
      }
    : {
        title: `Bakery contest ${tag}`,
        link: `https://bakery.example/${n}`,
        summary: `Cakes ${words.slice(4).join(' ')} ${n}`,
        publishedAt: new Date(),
      };
}

interface Replica {
  child: ChildProcess;
  cycles: number;
  exited: Promise<unknown>;
}

describe('two publishers racing through kills and freezes', () => {
  let database: TestDatabase;
  let feeds: FeedServer;
  let bot: BotApiDouble;
  let pool: pg.Pool;
  let env: Record<string, string>;
  let redis: Redis;
  const replicas: Replica[] = [];

  beforeAll(async () => {
    database = await createTestDatabase();
    await migrateDatabase(database.url, createLogger({ service: 'test', level: 'silent' }));
    pool = new pg.Pool({ connectionString: database.url, max: 2 });
    feeds = await startFeedServer();
    bot = await startBotApiDouble(TOKEN);
    const prefix = uniquePrefix('race');
    redis = new Redis(testRedisUrl(), { keyPrefix: prefix });
    const dir = mkdtempSync(join(tmpdir(), 'herald-race-'));
    const sources = join(dir, 'sources.yaml');
    writeFileSync(
      sources,
      `sources:
  - { id: wire-a, url: "${feeds.baseUrl}/a.xml", kind: rss, categories: [gold] }
  - { id: wire-b, url: "${feeds.baseUrl}/b.xml", kind: rss, categories: [gold, markets] }
`,
    );
    feeds.setFeed('/a.xml', []);
    feeds.setFeed('/b.xml', []);
    env = {
      PATH: process.env.PATH ?? '',
      TELEGRAM_BOT_TOKEN: TOKEN,
      TELEGRAM_API_ROOT: bot.apiRoot,
      TELEGRAM_GROUP_INTERVAL: `${GROUP_INTERVAL_MS}ms`,
      TELEGRAM_BOT_INTERVAL: '1ms',
      NEWS_CHANNEL_ID: CHANNEL,
      NEWS_SOURCES_FILE: sources,
      NEWS_FETCH_ALLOW: '127.0.0.0/8',
      NEWS_INTERVAL: '250ms',
      NEWS_LOCK_TTL: `${TTL_MS}ms`,
      NEWS_MAX_POSTS: '4',
      DATABASE_URL: database.url,
      REDIS_URL: testRedisUrl(),
      REDIS_KEY_PREFIX: prefix,
      LOG_LEVEL: 'info',
    };
  });

  afterAll(async () => {
    for (const replica of replicas) {
      replica.child.kill('SIGCONT');
      replica.child.kill('SIGKILL');
    }
    await Promise.all(replicas.map((r) => r.exited));
    await pool.end();
    redis.disconnect();
    await Promise.all([feeds.close(), bot.close()]);
    await database.drop();
  });

  async function startReplica(): Promise<Replica> {
    const child = spawn(process.execPath, [MAIN], {
      env: { ...env, PORT: String(await freePort()) },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const replica: Replica = {
      child,
      cycles: 0,
      exited: new Promise((resolve) => child.on('exit', resolve)),
    };
    let buffered = '';
    child.stdout.on('data', (chunk: Buffer) => {
      buffered += chunk.toString();
      const lines = buffered.split('\n');
      buffered = lines.pop() ?? '';
      for (const line of lines) if (line.includes('"msg":"news cycle done"')) replica.cycles += 1;
    });
    replicas.push(replica);
    return replica;
  }

  const posted = () =>
    bot
      .callsOf('sendMessage')
      .filter((call) => String(call.payload.chat_id) === CHANNEL)
      .map((call) => String(call.payload.text));

  async function leader(): Promise<{ epoch: number; pid: number }> {
    const { rows } = await pool.query<{ epoch: string; holder: string }>(
      "SELECT epoch, holder FROM leader_epochs WHERE role = 'news' ORDER BY epoch DESC LIMIT 1",
    );
    return { epoch: Number(rows[0]!.epoch), pid: Number(rows[0]!.holder.split(':')[1]) };
  }

  /**
   * Stops the leader (SIGSTOP) while it holds a claimed post whose request has not reached
   * Telegram, and returns it; retries at another moment if the request got through first.
   */
  async function stopMidPost(): Promise<{ epoch: number; pid: number; storyText: string }> {
    for (let attempt = 0; attempt < 50; attempt += 1) {
      const story = [newStory(true), newStory(true), newStory(true), newStory(true)];
      feeds.addStories('/a.xml', ...story.slice(0, 2));
      feeds.addStories('/b.xml', ...story.slice(2));
      const found = await waitFor(
        async () => {
          const current = await leader();
          const { rows } = await pool.query<{ text: string }>(
            "SELECT text FROM channel_posts WHERE state = 'sending' AND epoch = $1",
            [current.epoch],
          );
          const pending = rows.find((row) => !posted().includes(row.text));
          if (!pending) return undefined;
          // The slot the leader sleeps until: the chat's next free slot less one interval.
          const [seconds, micros] = await redis.time();
          const now = Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
          const next = Number((await redis.get(`send:next:${CHANNEL}`)) ?? 0);
          return next - GROUP_INTERVAL_MS - now >= 60
            ? { ...current, storyText: pending.text }
            : undefined;
        },
        { intervalMs: 5, timeoutMs: 10_000, what: 'a claimed post waiting for its slot' },
      );
      process.kill(found.pid, 'SIGSTOP');
      // Anything already on the wire lands meanwhile.
      await new Promise((r) => setTimeout(r, 200));
      if (!posted().includes(found.storyText)) return found;
      process.kill(found.pid, 'SIGCONT');
    }
    throw new Error('never caught the leader between claim and send');
  }

  it('posts every relevant story exactly once over 100+ cycles', async () => {
    await startReplica();
    await startReplica();
    const relevant: FeedStory[] = [];
    const irrelevant: FeedStory[] = [];
    let feeding = true;
    // Late copies: another site carries every third relevant story a second later, after
    // it was (most likely) posted; the post is edited to add that site's link.
    const late: { story: FeedStory; link: string }[] = [];
    const feeder = (async () => {
      for (let i = 0; feeding; i += 1) {
        const story = newStory(i % 4 !== 3);
        (i % 4 !== 3 ? relevant : irrelevant).push(story);
        const path = i % 2 === 0 ? '/a.xml' : '/b.xml';
        feeds.addStories(path, story);
        const earlier = relevant.at(-5);
        if (i % 3 === 0 && earlier && !late.some((copy) => copy.story === earlier)) {
          const link = earlier.link.replace('gold.example', 'late.example');
          late.push({ story: earlier, link });
          feeds.addStories(path === '/a.xml' ? '/b.xml' : '/a.xml', { ...earlier, link });
        }
        await new Promise((r) => setTimeout(r, 200));
      }
    })();
    const cycles = () => replicas.reduce((sum, r) => sum + r.cycles, 0);
    await waitFor(() => cycles() >= 5, { timeoutMs: 30_000, what: 'the first cycles' });

    const events: string[] = [];
    for (let round = 0; round < 4; round += 1) {
      const stopped = await stopMidPost();
      const frozen = replicas.find((r) => r.child.pid === stopped.pid)!;
      // Past the lock's TTL: the standby takes over with the next epoch.
      await waitFor(async () => (await leader()).epoch > stopped.epoch, {
        timeoutMs: 5 * TTL_MS,
        what: 'the standby to take over',
      });
      await new Promise((r) => setTimeout(r, TTL_MS));
      if (round % 2 === 0) {
        frozen.child.kill('SIGCONT');
        events.push(`froze epoch ${stopped.epoch} past the TTL mid-post, then let it go on`);
      } else {
        frozen.child.kill('SIGKILL');
        await frozen.exited;
        replicas.splice(replicas.indexOf(frozen), 1);
        await startReplica();
        events.push(`killed epoch ${stopped.epoch} mid-post and started a new replica`);
      }
      // The story it held is posted by the new leader (once: counted at the end).
      await waitFor(() => posted().includes(stopped.storyText), {
        timeoutMs: 10_000,
        what: 'the new leader to post the story the old one held',
      });
    }
    await waitFor(() => cycles() >= 100, { timeoutMs: 120_000, what: '100 cycles' });
    feeding = false;
    await feeder;

    const titles = (story: FeedStory) => `<b>${escapeHtml(story.title)}</b>`;
    const wanted = relevant.map(titles);
    await waitFor(() => wanted.every((title) => posted().some((text) => text.startsWith(title))), {
      timeoutMs: 60_000,
      what: 'every relevant story to be posted',
    });
    // Let any stale leader that could still post do so, then count.
    await new Promise((r) => setTimeout(r, 2 * TTL_MS));
    const all = posted();
    const counts = new Map<string, number>();
    for (const text of all) {
      const title = text.slice(0, text.indexOf('</b>') + 4);
      counts.set(title, (counts.get(title) ?? 0) + 1);
    }
    const twice = [...counts].filter(([, n]) => n > 1);
    expect(twice).toEqual([]);
    expect(wanted.filter((title) => !counts.has(title))).toEqual([]);
    expect(irrelevant.map(titles).filter((title) => counts.has(title))).toEqual([]);
    expect(all.length).toBe(counts.size);
    const { rows } = await pool.query<{ state: string; n: string }>(
      'SELECT state, count(*) AS n FROM channel_posts GROUP BY state',
    );
    expect(rows).toEqual([{ state: 'sent', n: String(all.length) }]);
    // Each late link reaches its post once: edited in by one leader, never twice, and
    // no edit that changed nothing went through (a stale leader's repeat would).
    const { rows: sent } = await pool.query<{ title: string; telegram_message_id: number }>(
      `SELECT s.title, p.telegram_message_id FROM channel_posts p
       JOIN stories s ON s.id = p.story_id`,
    );
    const messageOf = new Map(sent.map((row) => [row.title, row.telegram_message_id]));
    await waitFor(
      () =>
        late.every(({ story, link }) =>
          bot.messageText(CHANNEL, messageOf.get(story.title)!)?.includes(escapeHtml(link)),
        ),
      { timeoutMs: 30_000, what: 'every late link to be edited into its post' },
    );
    const editsOf = new Map<number, string[]>();
    for (const edit of bot.edits) {
      editsOf.set(edit.messageId, [...(editsOf.get(edit.messageId) ?? []), edit.text]);
    }
    for (const { story, link } of late) {
      const texts = editsOf.get(messageOf.get(story.title)!) ?? [];
      // Edited once, or posted with the late link already in it (it came before the post).
      expect(texts.length).toBeLessThanOrEqual(1);
      expect(texts.filter((text) => text.includes(escapeHtml(link))).length).toBe(texts.length);
    }
    const edited = [...editsOf.values()].filter((texts) => texts.length > 0).length;
    expect(edited).toBeGreaterThan(0);
    expect(bot.edits.length).toBe(edited);
    expect(events).toHaveLength(4);
    expect(cycles()).toBeGreaterThanOrEqual(100);
    process.stdout.write(
      `race: ${cycles()} cycles, ${all.length} posts, ${bot.edits.length} late-link edits of ${late.length} late copies, epochs up to ${(await leader()).epoch}; ${events.join('; ')}\n`,
    );
  }, 300_000);
});
