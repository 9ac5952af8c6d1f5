import { ObjectSerializer } from '@kubernetes/client-node/dist/gen/models/ObjectSerializer.js';
import * as monitoring from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1';
import * as clientNode from '@kubernetes/client-node';
import * as apps from 'kubernetes-models/apps/v1';
import * as autoscaling from 'kubernetes-models/autoscaling/v2';
import * as batch from 'kubernetes-models/batch/v1';
import * as networking from 'kubernetes-models/networking.k8s.io/v1';
import * as policy from 'kubernetes-models/policy/v1';
import * as rbac from 'kubernetes-models/rbac.authorization.k8s.io/v1';
import * as core from 'kubernetes-models/v1';
import { isDeepStrictEqual } from 'node:util';
import type { RenderedObject } from './chart.js';
import {
  cloudNativePgClusterSpec,
  cloudNativePgScheduledBackupSpec,
  kedaScaledObjectSpec,
  kedaTriggerMetadata,
  shapeProblems,
  type Shape,
} from './crd-shapes.js';

/** A kubernetes-models class: constructed from the object, `validate()` throws on a schema error. */
interface ModelClass {
  new (data: object): { validate(): void };
}

/** The API groups Herald's chart writes, as kubernetes-models (and prometheus-operator) classes. */
const modelGroups: Readonly<Record<string, Readonly<Record<string, unknown>>>> = {
  v1: core,
  'apps/v1': apps,
  'batch/v1': batch,
  'autoscaling/v2': autoscaling,
  'policy/v1': policy,
  'networking.k8s.io/v1': networking,
  'rbac.authorization.k8s.io/v1': rbac,
  'monitoring.coreos.com/v1': monitoring,
};

function modelFor(apiVersion: string, kind: string): ModelClass | undefined {
  return modelGroups[apiVersion]?.[kind] as ModelClass | undefined;
}

/**
 * The client-node type of a built-in object (`apps/v1` Deployment → `V1Deployment`), or
 * undefined when client-node has none (a custom resource).
 */
export function serializerType(apiVersion: string, kind: string): string | undefined {
  const version = apiVersion.split('/').pop() ?? '';
  const type = `${version.charAt(0).toUpperCase()}${version.slice(1)}${kind}`;
  return typeof (clientNode as Record<string, unknown>)[type] === 'function' ? type : undefined;
}

/** Plain JSON: what the API server would receive. */
const asJson = (value: unknown): unknown => JSON.parse(JSON.stringify(value)) as unknown;

/** Paths where `actual` lacks what `expected` has: the fields the serializer did not know. */
export function droppedFields(expected: unknown, actual: unknown, path = ''): string[] {
  if (isDeepStrictEqual(expected, actual)) return [];
  if (Array.isArray(expected) && Array.isArray(actual)) {
    return expected.flatMap((item, index) =>
      droppedFields(item, actual[index], `${path}[${index}]`),
    );
  }
  if (
    typeof expected === 'object' &&
    expected !== null &&
    typeof actual === 'object' &&
    actual !== null
  ) {
    const actualRecord = actual as Record<string, unknown>;
    return Object.entries(expected).flatMap(([key, value]) =>
      key in actualRecord
        ? droppedFields(value, actualRecord[key], `${path}.${key}`)
        : [`${path}.${key}`],
    );
  }
  return [`${path}: ${JSON.stringify(expected)} became ${JSON.stringify(actual)}`];
}

/**
 * Round trip through @kubernetes/client-node's serializer, which keeps only the fields the
 * Kubernetes API defines: whatever does not come back is an unknown (misspelt, misplaced) field.
 */
export function roundTripProblems(object: unknown, type: string): string[] {
  const json = asJson(object);
  const back = asJson(
    ObjectSerializer.serialize(ObjectSerializer.deserialize(json, type, ''), type, ''),
  );
  return droppedFields(json, back).map((path) => `unknown field ${path.replace(/^\./, '')}`);
}

const customResources: Readonly<Record<string, Shape>> = {
  'postgresql.cnpg.io/v1/Cluster': cloudNativePgClusterSpec,
  'postgresql.cnpg.io/v1/ScheduledBackup': cloudNativePgScheduledBackupSpec,
  'keda.sh/v1alpha1/ScaledObject': kedaScaledObjectSpec,
};

/** KEDA-specific: each trigger's metadata against its type, and the HPA behavior it passes on. */
function kedaProblems(spec: Record<string, unknown>): string[] {
  const problems: string[] = [];
  const triggers = Array.isArray(spec.triggers) ? (spec.triggers as Record<string, unknown>[]) : [];
  triggers.forEach((trigger, index) => {
    const type = String(trigger.type);
    const known = kedaTriggerMetadata[type];
    if (!known) {
      problems.push(`spec.triggers[${index}].type: no check written for trigger type ${type}`);
      return;
    }
    const metadata = (trigger.metadata ?? {}) as Record<string, unknown>;
    for (const key of known.required) {
      if (!(key in metadata)) problems.push(`spec.triggers[${index}].metadata.${key}: required`);
    }
    for (const key of Object.keys(metadata)) {
      if (!known.allowed.includes(key)) {
        problems.push(`spec.triggers[${index}].metadata.${key}: unknown for ${type}`);
      }
    }
    if ((type === 'cpu' || type === 'memory') && trigger.metricType === undefined) {
      problems.push(`spec.triggers[${index}].metricType: required for ${type}`);
    }
  });
  const advanced = spec.advanced as { horizontalPodAutoscalerConfig?: { behavior?: unknown } };
  const behavior = advanced?.horizontalPodAutoscalerConfig?.behavior;
  if (behavior !== undefined) {
    problems.push(
      ...roundTripProblems(behavior, 'V2HorizontalPodAutoscalerBehavior').map(
        (problem) => `spec.advanced.horizontalPodAutoscalerConfig.behavior: ${problem}`,
      ),
    );
  }
  return problems;
}

/**
 * Every problem of one rendered object against its API: the Kubernetes (or
 * prometheus-operator) model's JSON schema, the round trip for unknown fields, and for
 * CloudNativePG and KEDA resources the documented fields in crd-shapes.ts. An object of a
 * kind nothing here knows is itself a problem, so no kind goes unchecked.
 */
export async function objectProblems(object: RenderedObject): Promise<string[]> {
  const { apiVersion, kind } = object;
  const problems: string[] = [];
  const custom = customResources[`${apiVersion}/${kind}`];
  if (custom) {
    problems.push(
      ...roundTripProblems(object.metadata, 'V1ObjectMeta').map((p) => `metadata: ${p}`),
    );
    const extra = Object.keys(object).filter(
      (key) => !['apiVersion', 'kind', 'metadata', 'spec'].includes(key),
    );
    problems.push(...extra.map((key) => `${key}: unknown top-level field`));
    problems.push(...shapeProblems(object.spec, custom, 'spec'));
    if (kind === 'ScaledObject')
      problems.push(...kedaProblems(object.spec as Record<string, unknown>));
    return problems;
  }

  const model = modelFor(apiVersion, kind);
  if (!model) return [`no model for ${apiVersion} ${kind}: add a check for it`];
  try {
    new model(object).validate();
  } catch (error) {
    problems.push(`schema: ${(error as Error).message}`);
  }
  const type = serializerType(apiVersion, kind);
  if (type) problems.push(...roundTripProblems(object, type));
  else if (!apiVersion.startsWith('monitoring.coreos.com/')) {
    problems.push(`client-node has no type for ${apiVersion} ${kind}`);
  }
  return problems;
}
