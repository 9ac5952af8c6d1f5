// Writes Herald's Grafana dashboards to helm/herald/files/dashboards/*.json, where the chart
// provisions them as ConfigMaps for Grafana's sidecar. Run after changing a dashboard:
// `pnpm --filter @herald/observability dashboards`; a test fails while the files are stale.
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildDashboards, dashboardJson } from './index.js';

const target = fileURLToPath(new URL('../../../helm/herald/files/dashboards/', import.meta.url));
mkdirSync(target, { recursive: true });
const dashboards = buildDashboards();
// A dashboard removed from the code goes from the chart too.
for (const file of readdirSync(target)) {
  if (file.endsWith('.json') && !(file.slice(0, -5) in dashboards)) rmSync(join(target, file));
}
for (const [name, dashboard] of Object.entries(dashboards)) {
  const path = join(target, `${name}.json`);
  writeFileSync(path, await dashboardJson(dashboard, path));
  console.log(`wrote ${path}`);
}
