import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import { join, normalize } from 'node:path';

/** One story of a feed the server renders as RSS 2.0. */
export interface FeedStory {
  title: string;
  link: string;
  summary?: string;
  publishedAt?: Date;
}

interface Fixed {
  status: number;
  body: string | Buffer;
  contentType: string;
  headers?: Record<string, string>;
}

/** News sites on loopback: RSS feeds built from stories, fixed answers, and fixture folders. */
export interface FeedServer {
  readonly baseUrl: string;
  /** Every request: path and the validator it sent. */
  readonly requests: { path: string; ifNoneMatch: string | undefined }[];
  /** Serves `stories` as an RSS feed at `path`, with an ETag (304 when it matches). */
  setFeed(path: string, stories: FeedStory[], title?: string): void;
  /** Adds stories to the feed at `path`, newest first. */
  addStories(path: string, ...stories: FeedStory[]): void;
  /** Serves a fixed answer at `path`. */
  setResponse(path: string, response: Fixed): void;
  /** Serves the files of `dir` under `prefix` (e.g. `/fixtures/`). */
  serveDirectory(prefix: string, dir: string): void;
  close(): Promise<void>;
}

const escapeXml = (text: string) =>
  text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** An RSS 2.0 document of `stories`, as news sites publish them. */
export function renderRss(title: string, stories: readonly FeedStory[]): string {
  const items = stories
    .map(
      (story) => `    <item>
      <title>${escapeXml(story.title)}</title>
      <link>${escapeXml(story.link)}</link>
      <guid isPermaLink="true">${escapeXml(story.link)}</guid>
      ${story.summary ? `<description>${escapeXml(story.summary)}</description>` : ''}
      ${story.publishedAt ? `<pubDate>${story.publishedAt.toUTCString()}</pubDate>` : ''}
    </item>`,
    )
    .join('\n');
  return `<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0">
  <channel>
    <title>${escapeXml(title)}</title>
    <link>https://example.com/</link>
    <description>${escapeXml(title)}</description>
${items}
  </channel>
</rss>
`;
}

export async function startFeedServer(): Promise<FeedServer> {
  const feeds = new Map<string, { title: string; stories: FeedStory[] }>();
  const fixed = new Map<string, Fixed>();
  const folders = new Map<string, string>();
  const requests: FeedServer['requests'] = [];

  const server = createServer((request, response) => {
    void (async () => {
      const path = new URL(request.url ?? '/', 'http://feeds').pathname;
      const ifNoneMatch = request.headers['if-none-match'];
      requests.push({ path, ifNoneMatch });
      const feed = feeds.get(path);
      if (feed) {
        const body = renderRss(feed.title, feed.stories);
        const etag = `"${createHash('sha1').update(body).digest('hex')}"`;
        if (ifNoneMatch === etag) {
          response.writeHead(304, { etag }).end();
          return;
        }
        response.writeHead(200, { 'content-type': 'application/rss+xml; charset=utf-8', etag });
        response.end(body);
        return;
      }
      const answer = fixed.get(path);
      if (answer) {
        response.writeHead(answer.status, {
          'content-type': answer.contentType,
          ...answer.headers,
        });
        response.end(answer.body);
        return;
      }
      for (const [prefix, dir] of folders) {
        if (!path.startsWith(prefix)) continue;
        const file = normalize(decodeURIComponent(path.slice(prefix.length)));
        if (file.startsWith('..')) break;
        try {
          const body = await readFile(join(dir, file));
          response.writeHead(200, {
            'content-type': file.endsWith('.html') ? 'text/html' : 'application/xml',
          });
          response.end(body);
          return;
        } catch {
          break;
        }
      }
      response.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
    })();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };

  return {
    baseUrl: `http://127.0.0.1:${port}`,
    requests,
    setFeed(path, stories, title = `Feed ${path}`) {
      feeds.set(path, { title, stories: [...stories] });
    },
    addStories(path, ...stories) {
      const feed = feeds.get(path) ?? { title: `Feed ${path}`, stories: [] };
      feed.stories.unshift(...stories);
      feeds.set(path, feed);
    },
    setResponse(path, answer) {
      fixed.set(path, answer);
    },
    serveDirectory(prefix, dir) {
      folders.set(prefix, dir);
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
