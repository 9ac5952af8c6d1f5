import { relative } from 'node:path';
import type { Logger } from '@herald/logger';
import {
  createNewsPublisher,
  DEFAULT_SOURCES_FILE,
  type CycleReport,
} from '@herald/news-publisher';
import { Registry, type ServiceRuntime } from '@herald/ops';
import { CONSOLE_CHANNEL } from './console-bot-api.js';
import type { LocalEnv } from './env.js';

/** Where local mode's news goes. */
export type NewsChannel =
  | { kind: 'console' }
  | { kind: 'telegram'; channelId: string }
  /** A token but no NEWS_CHANNEL_ID: fetched, judged and archived for /gold and the rest. */
  | { kind: 'archive' };

type NewsControl = NonNullable<Parameters<typeof createNewsPublisher>[0]['control']>;

/** A duration as the settings write it: 30m, 1h, 45s. */
export function formatDuration(ms: number): string {
  for (const [unit, size] of [
    ['h', 3_600_000],
    ['m', 60_000],
    ['s', 1_000],
  ] as const) {
    if (ms >= size && ms % size === 0) return `${ms / size}${unit}`;
  }
  return `${ms}ms`;
}

// Fetch failures that mean the site could not be reached at all (FetchError reasons, which
// the publisher records as `<reason>: <message>` in sources.last_error).
const UNREACHABLE = /^(dns|network|timeout):/;

/**
 * What the console says after the start-up cycle: one line at most about sources that
 * could not be reached (offline, every source fails: one line, not a wall of errors; the
 * publisher logs each), one about sources that failed otherwise, and what the cycle did.
 */
export async function firstCycleLines(
  runtime: ServiceRuntime,
  report: CycleReport,
): Promise<string[]> {
  const total =
    report.sources.fetched +
    report.sources.notModified +
    report.sources.failed +
    report.sources.skipped;
  const failing = await runtime.pool.query<{ last_error: string | null }>(
    'SELECT last_error FROM sources WHERE enabled AND consecutive_failures > 0',
  );
  const unreachable = failing.rows.filter((row) => UNREACHABLE.test(row.last_error ?? '')).length;
  const failed = failing.rows.length - unreachable;
  const lines: string[] = [];
  if (report.sources.fetched + report.sources.notModified > 0) {
    lines.push(
      `news: first cycle done: ${report.articles.new} new article${report.articles.new === 1 ? '' : 's'} archived, ${report.posted} posted.`,
    );
  }
  if (unreachable > 0) {
    lines.push(
      `news: ${unreachable} of ${total} sources unreachable (no internet?); details in the log`,
    );
  }
  if (failed > 0) {
    lines.push(
      `news: ${failed} of ${total} sources failed; /admin news sources and the log say why`,
    );
  }
  return lines;
}

/**
 * The news publisher inside local mode: the in-process lock (or Redis with REDIS_URL), a
 * cycle at start-up and then every NEWS_INTERVAL on the clock, posting to the console's
 * channel pane, to NEWS_CHANNEL_ID, or nowhere (archive only).
 */
export function createLocalNews(deps: {
  /** Local mode's settings, with the LLM it found applied. */
  env: LocalEnv;
  runtime: ServiceRuntime;
  logger: Logger;
  telegram: { token: string; apiRoot: string };
  channel: NewsChannel;
  /** Says a line to whoever runs local mode (the console, or the log with a token). */
  say: (line: string) => void;
}) {
  const { env, runtime, channel } = deps;
  const logger = deps.logger.child({ component: 'news' });
  const settings = {
    ...env,
    TELEGRAM_BOT_TOKEN: deps.telegram.token,
    TELEGRAM_API_ROOT: deps.telegram.apiRoot,
    // Archive only never posts (posting stays paused), so no channel is ever written to.
    NEWS_CHANNEL_ID: channel.kind === 'telegram' ? channel.channelId : CONSOLE_CHANNEL,
  };
  // The bot registers the same Bot API and LLM client metrics, and prom-client throws on
  // a name registered twice in one registry. The publisher gets its own; its news metrics
  // join local mode's /metrics.
  const registry = new Registry();
  const news = createNewsPublisher({
    env: settings,
    runtime: { ...runtime, registry },
    logger,
    ...(channel.kind === 'archive' ? { control: archiveOnly() } : {}),
  });
  for (const { name } of registry.getMetricsAsArray()) {
    const metric = registry.getSingleMetric(name);
    if (metric && /^herald_(news|leader)/.test(name)) runtime.registry.registerMetric(metric);
  }
  const stop = new AbortController();
  let running: Promise<void> | undefined;
  let inCycle = false;

  const sourcesFile = env.NEWS_SOURCES_FILE ?? DEFAULT_SOURCES_FILE;
  const shownFile = relative(process.cwd(), sourcesFile).startsWith('..')
    ? sourcesFile
    : relative(process.cwd(), sourcesFile);
  const where =
    channel.kind === 'console'
      ? 'posts shown here (channel│)'
      : channel.kind === 'telegram'
        ? `posts to ${channel.channelId}`
        : 'archive only: /gold, /rwa, /bd and /summary read it (set NEWS_CHANNEL_ID to post)';

  return {
    /** The banner's line. */
    description: `news channel: on, ${where}; ${news.sources.length} source${news.sources.length === 1 ? '' : 's'} from ${shownFile}, a cycle now and every ${formatDuration(env.NEWS_INTERVAL)}`,

    /** Runs the start-up cycle, then leads (or stands by) until `stop`. */
    start(): void {
      running = (async () => {
        inCycle = true;
        const report = await news.publisher.once(stop.signal);
        inCycle = false;
        if (report) {
          for (const line of await firstCycleLines(runtime, report)) deps.say(line);
        } else if (!stop.signal.aborted) {
          deps.say('news: the first cycle did not finish; the log says why');
        }
        if (!stop.signal.aborted) await news.publisher.run(stop.signal);
      })().catch((error: unknown) => {
        inCycle = false;
        logger.error({ err: error }, 'the news publisher stopped; the bot goes on');
        deps.say('news: the publisher stopped on an error; the log says why');
      });
    },

    /** Lets the cycle in flight finish, releases the lock and closes the LLM client. */
    async stop(): Promise<void> {
      if (inCycle) deps.say('(finishing the news cycle in flight…)');
      stop.abort();
      await running;
      await news.close();
    },
  };
}

/** Posting held paused for good: cycles fetch, judge and archive, and post nothing. */
function archiveOnly(): NewsControl {
  let runRequest: string | undefined;
  return {
    pause: async () => undefined,
    resume: async () => undefined,
    pausedBy: async () => 'local mode without NEWS_CHANNEL_ID',
    requestRun: async (by) => void (runRequest = by),
    takeRunRequest: async () => {
      const taken = runRequest;
      runRequest = undefined;
      return taken;
    },
  };
}

export type LocalNews = ReturnType<typeof createLocalNews>;
