import { describe, expect, it } from '@jest/globals';
import { articleMeta, htmlText, parseListing } from '../src/html.js';

const LISTING = `<html><body>
  <nav><a href="/about">About</a></nav>
  <article class="story"><h3>Gold <b>hits</b> a record</h3><a href="/news/article/1?utm_source=home">read</a>
    <p>Central banks keep buying.</p><time datetime="2026-11-20T08:00:00Z">yesterday</time></article>
  <article class="story"><h3>Silver lags</h3><a href="https://other.example/news/article/2">read</a></article>
  <article class="story"><h3>No link here</h3></article>
  <article class="story"><h3>Gold hits a record (again)</h3><a href="/news/article/1?utm_source=home">dup</a></article>
  <article class="story"><h3>Script link</h3><a href="javascript:alert(1)">x</a></article>
</body></html>`;

describe('parseListing', () => {
  it('finds the stories with the source’s selectors, resolving links and skipping the rest', () => {
    const items = parseListing(LISTING, {
      url: 'https://www.kitco.com/news/',
      selectors: { item: 'article.story', title: 'h3', link: 'a', summary: 'p', date: 'time' },
    });
    expect(items.map((i) => [i.title, i.url])).toEqual([
      ['Gold hits a record', 'https://www.kitco.com/news/article/1?utm_source=home'],
      ['Silver lags', 'https://other.example/news/article/2'],
    ]);
    expect(items[0]?.summary).toBe('Central banks keep buying.');
    expect(items[0]?.publishedAt?.toISOString()).toBe('2026-11-20T08:00:00.000Z');
  });

  it('finds nothing, rather than failing, when the page layout changed', () => {
    expect(
      parseListing('<html><body><div>new layout</div></body></html>', {
        url: 'https://example.com/',
        selectors: { item: 'article.story', title: 'h3', link: 'a' },
      }),
    ).toEqual([]);
  });
});

describe('articleMeta', () => {
  it('reads og: and meta tags and the article body, without navigation or scripts', () => {
    const meta = articleMeta(
      `<html><head><title>Fallback</title>
        <meta property="og:title" content="Tokenized treasuries pass $10B">
        <meta name="description" content="BUIDL and peers grew fast.">
        <meta property="og:image" content="/img/chart.png">
        <meta property="article:published_time" content="2026-11-19T10:00:00Z">
        <link rel="canonical" href="https://rwa.example/news/treasuries">
      </head><body><nav><p>Home Markets Gold RWA Partnerships and many other navigation links</p></nav>
      <article><p>Tokenized US treasury funds passed ten billion dollars in assets this week, data shows.</p>
      <script>var tracking = "this is not article text at all, no matter how long it is";</script>
      <p>Short.</p><p>Asset managers launched several new funds on public blockchains during the quarter.</p></article>
      </body></html>`,
      'https://rwa.example/news/treasuries?ref=home',
    );
    expect(meta).toMatchObject({
      title: 'Tokenized treasuries pass $10B',
      description: 'BUIDL and peers grew fast.',
      imageUrl: 'https://rwa.example/img/chart.png',
      canonicalUrl: 'https://rwa.example/news/treasuries',
    });
    expect(meta.publishedAt?.toISOString()).toBe('2026-11-19T10:00:00.000Z');
    expect(meta.text).toBe(
      'Tokenized US treasury funds passed ten billion dollars in assets this week, data shows.\n\nAsset managers launched several new funds on public blockchains during the quarter.',
    );
  });
});

describe('a date that cannot be read', () => {
  const localized = 'Mi, 02 Okt 2024 10:00:00 +0200';

  it('leaves a listed story undated rather than an Invalid Date', () => {
    const [item] = parseListing(
      `<article><h3>Gold</h3><a href="/1">read</a><time datetime="${localized}">${localized}</time></article>`,
      {
        url: 'https://example.com/',
        selectors: { item: 'article', title: 'h3', link: 'a', date: 'time' },
      },
    );
    expect(item?.title).toBe('Gold');
    expect(item?.publishedAt).toBeUndefined();
  });

  it('leaves an article page undated rather than an Invalid Date', () => {
    const meta = articleMeta(
      `<html><head><meta property="article:published_time" content="${localized}"></head>
       <body><time datetime="${localized}"></time></body></html>`,
      'https://example.com/1',
    );
    expect(meta.publishedAt).toBeUndefined();
  });
});

describe('htmlText', () => {
  it('reads HTML as text: tags dropped, blocks apart, entities decoded once', () => {
    expect(
      htmlText(
        '<p>Gold &amp; silver <b>rose</b>&nbsp;2%.</p><p>Write &amp;lt; for <.</p><script>x()</script>',
      ),
    ).toBe('Gold & silver rose 2%. Write &lt; for <.');
  });

  it('gives nothing for markup without words, and plain text as it is', () => {
    expect(htmlText('<p><img src="chart.png"></p>')).toBeUndefined();
    expect(htmlText('  Plain   lead.\n')).toBe('Plain lead.');
  });
});
