import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { cp, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { chartDir, renderChart, type Manifest } from '../src/chart.js';
import { findObject, objectsOf, renderAll, type ValueSetName } from './helpers.js';

let rendered: Record<ValueSetName, Manifest[]>;
let chartCopy: string;

beforeAll(async () => {
  rendered = await renderAll();
  chartCopy = await mkdtemp(join(tmpdir(), 'herald-chart-'));
  await cp(chartDir, chartCopy, { recursive: true });
});

afterAll(async () => {
  await rm(chartCopy, { recursive: true, force: true });
});

const monitoringOn = { monitoring: { dashboards: { enabled: true } } };

describe('monitoring', () => {
  it('scrapes every service: a ServiceMonitor each, whose job label is the component', () => {
    const monitors = objectsOf(rendered.everything, 'ServiceMonitor');
    expect(monitors.map((m) => m.metadata.name).sort()).toEqual([
      'herald-inference',
      'herald-news-publisher',
      'herald-user-handler',
    ]);
    for (const monitor of monitors) {
      expect(monitor.spec).toMatchObject({
        jobLabel: 'app.kubernetes.io/component',
        endpoints: [{ port: 'http', path: '/metrics' }],
      });
    }
    expect(findObject(rendered.everything, 'PodMonitor', 'herald-postgresql').spec).toMatchObject({
      selector: { matchLabels: { 'cnpg.io/cluster': 'herald-postgresql' } },
    });
  });

  it('each ServiceMonitor selects its Service', () => {
    for (const monitor of objectsOf(rendered.everything, 'ServiceMonitor')) {
      const service = findObject(rendered.everything, 'Service', monitor.metadata.name);
      const selector = (monitor.spec as { selector: { matchLabels: Record<string, string> } })
        .selector.matchLabels;
      expect(service.metadata.labels).toMatchObject(selector);
    }
  });

  it('the PrometheusRule holds exactly the groups of files/prometheus/herald-rules.yaml', async () => {
    const file = parse(
      await readFile(join(chartDir, 'files', 'prometheus', 'herald-rules.yaml'), 'utf8'),
    ) as { groups: unknown[] };
    expect(file.groups.length).toBeGreaterThan(0);
    const rule = findObject(rendered.everything, 'PrometheusRule', 'herald');
    expect((rule.spec as { groups: unknown[] }).groups).toEqual(file.groups);
  });

  it('leaves out the rule groups of components the release does not run', async () => {
    const manifests = await renderChart({
      values: {
        monitoring: { prometheusRule: { enabled: true } },
        inference: { enabled: false },
        newsPublisher: { enabled: false },
        backup: { enabled: false },
      },
    });
    const rule = findObject(manifests, 'PrometheusRule', 'herald');
    const names = (rule.spec as { groups: { name: string }[] }).groups.map((g) => g.name);
    expect(names).not.toEqual(expect.arrayContaining(['herald.inference']));
    expect(names).not.toContain('herald.news');
    expect(names).not.toContain('herald.backup');
    expect(names).toEqual(expect.arrayContaining(['herald.slo', 'herald.updates', 'herald.llm']));
  });

  it("adds the production values' selector labels to the monitors and rules", () => {
    for (const kind of ['ServiceMonitor', 'PrometheusRule']) {
      for (const object of objectsOf(rendered.production, kind)) {
        expect(object.metadata.labels).toMatchObject({ release: 'kube-prometheus-stack' });
      }
    }
  });

  it('renders no dashboard ConfigMap when there are no dashboard files', async () => {
    await rm(join(chartCopy, 'files', 'dashboards'), { recursive: true, force: true });
    const manifests = await renderChart({ chart: chartCopy, values: monitoringOn });
    expect(manifests.filter(({ source }) => source.endsWith('configmap-dashboards.yaml'))).toEqual(
      [],
    );
  });

  it('renders one ConfigMap per dashboard, labelled for the Grafana sidecar', async () => {
    const dashboards = join(chartCopy, 'files', 'dashboards');
    await rm(dashboards, { recursive: true, force: true });
    await mkdir(dashboards, { recursive: true });
    await writeFile(
      join(dashboards, 'herald-overview.json'),
      '{"title":"Herald overview","panels":[]}',
    );
    await writeFile(join(dashboards, 'herald-news.json'), '{"title":"Herald news","panels":[]}');
    expect((await readdir(dashboards)).length).toBe(2);
    const manifests = await renderChart({ chart: chartCopy, values: monitoringOn });
    const maps = objectsOf(manifests, 'ConfigMap').filter((m) =>
      m.metadata.name.startsWith('herald-dashboard-'),
    );
    expect(maps.map((m) => m.metadata.name).sort()).toEqual([
      'herald-dashboard-herald-news',
      'herald-dashboard-herald-overview',
    ]);
    for (const map of maps) {
      expect(map.metadata.labels).toMatchObject({
        grafana_dashboard: '1',
        'app.kubernetes.io/component': 'monitoring',
      });
      expect(map.metadata.annotations).toEqual({ grafana_folder: 'Herald' });
    }
    expect(findObject(manifests, 'ConfigMap', 'herald-dashboard-herald-news').data).toEqual({
      'herald-news.json': '{"title":"Herald news","panels":[]}',
    });
  });

  it('is off by default: no monitoring objects without prometheus-operator', () => {
    const kinds = rendered.default.map(({ object }) => object.kind);
    expect(kinds).not.toContain('ServiceMonitor');
    expect(kinds).not.toContain('PrometheusRule');
  });
});
