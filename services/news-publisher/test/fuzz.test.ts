// Random, malformed feeds through the whole news cycle: parsed by feedparser from RSS and
// Atom served on loopback, cleaned, archived in the harness's Postgres, judged by the
// checklist (no LLM), composed and posted to the Bot API double. Whatever the feeds hold,
// the cycle completes, each source ends healthy or failed with a reason, every item the
// parser read is accounted for, and the channel gets only valid Telegram HTML linking to
// places a reader can open.
//
// The seed is fixed so a failure replays as it happened: fast-check prints the seed, the
// path and the shrunk counterexample. To explore other inputs, change SEED.
import { BlockList, isIP } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { parseFeed } from '@herald/news';
import { parseTelegramHtml } from '@herald/testing';
import fc from 'fast-check';
import { runOnce, startNewsHarness, type NewsHarness } from './harness.js';

const SEED = 20_241_002;
// Each run is a full cycle (0.05 to 0.7 s here); 40 keep the file near ten seconds.
const RUNS = 40;
const CONTENT_TYPE = 'application/rss+xml; charset=utf-8';

// ---------------------------------------------------------------------------------------
// What a run feeds the cycle

/** Text and how it is written into the XML: escaped, or inside CDATA. */
interface Text {
  text: string;
  cdata: boolean;
}

type DateSpec =
  { fixed: string } | { minutesAgo: number; iso: boolean } | { daysAgo: number; iso: boolean };

/**
 * One item of a feed. `good` items are built to be kept: a public http(s) link and a guid no
 * other item has, a title opening with a word of its own, a date that is missing, invalid
 * or recent. `repeat` items copy an earlier item's link (as written, or a variant with
 * the same canonical URL) or its guid. `junk` is anything.
 */
type ItemSpec =
  | { kind: 'good'; title: Text; lead?: Text; date?: DateSpec; guid: boolean; style: number }
  | { kind: 'junk'; title?: Text; lead?: Text; date?: DateSpec; link?: string; guid?: string }
  | {
      kind: 'repeat';
      of: number;
      by: 'link' | 'variant' | 'guid';
      title?: Text;
      lead?: Text;
      date?: DateSpec;
    };

interface FeedSpec {
  atom: boolean;
  items: ItemSpec[];
}

/** Feeds that are not usable XML feeds; each must fail (or be repaired) alone. */
type Broken = 'truncated' | 'mismatched' | 'html' | 'dtd' | 'encoding' | 'gzip';

interface RunSpec {
  feeds: FeedSpec[];
  broken: Broken | undefined;
}

// Text that has broken feeds and the code reading them: scripts, bidi and invisible
// marks, astral characters, C0 controls and non-characters, lone surrogates, markup,
// entities and CDATA terminators.
const SPECIMENS = [
  'الذهب يرتفع إلى مستوى قياسي',
  '黄金价格创历史新高',
  '금값 사상 최고치',
  '🥇💰📈',
  '👨‍👩‍👧‍👦',
  '🏳️‍🌈',
  '𝔊𝔬𝔩𝔡',
  '\u200F\u202Eevil\u202C',
  '\u200B\u2060\uFEFF',
  '\u0000',
  '\u0007\u0008',
  '\u001B[31m',
  '\u007F',
  '\uFFFE\uFFFF',
  '\uD83D',
  '\uDE00',
  '\uDBFF\uD800',
  '<b>bold</b>',
  '<script>alert(1)</script>',
  '<a href="javascript:alert(1)">x</a>',
  '<img src=x onerror=alert(1)>',
  '</b></i><tg-spoiler>',
  '&amp;',
  '&lt;b&gt;',
  '&nbsp;',
  '&#x1F600;',
  '&bogus;',
  '&',
  '<',
  '>',
  '"\'',
  ']]>',
  '<![CDATA[x]]>',
  '<!-- c -->',
  '\r\n',
  '\t',
  '   ',
];
const WORDS = ['gold', 'Gold', 'bullion', 'silver', 'tokenized', 'bitcoin', 'price', 'casino'];

