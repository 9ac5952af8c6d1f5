// A Herald release as the chart (helm/herald) puts it in a namespace: the labels, names,
// Secret reference, admin port and backup CronJob that kubectl herald relies on.
import type { KubeApiDouble, KubeObject } from './kube-api-double.js';

export interface ReleaseOptions {
  namespace?: string;
  release?: string;
  adminToken: string;
  /** Whether the user-handler pods expose the admin port (admin.enabled). */
  admin?: boolean;
  backup?: boolean;
}

/** Names of what {@link seedRelease} made. */
export interface SeededRelease {
  namespace: string;
  release: string;
  userHandlerPods: string[];
  newsPublisherPods: string[];
  cronJob: string;
  secret: string;
}

function labels(release: string, component: string): Record<string, string> {
  return {
    'app.kubernetes.io/name': 'herald',
    'app.kubernetes.io/instance': release,
    'app.kubernetes.io/component': component,
    'app.kubernetes.io/part-of': 'herald',
    'app.kubernetes.io/version': '0.1.0',
    'helm.sh/chart': 'herald-0.1.0',
  };
}

function pod(
  namespace: string,
  release: string,
  component: string,
  name: string,
  container: object,
  state: { ready: boolean; restarts: number },
): KubeObject {
  return {
    metadata: {
      name,
      namespace,
      labels: { ...labels(release, component), 'pod-template-hash': '7d4b9c' },
    },
    spec: { containers: [container] },
    status: {
      phase: 'Running',
      startTime: new Date(Date.now() - 3 * 3600_000).toISOString(),
      conditions: [{ type: 'Ready', status: state.ready ? 'True' : 'False' }],
      containerStatuses: [
        {
          name: component,
          ready: state.ready,
          restartCount: state.restarts,
          image: `ghcr.io/herald-bot/herald/${component}:0.1.0`,
          imageID: '',
          state: { running: { startedAt: new Date().toISOString() } },
        },
      ],
    },
  };
}

/** Puts a release's objects into the double, as `helm install` would have. */
export function seedRelease(kube: KubeApiDouble, options: ReleaseOptions): SeededRelease {
  const namespace = options.namespace ?? 'herald';
  const release = options.release ?? 'herald';
  const fullname = release.includes('herald') ? release : `${release}-herald`;
  const secret = fullname;
  kube.addNamespace(namespace);
  kube.add('secrets', {
    metadata: { name: secret, namespace, labels: labels(release, 'secrets') },
    type: 'Opaque',
    data: {
      ADMIN_API_TOKEN: Buffer.from(options.adminToken).toString('base64'),
      DATABASE_URL: Buffer.from('postgres://herald:secret@db/herald').toString('base64'),
    },
  });
  const secretEnv = (key: string) => ({
    name: key,
    valueFrom: { secretKeyRef: { name: secret, key } },
  });
  const userHandlerContainer = {
    name: 'user-handler',
    image: 'ghcr.io/herald-bot/herald/user-handler:0.1.0',
    ports: [
      { name: 'http', containerPort: 8080, protocol: 'TCP' },
      ...(options.admin === false ? [] : [{ name: 'admin', containerPort: 8081, protocol: 'TCP' }]),
    ],
    env: [
      { name: 'PORT', value: '8080' },
      ...(options.admin === false
        ? []
        : [{ name: 'ADMIN_PORT', value: '8081' }, secretEnv('ADMIN_API_TOKEN')]),
    ],
  };
  const newsContainer = {
    name: 'news-publisher',
    image: 'ghcr.io/herald-bot/herald/news-publisher:0.1.0',
  };
  const userHandlerPods = [
    `${fullname}-user-handler-7d4b9c-2xkqp`,
    `${fullname}-user-handler-7d4b9c-9wzlm`,
  ];
  const newsPublisherPods = [
    `${fullname}-news-publisher-5f6d8-hb7tc`,
    `${fullname}-news-publisher-5f6d8-qq4rn`,
  ];
  kube.add(
    'pods',
    pod(namespace, release, 'user-handler', userHandlerPods[0]!, userHandlerContainer, {
      ready: true,
      restarts: 0,
    }),
    pod(namespace, release, 'user-handler', userHandlerPods[1]!, userHandlerContainer, {
      ready: true,
      restarts: 3,
    }),
    pod(namespace, release, 'news-publisher', newsPublisherPods[0]!, newsContainer, {
      ready: true,
      restarts: 0,
    }),
    pod(namespace, release, 'news-publisher', newsPublisherPods[1]!, newsContainer, {
      ready: true,
      restarts: 0,
    }),
  );
  for (const [component, ready] of [
    ['user-handler', 2],
    ['news-publisher', 2],
  ] as const) {
    kube.add('deployments', {
      metadata: { name: `${fullname}-${component}`, namespace, labels: labels(release, component) },
      spec: {
        replicas: 2,
        selector: { matchLabels: { 'app.kubernetes.io/component': component } },
        template: { metadata: { labels: labels(release, component) }, spec: { containers: [] } },
      },
      status: { replicas: 2, readyReplicas: ready, availableReplicas: ready },
    });
  }
  kube.add('horizontalpodautoscalers', {
    metadata: {
      name: `${fullname}-user-handler`,
      namespace,
      labels: labels(release, 'user-handler'),
    },
    spec: {
      scaleTargetRef: {
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        name: `${fullname}-user-handler`,
      },
      minReplicas: 2,
      maxReplicas: 10,
    },
    status: { currentReplicas: 2, desiredReplicas: 3 },
  });
  const cronJob = `${fullname}-backup`;
  if (options.backup !== false) {
    kube.add('cronjobs', {
      metadata: { name: cronJob, namespace, labels: labels(release, 'backup') },
      spec: {
        schedule: '17 3 * * *',
        concurrencyPolicy: 'Forbid',
        jobTemplate: {
          metadata: { labels: labels(release, 'backup') },
          spec: {
            backoffLimit: 2,
            activeDeadlineSeconds: 3600,
            template: {
              metadata: { labels: labels(release, 'backup') },
              spec: {
                restartPolicy: 'Never',
                containers: [
                  {
                    name: 'backup',
                    image: 'ghcr.io/herald-bot/herald/backup:0.1.0',
                    command: ['node', 'dist/cli.js', 'run'],
                    env: [
                      secretEnv('DATABASE_URL'),
                      { name: 'BACKUP_S3_URL', value: 's3://herald-backups/prod' },
                    ],
                  },
                ],
              },
            },
          },
        },
      },
      status: {
        lastScheduleTime: '2026-12-01T03:17:00Z',
        lastSuccessfulTime: '2026-12-01T03:19:12Z',
      },
    });
  }
  return { namespace, release, userHandlerPods, newsPublisherPods, cronJob, secret };
}
