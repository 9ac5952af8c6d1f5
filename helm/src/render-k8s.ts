import { mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import * as prettier from 'prettier';
import { stringify } from 'yaml';
import { parseManifests, renderChartText, repoRoot, type RenderOptions } from './chart.js';

/** The plain manifests' folder. */
export const k8sDir = join(repoRoot, 'k8s');

/** The folders under k8s/ that are generated whole; the rest (overlays, README) is written by hand. */
export const generatedDirs = ['base', 'monitoring'] as const;

const HEADER = [
  '# Rendered from the Helm chart helm/herald; do not edit.',
  '# Regenerate with `pnpm --filter @herald/helm render:k8s` after changing the chart.',
].join('\n');

/**
 * The default install as kubectl users apply it. Two departures from `helm install`
 * defaults, both because there is no Helm: the Secret `herald` is the operator's own
 * (k8s/README.md says how to create it), and the finished migrations Job removes itself so
 * the next `kubectl apply` runs the migrations again.
 */
export const baseRender: RenderOptions = {
  releaseName: 'herald',
  namespace: 'herald',
  skipTests: true,
  set: { 'secrets.create': false, 'migrations.ttlSecondsAfterFinished': 600 },
};

/** The monitoring objects, for clusters that run prometheus-operator. */
export const monitoringRender: RenderOptions = {
  ...baseRender,
  set: {
    ...baseRender.set,
    'monitoring.serviceMonitor.enabled': true,
    'monitoring.prometheusRule.enabled': true,
    'monitoring.dashboards.enabled': true,
  },
};

const MONITORING_TEMPLATES =
  /\/(servicemonitor|podmonitor|prometheusrule)-[^/]+\.yaml$|\/configmap-dashboards\.yaml$/;

/** One file per template: its objects, without Helm's `# Source:` comments, formatted. */
async function filesByTemplate(
  text: string,
  folder: string,
  keep: (source: string) => boolean,
): Promise<Map<string, string>> {
  const byTemplate = new Map<string, string[]>();
  for (const document of text.split(/^---$/m)) {
    const manifest = parseManifests(document)[0];
    if (!manifest || !keep(manifest.source)) continue;
    const body = document.replace(/^# Source: .*\n/m, '').trim();
    const docs = byTemplate.get(manifest.source) ?? [];
    docs.push(body);
    byTemplate.set(manifest.source, docs);
  }
  const files = new Map<string, string>();
  for (const [source, docs] of [...byTemplate].sort(([a], [b]) => a.localeCompare(b))) {
    const path = join(folder, basename(source));
    files.set(path, await format(path, `${HEADER}\n${docs.join('\n---\n')}\n`));
  }
  const kustomization = {
    apiVersion: 'kustomize.config.k8s.io/v1beta1',
    kind: 'Kustomization',
    resources: [...files.keys()].map((path) => basename(path)),
  };
  const kustomizationPath = join(folder, 'kustomization.yaml');
  files.set(
    kustomizationPath,
    await format(kustomizationPath, `${HEADER}\n${stringify(kustomization)}`),
  );
  return files;
}

/** Formats like `prettier --write`, so the repository's format check passes on the output. */
async function format(relativePath: string, text: string): Promise<string> {
  const absolute = join(k8sDir, relativePath);
  const config = (await prettier.resolveConfig(absolute)) ?? {};
  return prettier.format(text, { ...config, filepath: absolute });
}

/** The generated part of k8s/: relative path → content. */
export async function renderK8sTree(): Promise<Map<string, string>> {
  const [base, monitoring] = await Promise.all([
    renderChartText(baseRender),
    renderChartText(monitoringRender),
  ]);
  return new Map([
    ...(await filesByTemplate(base, 'base', () => true)),
    ...(await filesByTemplate(monitoring, 'monitoring', (source) =>
      MONITORING_TEMPLATES.test(source),
    )),
  ]);
}

/** Rewrites k8s/base and k8s/monitoring from the chart, removing files the chart no longer makes. */
export async function writeK8sTree(): Promise<string[]> {
  const tree = await renderK8sTree();
  for (const folder of generatedDirs) {
    const existing = await readdir(join(k8sDir, folder)).catch(() => [] as string[]);
    for (const name of existing) {
      if (!tree.has(join(folder, name))) await rm(join(k8sDir, folder, name));
    }
  }
  for (const [path, content] of tree) {
    await mkdir(dirname(join(k8sDir, path)), { recursive: true });
    await writeFile(join(k8sDir, path), content);
  }
  return [...tree.keys()];
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  writeK8sTree().then(
    (paths) => process.stdout.write(`k8s/: ${paths.length} files rendered from helm/herald\n`),
    (error: unknown) => {
      process.stderr.write(`render:k8s failed: ${(error as Error).message}\n`);
      process.exitCode = 1;
    },
  );
}
