// pnpm bench:news — what a news cycle costs, and what near-duplicate dedup buys and costs.
//
//  1. One cycle over 14 loopback RSS sources × 50 new items against an archive of 100,000
//     articles (each its own story inside the near-duplicate window), beside the same
//     cycle against an empty archive. Real Postgres and Redis; the checklist judges (no
//     LLM: its time is the model's, not Herald's) and posts go to a Bot API double.
//  2. Near-duplicate check throughput (MinHash + LSH lookup and insert) beside exact dedup
//     throughput (SHA-256 content hash + set lookup) on the same texts.
//  3. Near-duplicate recall on a labelled set: pairs whose exact 3-shingle Jaccard is at
//     least 0.8 must be found (aim ≥ 0.95); pairs under 0.5 must not be.
import { createHash } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { migrateDatabase } from '@herald/db';
import { startPostgres } from '@herald/embedded';
import { createLogger } from '@herald/logger';
import { contentHash, jaccard, NearDuplicateIndex, shingles, signature } from '@herald/news';
import { createNewsPublisher, newsPublisherEnv } from '@herald/news-publisher';
import { openRuntime } from '@herald/ops';
import {
  startBotApiDouble,
  startFeedServer,
  startRedisServer,
  type FeedStory,
} from '@herald/testing';
import pg from 'pg';

const ARCHIVE = Number(process.env.BENCH_ARCHIVE ?? 100_000);
const SOURCES = 14;
const ITEMS = 50;
const TOKEN = '7000000001:AAH-news-bench-token-0123456789abcdefgh';
const logger = createLogger({ service: 'bench', level: 'silent' });

// A deterministic generator, so runs compare.
let seed = 42;
const random = () => {
  seed = (Math.imul(seed, 1_103_515_245) + 12_345) >>> 0;
  return seed / 2 ** 32;
};
const VOCABULARY = Array.from({ length: 5_000 }, (_, i) =>
  (i * 2_654_435_761).toString(36).slice(-6).replace(/\d/g, 'x'),
);
const words = (n: number) =>
  Array.from({ length: n }, () => VOCABULARY[Math.floor(random() * VOCABULARY.length)]!);
const headline = () => ({ title: words(9).join(' '), lead: words(30).join(' ') });

const ms = (from: number) => performance.now() - from;
const fmt = (n: number, digits = 0) =>
  n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });

async function seedArchive(pool: pg.Pool, count: number): Promise<void> {
  await pool.query(
    `INSERT INTO sources (id, url, kind, categories)
     VALUES ('archive', 'https://archive.example/feed', 'rss', '{gold}') ON CONFLICT DO NOTHING`,
  );
  const batch = 5_000;
  for (let start = 0; start < count; start += batch) {
    const rows = Array.from({ length: Math.min(batch, count - start) }, (_, i) => {
      const { title, lead } = headline();
      return { n: start + i, title, lead, sig: signature(`${title} ${lead}`) };
    });
    const stories = await pool.query<{ id: string }>(
      `INSERT INTO stories (title, signature, relevant, first_seen_at)
       SELECT t, s, false, now() - interval '1 hour' FROM unnest($1::text[], $2::bytea[]) AS u(t, s)
       RETURNING id`,
      [
        rows.map((row) => row.title),
        rows.map((row) => Buffer.from(row.sig.buffer, row.sig.byteOffset, row.sig.byteLength)),
      ],
    );
    await pool.query(
      `INSERT INTO articles (source_id, story_id, url, canonical_url, content_hash, title, summary,
         published_at, relevant)
       SELECT 'archive', s, u, u, h, t, l, now() - interval '1 hour', false
       FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[]) AS x(s, u, h, t, l)`,
      [
        stories.rows.map((row) => row.id),
        rows.map((row) => `https://archive.example/a/${row.n}`),
        rows.map((row) => contentHash(row.title, row.lead)),
        rows.map((row) => row.title),
        rows.map((row) => row.lead),
      ],
    );
  }
  await pool.query('ANALYZE');
}

