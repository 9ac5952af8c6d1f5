import { beforeAll, describe, expect, it } from '@jest/globals';
import { renderChart, type Manifest } from '../src/chart.js';
import {
  containerOf,
  findObject,
  objectsOf,
  podOf,
  podsOf,
  renderAll,
  type ValueSetName,
} from './helpers.js';

let rendered: Record<ValueSetName, Manifest[]>;
let polling: Manifest[];

beforeAll(async () => {
  [rendered, polling] = await Promise.all([
    renderAll(),
    renderChart({
      values: {
        config: { TELEGRAM_MODE: 'polling' },
        userHandler: { replicas: 1, autoscaling: { enabled: false } },
      },
    }),
  ]);
});

const allSets = ['default', 'minimal', 'production', 'everything'] as const;

describe('every pod meets the restricted Pod Security profile', () => {
  it.each(allSets)(
    'with the %s values: non-root, RuntimeDefault seccomp, no privilege escalation, ALL dropped, read-only root',
    (name) => {
      const pods = podsOf(rendered[name]);
      expect(pods.length).toBeGreaterThan(3);
      for (const { owner, pod } of pods) {
        expect({ owner, pod: pod.securityContext }).toMatchObject({
          owner,
          pod: { runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } },
        });
        expect((pod.securityContext?.runAsUser as number) > 0).toBe(true);
        for (const container of [...pod.containers, ...(pod.initContainers ?? [])]) {
          expect({
            owner,
            container: container.name,
            securityContext: container.securityContext,
          }).toEqual({
            owner,
            container: container.name,
            securityContext: {
              allowPrivilegeEscalation: false,
              readOnlyRootFilesystem: true,
              runAsNonRoot: true,
              capabilities: { drop: ['ALL'] },
              seccompProfile: { type: 'RuntimeDefault' },
            },
          });
          // The root filesystem is read-only: /tmp is a writable emptyDir.
          const tmp = container.volumeMounts?.find((mount) => mount.mountPath === '/tmp');
          expect({ owner, tmp: tmp?.name }).toEqual({ owner, tmp: 'tmp' });
          expect(pod.volumes?.find((volume) => volume.name === 'tmp')?.emptyDir).toBeDefined();
        }
      }
    },
  );

  it.each(allSets)(
    'with the %s values no pod gets a service account token, but the user-handler when its admin API starts backup Jobs',
    (name) => {
      const runsBackups = objectsOf(rendered[name], 'Role').length > 0;
      for (const { owner, pod } of podsOf(rendered[name])) {
        const needsToken = runsBackups && owner === 'Deployment/herald-user-handler';
        expect({ owner, automount: pod.automountServiceAccountToken }).toEqual({
          owner,
          automount: needsToken,
        });
      }
      for (const account of objectsOf(rendered[name], 'ServiceAccount')) {
        expect(account.automountServiceAccountToken).toBe(false);
      }
    },
  );

  it('lets the admin API read only the backup CronJob and create Jobs, with the backup store settings', () => {
    const [role] = objectsOf(rendered.everything, 'Role');
    expect(role?.rules).toEqual([
      {
        apiGroups: ['batch'],
        resources: ['cronjobs'],
        resourceNames: ['herald-backup'],
        verbs: ['get'],
      },
      { apiGroups: ['batch'], resources: ['jobs'], verbs: ['create'] },
    ]);
    const [binding] = objectsOf(rendered.everything, 'RoleBinding');
    expect(binding).toMatchObject({
      roleRef: { kind: 'Role', name: role?.metadata.name },
      subjects: [{ kind: 'ServiceAccount', name: 'herald' }],
    });
    const env = containerOf(
      podOf(findObject(rendered.everything, 'Deployment', 'herald-user-handler')),
    ).env;
    expect(env).toEqual(
      expect.arrayContaining([
        { name: 'BACKUP_CRONJOB', value: 'herald-backup' },
        { name: 'BACKUP_S3_URL', value: 's3://herald-backups/dumps' },
      ]),
    );
    expect(objectsOf(rendered.default, 'Role')).toEqual([]);
  });

  it('keeps the user-handler without rights in the cluster unless admin.backupJobs is on', async () => {
    const listOnly = await renderChart({
      values: {
        admin: { enabled: true },
        backup: { enabled: true, s3Url: 's3://herald-backups/dumps' },
      },
    });
    expect(objectsOf(listOnly, 'Role')).toEqual([]);
    const pod = podOf(findObject(listOnly, 'Deployment', 'herald-user-handler'));
    expect(pod.automountServiceAccountToken).toBe(false);
    const names = (containerOf(pod).env ?? []).map((e) => e.name);
    expect(names).toContain('BACKUP_S3_URL');
    expect(names).not.toContain('BACKUP_CRONJOB');
  });

  it.each(allSets)(
    'with the %s values every container has CPU and memory requests and a memory limit',
    (name) => {
      for (const { owner, pod } of podsOf(rendered[name])) {
        for (const container of pod.containers) {
          expect({
            owner,
            requests: Object.keys(container.resources?.requests ?? {}).sort(),
          }).toMatchObject({
            owner,
            requests: expect.arrayContaining(['cpu', 'memory']),
          });
          expect({ owner, limit: container.resources?.limits?.memory !== undefined }).toEqual({
            owner,
            limit: true,
          });
        }
      }
    },
  );
});

