import { Readable } from 'node:stream';
import { TextDecoder } from 'node:util';
import { gunzipSync } from 'node:zlib';
import * as cheerio from 'cheerio';
import FeedParser from 'feedparser';
import { resolveHttpUrl } from './canonical.js';
import { htmlText } from './html.js';

/**
 * One story as a feed or a page lists it. A feed's items come as the feed has them, so
 * that whoever keeps them can count what it leaves out: the title may be empty, and the
 * url empty or not an http(s) URL (a page's listing yields only usable items).
 */
export interface ParsedItem {
  title: string;
  /** Absolute where it resolves, as published (canonicalised later). */
  url: string;
  /** The lead as plain text: a feed's description without its markup, entities decoded. */
  summary: string | undefined;
  publishedAt: Date | undefined;
  author: string | undefined;
  imageUrl: string | undefined;
  guid: string | undefined;
}

export interface ParsedFeed {
  title: string | undefined;
  items: ParsedItem[];
  /** Items whose fields could not be read at all, left out. */
  unreadable: number;
  /** XML errors the parser stepped over (the valid items around them are kept). */
  repairs: string[];
}

/** A body that is not a usable feed; `reason` is the metric label. */
export class ParseError extends Error {
  constructor(
    readonly reason: 'not_a_feed' | 'malformed' | 'encoding' | 'too_large',
    message: string,
  ) {
    super(message);
    this.name = 'ParseError';
  }
}

/** Largest feed text parsed, after decompression and decoding. */
const MAX_TEXT_CHARS = 10 * 1024 * 1024;

/**
 * Windows-1252's characters for bytes 0x80–0x9F (the WHATWG index); the five bytes it
 * leaves undefined stay C1 controls, as the standard says.
 */
const WINDOWS_1252_HIGH = String.fromCharCode(
  ...[0x20ac, 0x81, 0x201a, 0x192, 0x201e, 0x2026, 0x2020, 0x2021],
  ...[0x2c6, 0x2030, 0x160, 0x2039, 0x152, 0x8d, 0x17d, 0x8f],
  ...[0x90, 0x2018, 0x2019, 0x201c, 0x201d, 0x2022, 0x2013, 0x2014],
  ...[0x2dc, 0x2122, 0x161, 0x203a, 0x153, 0x9d, 0x17e, 0x178],
);

/**
 * Node 20.18.3 and later decode windows-1252 (and the latin1 and iso-8859-1 labels that
 * mean it) as ISO-8859-1, turning € and curly quotes into C1 controls (nodejs/node#60888);
 * the table puts them back.
 */
const decodeWindows1252 = (bytes: Buffer) =>
  bytes
    .toString('latin1')
    .replace(/[\x80-\x9f]/g, (c) => WINDOWS_1252_HIGH[c.charCodeAt(0) - 0x80] ?? c);

/**
 * Decodes a feed to text: gzip by its magic bytes (some servers send a .gz file without
 * saying so), then the charset from the XML declaration or the Content-Type. With neither,
 * UTF-8 if the bytes are UTF-8, else Windows-1252.
 */
