import { expect } from '@jest/globals';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import {
  renderChart,
  repoRoot,
  type Manifest,
  type RenderedObject,
  type RenderOptions,
} from '../src/chart.js';

/** The value sets every test file renders: the shipped files, and one with every option on. */
export const valueSets = {
  default: {},
  minimal: { valuesFiles: ['helm/herald/values-minimal.yaml'] },
  production: { valuesFiles: ['helm/herald/values-production.yaml'] },
  /** Every optional part on at once, on the in-cluster state path. */
  everything: {
    values: {
      publicUrl: 'https://herald.example.com',
      userHandler: {
        ingress: { enabled: true, host: 'herald.example.com' },
        keda: { enabled: true },
      },
      admin: { enabled: true, backupJobs: true },
      postgresql: {
        cloudnativepg: {
          backup: {
            enabled: true,
            destinationPath: 's3://herald-backups/pg',
            endpointURL: 'https://s3.example.com',
          },
        },
      },
      backup: {
        enabled: true,
        s3Url: 's3://herald-backups/dumps',
        pushgatewayUrl: 'http://pushgateway.monitoring:9091',
      },
      monitoring: {
        serviceMonitor: { enabled: true },
        prometheusRule: { enabled: true },
        dashboards: { enabled: true },
        cost: { extraHourlyUsd: { nodes: 0.35 } },
      },
      inference: { hourlyPriceUsd: 2.5 },
      newsPublisher: { sources: 'sources: []\n' },
      secrets: {
        values: {
          TELEGRAM_BOT_TOKEN: '123456789:AAtest-token-that-is-long-enough-xx',
          WEBHOOK_SECRET: 'webhook_secret_value',
          ADMIN_API_TOKEN: 'admin-token-value',
        },
      },
    },
  },
} satisfies Record<string, RenderOptions>;

export type ValueSetName = keyof typeof valueSets;

/** `inference/profiles/*.yaml`, when the inference engineer has written them. */
export function inferenceProfiles(): string[] {
  try {
    return readdirSync(join(repoRoot, 'inference', 'profiles'))
      .filter((name) => name.endsWith('.yaml'))
      .map((name) => join('inference', 'profiles', name));
  } catch {
    return [];
  }
}

/** Renders every value set once, in parallel. */
export async function renderAll(): Promise<Record<ValueSetName, Manifest[]>> {
  const names = Object.keys(valueSets) as ValueSetName[];
  const rendered = await Promise.all(names.map((name) => renderChart(valueSets[name])));
  return Object.fromEntries(names.map((name, index) => [name, rendered[index]!])) as Record<
    ValueSetName,
    Manifest[]
  >;
}

/** The one object of `kind` named `name`; fails the test when there is none. */
export function findObject(
  manifests: readonly Manifest[],
  kind: string,
  name: string,
): RenderedObject {
  const found = manifests.find((m) => m.object.kind === kind && m.object.metadata.name === name);
  if (!found) {
    const have = manifests.map((m) => `${m.object.kind}/${m.object.metadata.name}`).join(', ');
    throw new Error(`no ${kind} ${name} in the render (it has ${have})`);
  }
  return found.object;
}

/** All objects of `kind`. */
export function objectsOf(manifests: readonly Manifest[], kind: string): RenderedObject[] {
  return manifests.filter((m) => m.object.kind === kind).map((m) => m.object);
}

export interface Container {
  name: string;
  image: string;
  command?: string[];
  args?: string[];
  env?: { name: string; value?: string; valueFrom?: Record<string, unknown> }[];
  envFrom?: Record<string, unknown>[];
  ports?: { name: string; containerPort: number }[];
  resources?: {
    requests?: Record<string, string | number>;
    limits?: Record<string, string | number>;
  };
  securityContext?: Record<string, unknown>;
  startupProbe?: Probe;
  readinessProbe?: Probe;
  livenessProbe?: Probe;
  lifecycle?: { preStop?: { sleep?: { seconds: number } } };
  volumeMounts?: { name: string; mountPath: string }[];
}

export interface Probe {
  httpGet?: { path: string; port: string | number };
  tcpSocket?: { port: string | number };
  exec?: { command: string[] };
  periodSeconds?: number;
  failureThreshold?: number;
}

export interface PodSpec {
  containers: Container[];
  initContainers?: Container[];
  securityContext?: Record<string, unknown>;
  automountServiceAccountToken?: boolean;
  serviceAccountName?: string;
  terminationGracePeriodSeconds?: number;
  topologySpreadConstraints?: { topologyKey: string; whenUnsatisfiable: string }[];
  volumes?: {
    name: string;
    emptyDir?: { medium?: string; sizeLimit?: string };
    [key: string]: unknown;
  }[];
  nodeSelector?: Record<string, string>;
  tolerations?: Record<string, unknown>[];
}

interface PodTemplate {
  metadata?: { labels?: Record<string, string> };
  spec?: PodSpec;
}

/** A workload's pod: owner `Kind/name`, the pod's labels and its spec. */
export interface WorkloadPod {
  owner: string;
  object: RenderedObject;
  labels: Record<string, string>;
  pod: PodSpec;
}

/** The pod of every workload (Deployment, StatefulSet, Job, CronJob, Pod). */
export function podsOf(manifests: readonly Manifest[]): WorkloadPod[] {
  const pods: WorkloadPod[] = [];
  for (const { object } of manifests) {
    const spec = object.spec as
      { template?: PodTemplate; jobTemplate?: { spec: { template: PodTemplate } } } | undefined;
    let template: PodTemplate | undefined;
    if (['Deployment', 'StatefulSet', 'Job'].includes(object.kind)) template = spec?.template;
    else if (object.kind === 'CronJob') template = spec?.jobTemplate?.spec.template;
    else if (object.kind === 'Pod')
      template = { metadata: object.metadata, spec: object.spec as PodSpec };
    if (template?.spec) {
      pods.push({
        owner: `${object.kind}/${object.metadata.name}`,
        object,
        labels: template.metadata?.labels ?? {},
        pod: template.spec,
      });
    }
  }
  return pods;
}

/** The pod template of a Deployment or StatefulSet. */
export function podOf(object: RenderedObject): PodSpec {
  return (object.spec as { template: { spec: PodSpec } }).template.spec;
}

/** The one container of a pod (Herald's pods run one each). */
export function containerOf(pod: PodSpec): Container {
  expect(pod.containers).toHaveLength(1);
  return pod.containers[0]!;
}
