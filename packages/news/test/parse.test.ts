import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { sharedFixtures } from '@herald/testing';
import { parseFeed, ParseError } from '../src/parse.js';

const feeds = sharedFixtures('feeds');
const BROKEN: Record<string, ParseError['reason']> = { 'notafeed.html': 'not_a_feed' };
const parse = (file: string) =>
  parseFeed(readFileSync(join(feeds!, file)), { url: `https://example.com/feeds/${file}` });

if (!feeds) {
  describe('the real-world feed corpus', () => {
    it.skip('needs ../shared/fixtures/feeds beside the repository; absent here, so skipped', () =>
      undefined);
  });
} else {
  describe('the real-world feed corpus (../shared/fixtures/feeds)', () => {
    const files = readdirSync(feeds).filter((f) => /\.(xml|atom|html)$/.test(f));

    it.each(files.filter((f) => !(f in BROKEN)))('parses %s', async (file) => {
      const feed = await parse(file);
      for (const item of feed.items) {
        expect(item.title.length).toBeGreaterThan(0);
        expect(item.url).toMatch(/^https?:\/\//);
      }
    });

    it.each(Object.entries(BROKEN))('refuses %s as %s', async (file, reason) => {
      await expect(parse(file)).rejects.toMatchObject({ reason });
    });

    it('decodes windows-1251 and gzipped feeds alike', async () => {
      const plain = await parse('iconv.xml');
      const gzipped = await parse('compressed.xml');
      expect(plain.items.length).toBeGreaterThan(0);
      expect(plain.items[0]!.title).toMatch(/[А-Яа-я]/);
      expect(gzipped.items.map((i) => i.title)).toEqual(plain.items.map((i) => i.title));
    });

    it('repairs a feed with an XML error (an unescaped &) and keeps every item', async () => {
      const feed = await parse('saxerror.xml');
      expect(feed.items.map((i) => i.url)).toEqual([
        'http://example.com/good',
        'http://example.com/bad?foo=1&bar=2',
        'http://example.com/after',
      ]);
    });

    it('resolves relative links against the feed and xml:base', async () => {
      const feed = await parse('rss-with-relative-urls.xml');
      expect(feed.items[0]!.url).toMatch(/^https:\/\/example\.com\/en\/games\//);
    });
  });
}

describe('bad feeds of our own', () => {
  const url = 'https://example.com/feed';
  it('refuses an XML entity bomb without expanding it', async () => {
    const bomb = `<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY a "aaaaaaaaaa">${Array.from({ length: 9 }, (_, n) => `<!ENTITY ${'b'.repeat(n + 1)} "${'&a;'.repeat(10)}">`).join('')}]><rss version="2.0"><channel><title>&bbbbbbbbb;</title></channel></rss>`;
    const before = process.memoryUsage().heapUsed;
    await expect(parseFeed(Buffer.from(bomb), { url })).rejects.toMatchObject({
      reason: 'malformed',
    });
    expect(process.memoryUsage().heapUsed - before).toBeLessThan(50 * 1024 * 1024);
  });

  it('refuses bodies that are not feeds, and unknown encodings', async () => {
    await expect(parseFeed(Buffer.from(''), { url })).rejects.toBeInstanceOf(ParseError);
    await expect(parseFeed(Buffer.from('{"json": true}'), { url })).rejects.toMatchObject({
      reason: 'not_a_feed',
    });
    await expect(
      parseFeed(Buffer.from('<?xml version="1.0" encoding="x-klingon"?><rss/>'), { url }),
    ).rejects.toMatchObject({ reason: 'encoding' });
    await expect(parseFeed(Buffer.from([0x1f, 0x8b, 1, 2, 3]), { url })).rejects.toMatchObject({
      reason: 'malformed',
    });
  });
});