export function decodeFeed(body: Buffer, contentType?: string): string {
  let bytes = body;
  if (bytes[0] === 0x1f && bytes[1] === 0x8b) {
    try {
      bytes = gunzipSync(bytes, { maxOutputLength: MAX_TEXT_CHARS });
    } catch (error) {
      throw new ParseError(
        'malformed',
        `gzip data that does not decompress (${(error as Error).message})`,
      );
    }
  }
  const head = bytes.subarray(0, 200).toString('latin1');
  const declared =
    /<\?xml[^>]*encoding=["']([\w.:-]+)["']/i.exec(head)?.[1] ??
    /charset=["']?([\w.:-]+)/i.exec(contentType ?? '')?.[1];
  if (!declared) {
    try {
      return new TextDecoder('utf-8', { fatal: true }).decode(bytes).replace(/^\uFEFF/, '');
    } catch {
      // Feeds that declare nothing and are not UTF-8 are, in practice, Latin-1 written by
      // Windows tools; Windows-1252 is Latin-1 plus € and curly quotes in 0x80–0x9F.
      return decodeWindows1252(bytes);
    }
  }
  let decoder: TextDecoder;
  try {
    decoder = new TextDecoder(declared.toLowerCase());
  } catch {
    throw new ParseError('encoding', `unknown character encoding ${declared}`);
  }
  if (decoder.encoding === 'windows-1252') return decodeWindows1252(bytes);
  return decoder.decode(bytes).replace(/^\uFEFF/, '');
}

/** What feedparser 2.6 keeps on itself while it parses; `readHtmlAsPublished` reaches in. */
interface FeedParserInternals {
  /** Its sax stream; its `text` and `cdata` events both feed one handler. */
  stream: NodeJS.EventEmitter;
  /** Open elements, innermost first, each with the text gathered so far. */
  stack: { '#name'?: string; '#local'?: string; '#'?: string }[];
  /** Set while inside an element whose content it keeps as markup (Atom type="xhtml"). */
  in_xhtml: boolean;
  xhtml: { '#name': string; '#': string };
}

/** Elements (RSS) whose content is HTML, escaped or in CDATA, but sometimes written raw. */
const HTML_CONTENT = new Set(['description', 'content:encoded']);
/** Elements (by local name) whose content is text, yet often HTML-escaped inside CDATA. */
const TEXT_CONTENT = new Set(['title', 'author', 'creator', 'name']);

const escapeHtml = (text: string) =>
  text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/**
 * Makes feedparser keep two things it loses. Raw, unescaped HTML inside a description is
 * otherwise taken for XML elements and dropped; it is kept as markup, the way feedparser
 * keeps Atom's type="xhtml" content. And a title written as `<![CDATA[Gold &amp; silver]]>`
 * is meant as HTML, but CDATA is never entity-decoded; it is decoded here, once, and only
 * there: escaped text was already decoded by the XML parser, and `AT&amp;amp;T` must stay
 * `AT&amp;T`.
 */
function readHtmlAsPublished(parser: FeedParser): void {
  const internals = parser as unknown as FeedParserInternals;
  const { stream } = internals;
  const [handleText] = stream.listeners('text') as ((text: string) => void)[];
  if (!handleText) throw new Error('feedparser has no text handler on its sax stream');
  stream.removeAllListeners('text');
  stream.removeAllListeners('cdata');
  // Before feedparser's own handler, so the element opening inside the description is
  // already read as markup.
  stream.prependListener('opentag', () => {
    const parent = internals.stack[0];
    if (internals.in_xhtml || !parent?.['#name'] || !HTML_CONTENT.has(parent['#name'])) return;
    internals.in_xhtml = true;
    internals.xhtml = { '#name': parent['#name'], '#': escapeHtml(parent['#'] ?? '') };
    parent['#'] = '';
  });
  // Markup gathered this way is HTML, so its text must stay escaped (feedparser's own
  // type="xhtml" handling would turn "&lt;" into a tag).
  stream.on('text', (text: string) => handleText(internals.in_xhtml ? escapeHtml(text) : text));
  stream.on('cdata', (text: string) => {
    const local = internals.stack[0]?.['#local'];
    if (internals.in_xhtml) handleText(text);
    // Read as a browser shows it (tags dropped, entities decoded), but not trimmed: text
    // outside the CDATA may follow.
    else if (local && TEXT_CONTENT.has(local) && /[<&]/.test(text))
      handleText(cheerio.load(text, null, false).text());
    else handleText(text);
  });
}

const validDate = (date: Date | null | undefined) =>
  date && !Number.isNaN(date.getTime()) ? date : undefined;

/** A feedparser item as Herald reads it: links resolved, text without markup. */
function readItem(item: FeedParser.Item, feedUrl: string): ParsedItem {
  const link =
    item.origlink || item.link || (item.guid && /^https?:\/\//.test(item.guid) ? item.guid : '');
  return {
    title: (item.title ?? '').trim(),
    url: link ? (resolveHttpUrl(link, feedUrl) ?? link) : '',
    // A description that is only an image has no text; the full content then leads.
    summary:
      (item.summary ? htmlText(item.summary) : undefined) ??
      (item.description ? htmlText(item.description) : undefined),
    // feedparser returns an Invalid Date for dates it cannot read ("Mi, 02 Okt 2024").
    publishedAt: validDate(item.pubdate) ?? validDate(item.date),
    author: item.author?.trim() || undefined,
    imageUrl: item.image?.url ?? undefined,
    guid: item.guid ?? undefined,
  };
}

/**
 * Parses RSS, Atom or RDF (feedparser, on sax: no DTDs or external entities are loaded,
 * so an entity bomb stays text). Relative links are resolved against the feed's URL and
 * any xml:base. Titles, authors and summaries come out as text: entities decoded once,
 * summaries without their markup. A body that is not a feed, or breaks off, is refused with
 * the reason.
 */
export async function parseFeed(
  body: Buffer,
  options: { url: string; contentType?: string | undefined },
): Promise<ParsedFeed> {
  const text = decodeFeed(body, options.contentType);
  if (text.length > MAX_TEXT_CHARS)
    throw new ParseError('too_large', 'the feed is too large to parse');
  if (/<!ENTITY/i.test(text.slice(0, 20_000))) {
    // Feeds have no business declaring entities; refusing them stops entity bombs outright.
    throw new ParseError('malformed', 'the feed declares XML entities (a DTD); refused');
  }
  return new Promise((resolve, reject) => {
    const parser = new FeedParser({ feedurl: options.url, addmeta: false, normalize: true });
    readHtmlAsPublished(parser);
    const items: ParsedItem[] = [];
    let unreadable = 0;
    let settled = false;
    const fail = (error: ParseError) => {
      if (settled) return;
      settled = true;
      reject(error);
    };
    parser.on('error', (error: Error) => {
      const message = error.message;
      fail(
        /Not a feed/i.test(message)
          ? new ParseError('not_a_feed', 'the body is not an RSS, Atom or RDF feed')
          : new ParseError(
              'malformed',
              `the feed is not well-formed XML: ${message.split('\n')[0]}`,
            ),
      );
    });
    parser.on('readable', () => {
      let item: FeedParser.Item | null;
      while ((item = parser.read())) {
        try {
          items.push(readItem(item, options.url));
        } catch {
          // One item's fields broke a decoder: it goes, counted; the feed's others stay.
          unreadable += 1;
        }
      }
    });
    parser.on('end', () => {
      if (settled) return;
      settled = true;
      const skipped = (parser as unknown as { errors?: Error[] }).errors ?? [];
      resolve({
        title: parser.meta?.title ?? undefined,
        items,
        unreadable,
        repairs: skipped.map((error) => error.message.split('\n')[0] ?? String(error)),
      });
    });
    Readable.from([text]).pipe(parser);
  });
}