const DATES = [
  'Mi, 02 Okt 2024 10:00:00 +0200',
  'mardi 3 décembre 2024',
  'Di, 15 Dez 2024 08:00:00 MEZ',
  '2024年10月2日',
  'garbage',
  '',
  '   ',
  'Thu, 32 Foo 2024 25:61:61 +9999',
  'Tue, 01 Jan 2999 00:00:00 GMT',
  '2999-01-01T00:00:00Z',
  'Mon, 01 Jan 1979 00:00:00 GMT',
  '1970-01-01T00:00:00Z',
];
// Read by V8 as dates around 2000: old, so stale, and never a good item's.
const LOOSE_DATES = ['0', '-1', '12', '2024', '1 mars'];

const LINKS = [
  'javascript:alert(1)',
  'mailto:desk@news.example',
  'data:text/html,<b>x</b>',
  'ftp://ftp.news.example/file',
  '//cdn.news.example/path',
  '/relative/path',
  'relative.html',
  'http://10.0.0.1/x',
  'http://[::1]/x',
  'http://localhost/x',
  'http://169.254.169.254/latest/meta-data/',
  'http://192.168.1.1/',
  'http://[fe80::1]/',
  'http://[::ffff:127.0.0.1]/',
  'http://0x7f000001/',
  'http://2130706433/',
  'http://127.1/',
  'https://intranet/x',
  'http://printer.local/',
  'http://metadata.google.internal/',
  '',
  '   ',
  'https://',
  'http://exa mple.com/',
  'https://news.example/a',
  'HTTPS://WWW.NEWS.EXAMPLE/a?utm_source=rss#top',
  `https://long.news.example/${'a'.repeat(2_100)}`,
];

const textChunk = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...SPECIMENS) },
  { weight: 3, arbitrary: fc.constantFrom(...WORDS) },
  { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 12 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'grapheme', maxLength: 8 }) },
);

const shortText = fc
  .tuple(fc.array(textChunk, { maxLength: 12 }), fc.constantFrom(' ', ''))
  .map(([chunks, glue]) => chunks.join(glue));

// Up to 20,000 UTF-16 units, cut anywhere: astral characters split in two at the end.
const longText = fc
  .tuple(fc.array(textChunk, { minLength: 1, maxLength: 6 }), fc.integer({ min: 0, max: 20_000 }))
  .map(([chunks, length]) => {
    const unit = chunks.join(' ') || 'x';
    return unit.repeat(Math.ceil(length / unit.length) + 1).slice(0, length);
  });

// Astral or composed characters across the places text is clipped: the post's 300-unit
// title, the archive's 1,000-unit title.
const boundaryText = fc
  .tuple(
    fc.oneof(fc.integer({ min: 280, max: 305 }), fc.integer({ min: 985, max: 1_005 })),
    fc.constantFrom('😀', '𝔊', '👨‍👩‍👧', 'é', '\u05D0\u05B8'),
  )
  .map(([at, char]) => `Gold bullion ${'x'.repeat(at - 13)}${char.repeat(12)}`);

const anyText = fc.oneof(
  { weight: 6, arbitrary: shortText },
  { weight: 2, arbitrary: boundaryText },
  { weight: 1, arbitrary: longText },
);

const written = (text: fc.Arbitrary<string>): fc.Arbitrary<Text> =>
  fc.record({ text, cdata: fc.boolean() });

const dateSpec: fc.Arbitrary<DateSpec> = fc.oneof(
  fc.record({ fixed: fc.constantFrom(...DATES, ...LOOSE_DATES) }),
  fc.record({ minutesAgo: fc.integer({ min: -30, max: 2_400 }), iso: fc.boolean() }),
  fc.record({ daysAgo: fc.integer({ min: 3, max: 20_000 }), iso: fc.boolean() }),
);
// A good item is never stale: its date is missing, unreadable, out of range or recent.
const goodDate: fc.Arbitrary<DateSpec> = fc.oneof(
  fc.record({ fixed: fc.constantFrom(...DATES) }),
  fc.record({ minutesAgo: fc.integer({ min: 0, max: 2_400 }), iso: fc.boolean() }),
);