describe('the user-handler rolls out without losing an update', () => {
  const userHandler = () => findObject(rendered.default, 'Deployment', 'herald-user-handler');

  it('starts each new pod before stopping an old one', () => {
    expect(userHandler().spec).toMatchObject({
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 0 } },
    });
  });

  it('pauses before SIGTERM so endpoints drain, within a grace period above the pause plus the 25 s cap', () => {
    const pod = podOf(userHandler());
    const pause = containerOf(pod).lifecycle?.preStop?.sleep?.seconds ?? 0;
    expect(pause).toBeGreaterThanOrEqual(5);
    expect(pod.terminationGracePeriodSeconds).toBeGreaterThan(pause + 25);
  });

  it('is ready only when /readyz says so and restarted only when /healthz fails', () => {
    const container = containerOf(podOf(userHandler()));
    expect(container.readinessProbe?.httpGet).toEqual({ path: '/readyz', port: 'http' });
    expect(container.livenessProbe?.httpGet).toEqual({ path: '/healthz', port: 'http' });
    expect(container.ports).toEqual([{ name: 'http', containerPort: 8080, protocol: 'TCP' }]);
  });

  it('spreads its pods across nodes', () => {
    const spread = podOf(userHandler()).topologySpreadConstraints ?? [];
    expect(spread.map((constraint) => constraint.topologyKey)).toContain('kubernetes.io/hostname');
  });

  it('scales on CPU with an HPA from 2 replicas, leaving replicas to it', () => {
    const hpa = findObject(rendered.default, 'HorizontalPodAutoscaler', 'herald-user-handler');
    expect(hpa.spec).toMatchObject({
      scaleTargetRef: { kind: 'Deployment', name: 'herald-user-handler' },
      minReplicas: 2,
      metrics: [{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization' } } }],
    });
    expect((userHandler().spec as { replicas?: number }).replicas).toBeUndefined();
  });

  it('with KEDA, scales on CPU and the update queue lag instead, and the plain HPA is gone', () => {
    expect(objectsOf(rendered.everything, 'HorizontalPodAutoscaler')).toEqual([]);
    const scaled = findObject(rendered.everything, 'ScaledObject', 'herald-user-handler');
    const triggers = (
      scaled.spec as { triggers: { type: string; metadata: Record<string, string> }[] }
    ).triggers;
    expect(triggers.map((trigger) => trigger.type)).toEqual(['cpu', 'prometheus']);
    expect(triggers[1]!.metadata.query).toBe(
      'max(herald_update_queue_lag_seconds{namespace="herald", job="user-handler"})',
    );
    expect(triggers[1]!.metadata.threshold).toBe('10');
  });

  it('keeps a pod up through node drains', () => {
    expect(
      findObject(rendered.default, 'PodDisruptionBudget', 'herald-user-handler').spec,
    ).toMatchObject({
      minAvailable: 1,
      selector: { matchLabels: { 'app.kubernetes.io/component': 'user-handler' } },
    });
  });

  it('in polling mode runs one replica without autoscaling and without the webhook secret', () => {
    const deployment = findObject(polling, 'Deployment', 'herald-user-handler');
    expect((deployment.spec as { replicas: number }).replicas).toBe(1);
    expect(objectsOf(polling, 'HorizontalPodAutoscaler')).toEqual([]);
    expect(containerOf(podOf(deployment)).env?.map((e) => e.name)).not.toContain('WEBHOOK_SECRET');
  });
});

