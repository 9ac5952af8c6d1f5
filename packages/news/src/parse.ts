import { Readable } from 'node:stream';
import { TextDecoder } from 'node:util';
import { gunzipSync } from 'node:zlib';
import FeedParser from 'feedparser';
import { resolveHttpUrl } from './canonical.js';

/** One story as a feed or a page lists it. */
export interface ParsedItem {
  title: string;
  /** Absolute, as published (canonicalised later). */
  url: string;
  summary: string | undefined;
  publishedAt: Date | undefined;
  author: string | undefined;
  imageUrl: string | undefined;
  guid: string | undefined;
}

export interface ParsedFeed {
  title: string | undefined;
  items: ParsedItem[];
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
 * Decodes a feed to text: gzip by its magic bytes (some servers send a .gz file without
 * saying so), then the charset from the XML declaration or the Content-Type.
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
    /charset=["']?([\w.:-]+)/i.exec(contentType ?? '')?.[1] ??
    'utf-8';
  let decoder: TextDecoder;
  try {
    decoder = new TextDecoder(declared.toLowerCase());
  } catch {
    throw new ParseError('encoding', `unknown character encoding ${declared}`);
  }
  return decoder.decode(bytes).replace(/^\uFEFF/, '');
}

/**
 * Parses RSS, Atom or RDF (feedparser, on sax: no DTDs or external entities are loaded,
 * so an entity bomb stays text). Relative links are resolved against the feed's URL and
 * any xml:base. A body that is not a feed, or breaks off, is refused with the reason.
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
    const items: ParsedItem[] = [];
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
        const link =
          item.origlink ||
          item.link ||
          (item.guid && /^https?:\/\//.test(item.guid) ? item.guid : '');
        const title = (item.title ?? '').trim();
        if (!link || !title) continue;
        const url = resolveHttpUrl(link, options.url);
        if (!url) continue;
        items.push({
          title,
          url,
          summary: item.summary ?? item.description ?? undefined,
          publishedAt: item.pubdate ?? item.date ?? undefined,
          author: item.author ?? undefined,
          imageUrl: item.image?.url ?? undefined,
          guid: item.guid ?? undefined,
        });
      }
    });
    parser.on('end', () => {
      if (settled) return;
      settled = true;
      const skipped = (parser as unknown as { errors?: Error[] }).errors ?? [];
      resolve({
        title: parser.meta?.title ?? undefined,
        items,
        repairs: skipped.map((error) => error.message.split('\n')[0] ?? String(error)),
      });
    });
    Readable.from([text]).pipe(parser);
  });
}