let generation = 0;
/** 14 feeds × 50 items; a tenth of the stories also appear, reworded slightly, on another feed. */
function feedItems(): FeedStory[][] {
  generation += 1;
  const feeds: FeedStory[][] = Array.from({ length: SOURCES }, () => []);
  for (let f = 0; f < SOURCES; f += 1) {
    while (feeds[f]!.length < ITEMS) {
      const { title, lead } = headline();
      const n = feeds[f]!.length;
      // Every fifth item is about gold, so the checklist passes it.
      const story = {
        title: n % 5 === 0 ? `Gold bullion ${title}` : title,
        link: `https://site-${f}.example/news/${generation}/${n}-${title.split(' ')[0]}`,
        summary: lead,
        publishedAt: new Date(Date.now() - 60_000),
      };
      feeds[f]!.push(story);
      if (n % 10 === 0 && f + 1 < SOURCES && feeds[f + 1]!.length < ITEMS) {
        feeds[f + 1]!.push({
          ...story,
          link: `https://site-${f + 1}.example/story/${generation}/${n}`,
          summary: `${lead} reported`,
        });
      }
    }
  }
  return feeds;
}

async function cycleBench(): Promise<void> {
  const home = await mkdtemp(join(tmpdir(), 'herald-bench-news-'));
  const postgres = await startPostgres({
    dataDir: join(home, 'pg'),
    persistent: false,
    fast: true,
  });
  const redis = await startRedisServer();
  const feeds = await startFeedServer();
  const bot = await startBotApiDouble(TOKEN);
  try {
    // Fresh items for every cycle: 700 articles none of which is in the archive yet.
    const newItems = () =>
      feedItems().forEach((stories, f) => feeds.setFeed(`/feed-${f}.xml`, stories));
    const sourcesFile = join(home, 'sources.yaml');
    await writeFile(
      sourcesFile,
      `sources:\n${Array.from({ length: SOURCES })
        .map(
          (_, f) =>
            `  - { id: site-${f}, url: "${feeds.baseUrl}/feed-${f}.xml", kind: rss, categories: [gold] }`,
        )
        .join('\n')}\n`,
    );

    const run = async (archive: number) => {
      const url = new URL(postgres.url);
      const name = `bench_${archive}`;
      const admin = new pg.Client({ connectionString: postgres.url });
      await admin.connect();
      await admin.query(`CREATE DATABASE ${name}`);
      await admin.end();
      url.pathname = `/${name}`;
      await migrateDatabase(url.toString(), logger);
      const runtime = openRuntime({
        service: 'news-publisher',
        version: 'bench',
        logger,
        databaseUrl: url.toString(),
        redisUrl: redis.url,
        redisKeyPrefix: `${name}:`,
      });
      const seeded = performance.now();
      await seedArchive(runtime.pool, archive);
      const seedMs = ms(seeded);
      const env = newsPublisherEnv.parse({
        TELEGRAM_BOT_TOKEN: TOKEN,
        TELEGRAM_API_ROOT: bot.apiRoot,
        TELEGRAM_GROUP_INTERVAL: '1ms',
        TELEGRAM_BOT_INTERVAL: '1ms',
        NEWS_CHANNEL_ID: '-1001',
        NEWS_SOURCES_FILE: sourcesFile,
        NEWS_FETCH_ALLOW: '127.0.0.1',
        DATABASE_URL: url.toString(),
        REDIS_URL: redis.url,
      });
      const news = createNewsPublisher({ env, runtime, logger });
      const cycle = async () => {
        newItems();
        // Fresh planner statistics for both archives alike, as autovacuum keeps them.
        await runtime.pool.query('ANALYZE');
        const started = performance.now();
        const report = await news.publisher.once(AbortSignal.timeout(120_000));
        if (!report) throw new Error('the cycle did not run');
        return { wall: ms(started), report };
      };
      // The first cycle of a process loads the near-duplicate window; a leader's later
      // cycles load only the stories added since.
      const cold = await cycle();
      const warm = await cycle();
      await news.close();
      await runtime.close();
      return { cold, warm, seedMs };
    };

    const empty = await run(0);
    const full = await run(ARCHIVE);
    type Cycle = typeof empty.cold;
    const line = (label: string, r: Cycle) =>
      `| ${label} | ${fmt(r.wall)} ms | ${r.report.articles.new} new, ${r.report.articles.nearDuplicate} near-dup, ${r.report.articles.duplicate} dup | ${r.report.posted} |`;
    console.log(`\n1. One news cycle: ${SOURCES} loopback sources × ${ITEMS} items\n`);
    console.log('| archive | wall time | articles | posts |');
    console.log('| --- | --- | --- | --- |');
    console.log(line('empty, first cycle', empty.cold));
    console.log(line('empty, next cycle (baseline)', empty.warm));
    const label = `${fmt(ARCHIVE)} articles (seeded in ${fmt(full.seedMs / 1000, 1)} s)`;
    console.log(line(`${label}, first cycle of a process`, full.cold));
    console.log(line(`${label}, next cycle`, full.warm));
    console.log(
      `\nratio: ${fmt(full.warm.wall / empty.warm.wall, 2)}× the empty-archive cycle (a first cycle, which loads the near-duplicate window: ${fmt(full.cold.wall / empty.warm.wall, 2)}×)`,
    );
  } finally {
    await Promise.all([feeds.close(), bot.close()]);
    await redis.stop();
    await postgres.stop();
    await rm(home, { recursive: true, force: true });
  }
}