describe('the news publisher runs a leader and a standby', () => {
  it('has 2 replicas, a PDB, no HPA, and its lock TTL from the values', () => {
    const deployment = findObject(rendered.default, 'Deployment', 'herald-news-publisher');
    expect((deployment.spec as { replicas: number }).replicas).toBe(2);
    expect(
      findObject(rendered.default, 'PodDisruptionBudget', 'herald-news-publisher').spec,
    ).toMatchObject({ minAvailable: 1 });
    const hpaTargets = objectsOf(rendered.default, 'HorizontalPodAutoscaler').map(
      (hpa) => (hpa.spec as { scaleTargetRef: { name: string } }).scaleTargetRef.name,
    );
    expect(hpaTargets).not.toContain('herald-news-publisher');
    expect(findObject(rendered.default, 'ConfigMap', 'herald').data).toMatchObject({
      NEWS_LOCK_TTL: '30s',
    });
  });

  it('gets its news sources from the values when given, mounted read-only', () => {
    const container = containerOf(
      podOf(findObject(rendered.everything, 'Deployment', 'herald-news-publisher')),
    );
    expect(container.env).toContainEqual({
      name: 'NEWS_SOURCES_FILE',
      value: '/etc/herald/news/sources.yaml',
    });
    expect(findObject(rendered.everything, 'ConfigMap', 'herald-news-publisher').data).toEqual({
      'sources.yaml': 'sources: []\n',
    });
  });

  it('probes /readyz and /healthz and stops within a grace period above the 25 s cap', () => {
    const pod = podOf(findObject(rendered.default, 'Deployment', 'herald-news-publisher'));
    const container = containerOf(pod);
    expect(container.readinessProbe?.httpGet?.path).toBe('/readyz');
    expect(container.livenessProbe?.httpGet?.path).toBe('/healthz');
    expect(pod.terminationGracePeriodSeconds).toBeGreaterThan(25);
  });
});

