import { createHash } from 'node:crypto';

/** Query parameters that only track the reader; the article is the same without them. */
const TRACKING = [
  /^utm_/i,
  /^(fbclid|gclid|dclid|msclkid|yclid|igshid|mc_cid|mc_eid|_hsenc|_hsmi|mkt_tok)$/i,
  /^(ref|ref_src|referrer|source|src|cmpid|ncid|partner|emc|ito|wprss|kc|smid|spm)$/i,
  /^ns_(mchannel|campaign|source|linkname|fee)$/i,
  /^(amp|outputtype|output)$/i,
];

/** A link as an absolute http(s) URL against `base`; undefined for anything else. */
export function resolveHttpUrl(link: string, base: string): string | undefined {
  try {
    const url = new URL(link, base).toString();
    return /^https?:/.test(url) ? url : undefined;
  } catch {
    return undefined;
  }
}

/**
 * One URL per article, whatever link a feed gave: lowercase scheme and host without `www.`
 * or default port, no fragment, no tracking parameters, no AMP variant (`/amp`, `amp.`
 * host, `?amp=1`, `?output=amp`), no trailing slash or `index.html`, parameters sorted.
 */
export function canonicalUrl(input: string): string {
  const url = new URL(input);
  url.protocol = url.protocol.toLowerCase();
  url.hostname = url.hostname.toLowerCase().replace(/^(www|amp|m)\./, '');
  if (
    (url.protocol === 'https:' && url.port === '443') ||
    (url.protocol === 'http:' && url.port === '80')
  ) {
    url.port = '';
  }
  url.hash = '';
  const kept = [...url.searchParams.entries()]
    .filter(([name]) => !TRACKING.some((pattern) => pattern.test(name)))
    .sort(([a], [b]) => a.localeCompare(b));
  url.search = '';
  for (const [name, value] of kept) url.searchParams.append(name, value);
  let path = url.pathname
    .replace(/\/amp(\.html?)?\/?$/i, '/')
    .replace(/\/amp\//i, '/')
    .replace(/\/index\.(html?|php)$/i, '/');
  if (path.length > 1) path = path.replace(/\/+$/, '');
  url.pathname = path;
  // http and https copies of one article are one article.
  return url.toString().replace(/^http:/, 'https:');
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/** `text` with each lone surrogate (half of a character, debris of a broken encoder)
 * replaced by U+FFFD, so it has a UTF-8 form and parsers accept it. */
export function wellFormed(text: string): string {
  return text.replace(LONE_SURROGATE, '\uFFFD');
}

/** Lowercase words only: the same text however it was punctuated or spaced. */
export function normalizeText(text: string): string {
  return text
    .normalize('NFKC')
    .toLowerCase()
    .replace(/<[^>]*>/g, ' ')
    .replace(/&[a-z#0-9]+;/g, ' ')
    .replace(/[^\p{L}\p{N}]+/gu, ' ')
    .trim();
}

/** SHA-256 of the normalised title and lead: the exact-duplicate key. */
export function contentHash(title: string, lead: string | undefined): string {
  return createHash('sha256')
    .update(normalizeText(title))
    .update('\n')
    .update(normalizeText(lead ?? '').slice(0, 1_000))
    .digest('hex');
}
