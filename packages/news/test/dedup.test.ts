import { describe, expect, it } from '@jest/globals';
import { canonicalUrl, contentHash } from '../src/canonical.js';
import { jaccard, NearDuplicateIndex, shingles, signature } from '../src/near-duplicates.js';

describe('canonicalUrl', () => {
  it.each([
    [
      'https://www.Example.com/news/gold-rises/?utm_source=x&utm_medium=rss&fbclid=abc#top',
      'https://example.com/news/gold-rises',
    ],
    ['http://example.com:80/news/gold-rises/amp', 'https://example.com/news/gold-rises'],
    ['https://amp.example.com/news/gold-rises/amp/', 'https://example.com/news/gold-rises'],
    ['https://example.com/amp/news/gold-rises?amp=1', 'https://example.com/news/gold-rises'],
    ['https://example.com/news/gold-rises/index.html', 'https://example.com/news/gold-rises'],
    ['https://example.com/a?b=2&a=1&ns_campaign=1490', 'https://example.com/a?a=1&b=2'],
  ])('%s → %s', (input, expected) => {
    expect(canonicalUrl(input)).toBe(expected);
  });

  it('keeps parameters that name the article', () => {
    expect(canonicalUrl('https://example.com/article.php?id=42&utm_campaign=x')).toBe(
      'https://example.com/article.php?id=42',
    );
  });
});

describe('contentHash', () => {
  it('is the same however the text was punctuated, cased or spaced', () => {
    expect(contentHash('Gold Hits Record!', '<p>Central banks  buy.</p>')).toBe(
      contentHash('gold hits record', 'Central banks buy'),
    );
    expect(contentHash('Gold hits record', 'a')).not.toBe(contentHash('Gold hits record', 'b'));
  });
});

describe('near-duplicate detection', () => {
  const story =
    'Gold prices rose to a record high on Tuesday as central banks kept buying bullion and investors sought safety from trade tensions, while the dollar slipped against major currencies';

  it('finds the same story reworded a little on another site, and not a different story', () => {
    const index = new NearDuplicateIndex<string>(0.7);
    index.add('original', signature(story));
    const reworded = `${story.replace('on Tuesday', 'this Tuesday')} analysts said`;
    expect(jaccard(shingles(story), shingles(reworded))).toBeGreaterThan(0.7);
    expect(index.find(signature(reworded))?.id).toBe('original');
    const other =
      'Tokenized treasury funds passed ten billion dollars in assets as asset managers launched new products on public blockchains this quarter';
    expect(index.find(signature(other))).toBeUndefined();
  });

  it('estimates Jaccard similarity closely', () => {
    const words = story.split(' ');
    for (const cut of [2, 5, 8]) {
      const variant = [...words.slice(0, -cut), 'and', 'more', 'words', 'here'].join(' ');
      const exact = jaccard(shingles(story), shingles(variant));
      const index = new NearDuplicateIndex<string>(0);
      index.add('x', signature(story));
      expect(Math.abs(index.find(signature(variant))!.similarity - exact)).toBeLessThan(0.15);
    }
  });
});