describe('vLLM', () => {
  const vllm = (set: ValueSetName = 'default') =>
    findObject(rendered[set], 'Deployment', 'herald-inference');

  it('requests and is limited to its GPUs, on GPU nodes', () => {
    const pod = podOf(vllm());
    const { resources } = containerOf(pod);
    expect(resources?.limits?.['nvidia.com/gpu']).toBe(1);
    expect(resources?.requests?.['nvidia.com/gpu']).toBe(1);
    expect(pod.tolerations).toContainEqual({
      key: 'nvidia.com/gpu',
      operator: 'Exists',
      effect: 'NoSchedule',
    });
  });

  it('allows minutes of model loading before liveness applies, and probes /health', () => {
    const container = containerOf(podOf(vllm()));
    const startup = container.startupProbe!;
    expect(startup.httpGet?.path).toBe('/health');
    expect((startup.periodSeconds ?? 10) * (startup.failureThreshold ?? 3)).toBeGreaterThanOrEqual(
      600,
    );
    expect(container.readinessProbe?.httpGet?.path).toBe('/health');
    expect(container.livenessProbe?.httpGet?.path).toBe('/health');
  });

  it('serves the model with the flags from the values', () => {
    const args = containerOf(podOf(vllm())).args ?? [];
    // The defaults are the L4 AWQ profile: the one that fits the budget.
    expect(args[0]).toBe('casperhansen/deepseek-r1-distill-qwen-14b-awq');
    expect(args).toEqual(
      expect.arrayContaining([
        '--served-model-name=deepseek-r1-14b',
        '--quantization=awq_marlin',
        '--max-model-len=8192',
        '--max-num-seqs=6',
        '--gpu-memory-utilization=0.92',
        '--reasoning-parser=deepseek_r1',
        '--enable-prefix-caching',
      ]),
    );
  });

  it('has /dev/shm in memory, a model cache volume, and its HF token from a Secret', () => {
    const pod = podOf(vllm());
    expect(pod.volumes?.find((volume) => volume.name === 'shm')?.emptyDir).toEqual({
      medium: 'Memory',
      sizeLimit: '2Gi',
    });
    expect(pod.volumes?.find((volume) => volume.name === 'model-cache')).toMatchObject({
      persistentVolumeClaim: { claimName: 'herald-inference' },
    });
    expect(findObject(rendered.default, 'PersistentVolumeClaim', 'herald-inference')).toBeDefined();
    expect(containerOf(pod).env?.find((e) => e.name === 'HF_TOKEN')?.valueFrom).toEqual({
      secretKeyRef: { name: 'herald', key: 'HF_TOKEN', optional: true },
    });
  });

  it("keeps Herald's requests inside vLLM's context: token limits from --max-model-len unless set", async () => {
    expect(findObject(rendered.default, 'ConfigMap', 'herald').data).toMatchObject({
      AI_MAX_TOKENS: '4096',
      AI_HISTORY_TOKENS: '2048',
    });
    const set = await renderChart({
      values: { inference: { maxModelLen: 16384 }, config: { AI_HISTORY_TOKENS: '1000' } },
    });
    expect(findObject(set, 'ConfigMap', 'herald').data).toMatchObject({
      AI_MAX_TOKENS: '8192',
      AI_HISTORY_TOKENS: '1000',
    });
    const external = findObject(rendered.minimal, 'ConfigMap', 'herald').data ?? {};
    expect(external).not.toHaveProperty('AI_MAX_TOKENS');
  });

  it('is what Herald talks to by default, and off means the endpoint from the values', () => {
    expect(findObject(rendered.default, 'ConfigMap', 'herald').data).toMatchObject({
      AI_BASE_URL: 'http://herald-inference:8000/v1',
      AI_MODELS: 'deepseek-r1-14b',
      AI_DEFAULT_MODEL: 'deepseek-r1-14b',
    });
    expect(objectsOf(rendered.minimal, 'Deployment').map((d) => d.metadata.name)).not.toContain(
      'herald-inference',
    );
    expect(findObject(rendered.minimal, 'ConfigMap', 'herald').data).toMatchObject({
      AI_BASE_URL: 'https://llm.example.com/v1',
    });
  });

  it('feeds the cost estimate: replicas times the hourly price, plus the other components', () => {
    expect(findObject(rendered.everything, 'ConfigMap', 'herald').data).toMatchObject({
      COST_HOURLY_USD: 'inference=2.5,nodes=0.35',
    });
  });
});

describe('the in-cluster Redis keeps the update queue', () => {
  const conf = () =>
    (findObject(rendered.default, 'ConfigMap', 'herald-redis').data as Record<string, string>)[
      'redis.conf'
    ]!;

  it('never evicts a key and appends every write to the AOF', () => {
    expect(conf()).toMatch(/^maxmemory-policy noeviction$/m);
    expect(conf()).toMatch(/^appendonly yes$/m);
    expect(conf()).toMatch(/^appendfsync everysec$/m);
  });

  it('requires the password from the Secret, and Herald connects with it', () => {
    const statefulSet = findObject(rendered.default, 'StatefulSet', 'herald-redis');
    const container = containerOf(podOf(statefulSet));
    expect(container.command).toEqual([
      'redis-server',
      '/etc/redis/redis.conf',
      '--requirepass',
      '$(REDIS_PASSWORD)',
    ]);
    expect(container.env?.[0]).toEqual({
      name: 'REDIS_PASSWORD',
      valueFrom: { secretKeyRef: { name: 'herald', key: 'REDIS_PASSWORD' } },
    });
    const handler = containerOf(
      podOf(findObject(rendered.default, 'Deployment', 'herald-user-handler')),
    );
    expect(handler.env?.find((e) => e.name === 'REDIS_URL')?.value).toBe(
      'redis://:$(REDIS_PASSWORD)@herald-redis:6379/0',
    );
    expect(findObject(rendered.default, 'Secret', 'herald').stringData).toHaveProperty(
      'REDIS_PASSWORD',
    );
  });

  it('keeps its data on a volume claim', () => {
    const statefulSet = findObject(rendered.default, 'StatefulSet', 'herald-redis');
    expect(
      (statefulSet.spec as { volumeClaimTemplates: { metadata: { name: string } }[] })
        .volumeClaimTemplates[0]!.metadata.name,
    ).toBe('data');
  });
});