const link = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...LINKS) },
  {
    weight: 2,
    arbitrary: fc.webUrl({
      validSchemes: ['http', 'https'],
      withQueryParameters: true,
      withFragments: true,
    }),
  },
);

const item: fc.Arbitrary<ItemSpec> = fc.oneof(
  {
    weight: 3,
    arbitrary: fc.record(
      {
        kind: fc.constant('good' as const),
        title: written(anyText),
        lead: written(anyText),
        date: goodDate,
        guid: fc.boolean(),
        style: fc.nat(3),
      },
      { requiredKeys: ['kind', 'title', 'guid', 'style'] },
    ),
  },
  {
    weight: 3,
    arbitrary: fc.record(
      {
        kind: fc.constant('junk' as const),
        title: written(anyText),
        lead: written(anyText),
        date: dateSpec,
        link,
        guid: fc.oneof(
          fc.constantFrom('1', 'same', '', '  ', 'http://10.0.0.1/guid', 'https://news.example/a'),
          fc.string({ maxLength: 30 }),
        ),
      },
      { requiredKeys: ['kind'] },
    ),
  },
  {
    weight: 1,
    arbitrary: fc.record(
      {
        kind: fc.constant('repeat' as const),
        of: fc.nat(),
        by: fc.constantFrom('link' as const, 'variant' as const, 'guid' as const),
        title: written(anyText),
        lead: written(anyText),
        date: dateSpec,
      },
      { requiredKeys: ['kind', 'of', 'by'] },
    ),
  },
);

const feed: fc.Arbitrary<FeedSpec> = fc.record({
  atom: fc.boolean(),
  items: fc.oneof(
    { weight: 5, arbitrary: fc.array(item, { maxLength: 25 }) },
    { weight: 1, arbitrary: fc.array(item, { maxLength: 200, size: 'max' }) },
  ),
});

const run: fc.Arbitrary<RunSpec> = fc.record({
  feeds: fc.array(feed, { minLength: 1, maxLength: 3 }),
  broken: fc.option(
    fc.constantFrom<Broken>('truncated', 'mismatched', 'html', 'dtd', 'encoding', 'gzip'),
    { nil: undefined },
  ),
});

// Every malformation named above at least once, whatever the seed draws.
const EXAMPLE: RunSpec = {
  broken: 'truncated',
  feeds: [
    {
      atom: false,
      items: [
        ...DATES.map((fixed, n): ItemSpec => ({
          kind: 'good',
          title: { text: `Gold bullion ${SPECIMENS[n] ?? ''}`, cdata: n % 2 === 0 },
          lead: { text: SPECIMENS.slice(n).join(' '), cdata: n % 3 === 0 },
          date: { fixed },
          guid: n % 2 === 1,
          style: n % 4,
        })),
        ...LINKS.map((link, n): ItemSpec => ({
          kind: 'junk',
          title: { text: `Gold bullion link ${n}`, cdata: false },
          link,
          guid: n % 3 === 0 ? 'same' : undefined,
        })),
        { kind: 'junk', lead: { text: 'Gold bullion lead without a title', cdata: false } },
        { kind: 'junk', title: { text: 'Gold bullion title without a link', cdata: false } },
        { kind: 'repeat', of: 0, by: 'link' },
        { kind: 'repeat', of: 1, by: 'variant' },
        { kind: 'repeat', of: 2, by: 'guid' },
        {
          kind: 'good',
          title: { text: `gold ${'🥇'.repeat(10_000)}`, cdata: false },
          lead: { text: `${'\uD83D'}${'黄金'.repeat(10_000)}`, cdata: true },
          guid: false,
          style: 0,
        },
      ],
    },
    {
      atom: true,
      items: SPECIMENS.map((text, n): ItemSpec => ({
        kind: 'good',
        title: { text: `Gold ${text}`, cdata: n % 2 === 1 },
        lead: { text: text.repeat(50), cdata: n % 2 === 0 },
        date: { minutesAgo: n, iso: true },
        guid: true,
        style: n % 4,
      })),
    },
  ],
};

