// The fields of the custom resources Herald's chart writes that have no model package here,
// taken from their documented APIs: CloudNativePG's `postgresql.cnpg.io/v1` reference
// (Cluster, ScheduledBackup) and KEDA's ScaledObject spec with its `cpu` and `prometheus`
// triggers. Each shape lists every field it allows, so a misspelt or misplaced field is
// caught, as the API server's structural schema would.

/** What a field may hold. */
export type Shape =
  | 'string'
  | 'integer'
  | 'number'
  | 'boolean'
  /** A Kubernetes quantity: `512Mi`, `250m`, `2`. */
  | 'quantity'
  /** Anything: a field the chart never writes, kept so that it is not reported as unknown. */
  | 'any'
  | { enum: readonly string[] }
  | { pattern: RegExp; what: string }
  | { arrayOf: Shape }
  | { mapOf: Shape }
  | { fields: Readonly<Record<string, Shape>>; required?: readonly string[] };

const QUANTITY = /^[0-9]+(\.[0-9]+)?(m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?$/;

const secretKeySelector: Shape = {
  fields: { name: 'string', key: 'string' },
  required: ['name', 'key'],
};
const localObjectReference: Shape = { fields: { name: 'string' }, required: ['name'] };
const resources: Shape = {
  fields: { requests: { mapOf: 'quantity' }, limits: { mapOf: 'quantity' }, claims: 'any' },
};
const storage: Shape = {
  fields: {
    size: 'quantity',
    storageClass: 'string',
    resizeInUseVolumes: 'boolean',
    pvcTemplate: 'any',
  },
};

/** CloudNativePG `Cluster.spec` (postgresql.cnpg.io/v1). */
export const cloudNativePgClusterSpec: Shape = {
  required: ['instances'],
  fields: {
    description: 'string',
    instances: 'integer',
    imageName: 'string',
    imageCatalogRef: 'any',
    imagePullPolicy: { enum: ['Always', 'IfNotPresent', 'Never'] },
    imagePullSecrets: { arrayOf: localObjectReference },
    inheritedMetadata: {
      fields: { labels: { mapOf: 'string' }, annotations: { mapOf: 'string' } },
    },
    bootstrap: {
      fields: {
        initdb: {
          fields: {
            database: 'string',
            owner: 'string',
            secret: localObjectReference,
            encoding: 'string',
            localeCollate: 'string',
            localeCType: 'string',
            dataChecksums: 'boolean',
            walSegmentSize: 'integer',
            options: { arrayOf: 'string' },
            postInitSQL: { arrayOf: 'string' },
            postInitApplicationSQL: { arrayOf: 'string' },
            postInitTemplateSQL: { arrayOf: 'string' },
            postInitApplicationSQLRefs: 'any',
            import: 'any',
          },
        },
        recovery: 'any',
        pg_basebackup: 'any',
      },
    },
    storage,
    walStorage: storage,
    resources,
    priorityClassName: 'string',
    affinity: {
      fields: {
        enablePodAntiAffinity: 'boolean',
        topologyKey: 'string',
        podAntiAffinityType: { enum: ['preferred', 'required'] },
        nodeSelector: { mapOf: 'string' },
        nodeAffinity: 'any',
        tolerations: { arrayOf: 'any' },
        additionalPodAntiAffinity: 'any',
        additionalPodAffinity: 'any',
      },
    },
    topologySpreadConstraints: { arrayOf: 'any' },
    postgresql: {
      fields: {
        parameters: { mapOf: 'string' },
        pg_hba: { arrayOf: 'string' },
        pg_ident: { arrayOf: 'string' },
        shared_preload_libraries: { arrayOf: 'string' },
        synchronous: 'any',
        ldap: 'any',
        promotionTimeout: 'integer',
        enableAlterSystem: 'boolean',
      },
    },
    primaryUpdateStrategy: { enum: ['unsupervised', 'supervised'] },
    primaryUpdateMethod: { enum: ['switchover', 'restart'] },
    enableSuperuserAccess: 'boolean',
    superuserSecret: localObjectReference,
    startDelay: 'integer',
    stopDelay: 'integer',
    smartShutdownTimeout: 'integer',
    switchoverDelay: 'integer',
    failoverDelay: 'integer',
    minSyncReplicas: 'integer',
    maxSyncReplicas: 'integer',
    logLevel: { enum: ['error', 'warning', 'info', 'debug', 'trace'] },
    env: { arrayOf: 'any' },
    envFrom: { arrayOf: 'any' },
    managed: 'any',
    monitoring: 'any',
    plugins: { arrayOf: 'any' },
    backup: {
      fields: {
        retentionPolicy: {
          pattern: /^[1-9][0-9]*[dwm]$/,
          what: 'a number of days, weeks or months such as 30d',
        },
        target: { enum: ['primary', 'prefer-standby'] },
        volumeSnapshot: 'any',
        barmanObjectStore: {
          required: ['destinationPath'],
          fields: {
            destinationPath: 'string',
            endpointURL: 'string',
            endpointCA: secretKeySelector,
            serverName: 'string',
            s3Credentials: {
              fields: {
                accessKeyId: secretKeySelector,
                secretAccessKey: secretKeySelector,
                region: secretKeySelector,
                sessionToken: secretKeySelector,
                inheritFromIAMRole: 'boolean',
              },
            },
            azureCredentials: 'any',
            googleCredentials: 'any',
            wal: {
              fields: {
                compression: { enum: ['bzip2', 'gzip', 'lz4', 'snappy', 'xz', 'zstd'] },
                encryption: { enum: ['AES256', 'aws:kms'] },
                maxParallel: 'integer',
                archiveAdditionalCommandArgs: { arrayOf: 'string' },
                restoreAdditionalCommandArgs: { arrayOf: 'string' },
              },
            },
            data: {
              fields: {
                compression: { enum: ['bzip2', 'gzip', 'lz4', 'snappy', 'xz', 'zstd'] },
                encryption: { enum: ['AES256', 'aws:kms'] },
                immediateCheckpoint: 'boolean',
                jobs: 'integer',
                additionalCommandArgs: { arrayOf: 'string' },
              },
            },
            tags: { mapOf: 'string' },
            historyTags: { mapOf: 'string' },
          },
        },
      },
    },
  },
};

/** CloudNativePG `ScheduledBackup.spec` (postgresql.cnpg.io/v1). */
export const cloudNativePgScheduledBackupSpec: Shape = {
  required: ['schedule', 'cluster'],
  fields: {
    // Six fields, seconds first: CloudNativePG's cron format.
    schedule: { pattern: /^(\S+\s+){5}\S+$/, what: 'a six-field cron schedule (seconds first)' },
    cluster: localObjectReference,
    suspend: 'boolean',
    immediate: 'boolean',
    backupOwnerReference: { enum: ['none', 'self', 'cluster'] },
    target: { enum: ['primary', 'prefer-standby'] },
    method: { enum: ['barmanObjectStore', 'volumeSnapshot', 'plugin'] },
    online: 'boolean',
    onlineConfiguration: 'any',
    pluginConfiguration: 'any',
  },
};

/** The metadata each KEDA trigger type accepts: all values are strings. */
export const kedaTriggerMetadata: Readonly<
  Record<string, { required: readonly string[]; allowed: readonly string[] }>
> = {
  cpu: { required: ['value'], allowed: ['value', 'containerName'] },
  memory: { required: ['value'], allowed: ['value', 'containerName'] },
  prometheus: {
    required: ['serverAddress', 'query', 'threshold'],
    allowed: [
      'serverAddress',
      'query',
      'threshold',
      'activationThreshold',
      'namespace',
      'customHeaders',
      'ignoreNullValues',
      'queryParameters',
      'unsafeSsl',
      'timeout',
      'authModes',
    ],
  },
};

/** KEDA `ScaledObject.spec` (keda.sh/v1alpha1). Trigger metadata is checked per type apart. */
export const kedaScaledObjectSpec: Shape = {
  required: ['scaleTargetRef', 'triggers'],
  fields: {
    scaleTargetRef: {
      required: ['name'],
      fields: {
        apiVersion: 'string',
        kind: 'string',
        name: 'string',
        envSourceContainerName: 'string',
      },
    },
    pollingInterval: 'integer',
    cooldownPeriod: 'integer',
    initialCooldownPeriod: 'integer',
    idleReplicaCount: 'integer',
    minReplicaCount: 'integer',
    maxReplicaCount: 'integer',
    fallback: {
      fields: { failureThreshold: 'integer', replicas: 'integer', behavior: 'string' },
    },
    advanced: {
      fields: {
        restoreToOriginalReplicaCount: 'boolean',
        // `behavior` is an autoscaling/v2 HPA behavior; it is checked against that model apart.
        horizontalPodAutoscalerConfig: { fields: { name: 'string', behavior: 'any' } },
        scalingModifiers: 'any',
      },
    },
    triggers: {
      arrayOf: {
        required: ['type', 'metadata'],
        fields: {
          type: 'string',
          name: 'string',
          metadata: { mapOf: 'string' },
          metricType: { enum: ['AverageValue', 'Value', 'Utilization'] },
          useCachedMetrics: 'boolean',
          authenticationRef: { fields: { name: 'string', kind: 'string' }, required: ['name'] },
        },
      },
    },
  },
};

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * Every way `value` departs from `shape`: unknown fields, missing required ones, wrong
 * types, values outside an enum. Each problem names its path (`spec.backup.wal.compression`).
 */
export function shapeProblems(value: unknown, shape: Shape, path: string): string[] {
  if (shape === 'any') return [];
  if (shape === 'string') return typeof value === 'string' ? [] : [`${path}: not a string`];
  if (shape === 'boolean') return typeof value === 'boolean' ? [] : [`${path}: not a boolean`];
  if (shape === 'number') return typeof value === 'number' ? [] : [`${path}: not a number`];
  if (shape === 'integer') {
    return Number.isInteger(value) ? [] : [`${path}: not an integer`];
  }
  if (shape === 'quantity') {
    return (typeof value === 'string' || typeof value === 'number') && QUANTITY.test(String(value))
      ? []
      : [`${path}: not a quantity such as 512Mi or 250m`];
  }
  if ('enum' in shape) {
    return typeof value === 'string' && shape.enum.includes(value)
      ? []
      : [`${path}: ${JSON.stringify(value)} is not one of ${shape.enum.join(', ')}`];
  }
  if ('pattern' in shape) {
    return typeof value === 'string' && shape.pattern.test(value)
      ? []
      : [`${path}: ${JSON.stringify(value)} is not ${shape.what}`];
  }
  if ('arrayOf' in shape) {
    if (!Array.isArray(value)) return [`${path}: not a list`];
    return value.flatMap((item, index) => shapeProblems(item, shape.arrayOf, `${path}[${index}]`));
  }
  if (!isRecord(value)) return [`${path}: not an object`];
  if ('mapOf' in shape) {
    return Object.entries(value).flatMap(([key, item]) =>
      shapeProblems(item, shape.mapOf, `${path}.${key}`),
    );
  }
  const problems = (shape.required ?? [])
    .filter((field) => !(field in value))
    .map((field) => `${path}.${field}: required`);
  for (const [field, item] of Object.entries(value)) {
    const fieldShape = shape.fields[field];
    if (fieldShape === undefined) problems.push(`${path}.${field}: unknown field`);
    else problems.push(...shapeProblems(item, fieldShape, `${path}.${field}`));
  }
  return problems;
}
