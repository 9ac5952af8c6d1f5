// pnpm bench:news — what a news cycle costs, and what near-duplicate dedup buys and costs.
//
//  1. One cycle over 14 loopback RSS sources × 50 new items against an archive of 100,000
//     articles (each its own story inside the near-duplicate window, keyed by its lead as
//     the cycle keys them), beside the same cycle against an empty archive. Real Postgres
//     and Redis; the checklist judges (no LLM: its time is the model's, not Herald's) and
//     posts go to a Bot API double. The first cycle against the archive is measured twice:
//     as `once()` runs it (the near-duplicate window loads inside the cycle) and as a
//     leader started by `run()` runs it (the window loaded at start-up, before the cycle).
//  2. Near-duplicate check throughput (story key, MinHash + LSH lookup and insert) beside
//     exact dedup throughput (SHA-256 content hash + set lookup) on the same texts.
//  3. Near-duplicate recall on labelled pairs, labelled by the exact 3-shingle Jaccard of
//     their story keys (`storyKey`: the lead, or the title where there is no usable lead):
//     pairs at 0.8 or more must be found (aim ≥ 0.95), pairs under 0.5 must not be.
//     Headlines alone must match only when equal once normalised, and only within the
//     title window.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { migrateDatabase } from '@herald/db';
import { startPostgres } from '@herald/embedded';
import { createLogger } from '@herald/logger';
import {
  contentHash,
  jaccard,
  NearDuplicateIndex,
  normalizeText,
  shingles,
  signature,
  storyKey,
} from '@herald/news';
import {
  createNewsPublisher,
  DEFAULT_CYCLE_CONFIG,
  newsPublisherEnv,
  signatureBytes,
  StoryIndex,
  type CycleReport,
} from '@herald/news-publisher';
import { openRuntime, type ServiceRuntime } from '@herald/ops';
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
const HOUR_MS = 3_600_000;
const logger = createLogger({ service: 'bench', level: 'silent' });

// A deterministic generator, so runs compare.
let seed = 42;
const random = () => {
  seed = (Math.imul(seed, 1_103_515_245) + 12_345) >>> 0;
  return seed / 2 ** 32;
};
const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)]!;
const VOCABULARY = Array.from({ length: 5_000 }, (_, i) =>
  (i * 2_654_435_761).toString(36).slice(-6).replace(/\d/g, 'x'),
);
const words = (n: number) => Array.from({ length: n }, () => pick(VOCABULARY));
const headline = () => ({ title: words(9).join(' '), lead: words(30).join(' ') });

const ms = (from: number) => performance.now() - from;
/** One measured cycle: its wall time as the caller sees it, and its report. */
type Cycle = { wall: number; report: CycleReport };
const fmt = (n: number, digits = 0) =>
  n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });

/**
 * Archived stories as the cycle writes them: keyed by their 30-word leads, judged
 * irrelevant. Returns the last story's lead, to check that the window loads what was seeded.
 */