// ---------------------------------------------------------------------------------------
// Rendering a run as feeds

/** An item as written into its feed. */
interface Rendered {
  title: Text | undefined;
  lead: Text | undefined;
  link: string | undefined;
  guid: string | undefined;
  date: string | undefined;
  /** For good items: the URL the item must be archived under. */
  keptAs: string | undefined;
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/** Text as XML character data. Lone surrogates go as character references (UTF-8 cannot
 * carry them; feedparser's sax turns the reference back into one); C0 controls go raw, as
 * broken encoders write them, and sax reads them. */
function xmlText({ text, cdata }: Text): string {
  if (cdata) return `<![CDATA[${text.replaceAll(']]>', ']]]]><![CDATA[>')}]]>`;
  return text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(LONE_SURROGATE, (c) => `&#x${c.charCodeAt(0).toString(16)};`);
}

const xmlAttribute = (text: string) =>
  text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

function dateText(spec: DateSpec | undefined): string | undefined {
  if (!spec) return undefined;
  if ('fixed' in spec) return spec.fixed;
  const ms = 'minutesAgo' in spec ? spec.minutesAgo * 60_000 : spec.daysAgo * 86_400_000;
  const date = new Date(Date.now() - ms);
  return spec.iso ? date.toISOString() : date.toUTCString();
}

/** The same article under another URL: tracking parameters, a fragment, www., http. */
function variantOf(link: string): string {
  try {
    const url = new URL(link.trim());
    url.searchParams.append('utm_source', 'fuzz');
    url.hash = 'comments';
    if (!url.hostname.startsWith('www.') && isIP(url.hostname) === 0)
      url.hostname = `www.${url.hostname}`;
    return url.toString().replace(/^https:/, 'http:');
  } catch {
    return link;
  }
}

function renderItems(feedNo: number, specs: readonly ItemSpec[]): Rendered[] {
  const rendered: Rendered[] = [];
  specs.forEach((spec, n) => {
    const common = {
      lead: spec.lead,
      date: dateText(spec.date),
    };
    if (spec.kind === 'good') {
      const host = `good-${feedNo}-${n}.example.com`;
      const link = [
        `https://${host}/story/${n}`,
        `HTTPS://${host.toUpperCase()}/Story/${n}?utm_source=rss&id=${n}`,
        `  https://${host}/story/${n}#top  `,
        `http://${host}/a/b/../story?x=1&y=${n}`,
      ][spec.style % 4]!;
      rendered.push({
        ...common,
        // A word no other item has opens the title, so no other item shares its content.
        title: { ...spec.title, text: `Fuzz${feedNo}x${n} ${spec.title.text}` },
        link,
        guid: spec.guid ? `urn:good:${feedNo}:${n}` : undefined,
        keptAs: new URL(link.trim()).toString(),
      });
    } else if (spec.kind === 'junk') {
      rendered.push({
        ...common,
        title: spec.title,
        link: spec.link,
        guid: spec.guid,
        keptAs: undefined,
      });
    } else {
      const original = rendered.length > 0 ? rendered[spec.of % rendered.length] : undefined;
      const link = original?.link;
      rendered.push({
        ...common,
        title: spec.title,
        link:
          spec.by === 'guid'
            ? `https://repeat-${feedNo}-${n}.example.com/`
            : spec.by === 'variant' && link !== undefined
              ? variantOf(link)
              : link,
        // feedparser takes the link for the guid of an item without one.
        guid: spec.by === 'guid' ? (original?.guid ?? original?.link) : undefined,
        keptAs: undefined,
      });
    }
  });
  return rendered;
}

function rss(items: readonly Rendered[]): string {
  const body = items
    .map((item) =>
      [
        '<item>',
        item.title && `<title>${xmlText(item.title)}</title>`,
        item.link !== undefined && `<link>${xmlText({ text: item.link, cdata: false })}</link>`,
        item.guid !== undefined &&
          `<guid isPermaLink="false">${xmlText({ text: item.guid, cdata: false })}</guid>`,
        item.date !== undefined &&
          `<pubDate>${xmlText({ text: item.date, cdata: false })}</pubDate>`,
        item.lead && `<description>${xmlText(item.lead)}</description>`,
        '</item>',
      ]
        .filter(Boolean)
        .join(''),
    )
    .join('\n');
  return `<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0"><channel><title>Fuzzed</title><description>x</description>
${body}
</channel></rss>
`;
}

function atom(items: readonly Rendered[]): string {
  const body = items
    .map((item) =>
      [
        '<entry>',
        item.title && `<title type="text">${xmlText(item.title)}</title>`,
        item.link !== undefined && `<link rel="alternate" href="${xmlAttribute(item.link)}"/>`,
        item.guid !== undefined && `<id>${xmlText({ text: item.guid, cdata: false })}</id>`,
        item.date !== undefined &&
          `<updated>${xmlText({ text: item.date, cdata: false })}</updated>`,
        item.lead && `<summary type="html">${xmlText(item.lead)}</summary>`,
        '</entry>',
      ]
        .filter(Boolean)
        .join(''),
    )
    .join('\n');
  return `<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>Fuzzed</title><id>urn:fuzzed</id>
${body}
</feed>
`;
}

function brokenBody(kind: Broken, items: readonly Rendered[]): Buffer {
  const whole = rss(items);
  switch (kind) {
    case 'truncated':
      return Buffer.from(whole.slice(0, Math.floor(whole.length * 0.6)));
    case 'mismatched':
      return Buffer.from(whole.replace('</channel>', '</item></rss></channel>'));
    case 'html':
      return Buffer.from('<!doctype html><html><body><p>We moved!</p></body></html>');
    case 'dtd':
      return Buffer.from(
        whole
          .replace('<rss', '<!DOCTYPE rss [<!ENTITY lol "lol">]>\n<rss')
          .replace('<title>Fuzzed', '<title>&lol;'),
      );
    case 'encoding':
      return Buffer.from(whole.replace('encoding="UTF-8"', 'encoding="x-no-such-charset"'));
    case 'gzip':
      return Buffer.concat([Buffer.from([0x1f, 0x8b, 0x08, 0x00]), Buffer.from(whole)]);
  }
}

// ---------------------------------------------------------------------------------------
// What a reader can open (written apart from the code under test)

const UNREACHABLE = new BlockList();
for (const [network, prefix] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['224.0.0.0', 3],
] as const)
  UNREACHABLE.addSubnet(network, prefix, 'ipv4');
