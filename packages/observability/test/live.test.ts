// A real Prometheus on loopback scrapes a running user-handler and news-publisher (their
// dist/main.js, on the test run's Postgres and Redis, with the Telegram and LLM doubles),
// loads Herald's rules, and is asked whether every series the rules and dashboards read
// exists: no alert may watch, and no panel may plot, a metric Herald does not export.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import {
  createTestDatabase,
  freePort,
  startBotApiDouble,
  startFeedServer,
  startLlmDouble,
  testRedisUrl,
  uniquePrefix,
  waitFor,
  type BotApiDouble,
  type FeedServer,
  type LlmDouble,
  type TestDatabase,
} from '@herald/testing';
import { stringify } from 'yaml';
import {
  AWAITING_SERVICE_WIRING,
  buildDashboards,
  dashboardQueries,
  EXTERNAL_SERIES,
  parsePromql,
  VLLM_DOCUMENTED_METRICS,
  withGrafanaVariables,
} from '../src/index.js';
import { prometheusTool, ROOT, RULES_FILE, ruleGroups } from './tools.js';

const SECRET = 'live-metrics-webhook-secret';
const CHANNEL = '-1001000000001';
const NAMESPACE = 'herald-live';

interface Service {
  child: ChildProcess;
  output: () => string;
}

