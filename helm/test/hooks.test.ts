import { beforeAll, describe, expect, it } from '@jest/globals';
import { renderChart, type Manifest, type RenderedObject } from '../src/chart.js';
import { containerOf, findObject, podsOf, renderAll, type ValueSetName } from './helpers.js';

let rendered: Record<ValueSetName, Manifest[]>;
let externalCreated: Manifest[];

beforeAll(async () => {
  [rendered, externalCreated] = await Promise.all([
    renderAll(),
    // External Postgres with the chart's own Secret: the case where the pre-install hook
    // needs its own copy of DATABASE_URL.
    renderChart({
      values: {
        postgresql: { mode: 'external' },
        secrets: { values: { DATABASE_URL: 'postgresql://herald:pw@db:5432/herald' } },
      },
    }),
  ]);
});

const hookOf = (object: RenderedObject) => ({
  hook: object.metadata.annotations?.['helm.sh/hook'],
  weight: Number(object.metadata.annotations?.['helm.sh/hook-weight'] ?? 0),
  deletePolicy: object.metadata.annotations?.['helm.sh/hook-delete-policy'],
});

describe('the migrations run before the release changes', () => {
  it('with an external Postgres: pre-install and pre-upgrade, ServiceAccount then Secret then Job', () => {
    const account = hookOf(findObject(externalCreated, 'ServiceAccount', 'herald-migrations'));
    const secret = hookOf(findObject(externalCreated, 'Secret', 'herald-migrations'));
    const job = hookOf(findObject(externalCreated, 'Job', 'herald-migrations'));
    for (const hook of [account, secret, job]) {
      expect(hook.hook).toBe('pre-install,pre-upgrade');
      expect(hook.deletePolicy).toBe('before-hook-creation,hook-succeeded');
    }
    expect(account.weight).toBeLessThan(secret.weight);
    expect(secret.weight).toBeLessThan(job.weight);
  });

  it("the hook reads DATABASE_URL from its own hook Secret, which exists before the release's Secret", () => {
    const job = findObject(externalCreated, 'Job', 'herald-migrations');
    const container = containerOf(podsOf([{ source: '', object: job }])[0]!.pod);
    expect(container.command).toEqual(['node', 'node_modules/@herald/db/dist/migrate.js']);
    expect(container.env?.find((e) => e.name === 'DATABASE_URL')?.valueFrom).toEqual({
      secretKeyRef: { name: 'herald-migrations', key: 'DATABASE_URL' },
    });
    expect(findObject(externalCreated, 'Secret', 'herald-migrations').stringData).toEqual({
      DATABASE_URL: 'postgresql://herald:pw@db:5432/herald',
    });
    expect(
      (job.spec as { template: { spec: { serviceAccountName: string } } }).template.spec
        .serviceAccountName,
    ).toBe('herald-migrations');
  });

  it('with an existing Secret the hook reads it directly and no hook Secret is made', () => {
    const job = findObject(rendered.minimal, 'Job', 'herald-migrations');
    expect(rendered.minimal.some(({ object }) => object.kind === 'Secret')).toBe(false);
    const container = containerOf(podsOf([{ source: '', object: job }])[0]!.pod);
    expect(container.env?.find((e) => e.name === 'DATABASE_URL')?.valueFrom).toEqual({
      secretKeyRef: { name: 'herald-secrets', key: 'DATABASE_URL' },
    });
  });

  it('with CloudNativePG, they run once the Cluster exists on install, and before every upgrade', () => {
    expect(hookOf(findObject(rendered.default, 'Job', 'herald-migrations')).hook).toBe(
      'post-install,pre-upgrade',
    );
  });
});

describe('Telegram is pointed at the webhook after each install and upgrade', () => {
  it('runs `webhook-admin set` as a post-install, post-upgrade hook when PUBLIC_URL is set', () => {
    const job = findObject(rendered.minimal, 'Job', 'herald-webhook');
    expect(hookOf(job)).toMatchObject({
      hook: 'post-install,post-upgrade',
      deletePolicy: 'before-hook-creation,hook-succeeded',
    });
    const container = containerOf(podsOf([{ source: '', object: job }])[0]!.pod);
    expect(container.command).toEqual(['node', 'dist/webhook-admin.js', 'set']);
    expect(container.env?.map((e) => e.name)).toEqual(['TELEGRAM_BOT_TOKEN', 'WEBHOOK_SECRET']);
    expect(findObject(rendered.minimal, 'ConfigMap', 'herald').data).toMatchObject({
      PUBLIC_URL: 'https://herald.example.com',
    });
  });

  it('does not run without PUBLIC_URL', () => {
    expect(
      rendered.default.some(
        ({ object }) => object.metadata.name === 'herald-webhook' && object.kind === 'Job',
      ),
    ).toBe(false);
  });
});

describe('helm test', () => {
  it('checks the readiness endpoint of every service', () => {
    const tests = rendered.default.filter(
      ({ object }) => object.metadata.annotations?.['helm.sh/hook'] === 'test',
    );
    const urls = tests.map(({ object }) =>
      containerOf(podsOf([{ source: '', object }])[0]!.pod).command!.at(-1),
    );
    expect(urls.sort()).toEqual([
      'http://herald-inference:8000/health',
      'http://herald-news-publisher:8080/readyz',
      'http://herald-user-handler:8080/readyz',
    ]);
  });

  it('leaves out the services that are off', () => {
    const tests = rendered.minimal.filter(
      ({ object }) => object.metadata.annotations?.['helm.sh/hook'] === 'test',
    );
    expect(tests.map(({ object }) => object.metadata.name).sort()).toEqual([
      'herald-test-news-publisher',
      'herald-test-user-handler',
    ]);
  });
});