for (const [network, prefix] of [
  ['::', 127],
  ['::ffff:0:0', 96],
  ['64:ff9b::', 96],
  ['fc00::', 7],
  ['fe80::', 10],
  ['ff00::', 8],
] as const)
  UNREACHABLE.addSubnet(network, prefix, 'ipv6');

/** Why a channel reader could not open `href`, or undefined for a public http(s) URL. */
function whyUnreachable(href: string): string | undefined {
  let url: URL;
  try {
    url = new URL(href);
  } catch {
    return 'not a URL';
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return `scheme ${url.protocol}`;
  const host = url.hostname.replace(/^\[|\]$/g, '');
  const family = isIP(host);
  if (family !== 0)
    return UNREACHABLE.check(host, family === 4 ? 'ipv4' : 'ipv6') ? 'private address' : undefined;
  if (!host.includes('.') || /(^|\.)(localhost|local|internal)$/i.test(host)) return 'local name';
  return undefined;
}

const unescapeAttribute = (value: string) =>
  value
    .replace(/&quot;/g, '"')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&');

/** The link as the parser resolves it against the feed's URL, if it is http(s). */
function resolved(link: string | undefined, base: string): string | undefined {
  if (link === undefined) return undefined;
  try {
    const url = new URL(link.trim(), base);
    return /^https?:$/.test(url.protocol) ? url.toString() : undefined;
  } catch {
    return undefined;
  }
}

// ---------------------------------------------------------------------------------------

let h: NewsHarness;
let runNo = 0;

beforeAll(async () => {
  h = await startNewsHarness();
});
afterAll(async () => {
  await h.close();
});

/** One run: the feeds served at paths of their own, one cycle, then every property. */
async function checkRun(spec: RunSpec): Promise<void> {
  runNo += 1;
  await h.runtime.pool.query(
    'TRUNCATE articles, stories, channel_posts, sources, leader_epochs RESTART IDENTITY CASCADE',
  );
  h.bot.calls.length = 0;
  h.bot.refusals.length = 0;

  const served: { id: string; path: string; body: Buffer; wellFormed: boolean }[] = [];
  const fedLinks = new Set<string>();
  const mustKeep: string[] = [];
  spec.feeds.forEach((feed, n) => {
    const items = renderItems(n, feed.items);
    const path = `/run-${runNo}/feed-${n}.xml`;
    for (const item of items) {
      for (const link of [item.link, item.guid]) {
        const url = resolved(link, `${h.feeds.baseUrl}${path}`);
        if (url) fedLinks.add(url);
      }
      if (item.keptAs) mustKeep.push(item.keptAs);
    }
    const body = Buffer.from(feed.atom ? atom(items) : rss(items));
    served.push({ id: `feed-${n}`, path, body, wellFormed: true });
  });
  if (spec.broken) {
    const items = renderItems(9, spec.feeds[0]?.items ?? []);
    const path = `/run-${runNo}/broken.xml`;
    for (const item of items)
      for (const link of [item.link, item.guid]) {
        const url = resolved(link, `${h.feeds.baseUrl}${path}`);
        if (url) fedLinks.add(url);
      }
    served.push({ id: 'broken', path, body: brokenBody(spec.broken, items), wellFormed: false });
  }
  for (const source of served)
    h.feeds.setResponse(source.path, { status: 200, body: source.body, contentType: CONTENT_TYPE });

  // What the parser reads from each body: the baseline every later count must add up to.
  const parsed = new Map<string, number>();
  const refused = new Map<string, string>();
  for (const source of served) {
    try {
      const feed = await parseFeed(source.body, {
        url: `${h.feeds.baseUrl}${source.path}`,
        contentType: CONTENT_TYPE,
      });
      parsed.set(source.id, feed.items.length);
    } catch (error) {
      refused.set(source.id, String(error));
    }
  }

  // Links judged as production judges them (no NEWS_FETCH_ALLOW): the harness allows
  // loopback for fetching only.
  const news = h.publisher(
    served.map(({ id, path }) => ({ id, path })),
    { config: { fetchAllow: [], maxPosts: 10 } },
  );
  try {
    // The cycle completes with a report, and counts itself ok.
    const report = await runOnce(news);
    expect(await h.metric('herald_news_cycles_total', { outcome: 'ok' })).toBe(1);
    expect(await h.metric('herald_news_cycles_total', { outcome: 'failed' })).toBe(0);

    // Each source is healthy if its body parses, else failed with the reason recorded.
    const { rows: sources } = await h.runtime.pool.query<{
      id: string;
      consecutive_failures: number;
      last_error: string | null;
    }>('SELECT id, consecutive_failures, last_error FROM sources');
    const health = new Map(sources.map((row) => [row.id, row]));
    for (const source of served) {
      const row = health.get(source.id);
      const up = await h.metric('herald_news_source_up', { source: source.id });
      if (parsed.has(source.id))
        expect([source.id, row?.consecutive_failures, row?.last_error, up]).toEqual([
          source.id,
          0,
          null,
          1,
        ]);
      else {
        expect([source.id, row?.consecutive_failures, up]).toEqual([source.id, 1, 0]);
        expect(row?.last_error).toMatch(/^(not_a_feed|malformed|encoding|too_large): ./);
      }
    }
    expect(report.sources.failed).toBe(served.length - parsed.size);
    expect(report.sources.fetched).toBe(parsed.size);
    // A feed written as well-formed XML is read, whatever text its items hold.
    for (const source of served.filter(({ wellFormed }) => wellFormed))
      expect([source.id, refused.get(source.id)]).toEqual([source.id, undefined]);

    // Every item the parser read is archived, skipped with a reason, a duplicate or stale.
    const fed = [...parsed.values()].reduce((sum, count) => sum + count, 0);
    const skipped = await h.metric('herald_news_items_skipped_total');
    const duplicates = await h.metric('herald_news_articles_total', { outcome: 'duplicate' });
    const stale = await h.metric('herald_news_articles_total', { outcome: 'stale' });
    const { rows: articles } = await h.runtime.pool.query<{ url: string }>(
      'SELECT url FROM articles',
    );
    // Compared as a whole, so a mismatch shows every part.
    expect({ archived: articles.length, skipped, duplicates, stale, total: fed }).toEqual({
      archived: articles.length,
      skipped,
      duplicates,
      stale,
      total: articles.length + skipped + duplicates + stale,
    });
    expect(report.articles).toMatchObject({ skipped, duplicate: duplicates, stale });
    expect(report.articles.new + report.articles.nearDuplicate).toBe(articles.length);

    // Nothing with a public link and a title of its own is lost, and nothing archived links
    // anywhere the feed did not.
    const archived = new Set(articles.map((row) => row.url));
    expect(mustKeep.filter((url) => !archived.has(url))).toEqual([]);
    expect(articles.map((row) => row.url).filter((url) => !fedLinks.has(url))).toEqual([]);

    // Every post is Telegram HTML Telegram accepts, and links only where readers can go.
    expect(h.bot.refusals).toEqual([]);
    expect(report.postsFailed).toBe(0);
    const posts = h.posts();
    expect(posts).toHaveLength(report.posted);
    for (const post of posts) {
      const html = parseTelegramHtml(post);
      expect(html).toMatchObject({ ok: true });
      if (html.ok) expect(html.text.length).toBeLessThanOrEqual(4_096);
      // Telegram takes UTF-8; a lone surrogate has no UTF-8 form.
      expect(post.match(LONE_SURROGATE) ?? []).toEqual([]);
      const hrefs = [...post.matchAll(/<a href="([^"]*)">/g)].map((m) => unescapeAttribute(m[1]!));
      expect(hrefs.length).toBeGreaterThan(0);
      for (const href of hrefs) {
        expect([href, whyUnreachable(href)]).toEqual([href, undefined]);
        expect(fedLinks.has(href)).toBe(true);
      }
    }
  } finally {
    await news.close();
  }
}

/** A run of one RSS feed with `items`. */
const oneFeed = (...items: ItemSpec[]): RunSpec => ({
  broken: undefined,
  feeds: [{ atom: false, items }],
});

describe('a news cycle over random malformed feeds', () => {
  it('completes, keeps or counts every item, and posts only valid HTML with public links', async () => {
    await fc.assert(fc.asyncProperty(run, checkRun), {
      seed: SEED,
      numRuns: RUNS,
      examples: [[EXAMPLE]],
      // Shrinking replays whole cycles: cap it, keeping the smallest failure found so far.
      plugins: [fc.interruptAfterTimeLimit(240_000)],
    });
  }, 300_000);

  // Inputs the property failed on, cut down by hand to one item each.
  it.each([
    [
      'keeps a link longer than 2,048 characters whole, or leaves the item out',
      oneFeed({
        kind: 'junk',
        title: { text: 'Gold bullion behind a long link', cdata: false },
        link: `https://long.news.example/${'a'.repeat(2_100)}`,
      }),
    ],
    [
      "never cuts an astral character in two where it clips a post's title",
      // The post's title is clipped at 300 UTF-16 units: the emoji starts at unit 298.
      oneFeed({
        kind: 'good',
        title: { text: `Gold bullion ${'x'.repeat(277)}${'😀'.repeat(12)}`, cdata: false },
        guid: false,
        style: 0,
      }),
    ],
    [
      'reads a feed whose description has two lone low surrogates and markup',
      oneFeed({
        kind: 'good',
        title: { text: 'Gold bullion', cdata: false },
        lead: { text: '\uDC00\uDC00&', cdata: false },
        guid: false,
        style: 0,
      }),
    ],
  ])('%s', async (_name, spec) => {
    await checkRun(spec);
  });
});
