import * as common from '@grafana/grafana-foundation-sdk/common';
import * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';
import * as prometheus from '@grafana/grafana-foundation-sdk/prometheus';
import * as stat from '@grafana/grafana-foundation-sdk/stat';
import * as timeseries from '@grafana/grafana-foundation-sdk/timeseries';

/** Every panel reads the Prometheus the dashboard's `datasource` variable names. */
const DATASOURCE = { type: 'prometheus', uid: '${datasource}' };

/** The `namespace` matcher every Herald query carries: one install, or all of them. */
export const NS = 'namespace=~"$namespace"';

/** A PromQL query of a panel, with the legend its series get. */
export interface Query {
  expr: string;
  legend?: string;
}

function target(query: Query, index: number): prometheus.DataqueryBuilder {
  return new prometheus.DataqueryBuilder()
    .datasource(DATASOURCE)
    .expr(query.expr)
    .legendFormat(query.legend ?? '__auto')
    .refId(String.fromCharCode(65 + index));
}

/** A time series panel: how something moves over time. */
export function graph(
  title: string,
  description: string,
  unit: string,
  queries: Query[],
  options: { width?: number; stacked?: boolean } = {},
): timeseries.PanelBuilder {
  const panel = new timeseries.PanelBuilder()
    .title(title)
    .description(description)
    .datasource(DATASOURCE)
    .unit(unit)
    .span(options.width ?? 8)
    .height(8)
    .fillOpacity(options.stacked ? 30 : 10);
  if (options.stacked) {
    panel.stacking(new common.StackingConfigBuilder().mode(common.StackingMode.Normal));
  }
  queries.forEach((query, index) => panel.withTarget(target(query, index)));
  return panel;
}

/**
 * A single figure, coloured against its thresholds: `[[color, from], …]` from the lowest
 * step up (the first `from` is ignored: it is where the scale starts).
 */
export function figure(
  title: string,
  description: string,
  unit: string,
  query: Query,
  steps: [string, number | null][],
  options: { width?: number; decimals?: number } = {},
): stat.PanelBuilder {
  const panel = new stat.PanelBuilder()
    .title(title)
    .description(description)
    .datasource(DATASOURCE)
    .unit(unit)
    .span(options.width ?? 6)
    .height(5)
    .thresholds(
      new dashboard.ThresholdsConfigBuilder()
        .mode(dashboard.ThresholdsMode.Absolute)
        .steps(steps.map(([color, from], index) => ({ color, value: index === 0 ? null : from }))),
    )
    .withTarget(target(query, 0));
  if (options.decimals !== undefined) panel.decimals(options.decimals);
  return panel;
}

/** A dashboard with Herald's two variables: the Prometheus to read and the namespace(s). */
export function heraldDashboard(uid: string, title: string, description: string) {
  return new dashboard.DashboardBuilder(title)
    .uid(uid)
    .description(description)
    .tags(['herald'])
    .refresh('1m')
    .time({ from: 'now-6h', to: 'now' })
    .timezone('browser')
    .withVariable(
      new dashboard.DatasourceVariableBuilder('datasource').label('Prometheus').type('prometheus'),
    )
    .withVariable(
      new dashboard.QueryVariableBuilder('namespace')
        .label('Namespace')
        .datasource(DATASOURCE)
        .query('label_values(herald_build_info, namespace)')
        .refresh(dashboard.VariableRefresh.OnTimeRangeChanged)
        .sort(dashboard.VariableSort.AlphabeticalAsc)
        .includeAll(true)
        .allValue('.*')
        .multi(true),
    );
}

/** A row heading the panels that follow it. */
export const row = (title: string) => new dashboard.RowBuilder(title);