function start(command: string, args: string[], env: Record<string, string>): Service {
  let output = '';
  const child = spawn(command, args, {
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  return { child, output: () => output };
}

const update = (updateId: number, userId: number, text: string) => ({
  update_id: updateId,
  message: {
    message_id: updateId,
    date: Math.floor(Date.now() / 1000),
    chat: { id: userId, type: 'private', first_name: 'Ada' },
    from: { id: userId, is_bot: false, first_name: 'Ada' },
    text,
  },
});

/** Every PromQL expression Herald's operators depend on, named by where it comes from. */
function allQueries(): { where: string; expr: string }[] {
  const rules = ruleGroups().flatMap((group) =>
    group.rules.map((rule) => ({
      where: `rule ${rule.alert ?? rule.record}`,
      expr: rule.expr,
    })),
  );
  const panels = Object.entries(buildDashboards()).flatMap(([name, dashboard]) =>
    dashboardQueries(dashboard).map(({ panel, expr }) => ({
      where: `dashboard ${name} / ${panel}`,
      expr: withGrafanaVariables(expr),
    })),
  );
  return [...rules, ...panels];
}

describe('rules and dashboards against a Prometheus scraping Herald', () => {
  let database: TestDatabase;
  let telegram: BotApiDouble;
  let llm: LlmDouble;
  let feeds: FeedServer;
  let dir: string;
  const services: Service[] = [];
  let prometheus: Service;
  let promUrl: string;

  const query = async (promql: string) => {
    const response = await fetch(`${promUrl}/api/v1/query?query=${encodeURIComponent(promql)}`);
    return (await response.json()) as {
      status: string;
      error?: string;
      data?: { result: { metric: Record<string, string> }[] };
    };
  };
  const seriesOf = async (metric: string) => {
    const response = await fetch(
      `${promUrl}/api/v1/series?match[]=${encodeURIComponent(`{__name__="${metric}"}`)}`,
    );
    return ((await response.json()) as { data: Record<string, string>[] }).data;
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'herald-live-metrics-'));
    database = await createTestDatabase();
    // The migrations Job's own entry point.
    await promisify(execFile)(process.execPath, [join(ROOT, 'packages/db/dist/migrate.js')], {
      env: { PATH: process.env.PATH ?? '', DATABASE_URL: database.url, LOG_LEVEL: 'warn' },
    });
    telegram = await startBotApiDouble();
    feeds = await startFeedServer();
    llm = await startLlmDouble({
      models: ['chat', 'judge'],
      timeToFirstTokenMs: 0,
      tokensPerSecond: 5_000,
      script: (request) =>
        request.model === 'judge'
          ? {
              answer: JSON.stringify({
                relevant: true,
                category: 'gold',
                score: 0.9,
                reason: 'gold market news',
                summary: 'Central banks kept buying bullion.',
              }),
            }
          : { answer: 'Gold rose on central bank buying.' },
    });
    feeds.setFeed('/wire.xml', [
      {
        title: 'Central banks buy gold bullion at a record pace',
        link: 'https://wire.example/gold-record',
        summary: 'Central banks bought a record amount of gold bullion this quarter.',
        publishedAt: new Date(Date.now() - 10 * 60_000),
      },
    ]);
    const sources = join(dir, 'sources.yaml');
    writeFileSync(
      sources,
      stringify({
        sources: [
          { id: 'wire', url: `${feeds.baseUrl}/wire.xml`, kind: 'rss', categories: ['gold'] },
        ],
      }),
    );

    const common = {
      TELEGRAM_BOT_TOKEN: telegram.token,
      TELEGRAM_API_ROOT: telegram.apiRoot,
      DATABASE_URL: database.url,
      REDIS_URL: testRedisUrl(),
      REDIS_KEY_PREFIX: uniquePrefix('live-metrics'),
      AI_BASE_URL: llm.baseUrl,
      LOG_LEVEL: 'warn',
      // As the chart sets it: the GPU replicas times their hourly price, and the rest
      // ($365 a month, under the $400 alert).
      COST_HOURLY_USD: 'inference=0.40,nodes=0.10',
    };
    const userHandlerPort = await freePort();
    const newsPublisherPort = await freePort();
    services.push(
      start(process.execPath, [join(ROOT, 'services/user-handler/dist/main.js')], {
        ...common,
        TELEGRAM_MODE: 'webhook',
        WEBHOOK_SECRET: SECRET,
        AI_MODELS: 'chat',
        AI_DEFAULT_MODEL: 'chat',
        // The second message of a minute is refused, so the rate-limit counter has a series.
        RATE_LIMIT_USER_PER_MINUTE: '1',
        PORT: String(userHandlerPort),
      }),
      start(process.execPath, [join(ROOT, 'services/news-publisher/dist/main.js')], {
        ...common,
        NEWS_CHANNEL_ID: CHANNEL,
        NEWS_SOURCES_FILE: sources,
        NEWS_FETCH_ALLOW: '127.0.0.1',
        NEWS_MODEL: 'judge',
        // A cycle every two seconds, on the clock, instead of every 30 minutes.
        NEWS_INTERVAL: '2s',
        NEWS_LOCK_TTL: '3s',
        TELEGRAM_GROUP_INTERVAL: '10ms',
        PORT: String(newsPublisherPort),
      }),
    );
    const uh = `http://127.0.0.1:${userHandlerPort}`;
    for (const port of [userHandlerPort, newsPublisherPort]) {
      await waitFor(async () => (await fetch(`http://127.0.0.1:${port}/readyz`)).status === 200, {
        what: `the service on port ${port} to be ready (output: ${services.map((s) => s.output()).join('\n')})`,
        timeoutMs: 20_000,
      });
    }

    // Prometheus, as the chart's ServiceMonitors and prometheus-operator configure it: the
    // component as `job`, the namespace and the Kubernetes Service's name as target labels
    // (so Herald's own `service` label becomes `exported_service`, and no rule may use it).
    const promPort = await freePort();
    promUrl = `http://127.0.0.1:${promPort}`;
    const target = (job: string, port: number) => ({
      job_name: job,
      static_configs: [
        {
          targets: [`127.0.0.1:${port}`],
          labels: { namespace: NAMESPACE, service: `herald-${job}` },
        },
      ],
    });
    writeFileSync(
      join(dir, 'prometheus.yml'),
      stringify({
        global: { scrape_interval: '1s', evaluation_interval: '1s' },
        rule_files: [RULES_FILE],
        scrape_configs: [
          target('user-handler', userHandlerPort),
          target('news-publisher', newsPublisherPort),
        ],
      }),
    );
    prometheus = start(
      prometheusTool('prometheus'),
      [
        `--config.file=${join(dir, 'prometheus.yml')}`,
        `--storage.tsdb.path=${join(dir, 'data')}`,
        `--web.listen-address=127.0.0.1:${promPort}`,
      ],
      {},
    );
    const seen = async (promql: string) => ((await query(promql)).data?.result.length ?? 0) > 0;
    const scraped = (promql: string, what: string) =>
      waitFor(() => seen(promql), {
        what: `Prometheus to see ${what} (its log: ${prometheus.output().slice(-500)})`,
        timeoutMs: 20_000,
      });
    await scraped('count(herald_build_info) == 2', 'both services');

    // What the alerts watch happens: questions answered (the first one seen by Prometheus
    // before the next, so rates see traffic), a user rate-limited, a call without the
    // secret, news cycles that post.
    const post = (body: object, secret = SECRET) =>
      fetch(`${uh}/telegram/webhook`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-telegram-bot-api-secret-token': secret },
        body: JSON.stringify(body),
      });
    expect((await post(update(1, 4242, 'What moves gold?'))).status).toBe(200);
    await scraped('herald_updates_processed_total{outcome="ok"} >= 1', 'the first answer');
    expect((await post(update(2, 4242, 'And silver?'))).status).toBe(200);
    expect((await post(update(3, 4343, 'Is platinum rare?'))).status).toBe(200);
    expect((await post(update(4, 4343, 'Hi'), 'not-the-secret')).status).toBe(401);
    await scraped(
      'sum(herald_updates_processed_total{outcome="ok"}) >= 3',
      'three updates handled',
    );
    await scraped('herald_news_posts_total{outcome="posted"} > 0', 'a channel post');
    await scraped('herald_rate_limited_total', 'a user rate-limited');
    // One more rule evaluation over all of it.
    await scraped('herald:slo_updates_availability:ratio_rate30d == 1', 'the SLO at 100%');
  }, 60_000);

  afterAll(async () => {
    prometheus?.child.kill('SIGKILL');
    for (const service of services) service.child.kill('SIGKILL');
    await Promise.all([telegram?.close(), llm?.close(), feeds?.close()]);
    await database?.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('finds every series each rule and panel reads, and each label it matches on', async () => {
    const recorded = new Set(
      ruleGroups().flatMap((g) => g.rules.map((r) => r.record).filter(Boolean)),
    );
    const problems: string[] = [];
    const known = new Map<string, Set<string>>();
    for (const { where, expr } of allQueries()) {
      const { selectors, errors } = parsePromql(expr);
      if (errors.length > 0) problems.push(`${where}: not PromQL near "${errors[0]!.near}"`);
      for (const { metric, matchers } of selectors) {
        if (!metric) {
          problems.push(`${where}: a selector without a metric name`);
          continue;
        }
        // Recorded series are checked through their rule's own expression.
        if (recorded.has(metric) || EXTERNAL_SERIES.has(metric)) continue;
        if (metric.startsWith('vllm:')) {
          if (!VLLM_DOCUMENTED_METRICS.has(metric))
            problems.push(`${where}: ${metric} is not on vLLM's documented list`);
          continue;
        }
        if (!known.has(metric)) {
          const series = await seriesOf(metric);
          known.set(metric, new Set(series.flatMap((labels) => Object.keys(labels))));
        }
        const labels = known.get(metric)!;
        if (AWAITING_SERVICE_WIRING.has(metric)) {
          if (labels.size > 0)
            problems.push(`${metric} is exported now: take it off AWAITING_SERVICE_WIRING`);
          continue;
        }
        if (labels.size === 0) {
          problems.push(`${where}: Herald exports no ${metric}`);
          continue;
        }
        for (const { label } of matchers) {
          if (!labels.has(label)) problems.push(`${where}: ${metric} has no label ${label}`);
          // Herald's `service` is renamed to `exported_service` by the scrape: `job` is the component.
          if (label === 'service' || label === 'exported_service')
            problems.push(`${where}: matches on ${label}, which the scrape rewrites; use job`);
        }
      }
    }
    expect(problems).toEqual([]);
  });

  it('runs every dashboard query without an error from Prometheus', async () => {
    const failures: string[] = [];
    for (const { where, expr } of allQueries()) {
      const result = await query(expr);
      if (result.status !== 'success') failures.push(`${where}: ${result.error}`);
    }
    expect(failures).toEqual([]);
  });

  it('shows a healthy Herald with every update answered and no alert but the missing vLLM', async () => {
    const availability = await query(
      `herald:slo_updates_availability:ratio_rate30d{namespace="${NAMESPACE}"}`,
    );
    expect(availability.data?.result).toEqual([
      {
        metric: expect.objectContaining({ namespace: NAMESPACE }),
        value: [expect.any(Number), '1'],
      },
    ]);
    const response = await fetch(`${promUrl}/api/v1/alerts`);
    const alerts = (
      (await response.json()) as { data: { alerts: { labels: { alertname: string } }[] } }
    ).data.alerts.map((alert) => alert.labels.alertname);
    // No vLLM runs here; everything else is well.
    expect([...new Set(alerts)]).toEqual(['HeraldInferenceDown']);
  });

  it('reads the rule file Prometheus loaded, group for group', async () => {
    const response = await fetch(`${promUrl}/api/v1/rules`);
    const groups = (
      (await response.json()) as { data: { groups: { name: string; rules: unknown[] }[] } }
    ).data.groups;
    const shape = (list: { name: string; rules: unknown[] }[]) =>
      list.map((g) => `${g.name}: ${g.rules.length}`).sort();
    expect(shape(groups)).toEqual(shape(ruleGroups()));
    expect(readFileSync(RULES_FILE, 'utf8')).toContain('groups:');
  });
});
