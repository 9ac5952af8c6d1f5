import { NearDuplicateIndex, SIGNATURE_SIZE, TITLE_DUPLICATE_THRESHOLD } from '@herald/news';
import type pg from 'pg';

/** What a story's signature covers (see `storyKey`); null for the older title-and-lead form. */
export type KeyedBy = 'lead' | 'title' | null;

const SIGNATURE_BYTES = SIGNATURE_SIZE * 4;
// A loaded record: the signature, then id, first seen (ms) and kind, big-endian as
// Postgres's int8send/int4send write them. A multiple of 4 bytes, so signatures stay aligned.
const RECORD_BYTES = SIGNATURE_BYTES + 8 + 8 + 4;
// Stories per query: each blob stays far under Postgres's 1 GB value limit.
const BATCH = 50_000;

/** A signature as the bytes stored in `stories.signature` (little-endian uint32s). */
export const signatureBytes = (sig: Uint32Array) =>
  Buffer.from(sig.buffer, sig.byteOffset, sig.byteLength);

/**
 * Recent stories' MinHash signatures, kept between cycles: loaded from Postgres once, then
 * only the stories added since. It starts over when the window has moved a day past what
 * it holds, dropping expired stories, or when an archive transaction rolled back stories
 * it had already been told of.
 *
 * The window is read as one blob per query (records concatenated by Postgres, decoded in
 * one native call), not one bytea per row: a 100,000-story window is 51 MB of signatures,
 * and decoding it row by row dominated the first cycle of a process.
 */
export class StoryIndex {
  private index = new NearDuplicateIndex<number>();
  /** First seen (ms) of the title-keyed stories, which match only within `titleWindowMs`. */
  private titleKeyed = new Map<number, number>();
  private lastId = 0;
  private loadedAt = 0;
  private loading: Promise<void> | undefined;

  constructor(
    private readonly pool: pg.Pool,
    private readonly windowMs: number,
    /** A headline alone ("Gold price today") recurs; older title-only stories don't match. */
    private readonly titleWindowMs: number,
  ) {}

  /** Starts loading the window now (say at start-up), so the first cycle need not wait. */
  warm(): void {
    this.loading ??= this.load().finally(() => (this.loading = undefined));
    this.loading.catch(() => undefined);
  }

  /** Brings the index up to date with Postgres. */
  async refresh(): Promise<void> {
    if (this.loading) await this.loading.catch(() => undefined);
    await this.load();
  }

  private async load(): Promise<void> {
    if (Date.now() - this.loadedAt > 86_400_000) this.reset();
    for (;;) {
      const result = await this.pool.query<{ records: Buffer | null }>({
        text: `SELECT string_agg(signature || int8send(id) || int8send(seen_ms)
                 || int4send(CASE keyed_by WHEN 'title' THEN 2 WHEN 'lead' THEN 1 ELSE 0 END),
                 ''::bytea ORDER BY id) AS records
               FROM (SELECT id, keyed_by, signature,
                   (extract(epoch FROM first_seen_at) * 1000)::int8 AS seen_ms
                 FROM stories
                 WHERE id > $1 AND first_seen_at > now() - make_interval(secs => $2)
                   AND length(signature) = $3
                 ORDER BY id LIMIT $4) batch`,
        values: [this.lastId, this.windowMs / 1000, SIGNATURE_BYTES, BATCH],
      });
      const row = result.rows[0];
      if (!row?.records) return;
      // One aligned copy; each signature is a view into it, not an object of its own.
      const bytes = new Uint8Array(row.records);
      const words = new Uint32Array(bytes.buffer, 0, bytes.byteLength / 4);
      const view = new DataView(bytes.buffer);
      for (let at = 0; at < bytes.byteLength; at += RECORD_BYTES) {
        const tail = at + SIGNATURE_BYTES;
        const kind = view.getInt32(tail + 16);
        this.add(
          Number(view.getBigInt64(tail)),
          words.subarray(at / 4, tail / 4),
          kind === 2 ? 'title' : kind === 1 ? 'lead' : null,
          Number(view.getBigInt64(tail + 8)),
        );
      }
      if (row.records.byteLength < BATCH * RECORD_BYTES) return;
    }
  }

  /** Forgets everything; the next refresh reloads the window. */
  reset(): void {
    this.index = new NearDuplicateIndex<number>();
    this.titleKeyed = new Map();
    this.lastId = 0;
    this.loadedAt = Date.now();
  }

  /** The story an article with this signature (over the text `keyedBy` names) belongs to. */
  find(sig: Uint32Array, keyedBy: 'lead' | 'title', now = Date.now()): number | undefined {
    const oldestTitle = now - this.titleWindowMs;
    return this.index.find(sig, {
      accept: (id) => (this.titleKeyed.get(id) ?? Infinity) >= oldestTitle,
      ...(keyedBy === 'title' ? { threshold: TITLE_DUPLICATE_THRESHOLD } : {}),
    })?.id;
  }

  add(id: number, sig: Uint32Array, keyedBy: KeyedBy, firstSeenMs = Date.now()): void {
    this.index.add(id, sig);
    if (keyedBy === 'title') this.titleKeyed.set(id, firstSeenMs);
    this.lastId = Math.max(this.lastId, id);
  }

  get size(): number {
    return this.index.size;
  }
}
