import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from '@jest/globals';
import {
  buildDashboards,
  dashboardJson,
  dashboardQueries,
  parsePromql,
  withGrafanaVariables,
} from '../src/index.js';
import { DASHBOARDS_DIR } from './tools.js';

const dashboards = buildDashboards();

describe('Grafana dashboards', () => {
  it('are committed exactly as the code generates them', async () => {
    const committed = readdirSync(DASHBOARDS_DIR)
      .filter((file) => file.endsWith('.json'))
      .sort();
    expect(committed).toEqual(
      Object.keys(dashboards)
        .map((name) => `${name}.json`)
        .sort(),
    );
    for (const [name, dashboard] of Object.entries(dashboards)) {
      const path = join(DASHBOARDS_DIR, `${name}.json`);
      // If this fails: pnpm --filter @herald/observability dashboards
      expect({ name, json: readFileSync(path, 'utf8') }).toEqual({
        name,
        json: await dashboardJson(dashboard, path),
      });
    }
  });

  it('cover what operators look at first', () => {
    const titles = (name: string) =>
      (dashboards[name]?.panels ?? []).map((panel) => panel.title ?? '');
    expect(titles('overview')).toEqual(
      expect.arrayContaining([
        'Availability, 30 days',
        'Error budget left, 30 days',
        'Updates received',
        'Updates answered',
        'Webhook ack latency',
        'Queue lag',
        'Pods reporting',
      ]),
    );
    expect(titles('bot')).toEqual(
      expect.arrayContaining([
        'Time to first token',
        'Tokens per second',
        'Circuit breaker',
        'Bot API calls by outcome',
        '429s by method',
        'Waits for a send slot',
      ]),
    );
    expect(titles('news')).toEqual(
      expect.arrayContaining([
        'Cycles by outcome',
        'Source up',
        'Articles by outcome',
        'Relevance verdicts',
        'Channel posts by outcome',
        'Leader',
        'Epoch',
      ]),
    );
    expect(titles('inference')).toEqual(
      expect.arrayContaining([
        'Requests running and waiting',
        'KV cache in use',
        'Time to first token',
        'Inter-token latency',
        'Tokens per second',
        'GPU utilisation',
      ]),
    );
    expect(titles('cost')).toEqual(expect.arrayContaining(['Estimated monthly cost']));
  });

  it('have unique ids, and every panel says what it shows and queries something', () => {
    const uids = Object.values(dashboards).map((dashboard) => dashboard.uid);
    expect(new Set(uids).size).toBe(uids.length);
    const problems: string[] = [];
    for (const dashboard of Object.values(dashboards)) {
      for (const panel of dashboard.panels ?? []) {
        if (panel.type === 'row') continue;
        const where = `${dashboard.title} / ${panel.title}`;
        if (!('description' in panel) || !panel.description)
          problems.push(`${where}: no description`);
        if (!('targets' in panel) || !panel.targets?.length) problems.push(`${where}: no query`);
      }
    }
    expect(problems).toEqual([]);
  });

  it('query only valid PromQL, each selecting a named metric', () => {
    const problems = Object.entries(dashboards).flatMap(([name, dashboard]) =>
      dashboardQueries(dashboard).flatMap(({ panel, expr }) => {
        const parsed = parsePromql(withGrafanaVariables(expr));
        return [
          ...parsed.errors.map((error) => `${name} / ${panel}: not PromQL near "${error.near}"`),
          ...parsed.selectors
            .filter((selector) => !selector.metric)
            .map(() => `${name} / ${panel}: a selector without a metric name`),
        ];
      }),
    );
    expect(problems).toEqual([]);
  });

  it('catch a query that is not PromQL', () => {
    // The check above is only as good as the parser's errors.
    expect(parsePromql('sum(rate(herald_updates_received_total[5m])').errors).not.toEqual([]);
    expect(parsePromql('rate(herald_x{outcome=}[5m])').errors).not.toEqual([]);
    expect(parsePromql('max by (source) (herald_news_source_up{source=~"a|b"})')).toEqual({
      selectors: [
        {
          metric: 'herald_news_source_up',
          matchers: [{ label: 'source', op: '=~', value: 'a|b' }],
        },
      ],
      errors: [],
    });
  });
});
