import { beforeAll, describe, expect, it } from '@jest/globals';
import { chartDir, renderChart, runTool, ToolError, type Manifest } from '../src/chart.js';
import { containerOf, findObject, objectsOf, podOf, podsOf } from './helpers.js';

const SECRET_KEYS = [
  'TELEGRAM_BOT_TOKEN',
  'WEBHOOK_SECRET',
  'AI_API_KEY',
  'DATABASE_URL',
  'REDIS_URL',
  'REDIS_PASSWORD',
  'ADMIN_API_TOKEN',
  'HF_TOKEN',
  'AWS_ACCESS_KEY_ID',
  'AWS_SECRET_ACCESS_KEY',
  'BACKUP_ENCRYPTION_KEY',
] as const;

/** A value no template could produce by chance, so finding it anywhere means it leaked there. */
const secretValue = (key: string) => `leak-canary-${key.toLowerCase()}`;

/** Every option on, external state (so DATABASE_URL and REDIS_URL come from the values). */
const withSecrets = {
  publicUrl: 'https://herald.example.com',
  admin: { enabled: true },
  postgresql: { mode: 'external' },
  redis: { mode: 'external' },
  backup: { enabled: true, s3Url: 's3://bucket/herald' },
  userHandler: { ingress: { enabled: true, host: 'herald.example.com' } },
  secrets: { values: Object.fromEntries(SECRET_KEYS.map((key) => [key, secretValue(key)])) },
};

let external: Manifest[];
let internalRedis: Manifest[];
let changedConfig: Manifest[];

beforeAll(async () => {
  [external, internalRedis, changedConfig] = await Promise.all([
    renderChart({ values: withSecrets }),
    renderChart({ values: { ...withSecrets, redis: { mode: 'internal' } } }),
    renderChart({ values: { ...withSecrets, config: { LOG_LEVEL: 'debug' } } }),
  ]);
});

/** helm's error for a values set, or undefined when it renders. */
async function helmError(values: object): Promise<string | undefined> {
  try {
    await renderChart({ values: values as Record<string, unknown> });
    return undefined;
  } catch (error) {
    if (error instanceof ToolError) return error.stderr;
    throw error;
  }
}

describe('secrets live only in Secrets', () => {
  it('no secret value appears in any object but a Secret', () => {
    for (const { object } of [...external, ...internalRedis]) {
      if (object.kind === 'Secret') continue;
      const text = JSON.stringify(object);
      for (const key of SECRET_KEYS) {
        expect({
          object: `${object.kind}/${object.metadata.name}`,
          leaks: text.includes(secretValue(key)),
        }).toEqual({
          object: `${object.kind}/${object.metadata.name}`,
          leaks: false,
        });
      }
    }
  });

  it('every secret a container gets is a secretKeyRef, never a literal', () => {
    for (const { owner, pod } of podsOf(external)) {
      for (const container of pod.containers) {
        for (const entry of container.env ?? []) {
          if ((SECRET_KEYS as readonly string[]).includes(entry.name)) {
            expect({ owner, name: entry.name, literal: entry.value }).toEqual({
              owner,
              name: entry.name,
              literal: undefined,
            });
            expect(entry.valueFrom).toHaveProperty('secretKeyRef');
          }
        }
      }
    }
  });

  it('the values file schema refuses a secret put in config, where it would land in a ConfigMap', async () => {
    expect(await helmError({ config: { WEBHOOK_SECRET: 'x' } })).toMatch(
      /at '\/config': additional properties 'WEBHOOK_SECRET' not allowed/,
    );
  });

  it('with existingSecret the chart creates no Secret and every reference points at it', () => {
    return renderChart({ values: { secrets: { existingSecret: 'mine' } } }).then((manifests) => {
      expect(objectsOf(manifests, 'Secret')).toEqual([]);
      const refs = podsOf(manifests)
        .flatMap(({ pod }) => pod.containers.flatMap((c) => c.env ?? []))
        .map(
          (e) =>
            (e.valueFrom as { secretKeyRef?: { name: string } } | undefined)?.secretKeyRef?.name,
        )
        .filter((name) => name !== undefined && name !== 'herald-postgresql-app');
      expect(new Set(refs)).toEqual(new Set(['mine']));
    });
  });

  it('the Secret holds the given values', () => {
    const secret = findObject(internalRedis, 'Secret', 'herald');
    expect(secret.stringData).toMatchObject({
      TELEGRAM_BOT_TOKEN: secretValue('TELEGRAM_BOT_TOKEN'),
      REDIS_PASSWORD: secretValue('REDIS_PASSWORD'),
    });
  });

  it('the in-cluster Redis gets a generated password when none is given', async () => {
    const manifests = await renderChart({});
    const data = findObject(manifests, 'Secret', 'herald').stringData as Record<string, string>;
    expect(data.REDIS_PASSWORD).toMatch(/^[A-Za-z0-9]{40}$/);
  });
});