describe('Postgres', () => {
  it("with CloudNativePG, Herald reads DATABASE_URL from the Cluster's app Secret", () => {
    const container = containerOf(
      podOf(findObject(rendered.default, 'Deployment', 'herald-user-handler')),
    );
    expect(container.env?.find((e) => e.name === 'DATABASE_URL')?.valueFrom).toEqual({
      secretKeyRef: { name: 'herald-postgresql-app', key: 'uri' },
    });
  });

  it('with backups on, the Cluster archives to the object store and a ScheduledBackup runs', () => {
    const cluster = findObject(rendered.everything, 'Cluster', 'herald-postgresql');
    expect(cluster.spec).toMatchObject({
      backup: {
        retentionPolicy: '30d',
        barmanObjectStore: {
          destinationPath: 's3://herald-backups/pg',
          s3Credentials: { accessKeyId: { name: 'herald', key: 'AWS_ACCESS_KEY_ID' } },
        },
      },
    });
    expect(
      findObject(rendered.everything, 'ScheduledBackup', 'herald-postgresql').spec,
    ).toMatchObject({
      cluster: { name: 'herald-postgresql' },
      method: 'barmanObjectStore',
    });
  });

  it('external: DATABASE_URL and REDIS_URL come from the Secret and nothing runs in-cluster', () => {
    const kinds = rendered.minimal.map(({ object }) => object.kind);
    expect(kinds).not.toContain('Cluster');
    expect(kinds).not.toContain('StatefulSet');
    const env =
      containerOf(podOf(findObject(rendered.minimal, 'Deployment', 'herald-user-handler'))).env ??
      [];
    expect(env.find((e) => e.name === 'DATABASE_URL')?.valueFrom).toEqual({
      secretKeyRef: { name: 'herald-secrets', key: 'DATABASE_URL' },
    });
    expect(env.find((e) => e.name === 'REDIS_URL')?.valueFrom).toEqual({
      secretKeyRef: { name: 'herald-secrets', key: 'REDIS_URL' },
    });
  });
});

describe('the backup CronJob', () => {
  it('runs herald-backup daily, one at a time, with the store and keys from the values and Secret', () => {
    const cron = findObject(rendered.production, 'CronJob', 'herald-backup');
    expect(cron.spec).toMatchObject({
      schedule: '17 3 * * *',
      concurrencyPolicy: 'Forbid',
      successfulJobsHistoryLimit: 3,
      failedJobsHistoryLimit: 3,
    });
    const pod = podsOf([{ source: '', object: cron }])[0]!.pod;
    const container = containerOf(pod);
    expect(container.image).toBe('ghcr.io/herald-bot/herald/backup:0.1.0');
    expect(container.command).toEqual(['node', 'dist/cli.js', 'run']);
    const env = Object.fromEntries(
      (container.env ?? []).map((e) => [e.name, e.value ?? e.valueFrom]),
    );
    expect(env).toMatchObject({
      BACKUP_S3_URL: 's3://herald-backups/production',
      AWS_REGION: 'eu-central-1',
      BACKUP_KEEP_DAILY_DAYS: '30',
      BACKUP_KEEP_MONTHLY_MONTHS: '12',
      DATABASE_URL: { secretKeyRef: { name: 'herald-secrets', key: 'DATABASE_URL' } },
      AWS_ACCESS_KEY_ID: { secretKeyRef: { name: 'herald-secrets', key: 'AWS_ACCESS_KEY_ID' } },
      BACKUP_ENCRYPTION_KEY: {
        secretKeyRef: { name: 'herald-secrets', key: 'BACKUP_ENCRYPTION_KEY' },
      },
    });
  });

  it('is off by default', () => {
    expect(objectsOf(rendered.default, 'CronJob')).toEqual([]);
  });
});

describe('labels', () => {
  it.each(allSets)(
    'with the %s values every object carries the labels kubectl herald selects on',
    (name) => {
      for (const { object } of rendered[name]) {
        expect({
          object: `${object.kind}/${object.metadata.name}`,
          labels: object.metadata.labels,
        }).toMatchObject({
          labels: {
            'app.kubernetes.io/name': 'herald',
            'app.kubernetes.io/instance': 'herald',
            'app.kubernetes.io/component': expect.any(String),
            'app.kubernetes.io/part-of': 'herald',
            'app.kubernetes.io/version': '0.1.0',
            'helm.sh/chart': 'herald-0.1.0',
          },
        });
      }
    },
  );
});
