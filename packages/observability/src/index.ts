import type { Dashboard } from '@grafana/grafana-foundation-sdk/dashboard';
import { format, resolveConfig } from 'prettier';
import { botDashboard } from './dashboards/bot.js';
import { costDashboard } from './dashboards/cost.js';
import { inferenceDashboard } from './dashboards/inference.js';
import { newsDashboard } from './dashboards/news.js';
import { overviewDashboard } from './dashboards/overview.js';

export * from './promql.js';
export * from './external-series.js';

/** Herald's Grafana dashboards by file name (helm/herald/files/dashboards/<name>.json). */
export function buildDashboards(): Record<string, Dashboard> {
  return {
    overview: overviewDashboard().build(),
    bot: botDashboard().build(),
    news: newsDashboard().build(),
    inference: inferenceDashboard().build(),
    cost: costDashboard().build(),
  };
}

/**
 * The JSON file Grafana's sidecar loads, formatted as the repository's Prettier would (so
 * `prettier --check` passes on the committed files). `path` is where it is written.
 */
export async function dashboardJson(dashboard: Dashboard, path: string): Promise<string> {
  const options = (await resolveConfig(path)) ?? {};
  return format(JSON.stringify(dashboard), { ...options, parser: 'json', filepath: path });
}

/** Every PromQL expression of a dashboard's panels, with the panel's title. */
export function dashboardQueries(dashboard: Dashboard): { panel: string; expr: string }[] {
  const queries: { panel: string; expr: string }[] = [];
  for (const panel of dashboard.panels ?? []) {
    if (!('targets' in panel)) continue;
    for (const target of panel.targets ?? []) {
      const expr = (target as { expr?: unknown }).expr;
      if (typeof expr === 'string') queries.push({ panel: panel.title ?? '(untitled)', expr });
    }
  }
  return queries;
}
