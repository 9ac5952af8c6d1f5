import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { MIGRATIONS_DIR } from '@herald/db';
import {
  freePort,
  startBotApiDouble,
  startFeedServer,
  startLlmDouble,
  waitFor,
} from '@herald/testing';

const MAIN = fileURLToPath(new URL('../dist/main.js', import.meta.url));
/** Where the embedded cluster lives: as root, outside HERALD_HOME (see @herald/embedded). */
let clusterDir: string | undefined;
// tcpmux's port: refused on any machine that runs the tests.
const NOTHING_LISTENS = 1;
/** Local modes still running; a failed test leaves its own behind. */
const running = new Set<ChildProcess>();

interface LocalMode {
  /** Everything printed so far, stdout and stderr. */
  output(): string;
  /** Types a line into the console chat. */
  type(line: string): void;
  /** Ends the input (Ctrl+D) and resolves with the exit status. */
  quit(): Promise<number | null>;
  /** Sends SIGTERM and resolves with the exit status. */
  terminate(): Promise<number | null>;
}

/**
 * Starts `node services/local/dist/main.js` as `pnpm start` does. Nothing on the machine
 * leaks in: no Ollama (the probe URL is a refused port unless `env` sets one), no internet
 * (news sources are `sources`, a loopback file).
 */
