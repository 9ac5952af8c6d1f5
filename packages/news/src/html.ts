import * as cheerio from 'cheerio';
import { resolveHttpUrl, wellFormed } from './canonical.js';
import type { ParsedItem } from './parse.js';
import type { Source } from './sources.js';

type Selectors = NonNullable<Source['selectors']>;

function dateOf(value: string | undefined): Date | undefined {
  if (!value) return undefined;
  const date = new Date(value.trim());
  return Number.isNaN(date.getTime()) ? undefined : date;
}

const clean = (text: string | undefined) => text?.replace(/\s+/g, ' ').trim() || undefined;

/** Elements that end a run of words: without a space there, "<p>One.</p><p>Two.</p>" reads "One.Two.". */
const BLOCKS =
  'address, article, aside, blockquote, br, dd, div, dl, dt, figcaption, figure, footer, h1, h2, h3, h4, h5, h6, header, hr, li, ol, p, pre, section, table, td, th, tr, ul';

/**
 * The text of an HTML fragment, as a reader sees it: tags dropped, entities decoded once,
 * whitespace collapsed. Undefined when nothing readable is left (a lone image, say).
 */
export function htmlText(html: string): string | undefined {
  if (!/[<&]/.test(html)) return clean(html);
  // parse5 throws on some lone surrogates (feeds write them as &#xDC00;).
  const $ = cheerio.load(wellFormed(html), null, false);
  $('script, style, noscript, template').remove();
  $(BLOCKS).before(' ').after(' ');
  return clean($.root().text());
}

/**
 * Stories listed on an HTML page, found with the source's CSS selectors. Links are
 * resolved against the page; items without a title or an http(s) link are skipped, and
 * a link listed twice on the page counts once.
 */
export function parseListing(
  html: string,
  options: { url: string; selectors: Selectors },
): ParsedItem[] {
  const $ = cheerio.load(html);
  const { selectors } = options;
  const items: ParsedItem[] = [];
  const seen = new Set<string>();
  $(selectors.item).each((_, element) => {
    const node = $(element);
    const pick = (selector: string) => {
      const found = node.find(selector).first();
      return found.length > 0 ? found : node.is(selector) ? node : undefined;
    };
    const title = clean(pick(selectors.title)?.text());
    const href = pick(selectors.link)?.attr('href');
    if (!title || !href) return;
    const url = resolveHttpUrl(href, options.url);
    if (!url || seen.has(url)) return;
    seen.add(url);
    const time = selectors.date ? pick(selectors.date) : undefined;
    items.push({
      title,
      url,
      summary: selectors.summary ? clean(pick(selectors.summary)?.text()) : undefined,
      publishedAt: dateOf(time?.attr('datetime') ?? time?.text()),
      author: undefined,
      imageUrl: undefined,
      guid: undefined,
    });
  });
  return items;
}

/** What an article page says about itself: og: and meta tags, and its body text. */
export interface ArticleMeta {
  title: string | undefined;
  description: string | undefined;
  imageUrl: string | undefined;
  publishedAt: Date | undefined;
  canonicalUrl: string | undefined;
  /** The article's paragraphs, without navigation, scripts and the like. */
  text: string | undefined;
}

/**
 * Reads an article page: its og:/meta title, description, image and date, its canonical
 * URL (absolute), and the text of its paragraphs up to `maxTextChars`.
 */
export function articleMeta(html: string, pageUrl: string, maxTextChars = 20_000): ArticleMeta {
  const $ = cheerio.load(html);
  const meta = (...names: string[]) => {
    for (const name of names) {
      const value = $(`meta[property="${name}"], meta[name="${name}"]`).first().attr('content');
      if (value?.trim()) return value.trim();
    }
    return undefined;
  };
  const absolute = (value: string | undefined) => {
    if (!value) return undefined;
    try {
      return new URL(value, pageUrl).toString();
    } catch {
      return undefined;
    }
  };
  $('script, style, noscript, nav, header, footer, aside, form, iframe').remove();
  const container =
    $('article').first().length > 0
      ? $('article').first()
      : $('main').first().length > 0
        ? $('main').first()
        : $('body');
  const paragraphs = container
    .find('p')
    .map((_, p) => clean($(p).text()))
    .get()
    .filter((text): text is string => typeof text === 'string' && text.length > 40);
  const text = paragraphs.join('\n\n').slice(0, maxTextChars) || undefined;
  return {
    title: meta('og:title', 'twitter:title') ?? clean($('title').first().text()),
    description: meta('og:description', 'description', 'twitter:description'),
    imageUrl: absolute(meta('og:image', 'twitter:image')),
    publishedAt:
      dateOf(meta('article:published_time', 'og:published_time', 'pubdate', 'date')) ??
      dateOf($('time[datetime]').first().attr('datetime')),
    canonicalUrl: absolute($('link[rel="canonical"]').attr('href') ?? meta('og:url')),
    text,
  };
}