function throughputBench(): void {
  const texts = Array.from({ length: 20_000 }, () => {
    const { title, lead } = headline();
    return { title, lead };
  });
  let started = performance.now();
  const hashes = new Set<string>();
  let exactHits = 0;
  for (const { title, lead } of texts) {
    const hash = createHash('sha256').update(`${title}\n${lead}`).digest('hex');
    if (hashes.has(hash)) exactHits += 1;
    hashes.add(hash);
  }
  const exactMs = ms(started);
  started = performance.now();
  const index = new NearDuplicateIndex<number>();
  let nearHits = 0;
  texts.forEach(({ title, lead }, i) => {
    const sig = signature(`${title} ${lead}`);
    if (index.find(sig)) nearHits += 1;
    index.add(i, sig);
  });
  const nearMs = ms(started);
  const perSecond = (n: number, t: number) => (n / t) * 1000;
  console.log(`\n2. Dedup throughput, ${fmt(texts.length)} articles (title + 30-word lead)\n`);
  console.log('| check | articles/s | hits |');
  console.log('| --- | --- | --- |');
  console.log(
    `| exact: SHA-256 + set (baseline) | ${fmt(perSecond(texts.length, exactMs))} | ${exactHits} |`,
  );
  console.log(
    `| near-duplicate: MinHash 128 + LSH 32×4 | ${fmt(perSecond(texts.length, nearMs))} | ${nearHits} |`,
  );
  console.log(
    `\nratio: near-duplicate checks run at ${fmt((exactMs / nearMs) * 100, 1)} % of exact-hash speed; a 700-item cycle spends ${fmt((nearMs / texts.length) * 700, 1)} ms on them`,
  );
}

function recallBench(): void {
  // Labelled pairs: a base story and a variant with a few words replaced, inserted or
  // dropped (how sites reword wire copy), labelled by their exact Jaccard similarity.
  const bases = Array.from({ length: 2_000 }, headline);
  const index = new NearDuplicateIndex<number>();
  bases.forEach(({ title, lead }, i) => index.add(i, signature(`${title} ${lead}`)));
  let positives = 0;
  let found = 0;
  let negatives = 0;
  let falseMatches = 0;
  for (let round = 0; round < 5; round += 1) {
    bases.forEach(({ title, lead }, i) => {
      const text = `${title} ${lead}`.split(' ');
      const edits = Math.floor(random() * 8);
      for (let e = 0; e < edits; e += 1) {
        const at = Math.floor(random() * text.length);
        const kind = random();
        if (kind < 0.5) text[at] = words(1)[0]!;
        else if (kind < 0.8) text.splice(at, 0, words(1)[0]!);
        else text.splice(at, 1);
      }
      const variant = text.join(' ');
      const similarity = jaccard(shingles(`${title} ${lead}`), shingles(variant));
      const match = index.find(signature(variant));
      if (similarity >= 0.8) {
        positives += 1;
        if (match?.id === i) found += 1;
      } else if (similarity < 0.5) {
        negatives += 1;
        if (match) falseMatches += 1;
      }
    });
  }
  console.log('\n3. Near-duplicate recall on a labelled set\n');
  console.log(`| pairs | found | rate |`);
  console.log('| --- | --- | --- |');
  console.log(
    `| ${fmt(positives)} at Jaccard ≥ 0.8 | ${fmt(found)} | recall ${fmt(found / positives, 3)} (aim ≥ 0.95) |`,
  );
  console.log(
    `| ${fmt(negatives)} at Jaccard < 0.5 | ${fmt(falseMatches)} | false matches ${fmt(falseMatches / Math.max(1, negatives), 3)} |`,
  );
}

await cycleBench();
throughputBench();
recallBench();