async function startLocal(home: string, sources: string, env: Record<string, string> = {}) {
  const child = spawn(process.execPath, [MAIN], {
    env: {
      PATH: process.env.PATH ?? '',
      HERALD_HOME: home,
      PORT: String(await freePort()),
      OLLAMA_BASE_URL: `http://127.0.0.1:${NOTHING_LISTENS}/v1`,
      NEWS_SOURCES_FILE: sources,
      NEWS_FETCH_ALLOW: '127.0.0.1',
      // Only the start-up cycle runs during a test.
      NEWS_INTERVAL: '24h',
      ...env,
    },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  running.add(child);
  const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
  void exited.then(() => running.delete(child));
  void exited.then(() => (clusterDir ??= /embedded, data in ([^\s",]+)/.exec(output)?.[1]));
  const local: LocalMode = {
    output: () => output,
    type: (line) => void child.stdin.write(`${line}\n`),
    quit: () => {
      child.stdin.end();
      return exited;
    },
    terminate: () => {
      child.kill('SIGTERM');
      return exited;
    },
  };
  return local;
}

/** Runs local mode with `input` typed into the console chat; resolves at exit. */
async function chat(
  home: string,
  sources: string,
  input: string,
): Promise<{ code: number | null; stdout: string }> {
  const local = await startLocal(home, sources);
  for (const line of input.split('\n').filter(Boolean)) local.type(line);
  const code = await local.quit();
  return { code, stdout: local.output() };
}

/** A sources file of RSS feeds at `urls`. */
async function sourcesFile(dir: string, name: string, urls: string[]): Promise<string> {
  const file = join(dir, name);
  const sources = urls.map(
    (url, n) => `  - id: ${name.replace(/\.yaml$/, '')}-${n + 1}
    url: ${url}
    kind: rss
    categories: [gold]`,
  );
  await writeFile(file, `sources:\n${sources.join('\n')}\n`);
  return file;
}

describe('local mode (pnpm start)', () => {
  let home: string;
  /** Sources on a loopback port nothing listens on: local mode offline. */
  let offline: string;
  beforeAll(async () => {
    home = await mkdtemp(join(tmpdir(), 'herald-local-'));
    offline = await sourcesFile(
      home,
      'offline.yaml',
      [1, 2, 3].map((n) => `http://127.0.0.1:${NOTHING_LISTENS}/feed-${n}.xml`),
    );
  });
  afterEach(async () => {
    // Its shutdown stops embedded Postgres; past its own time limit, no waiting any more.
    for (const child of running) {
      if (child.exitCode !== null || child.signalCode !== null) continue;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
      await exited;
      clearTimeout(timer);
    }
  }, 40_000);
  afterAll(async () => {
    await rm(home, { recursive: true, force: true });
    if (clusterDir) await rm(clusterDir, { recursive: true, force: true });
  });

  it('answers the console chat on an embedded Postgres with nothing configured', async () => {
    const { code, stdout } = await chat(home, offline, '/start\n[Status]\n/nope\n');
    expect(code).toBe(0);
    expect(stdout).toContain('console chat (TELEGRAM_BOT_TOKEN is not set)');
    expect(stdout).toContain("Hello, You! I'm Herald");
    expect(stdout).toContain('[Help] [Status]');
    // The Status button was pressed on the welcome message.
    expect(stdout).toContain('✅ Database');
    expect(stdout).toContain('✅ Shared state: in-process (local mode)');
    expect(stdout).toContain("I don't know /nope.");
  }, 60_000);

  it('keeps its data: a second start finds the database migrated', async () => {
    const { code, stdout } = await chat(home, offline, '/help\n');
    expect(code).toBe(0);
    expect(stdout).toContain('What I can do');
    const log = await readFile(join(home, 'herald.log'), 'utf8');
    const migrations = log
      .split('\n')
      .filter((line) => line.includes('database migrations are up to date'))
      .map((line) => (JSON.parse(line) as { applied: number }).applied);
    // The first start applies every committed migration; the second finds none to apply.
    const committed = (await readdir(MIGRATIONS_DIR)).filter((f) => f.endsWith('.sql')).length;
    expect(migrations).toEqual([committed, 0]);
  }, 60_000);

  it('offline, says in one line that the news sources are unreachable and how to get an LLM', async () => {
    const local = await startLocal(home, offline);
    await waitFor(() => local.output().includes('sources unreachable'), {
      timeoutMs: 30_000,
      what: 'the unreachable sources line',
    });
    expect(await local.quit()).toBe(0);
    const stdout = local.output();
    expect(stdout).toContain('news channel: on, posts shown here (channel│)');
    expect(stdout).toContain('a cycle now and every 24h');
    // One line for the three sources; each source's error is in the log only.
    expect(stdout.match(/unreachable/g)).toHaveLength(1);
    expect(stdout).toContain('news: 3 of 3 sources unreachable (no internet?); details in the log');
    expect(stdout).not.toContain('failed (network)');
    const log = await readFile(join(home, 'herald.log'), 'utf8');
    expect(log).toContain('failed (network)');
    // Nothing answered at the probe URL: the banner says how to point Herald at an LLM.
    expect(stdout).toMatch(
      /AI: none, so fallback answers: nothing answered at http:\/\/127\.0\.0\.1:\d+\/v1/,
    );
    expect(stdout).toContain('Set AI_BASE_URL to an OpenAI-compatible endpoint');
    expect(stdout).toContain('`ollama pull deepseek-r1:14b`');
  }, 60_000);

  it('shows the news channel in the console, and /gold answers from what it archived', async () => {
    const feeds = await startFeedServer();
    try {
      const now = new Date();
      feeds.setFeed('/gold.xml', [
        {
          title: 'Gold bullion climbs to a record as central banks buy',
          link: `${feeds.baseUrl}/gold/record`,
          summary: 'Spot gold rose 2% to a record per ounce as central banks added bullion.',
          publishedAt: now,
        },
        {
          title: 'Silver and platinum follow gold higher on COMEX',
          link: `${feeds.baseUrl}/gold/silver`,
          summary: 'Precious metals rallied after the gold record.',
          publishedAt: now,
        },
      ]);
      const sources = await sourcesFile(home, 'loopback.yaml', [`${feeds.baseUrl}/gold.xml`]);
      const local = await startLocal(home, sources, { TELEGRAM_GROUP_INTERVAL: '100ms' });
      await waitFor(() => local.output().includes('channel│ Silver and platinum'), {
        timeoutMs: 30_000,
        what: 'both channel posts',
      });
      local.type('/gold');
      await waitFor(() => local.output().includes('herald> Latest on gold'), {
        timeoutMs: 15_000,
        what: 'the /gold answer',
      });
      expect(await local.quit()).toBe(0);
      const stdout = local.output();

      // Each post as a reader sees it, marked as the channel's, its links spelled out.
      expect(stdout).toContain('channel│ Gold bullion climbs to a record as central banks buy');
      expect(stdout).toContain(`channel│ Sources: loopback-1 (${feeds.baseUrl}/gold/record)`);
      expect(stdout).toContain('channel│ #gold');
      expect(stdout).toContain('news: first cycle done: 2 new articles archived, 2 posted.');
      expect(stdout).not.toContain('unreachable');

      // /gold reads the articles the cycle archived.
      const answer = stdout.slice(stdout.indexOf('herald> Latest on gold'));
      expect(answer).toContain(
        `Gold bullion climbs to a record as central banks buy (${feeds.baseUrl}/gold/record)`,
      );
      expect(feeds.requests.some((request) => request.path === '/gold.xml')).toBe(true);
    } finally {
      await feeds.close();
    }
  }, 60_000);

  it('with a token, posts the news to NEWS_CHANNEL_ID on Telegram', async () => {
    const feeds = await startFeedServer();
    const telegram = await startBotApiDouble();
    try {
      feeds.setFeed('/bullion.xml', [
        {
          title: 'Central bank gold buying lifts bullion demand',
          link: `${feeds.baseUrl}/bullion/demand`,
          summary: 'Central banks bought more gold bullion this quarter.',
          publishedAt: new Date(),
        },
      ]);
      const sources = await sourcesFile(home, 'bullion.yaml', [`${feeds.baseUrl}/bullion.xml`]);
      const local = await startLocal(home, sources, {
        TELEGRAM_BOT_TOKEN: telegram.token,
        TELEGRAM_API_ROOT: telegram.apiRoot,
        NEWS_CHANNEL_ID: '@herald_gold_news',
        TELEGRAM_GROUP_INTERVAL: '100ms',
      });
      const posts = () =>
        telegram
          .callsOf('sendMessage')
          .filter((call) => call.payload.chat_id === '@herald_gold_news')
          .map((call) => String(call.payload.text));
      await waitFor(() => posts().some((text) => text.includes('Central bank gold buying')), {
        timeoutMs: 30_000,
        what: 'the channel post on Telegram',
      });
      expect(await local.terminate()).toBe(0);
      expect(local.output()).toContain('news channel: on, posts to @herald_gold_news');
      expect(posts().find((text) => text.includes('Central bank gold buying'))).toContain(
        `<a href="${feeds.baseUrl}/bullion/demand">bullion-1</a>`,
      );
    } finally {
      await telegram.close();
      await feeds.close();
    }
  }, 60_000);

  it('chats through a local Ollama when AI_BASE_URL is unset, preferring a DeepSeek-R1 distill', async () => {
    const ollama = await startLlmDouble({
      models: ['nomic-embed-text:latest', 'llama3.2:3b', 'deepseek-r1:14b'],
      script: () => ({ answer: 'Gold is money, says the local model.' }),
    });
    try {
      const local = await startLocal(home, offline, { OLLAMA_BASE_URL: ollama.baseUrl });
      local.type('What is gold?');
      await waitFor(() => local.output().includes('Gold is money, says the local model.'), {
        timeoutMs: 30_000,
        what: 'the answer of the local model',
      });
      expect(await local.quit()).toBe(0);
      const stdout = local.output();
      expect(stdout).toContain(`AI: Ollama at ${ollama.baseUrl}, model deepseek-r1:14b`);
      const asked = ollama.requests.filter((request) =>
        request.messages.some((m) => m.content === 'What is gold?'),
      );
      expect(asked.map((request) => request.model)).toEqual(['deepseek-r1:14b']);
    } finally {
      await ollama.close();
    }
  }, 60_000);
});
