import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { createNewsControl } from '@herald/news';
import { createRegistry } from '@herald/ops';
import { startLlmDouble, type LlmDouble } from '@herald/testing';
import { createNewsMetrics } from '../src/metrics.js';
import { CHANNEL, runOnce, startNewsHarness, type NewsHarness } from './harness.js';

// The "channel silent while stories wait" alert reads these gauges: they must say when the
// channel last got a post and how many relevant stories still wait for one, from the archive
// (so a new leader reports the truth at its first cycle), and whether an operator paused posting.

let h: NewsHarness;
let llm: LlmDouble;
const minutesAgo = (n: number) => new Date(Date.now() - n * 60_000);

beforeAll(async () => {
  h = await startNewsHarness();
  llm = await startLlmDouble({ models: ['judge'], timeToFirstTokenMs: 0, tokensPerSecond: 5_000 });
  llm.setScript((request) => {
    const content = request.messages.at(-1)?.content;
    const user = typeof content === 'string' ? content : '';
    const article = JSON.parse(user.slice(user.indexOf('{'))) as { title: string };
    return {
      answer: JSON.stringify({
        relevant: true,
        category: 'gold',
        score: /first/.test(article.title) ? 0.9 : 0.6,
        reason: 'gold market news',
        summary: 'Bullion extended gains as central banks kept buying.',
      }),
    };
  });
});
afterAll(async () => {
  await llm.close();
  await h.close();
});
beforeEach(async () => {
  await h.runtime.pool.query(
    'TRUNCATE articles, stories, channel_posts, sources, leader_epochs RESTART IDENTITY CASCADE',
  );
  await createNewsControl(h.runtime.store).resume();
  h.bot.calls.length = 0;
});

const stories = [
  {
    title: 'Gold: first central bank buying record',
    link: 'https://wire.example/gold-first',
    summary: 'Central banks bought a record amount of gold bullion in the first quarter.',
    publishedAt: minutesAgo(30),
  },
  {
    title: 'Silver and platinum lag gold as miners cut output',
    link: 'https://other.example/metals-lag',
    summary: 'Silver and platinum prices fell while gold bullion held its gains on central banks.',
    publishedAt: minutesAgo(20),
  },
];

describe('channel metrics', () => {
  it('report when the channel last got a post and how many relevant stories still wait', async () => {
    h.feeds.setFeed('/wire.xml', stories);
    const news = h.publisher([{ id: 'wire', path: '/wire.xml' }], {
      env: { AI_BASE_URL: llm.baseUrl, NEWS_MODEL: 'judge', NEWS_MAX_POSTS: '1' },
    });
    const before = Math.floor(Date.now() / 1000);
    await runOnce(news);
    expect(h.posts()).toHaveLength(1);

    const lastPost = await h.metric('herald_news_last_post_timestamp_seconds', {
      channel: CHANNEL,
    });
    const recorded = await h.runtime.pool.query<{ at: string }>(
      "SELECT extract(epoch FROM max(posted_at)) AS at FROM channel_posts WHERE state = 'sent'",
    );
    expect(lastPost).toBeGreaterThanOrEqual(before);
    expect(lastPost).toBeCloseTo(Number(recorded.rows[0]?.at), 0);
    // One post per cycle: the second relevant story waits for the next one.
    expect(await h.metric('herald_news_stories_waiting', { channel: CHANNEL })).toBe(1);
    expect(await h.metric('herald_news_posting_paused')).toBe(0);

    await runOnce(news);
    expect(h.posts()).toHaveLength(2);
    expect(await h.metric('herald_news_stories_waiting', { channel: CHANNEL })).toBe(0);
    await news.close();
  });

  it('a new leader reports the last post from the archive, and says when posting is paused', async () => {
    h.feeds.setFeed('/wire.xml', stories);
    const first = h.publisher([{ id: 'wire', path: '/wire.xml' }], {
      env: { AI_BASE_URL: llm.baseUrl, NEWS_MODEL: 'judge', NEWS_MAX_POSTS: '1' },
    });
    await runOnce(first);
    await first.close();
    const posted = await h.runtime.pool.query<{ at: string }>(
      "SELECT extract(epoch FROM max(posted_at)) AS at FROM channel_posts WHERE state = 'sent'",
    );

    await createNewsControl(h.runtime.store).pause('an operator');
    const next = h.publisher([{ id: 'wire', path: '/wire.xml' }], {
      env: { AI_BASE_URL: llm.baseUrl, NEWS_MODEL: 'judge', NEWS_MAX_POSTS: '1' },
    });
    await runOnce(next);
    expect(h.posts()).toHaveLength(1);
    expect(await h.metric('herald_news_posting_paused')).toBe(1);
    expect(
      await h.metric('herald_news_last_post_timestamp_seconds', { channel: CHANNEL }),
    ).toBeCloseTo(Number(posted.rows[0]?.at), 0);
    expect(await h.metric('herald_news_stories_waiting', { channel: CHANNEL })).toBe(1);
    await next.close();
  });
});

describe('news outcome counters', () => {
  it('start at zero, so the first refused post or failed cycle after a start is an increase', async () => {
    const registry = createRegistry('news-publisher', 'test');
    createNewsMetrics(registry);
    const text = await registry.metrics();
    for (const outcome of ['posted', 'failed', 'edit_failed'])
      expect(text).toContain(
        `herald_news_posts_total{outcome="${outcome}",service="news-publisher"} 0`,
      );
    for (const outcome of ['ok', 'failed', 'lease_lost'])
      expect(text).toContain(
        `herald_news_cycles_total{outcome="${outcome}",service="news-publisher"} 0`,
      );
  });
});
