import {
  canonicalUrl,
  normalizeText,
  unreachableLinkReason,
  wellFormed,
  type ParsedItem,
} from '@herald/news';
import { clipText } from '@herald/telegram';

/** An item fit to archive: every field within bounds, its link one a reader can open. */
export interface CleanItem extends ParsedItem {
  canonicalUrl: string;
}

/** Why an item was left out; each is a metric label. */
export type SkipReason =
  | 'no_title'
  | 'no_link'
  | 'not_http'
  | 'private_address'
  | 'local_name'
  | 'link_too_long'
  | 'malformed';

/** What was mended in an item that was kept. */
export type Repair =
  | 'bad_date'
  | 'title_from_lead'
  | 'clipped'
  | 'control_characters'
  | 'boilerplate_lead'
  | 'bad_image';

export interface CleanedItems {
  items: CleanItem[];
  /** Repeats of a link or guid earlier in the same feed: exact duplicates. */
  duplicates: number;
  skipped: Map<SkipReason, { count: number; example: string }>;
  repaired: Map<Repair, number>;
}

// Nothing Herald archives was published before the web carried news; a date past
// tomorrow is a feed's clock or template, not a story from the future.
const EARLIEST_DATE_MS = Date.UTC(1990, 0, 1);
const FUTURE_SLACK_MS = 24 * 3_600_000;

const MAX_TITLE_CHARS = 1_000;
const MAX_LEAD_CHARS = 4_000;
const MAX_AUTHOR_CHARS = 200;
const MAX_URL_CHARS = 2_048;
const TITLE_FROM_LEAD_CHARS = 160;

// NUL cannot be stored in Postgres text; other C0 controls and non-characters are debris
// of broken encoders that only damage what readers see, as are lone surrogates.
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F\uFFFE\uFFFF]/g;

/** `text` without control characters or lone surrogates, and whether any were there. */
function scrub(text: string): { text: string; changed: boolean } {
  const clean = wellFormed(text.replace(CONTROL, ''));
  return { text: clean, changed: clean !== text };
}

/** A title made of the lead's opening words, for items that have only a lead. */
function titleFromLead(lead: string): string {
  const text = lead
    .replace(/<[^>]*>/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
  if (text.length <= TITLE_FROM_LEAD_CHARS) return text;
  const cut = clipText(text, TITLE_FROM_LEAD_CHARS);
  const space = cut.lastIndexOf(' ');
  return `${space > 40 ? cut.slice(0, space) : cut}…`;
}

/**
 * Makes a source's parsed items safe to archive and post, one item at a time, so no field
 * of any item can fail the cycle: dates that are invalid, before 1990 or in the future
 * count as missing (the time first seen stands in); text loses control characters and is
 * clipped; an item without a title takes one from its lead; links readers cannot open
 * (other schemes, private or local addresses) are left out, and repeats of a link or
 * guid inside the feed counted as duplicates; a lead shared by several items of the feed is boilerplate and
 * dropped. Every skip and repair is counted by reason.
 */
export function cleanItems(
  items: readonly ParsedItem[],
  options: { now: number; allow: readonly string[] },
): CleanedItems {
  const result: CleanedItems = {
    items: [],
    duplicates: 0,
    skipped: new Map(),
    repaired: new Map(),
  };
  const skip = (reason: SkipReason, item: ParsedItem) => {
    const entry = result.skipped.get(reason);
    if (entry) entry.count += 1;
    else
      result.skipped.set(reason, {
        count: 1,
        example: clipText(String(item.url || item.title || item.guid || ''), 200),
      });
  };
  const repair = (what: Repair) => result.repaired.set(what, (result.repaired.get(what) ?? 0) + 1);
  const seenLinks = new Set<string>();
  const seenGuids = new Set<string>();

  for (const item of items) {
    try {
      const cleaned = cleanItem(item, options, repair);
      if (typeof cleaned === 'string') {
        skip(cleaned, item);
        continue;
      }
      const guid = cleaned.guid;
      if (seenLinks.has(cleaned.canonicalUrl) || (guid !== undefined && seenGuids.has(guid))) {
        result.duplicates += 1;
        continue;
      }
      seenLinks.add(cleaned.canonicalUrl);
      if (guid !== undefined) seenGuids.add(guid);
      result.items.push(cleaned);
    } catch {
      // A shape no rule above foresaw: the item goes, the feed's other items stay.
      skip('malformed', item);
    }
  }

  const leadCounts = new Map<string, number>();
  for (const item of result.items) {
    const lead = item.summary ? normalizeText(item.summary) : '';
    if (lead) leadCounts.set(lead, (leadCounts.get(lead) ?? 0) + 1);
  }
  for (const item of result.items) {
    if (item.summary && (leadCounts.get(normalizeText(item.summary)) ?? 0) > 1) {
      item.summary = undefined;
      repair('boilerplate_lead');
    }
  }
  return result;
}

function cleanItem(
  item: ParsedItem,
  options: { now: number; allow: readonly string[] },
  repair: (what: Repair) => void,
): CleanItem | SkipReason {
  const text = (value: unknown, max: number, singleLine: boolean): string | undefined => {
    if (typeof value !== 'string') return undefined;
    const scrubbed = scrub(value);
    if (scrubbed.changed) repair('control_characters');
    let clean = scrubbed.text;
    if (singleLine) clean = clean.replace(/\s+/g, ' ');
    clean = clean.trim();
    if (clean.length > max) {
      repair('clipped');
      clean = clipText(clean, max).trimEnd();
    }
    return clean === '' ? undefined : clean;
  };

  const summary = text(item.summary, MAX_LEAD_CHARS, false);
  let title = text(item.title, MAX_TITLE_CHARS, true);
  if (!title) {
    if (!summary) return 'no_title';
    title = titleFromLead(summary);
    if (!title) return 'no_title';
    repair('title_from_lead');
  }

  // A link is never clipped: a cut link leads nowhere.
  const url = text(item.url, Infinity, true);
  if (!url) return 'no_link';
  if (url.length > MAX_URL_CHARS) return 'link_too_long';
  const unreachable = unreachableLinkReason(url, options.allow);
  if (unreachable) return unreachable;

  let publishedAt: Date | undefined;
  const date = item.publishedAt as unknown;
  if (date !== undefined && date !== null) {
    const ms = date instanceof Date ? date.getTime() : Number.NaN;
    if (Number.isFinite(ms) && ms >= EARLIEST_DATE_MS && ms <= options.now + FUTURE_SLACK_MS)
      publishedAt = new Date(ms);
    else repair('bad_date');
  }

  let imageUrl = text(item.imageUrl, Infinity, true);
  if (
    imageUrl &&
    (imageUrl.length > MAX_URL_CHARS || unreachableLinkReason(imageUrl, options.allow))
  ) {
    imageUrl = undefined;
    repair('bad_image');
  }

  return {
    title,
    url,
    canonicalUrl: canonicalUrl(url),
    summary,
    publishedAt,
    author: text(item.author, MAX_AUTHOR_CHARS, true),
    imageUrl,
    guid: text(item.guid, MAX_URL_CHARS, true),
  };
}