describe('pods roll when their configuration changes', () => {
  it('a changed config value changes the config checksum of both services', () => {
    for (const name of ['herald-user-handler', 'herald-news-publisher']) {
      const before = (
        findObject(external, 'Deployment', name).spec as {
          template: { metadata: { annotations: Record<string, string> } };
        }
      ).template.metadata.annotations;
      const after = (
        findObject(changedConfig, 'Deployment', name).spec as {
          template: { metadata: { annotations: Record<string, string> } };
        }
      ).template.metadata.annotations;
      expect(before['checksum/config']).toMatch(/^[a-f0-9]{64}$/);
      expect(after['checksum/config']).not.toBe(before['checksum/config']);
      expect(after['checksum/secret']).toBe(before['checksum/secret']);
    }
  });
});

describe('the admin API', () => {
  it('gets ADMIN_PORT and ADMIN_API_TOKEN and a ClusterIP port, and is never in the Ingress', () => {
    const container = containerOf(podOf(findObject(external, 'Deployment', 'herald-user-handler')));
    expect(container.env).toContainEqual({ name: 'ADMIN_PORT', value: '8081' });
    expect(container.env?.find((e) => e.name === 'ADMIN_API_TOKEN')?.valueFrom).toEqual({
      secretKeyRef: { name: 'herald', key: 'ADMIN_API_TOKEN' },
    });
    const service = findObject(external, 'Service', 'herald-user-handler');
    expect(service.spec).toMatchObject({
      type: 'ClusterIP',
      ports: expect.arrayContaining([expect.objectContaining({ name: 'admin', port: 8081 })]),
    });
    const ingress = findObject(external, 'Ingress', 'herald-user-handler');
    expect(JSON.stringify(ingress)).not.toMatch(/admin|8081/);
  });
});

describe('the Ingress', () => {
  it('exposes only POST /telegram/webhook (the exact path) over TLS', () => {
    const ingress = findObject(external, 'Ingress', 'herald-user-handler');
    expect(ingress.spec).toEqual({
      tls: [{ hosts: ['herald.example.com'], secretName: 'herald-webhook-tls' }],
      rules: [
        {
          host: 'herald.example.com',
          http: {
            paths: [
              {
                path: '/telegram/webhook',
                pathType: 'Exact',
                backend: { service: { name: 'herald-user-handler', port: { name: 'http' } } },
              },
            ],
          },
        },
      ],
    });
  });
});

describe('the values schema refuses wrong values with a clear message', () => {
  it('refuses a wrong type', async () => {
    expect(await helmError({ userHandler: { replicas: 'two' } })).toMatch(
      /at '\/userHandler\/replicas': got string, want integer/,
    );
  });

  it('refuses an unknown key at the top level and deep inside', async () => {
    expect(await helmError({ userhandler: {} })).toMatch(
      /additional properties 'userhandler' not allowed/,
    );
    expect(await helmError({ inference: { gpu: { counts: 2 } } })).toMatch(
      /at '\/inference\/gpu': additional properties 'counts' not allowed/,
    );
  });

  it('refuses a duration without a unit, which Herald would refuse at boot', async () => {
    expect(await helmError({ config: { QUEUE_CLAIM_IDLE: '30' } })).toMatch(
      /\/config\/QUEUE_CLAIM_IDLE/,
    );
  });

  it('refuses polling mode with more than one replica, saying what to change', async () => {
    expect(await helmError({ config: { TELEGRAM_MODE: 'polling' } })).toMatch(
      /TELEGRAM_MODE=polling allows one getUpdates caller per bot: set userHandler.replicas=1/,
    );
  });

  it('refuses a grace period that would cut the shutdown short', async () => {
    expect(
      await helmError({
        userHandler: { terminationGracePeriodSeconds: 30, preStopSleepSeconds: 10 },
      }),
    ).toMatch(
      /terminationGracePeriodSeconds \(30\) must exceed preStopSleepSeconds \(10\) plus Herald's 25 s shutdown cap/,
    );
  });
});

describe('helm lint', () => {
  it.each(['values.yaml', 'values-minimal.yaml', 'values-production.yaml'])(
    'passes --strict with %s',
    async (file) => {
      const output = await runTool('helm', [
        'lint',
        '--strict',
        chartDir,
        '--values',
        `${chartDir}/${file}`,
      ]);
      expect(output).toMatch(/1 chart\(s\) linted, 0 chart\(s\) failed/);
    },
  );
});