async function seedArchive(pool: pg.Pool, count: number): Promise<string | undefined> {
  let lastLead: string | undefined;
  await pool.query(
    `INSERT INTO sources (id, url, kind, categories)
     VALUES ('archive', 'https://archive.example/feed', 'rss', '{gold}') ON CONFLICT DO NOTHING`,
  );
  const batch = 5_000;
  for (let start = 0; start < count; start += batch) {
    const rows = Array.from({ length: Math.min(batch, count - start) }, (_, i) => {
      const { title, lead } = headline();
      const key = storyKey(title, lead);
      return { n: start + i, title, lead, keyedBy: key.keyedBy, sig: signature(key.text) };
    });
    lastLead = rows.at(-1)?.lead;
    const stories = await pool.query<{ id: string }>(
      `INSERT INTO stories (title, signature, keyed_by, relevant, verdict_by, first_seen_at)
       SELECT t, s, k, false, 'checklist', now() - interval '1 hour'
       FROM unnest($1::text[], $2::bytea[], $3::text[]) AS u(t, s, k)
       RETURNING id`,
      [
        rows.map((row) => row.title),
        rows.map((row) => signatureBytes(row.sig)),
        rows.map((row) => row.keyedBy),
      ],
    );
    // fetched_on is generated from fetched_at; with distinct contents the unique key
    // (source_id, content_hash, fetched_on) holds.
    await pool.query(
      `INSERT INTO articles (source_id, story_id, url, canonical_url, content_hash, title, summary,
         published_at, fetched_at, relevant, verdict_by)
       SELECT 'archive', s, u, u, h, t, l, now() - interval '1 hour', now() - interval '1 hour',
         false, 'checklist'
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
  return lastLead;
}

let generation = 0;
/**
 * 14 feeds × 50 items; a tenth of the stories also appear on another feed, as wire copy
 * does: under a headline of that site's own, over the same lead with a word added.
 */
function feedItems(): FeedStory[][] {
  generation += 1;
  const feeds: FeedStory[][] = Array.from({ length: SOURCES }, () => []);
  for (let f = 0; f < SOURCES; f += 1) {
    while (feeds[f]!.length < ITEMS) {
      const { title, lead } = headline();
      const n = feeds[f]!.length;
      // Every fifth item is about gold, so the checklist passes it.
      const gold = n % 5 === 0 ? 'Gold bullion ' : '';
      const story = {
        title: `${gold}${title}`,
        link: `https://site-${f}.example/news/${generation}/${n}-${title.split(' ')[0]}`,
        summary: lead,
        publishedAt: new Date(Date.now() - 60_000),
      };
      feeds[f]!.push(story);
      if (n % 10 === 0 && f + 1 < SOURCES && feeds[f + 1]!.length < ITEMS) {
        feeds[f + 1]!.push({
          ...story,
          title: `${gold}${headline().title}`,
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

    const run = async (archive: number, withWarmStart: boolean) => {
      const url = new URL(postgres.url);
      const name = `bench_${archive}`;
      const admin = new pg.Client({ connectionString: postgres.url });
      await admin.connect();
      await admin.query(`CREATE DATABASE ${name}`);
      await admin.end();
      url.pathname = `/${name}`;
      await migrateDatabase(url.toString(), logger);
      // Each replica gets a runtime (pool, Redis) of its own, as a process would.
      const openReplica = () =>
        openRuntime({
          service: 'news-publisher',
          version: 'bench',
          logger,
          databaseUrl: url.toString(),
          redisUrl: redis.url,
          redisKeyPrefix: `${name}:`,
        });
      const seeder = openReplica();
      const seeded = performance.now();
      const seededLead = await seedArchive(seeder.pool, archive);
      const seedMs = ms(seeded);
      await seeder.close();
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
      const cycle = async (
        runtime: ServiceRuntime,
        publisher: { once: (stop: AbortSignal) => Promise<CycleReport | undefined> },
      ): Promise<Cycle> => {
        newItems();
        // Fresh planner statistics for both archives alike, as autovacuum keeps them.
        await runtime.pool.query('ANALYZE');
        const started = performance.now();
        const report = await publisher.once(AbortSignal.timeout(120_000));
        if (!report) throw new Error('the cycle did not run');
        return { wall: ms(started), report };
      };

      // Each start-up in a function of its own, so that nothing of one replica (its
      // 100,000-signature index) is still alive, and in the way of the GC, in the next.
      // (a) The service as built, one cycle at a time (`once()` does not warm): the first
      // cycle loads the near-duplicate window; later ones load only the stories added since.
      const coldStart = async () => {
        const runtime = openReplica();
        const news = createNewsPublisher({ env, runtime, logger });
        const first = await cycle(runtime, news.publisher);
        const next = await cycle(runtime, news.publisher);
        await news.close();
        await runtime.close();
        return { first, next };
      };
      // (b) A new leader as `run()` starts one: it warms the index at start-up, while it
      // waits for the lock and its first tick, and the first cycle comes after that.
      const warmStart = async () => {
        const runtime = openReplica();
        const leader = createNewsPublisher({ env, runtime, logger });
        const started = performance.now();
        leader.stories.warm();
        // Resolves once the warm-up load is done (then reads the few stories added since).
        await leader.stories.refresh();
        const warmupMs = ms(started);
        const loaded = leader.stories.size;
        if (seededLead && leader.stories.find(signature(seededLead), 'lead') === undefined)
          throw new Error('the warmed window does not find a seeded story by its lead');
        const first = await cycle(runtime, leader.publisher);
        const next = await cycle(runtime, leader.publisher);
        await leader.close();
        await runtime.close();
        return { warmupMs, loaded, first, next };
      };
      const cold = await coldStart();
      const warm = withWarmStart ? await warmStart() : undefined;
      return { cold, warm, seedMs };
    };

    const empty = await run(0, false);
    const full = await run(ARCHIVE, true);
    const warm = full.warm!;
    const baseline = empty.cold.next;
    const line = (archive: string, label: string, r: Cycle) =>
      `| ${archive} | ${label} | ${fmt(r.wall)} ms | ${r.report.articles.new} new, ${r.report.articles.nearDuplicate} near-dup, ${r.report.articles.duplicate} dup | ${r.report.posted} |`;
    const archive = `${fmt(ARCHIVE)} stories`;
    console.log(`\n1. One news cycle: ${SOURCES} loopback sources × ${ITEMS} items\n`);
    console.log('| archive | cycle | wall time | articles | posts |');
    console.log('| --- | --- | --- | --- | --- |');
    console.log(line('empty', 'first of this Node process', empty.cold.first));
    console.log(line('empty', 'next (baseline)', baseline));
    console.log(line(archive, '(a) first, `once()`: window loaded in the cycle', full.cold.first));
    console.log(line(archive, '(a) next', full.cold.next));
    console.log(
      line(archive, '(b) first after `run()`-style warm-up: window loaded before', warm.first),
    );
    console.log(line(archive, '(b) next', warm.next));
    const ratio = (r: Cycle) => `${fmt(r.wall / baseline.wall, 2)}×`;
    console.log(
      `\nThe archive: ${fmt(ARCHIVE)} stories keyed by their leads, seeded in ${fmt(full.seedMs / 1000, 1)} s.`,
    );
    console.log(
      `First cycle against it, beside the baseline (${fmt(baseline.wall)} ms; aim: within 2×):`,
    );
    console.log(
      `  (a) cold start, as \`once()\` runs it: ${ratio(full.cold.first)} (${fmt(full.cold.first.wall)} ms, loading the window included)`,
    );
    console.log(
      `  (b) warm start, as \`run()\` runs it (a leader the bench wires as createNewsPublisher does, to reach its index): ` +
        `${ratio(warm.first)} (${fmt(warm.first.wall)} ms). The window was NOT loaded in this cycle: ` +
        `\`stories.warm()\` loaded it at start-up, before the cycle, in ${fmt(warm.warmupMs)} ms (${fmt(warm.loaded)} stories). ` +
        `A first tick or takeover sooner than that after start-up waits for the rest of the load.`,
    );
    console.log(
      `Next cycles: ${ratio(full.cold.next)} (a), ${ratio(warm.next)} (b).\n` +
        `Both first cycles run in a Node process that has run cycles already; a new process's first cycle also pays ` +
        `for JIT and first connections (the empty archive's first cycle: ${ratio(empty.cold.first)}).`,
    );
  } finally {
    await Promise.all([feeds.close(), bot.close()]);
    await redis.stop();
    await postgres.stop();
    await rm(home, { recursive: true, force: true });
  }
}

/** An index as the archive stage uses it; only `find` and `add`, so its pool is never queried. */
const storyIndex = () =>
  new StoryIndex(
    new pg.Pool(),
    DEFAULT_CYCLE_CONFIG.nearDuplicateWindowMs,
    DEFAULT_CYCLE_CONFIG.titleOnlyWindowMs,
  );

function throughputBench(): void {
  const texts = Array.from({ length: 20_000 }, headline);
  let started = performance.now();
  const hashes = new Set<string>();
  let exactHits = 0;
  for (const { title, lead } of texts) {
    const hash = contentHash(title, lead);
    if (hashes.has(hash)) exactHits += 1;
    hashes.add(hash);
  }
  const exactMs = ms(started);
  started = performance.now();
  const stories = storyIndex();
  let nearHits = 0;
  texts.forEach(({ title, lead }, i) => {
    const key = storyKey(title, lead);
    const sig = signature(key.text);
    if (stories.find(sig, key.keyedBy) !== undefined) nearHits += 1;
    stories.add(i, sig, key.keyedBy);
  });
  const nearMs = ms(started);
  const perSecond = (n: number, t: number) => (n / t) * 1000;
  console.log(
    `\n2. Dedup throughput, ${fmt(texts.length)} articles (9-word title + 30-word lead)\n`,
  );
  console.log('| check | articles/s | hits |');
  console.log('| --- | --- | --- |');
  console.log(
    `| exact: SHA-256 content hash + set (baseline) | ${fmt(perSecond(texts.length, exactMs))} | ${exactHits} |`,
  );
  console.log(
    `| near-duplicate: story key (the lead), MinHash 128 + LSH 32×4 | ${fmt(perSecond(texts.length, nearMs))} | ${nearHits} |`,
  );
  console.log(
    `\nratio: near-duplicate checks run at ${fmt((exactMs / nearMs) * 100, 1)} % of exact-hash speed; a 700-item cycle spends ${fmt((nearMs / texts.length) * 700, 1)} ms on them`,
  );
}

/** `text` with `count` word edits, as sites reword copy: a word replaced, inserted or dropped. */
function reword(text: string, count: number): string {
  const list = text.split(' ');
  for (let e = 0; e < count; e += 1) {
    const at = Math.floor(random() * list.length);
    const kind = random();
    if (kind < 0.5) list[at] = pick(VOCABULARY);
    else if (kind < 0.8) list.splice(at, 0, pick(VOCABULARY));
    else list.splice(at, 1);
  }
  return list.join(' ');
}

const DATELINES = ['LONDON (Reuters) -', 'NEW YORK, Dec 1 (Reuters) -', 'SINGAPORE (AP) —'];
/** A wire lead as a republishing site carries it: as is, datelined, cut short or lightly edited. */
function republishedLead(lead: string): string {
  const kind = Math.floor(random() * 4);
  if (kind === 0) return lead;
  if (kind === 1) return `${pick(DATELINES)} ${lead}`;
  if (kind === 2)
    return `${lead
      .split(' ')
      .slice(0, -1 - Math.floor(random() * 3))
      .join(' ')}…`;
  return reword(lead, 1 + Math.floor(random() * 2));
}

const MONTHS = ['January', 'March', 'June', 'September', 'December'];
const CITIES = ['Mumbai', 'Delhi', 'Dubai', 'Karachi', 'Chennai', 'Lahore', 'Kolkata'];
/**
 * A headline with no usable lead and one a word or number apart: daily series ("Gold price
 * today 1 December" and "… 2 December", odd days and even days, so no variant equals a
 * headline), or a headline of 5 to 12 words with one word replaced.
 */
function headlinePair(): { title: string; other: string } {
  const kind = Math.floor(random() * 4);
  const day = 1 + 2 * Math.floor(random() * 14);
  const month = pick(MONTHS);
  const year = 2020 + Math.floor(random() * 7);
  if (kind === 0)
    return {
      title: `Gold price today ${day} ${month} ${year}`,
      other: `Gold price today ${day + 1} ${month} ${year}`,
    };
  if (kind === 1) {
    const city = pick(CITIES);
    return {
      title: `Gold rate in ${city} on ${day} ${month} ${year}`,
      other: `Gold rate in ${city} on ${day + 1} ${month} ${year}`,
    };
  }
  if (kind === 2) {
    const price = 2 * (1_000 + Math.floor(random() * 1_500));
    const prefix = words(2).join(' ');
    return {
      title: `${prefix} gold hits $${price} an ounce`,
      other: `${prefix} gold hits $${price + 1} an ounce`,
    };
  }
  const list = words(5 + Math.floor(random() * 8));
  const other = [...list];
  const at = Math.floor(random() * list.length);
  while (other[at] === list[at]) other[at] = pick(VOCABULARY);
  return { title: list.join(' '), other: other.join(' ') };
}

/** The same headline as another site prints it: case, punctuation, markup, entities. */
function restyled(title: string): string {
  const list = title.split(' ');
  const kind = Math.floor(random() * 5);
  if (kind === 0) return title.toUpperCase();
  if (kind === 1) return `${list.slice(0, 2).join(' ')}: ${list.slice(2).join(' ')}`;
  if (kind === 2) return `<b>${title}</b> —`;
  if (kind === 3) return `“${list.join('  ')}”!`;
  return `${list[0]} &amp; ${list.slice(1).join(' ')}`;
}

interface Pair {
  kind: string;
  similarity: number;
  /** The variant matched its own story. */
  found: boolean;
  /** The variant matched any story. */
  matched: boolean;
}

function recallBench(): void {
  const now = Date.now();
  const stories = storyIndex();
  const pairs: Pair[] = [];
  let nextId = 1;
  const addStory = (title: string, lead: string | undefined, seenMs = now - HOUR_MS) => {
    const key = storyKey(title, lead);
    const id = nextId++;
    stories.add(id, signature(key.text), key.keyedBy, seenMs);
    return { id, key };
  };
  const check = (
    kind: string,
    base: { id: number; key: { text: string } },
    title: string,
    lead: string | undefined,
  ): Pair => {
    const key = storyKey(title, lead);
    const match = stories.find(signature(key.text), key.keyedBy, now);
    const pair = {
      kind,
      similarity: jaccard(shingles(base.key.text), shingles(key.text)),
      found: match === base.id,
      matched: match !== undefined,
    };
    pairs.push(pair);
    return pair;
  };

  // Stories with 30-word leads, keyed by the lead; the former key (title and lead
  // together) is kept beside them for the same-lead pairs' baseline.
  const bases = Array.from({ length: 2_000 }, () => {
    const { title, lead } = headline();
    return { title, lead, story: addStory(title, lead) };
  });
  const before = new NearDuplicateIndex<number>();
  bases.forEach(({ title, lead, story }) => before.add(story.id, signature(`${title} ${lead}`)));
  let sameLeadBefore = 0;
  for (let round = 0; round < 5; round += 1) {
    for (const { title, lead, story } of bases) {
      // Reworded: a few words of the title and up to 7 of the lead replaced, inserted or dropped.
      check(
        'reworded',
        story,
        reword(title, Math.floor(random() * 3)),
        reword(lead, Math.floor(random() * 8)),
      );
      // Wire copy under a new headline, over the same lead.
      const [newTitle, newLead] = [headline().title, republishedLead(lead)];
      const pair = check('same lead', story, newTitle, newLead);
      const formerKey = signature(`${newTitle} ${newLead}`);
      if (pair.similarity >= 0.8 && before.find(formerKey)?.id === story.id) sameLeadBefore += 1;
    }
  }
  // A recurring headline over a new lead ("Gold price today" with today's figures).
  for (const { title, story } of bases) check('same headline', story, title, headline().lead);

  // Headlines with no usable lead (none, or a teaser under 12 words), keyed by the title.
  const teaser = () => (random() < 0.5 ? undefined : words(1 + Math.floor(random() * 8)).join(' '));
  const titled = new Set<string>();
  for (let i = 0; i < 3_000; i += 1) {
    const { title, other } = headlinePair();
    if (titled.has(normalizeText(title))) continue;
    titled.add(normalizeText(title));
    const story = addStory(title, teaser());
    check('word apart', story, other, teaser());
    check('restyled', story, restyled(title), teaser());
  }
  // The same headlines first seen 13 hours ago: past the title window, a new story.
  for (let i = 0; i < 1_000; i += 1) {
    const { title } = headlinePair();
    if (titled.has(normalizeText(title))) continue;
    titled.add(normalizeText(title));
    const story = addStory(title, undefined, now - 13 * HOUR_MS);
    check('title expired', story, restyled(title), teaser());
  }

  const of = (kinds: string[], test: (pair: Pair) => boolean = () => true) =>
    pairs.filter((pair) => kinds.includes(pair.kind) && test(pair));
  const atLeast = (pair: Pair) => pair.similarity >= 0.8;
  const under = (pair: Pair) => pair.similarity < 0.5;
  const rate = (n: number, of: number) => fmt(n / Math.max(1, of), 4);
  const range = (list: Pair[]) =>
    `${fmt(Math.min(...list.map((p) => p.similarity)), 2)}–${fmt(Math.max(...list.map((p) => p.similarity)), 2)}`;
  const recallRow = (label: string, kinds: string[], extra = '') => {
    const positives = of(kinds, atLeast);
    const found = positives.filter((pair) => pair.found).length;
    return `| ${label} | ${fmt(positives.length)} at ≥ 0.8 | ${fmt(found)} found | recall ${rate(found, positives.length)}${extra} |`;
  };
  const falseRow = (label: string, list: Pair[], labelled: string) => {
    const matched = list.filter((pair) => pair.matched).length;
    return `| ${label} | ${fmt(list.length)} ${labelled} | ${fmt(matched)} matched | false matches ${rate(matched, list.length)} (must be 0) |`;
  };
  const leadKinds = ['reworded', 'same lead', 'same headline'];
  const sameLead = of(['same lead'], atLeast);
  const wordApart = of(['word apart']);
  const restyledPairs = of(['restyled']);
  const restyledFound = restyledPairs.filter((pair) => pair.found).length;

  console.log(
    '\n3. Near-duplicate recall on a labelled set (labels: exact Jaccard of the story keys)\n',
  );
  console.log('| pairs | labelled | result | rate |');
  console.log('| --- | --- | --- | --- |');
  console.log(recallRow('reworded (title and lead edited)', ['reworded']));
  console.log(
    recallRow(
      'rewritten headline over the same lead',
      ['same lead'],
      `; keyed by title + lead as before: ${rate(sameLeadBefore, sameLead.length)}`,
    ),
  );
  console.log(recallRow('all keyed by the lead', leadKinds, ' (aim ≥ 0.95)'));
  console.log(falseRow('all keyed by the lead', of(leadKinds, under), 'at < 0.5'));
  console.log(
    falseRow(
      '  of which a recurring headline over a new lead',
      of(['same headline'], under),
      'at < 0.5',
    ),
  );
  console.log(
    falseRow('headline only, one word or number apart', wordApart, `at ${range(wordApart)}`),
  );
  console.log(
    `| headline only, identical once normalised | ${fmt(restyledPairs.length)} at ${range(restyledPairs)} | ${fmt(restyledFound)} found | recall ${rate(restyledFound, restyledPairs.length)} (must be 1) |`,
  );
  console.log(
    falseRow(
      'headline only, identical, first seen 13 h before (past the 12 h title window)',
      of(['title expired']),
      `at ${range(of(['title expired']))}`,
    ),
  );
  const between = of(leadKinds, (pair) => !atLeast(pair) && !under(pair)).length;
  console.log(
    `\n${fmt(between)} lead-keyed pairs between 0.5 and 0.8 are neither (either answer is acceptable).`,
  );
}

await cycleBench();
throughputBench();
recallBench();
