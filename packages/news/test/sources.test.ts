import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { repositoryRoot } from '@herald/testing';
import { parseSources, SourcesError } from '../src/sources.js';

describe('sources file', () => {
  it('reads valid sources with their defaults', () => {
    const sources = parseSources(`
sources:
  - id: kitco-gold
    url: https://www.kitco.com/rss/news.xml
    kind: rss
    categories: [gold]
  - id: example-page
    url: https://example.com/news
    kind: html
    categories: [rwa, markets]
    weight: 2
    interval: 1h
    selectors: { item: article, title: h2, link: a }
`);
    expect(sources).toHaveLength(2);
    expect(sources[0]).toMatchObject({ id: 'kitco-gold', weight: 1 });
    expect(sources[1]?.selectors?.item).toBe('article');
    // Durations are read once, here: the cycle gets milliseconds.
    expect(sources[1]?.interval).toBe(3_600_000);
    expect(sources[0]?.interval).toBeUndefined();
  });

  it('lists every problem with where it is', () => {
    let error: unknown;
    try {
      parseSources(
        `
sources:
  - id: Bad Id
    url: ftp://example.com
    kind: atom
    categories: []
  - id: page
    url: https://example.com
    kind: html
    categories: [gold]
  - id: page
    url: https://example.com/2
    kind: rss
    categories: [gold]
    colour: blue
`,
        'sources.yaml',
      );
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(SourcesError);
    const problems = (error as SourcesError).problems.join('\n');
    expect(problems).toMatch(/sources\[0\]\.id: lowercase letters/);
    expect(problems).toMatch(/sources\[0\]\.url/);
    expect(problems).toMatch(/sources\[0\]\.kind/);
    expect(problems).toMatch(/sources\[0\]\.categories/);
    expect(problems).toMatch(/sources\[1\]\.selectors: an html source needs selectors/);
    expect(problems).toMatch(/sources\[2\]/);
    expect((error as Error).message).toContain('sources.yaml is not a valid sources file');
  });

  it('says where broken YAML is', () => {
    expect(() => parseSources('sources:\n  - id: [unclosed', 'x.yaml')).toThrow(
      /not valid YAML at line/,
    );
  });
});

describe("Herald's default sources", () => {
  it('parses, with at least 14 sources and at least two HTML pages', () => {
    const text = readFileSync(
      join(repositoryRoot(), 'services/news-publisher/sources.yaml'),
      'utf8',
    );
    const sources = parseSources(text);
    expect(sources.length).toBeGreaterThanOrEqual(14);
    expect(sources.filter((s) => s.kind === 'html').length).toBeGreaterThanOrEqual(2);
    const categories = new Set(sources.flatMap((s) => s.categories));
    for (const category of ['gold', 'rwa', 'markets', 'partnerships'])
      expect(categories).toContain(category);
  });
});
