import { beforeAll, describe, expect, it } from '@jest/globals';
import { renderChart, type Manifest, type RenderedObject } from '../src/chart.js';
import { objectProblems } from '../src/validate.js';
import { findObject, inferenceProfiles, renderAll, type ValueSetName } from './helpers.js';

/** Every object's problems, keyed `Kind/name`, only those that have any. */
async function problemsOf(manifests: readonly Manifest[]): Promise<Record<string, string[]>> {
  const entries = await Promise.all(
    manifests.map(
      async ({ object }) =>
        [`${object.kind}/${object.metadata.name}`, await objectProblems(object)] as const,
    ),
  );
  return Object.fromEntries(entries.filter(([, problems]) => problems.length > 0));
}

let rendered: Record<ValueSetName, Manifest[]>;
let profiles: { file: string; manifests: Manifest[] }[];

beforeAll(async () => {
  rendered = await renderAll();
  profiles = await Promise.all(
    inferenceProfiles().map(async (file) => ({
      file,
      manifests: await renderChart({ valuesFiles: [file] }),
    })),
  );
});

describe('every rendered object is valid for its API', () => {
  it.each(['default', 'minimal', 'production', 'everything'] as const)(
    'the %s values render only objects the API server accepts',
    async (name) => {
      expect(rendered[name].length).toBeGreaterThan(10);
      expect(await problemsOf(rendered[name])).toEqual({});
    },
  );

  it('each inference profile renders only valid objects', async () => {
    for (const { file, manifests } of profiles) {
      expect({ file, problems: await problemsOf(manifests) }).toEqual({ file, problems: {} });
    }
  });

  it('the everything set covers every custom resource the chart can write', () => {
    const kinds = new Set(rendered.everything.map(({ object }) => object.kind));
    for (const kind of [
      'Cluster',
      'ScheduledBackup',
      'ScaledObject',
      'ServiceMonitor',
      'PodMonitor',
      'PrometheusRule',
      'CronJob',
      'Ingress',
    ]) {
      expect(kinds).toContain(kind);
    }
  });
});

describe('the validation catches what the API server would refuse', () => {
  const deployment = (): RenderedObject =>
    structuredClone(findObject(rendered.default, 'Deployment', 'herald-user-handler'));

  it('reports a misspelt field in a container', async () => {
    const object = deployment();
    const spec = object.spec as { template: { spec: { containers: Record<string, unknown>[] } } };
    spec.template.spec.containers[0]!.readinesProbe = { httpGet: { path: '/readyz', port: 8080 } };
    expect(await objectProblems(object)).toEqual([
      'unknown field spec.template.spec.containers[0].readinesProbe',
    ]);
  });

  it('reports a wrong type', async () => {
    const object = deployment();
    (object.spec as Record<string, unknown>).revisionHistoryLimit = 'five';
    expect((await objectProblems(object)).join('\n')).toMatch(/revisionHistoryLimit/);
  });

  it('reports an unknown field in a CloudNativePG Cluster and a wrong enum', async () => {
    const cluster = structuredClone(
      findObject(rendered.everything, 'Cluster', 'herald-postgresql'),
    );
    const spec = cluster.spec as Record<string, unknown> & {
      backup: { barmanObjectStore: { wal: { compression: string } } };
    };
    spec.instance = 2;
    spec.backup.barmanObjectStore.wal.compression = 'zip';
    expect((await objectProblems(cluster)).sort()).toEqual([
      'spec.backup.barmanObjectStore.wal.compression: "zip" is not one of bzip2, gzip, lz4, snappy, xz, zstd',
      'spec.instance: unknown field',
    ]);
  });

  it('reports a KEDA prometheus trigger without its query and with a number for a string', async () => {
    const scaled = structuredClone(
      findObject(rendered.everything, 'ScaledObject', 'herald-user-handler'),
    );
    const trigger = (
      scaled.spec as { triggers: { type: string; metadata: Record<string, unknown> }[] }
    ).triggers.find((t) => t.type === 'prometheus')!;
    delete trigger.metadata.query;
    trigger.metadata.threshold = 10;
    const problems = await objectProblems(scaled);
    expect(problems).toContain('spec.triggers[1].metadata.threshold: not a string');
    expect(problems).toContain('spec.triggers[1].metadata.query: required');
  });

  it('reports a ServiceMonitor field of the wrong type', async () => {
    const monitor = structuredClone(
      findObject(rendered.everything, 'ServiceMonitor', 'herald-user-handler'),
    );
    (monitor.spec as { endpoints: Record<string, unknown>[] }).endpoints[0]!.port = 8080;
    expect((await objectProblems(monitor)).join('\n')).toMatch(/port/);
  });

  it('reports a kind it has no check for', async () => {
    expect(
      await objectProblems({
        apiVersion: 'example.com/v1',
        kind: 'Widget',
        metadata: { name: 'w' },
      }),
    ).toEqual(['no model for example.com/v1 Widget: add a check for it']);
  });
});
