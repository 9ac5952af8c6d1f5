import { beforeAll, describe, expect, it } from '@jest/globals';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseManifests, runTool, type Manifest } from '../src/chart.js';
import { generatedDirs, k8sDir, renderK8sTree } from '../src/render-k8s.js';
import { objectProblems } from '../src/validate.js';

const overlays = ['dev', 'staging', 'prod'] as const;

let tree: Map<string, string>;
let built: Record<(typeof overlays)[number], Manifest[]>;

beforeAll(async () => {
  const [renderedTree, ...overlayTexts] = await Promise.all([
    renderK8sTree(),
    ...overlays.map((overlay) =>
      runTool('kubectl', ['kustomize', join(k8sDir, 'overlays', overlay)]),
    ),
  ]);
  tree = renderedTree;
  built = Object.fromEntries(
    overlays.map((overlay, i) => [overlay, parseManifests(overlayTexts[i]!)]),
  ) as typeof built;
});

describe('k8s/ is the chart rendered', () => {
  it('every generated file equals a fresh render (run `pnpm --filter @herald/helm render:k8s` if not)', async () => {
    for (const [path, content] of tree) {
      const onDisk = await readFile(join(k8sDir, path), 'utf8').catch(() => '(missing)');
      expect({ path, content: onDisk }).toEqual({ path, content });
    }
  });

  it('holds no generated file the chart no longer makes', async () => {
    for (const folder of generatedDirs) {
      const names = await readdir(join(k8sDir, folder));
      expect(names.map((name) => join(folder, name)).filter((path) => !tree.has(path))).toEqual([]);
    }
  });

  it('the base has the default install without the Secret, which the operator creates', () => {
    expect([...tree.keys()].filter((path) => path.startsWith('base/secret'))).toEqual([]);
    expect(tree.get('base/deployment-user-handler.yaml')).toMatch(/name: herald-user-handler/);
    expect(tree.get('base/job-migrations.yaml')).toMatch(/ttlSecondsAfterFinished: 600/);
  });
});

describe('the kustomize overlays', () => {
  it.each(overlays)('%s builds into objects the API server accepts', async (overlay) => {
    const problems = Object.fromEntries(
      (
        await Promise.all(
          built[overlay].map(
            async ({ object }) =>
              [`${object.kind}/${object.metadata.name}`, await objectProblems(object)] as const,
          ),
        )
      ).filter(([, p]) => p.length > 0),
    );
    expect(problems).toEqual({});
  });

  it.each([
    ['dev', 'herald-dev'],
    ['staging', 'herald-staging'],
    ['prod', 'herald'],
  ] as const)('%s puts everything in namespace %s', (overlay, namespace) => {
    for (const { object } of built[overlay]) expect(object.metadata.namespace).toBe(namespace);
  });

  it('dev runs without a GPU and without disruption budgets', () => {
    const names = built.dev.map(({ object }) => `${object.kind}/${object.metadata.name}`);
    expect(names.filter((name) => name.includes('inference'))).toEqual([]);
    expect(names.filter((name) => name.startsWith('PodDisruptionBudget/'))).toEqual([]);
  });

  it('prod adds the monitoring objects and more user-handler headroom', () => {
    const kinds = built.prod.map(({ object }) => object.kind);
    expect(kinds).toContain('ServiceMonitor');
    expect(kinds).toContain('PrometheusRule');
    const hpa = built.prod.find(({ object }) => object.kind === 'HorizontalPodAutoscaler')!.object;
    expect(hpa.spec).toMatchObject({ minReplicas: 3, maxReplicas: 20 });
  });
});
