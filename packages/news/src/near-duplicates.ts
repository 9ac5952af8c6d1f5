import { normalizeText } from './canonical.js';

/** Permutations in a signature; more is a finer Jaccard estimate. */
export const SIGNATURE_SIZE = 128;
/** LSH bands × rows = SIGNATURE_SIZE. 32 × 4 finds pairs at Jaccard 0.8 with p ≈ 1 − 5·10⁻⁸. */
const BANDS = 32;
const ROWS = SIGNATURE_SIZE / BANDS;

/** 32-bit FNV-1a of a string. */
function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i += 1) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

// Fixed seeds: signatures stay comparable across processes and restarts.
const SEEDS = Array.from({ length: SIGNATURE_SIZE }, (_, i) => {
  const a = (fnv1a(`a${i}`) | 1) >>> 0;
  const b = fnv1a(`b${i}`);
  return [a, b] as const;
});

/** Word 3-shingles of the normalised text (single words for very short texts). */
export function shingles(text: string): Set<string> {
  const words = normalizeText(text).split(' ').filter(Boolean);
  const set = new Set<string>();
  if (words.length < 3) {
    for (const word of words) set.add(word);
    return set;
  }
  for (let i = 0; i + 3 <= words.length; i += 1)
    set.add(`${words[i]} ${words[i + 1]} ${words[i + 2]}`);
  return set;
}

/** Exact Jaccard similarity of two shingle sets (for labelling and checks). */
export function jaccard(a: Set<string>, b: Set<string>): number {
  if (a.size === 0 && b.size === 0) return 1;
  let common = 0;
  for (const item of a) if (b.has(item)) common += 1;
  return common / (a.size + b.size - common);
}

/** The MinHash signature of a text. */
export function signature(text: string): Uint32Array {
  const values = new Uint32Array(SIGNATURE_SIZE).fill(0xffffffff);
  for (const shingle of shingles(text)) {
    const x = fnv1a(shingle);
    for (let i = 0; i < SIGNATURE_SIZE; i += 1) {
      const [a, b] = SEEDS[i]!;
      const h = (Math.imul(a, x) + b) >>> 0;
      if (h < values[i]!) values[i] = h;
    }
  }
  return values;
}

/** Words a lead needs before it tells a story apart on its own. */
export const MIN_LEAD_WORDS = 12;

/**
 * The text a story's near-duplicates are found by: its lead alone when the lead is long
 * enough, since wire copy is republished under new headlines over the same lead (title and
 * lead together then score under the threshold); the title where there is no such lead.
 */
export function storyKey(
  title: string,
  lead: string | undefined,
): { text: string; keyedBy: 'lead' | 'title' } {
  const words = normalizeText(lead ?? '')
    .split(' ')
    .filter(Boolean).length;
  return words >= MIN_LEAD_WORDS
    ? { text: lead!, keyedBy: 'lead' }
    : { text: title, keyedBy: 'title' };
}

/** The share of equal positions: an estimate of the Jaccard similarity. */
export function similarity(a: Uint32Array, b: Uint32Array): number {
  let equal = 0;
  for (let i = 0; i < SIGNATURE_SIZE; i += 1) if (a[i] === b[i]) equal += 1;
  return equal / SIGNATURE_SIZE;
}

/**
 * The estimated similarity at which two texts count as the same story. A MinHash estimate
 * from 128 values has a standard deviation of about 0.035 around a true Jaccard of 0.8, so
 * checking the estimate at 0.7 keeps pairs truly at 0.8 or more (3 deviations) while
 * pairs under 0.5 stay apart.
 */
export const NEAR_DUPLICATE_THRESHOLD = 0.7;

/**
 * The estimate at which two headlines alone count as one story. A headline has a handful
 * of shingles, so one changed word leaves it at 0.7 ("Gold price report, day 5" and
 * "…, day 6" are two stories); copies of one headline are equal once normalised.
 */
export const TITLE_DUPLICATE_THRESHOLD = 0.9;

/**
 * Finds near-duplicates among recent articles in about constant time per article:
 * signatures are bucketed by band (LSH), and only articles sharing a bucket are compared.
 */
export class NearDuplicateIndex<Id> {
  // Keyed by a 32-bit hash of (band, rows): a rare collision only adds a candidate,
  // which the similarity check then rejects.
  private readonly buckets = new Map<number, Id[]>();
  private readonly signatures = new Map<Id, Uint32Array>();

  constructor(private readonly threshold = NEAR_DUPLICATE_THRESHOLD) {}

  get size(): number {
    return this.signatures.size;
  }

  private bandKeys(sig: Uint32Array): number[] {
    const keys: number[] = [];
    for (let band = 0; band < BANDS; band += 1) {
      let hash = Math.imul(0x811c9dc5 ^ band, 0x01000193);
      for (let row = band * ROWS; row < (band + 1) * ROWS; row += 1) {
        hash = Math.imul(hash ^ sig[row]!, 0x01000193);
        hash ^= hash >>> 15;
      }
      keys.push(hash >>> 0);
    }
    return keys;
  }

  /**
   * The most similar indexed article at or above the threshold (the index's, or a stricter
   * one for this call), if any, among those `accept` lets through.
   */
  find(
    sig: Uint32Array,
    options: { accept?: (id: Id) => boolean; threshold?: number } = {},
  ): { id: Id; similarity: number } | undefined {
    const threshold = options.threshold ?? this.threshold;
    let best: { id: Id; similarity: number } | undefined;
    const seen = new Set<Id>();
    for (const key of this.bandKeys(sig)) {
      for (const id of this.buckets.get(key) ?? []) {
        if (seen.has(id)) continue;
        seen.add(id);
        if (options.accept && !options.accept(id)) continue;
        const score = similarity(sig, this.signatures.get(id)!);
        if (score >= threshold && (!best || score > best.similarity))
          best = { id, similarity: score };
      }
    }
    return best;
  }

  add(id: Id, sig: Uint32Array): void {
    this.signatures.set(id, sig);
    for (const key of this.bandKeys(sig)) {
      const bucket = this.buckets.get(key);
      if (bucket) bucket.push(id);
      else this.buckets.set(key, [id]);
    }
  }
}
