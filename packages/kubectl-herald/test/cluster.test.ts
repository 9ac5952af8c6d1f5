// kubectl herald's own dealings with the Kubernetes API (double): finding the release,
// the errors an operator meets, the restore and backup Jobs, logs, and exec.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { repositoryRoot, startBotApiDouble, type BotApiDouble } from '@herald/testing';
import { startKubeApiDouble, type KubeApiDouble, type KubeObject } from './kube-api-double.js';
import { kubectlHerald } from './plugin.js';
import { seedRelease, type SeededRelease } from './release.js';

const ADMIN_TOKEN = 'an-admin-token-of-at-least-32-characters';

let kube: KubeApiDouble;
let release: SeededRelease;
let env: Record<string, string>;

beforeAll(async () => {
  kube = await startKubeApiDouble();
  release = seedRelease(kube, { adminToken: ADMIN_TOKEN });
  env = { KUBECONFIG: kube.kubeconfigPath };
});

afterAll(async () => {
  await kube?.close();
});

/** A fresh double for tests that change RBAC or the release. */
async function withDouble(
  test: (double: KubeApiDouble, env: Record<string, string>) => Promise<void>,
): Promise<void> {
  const double = await startKubeApiDouble();
  try {
    await test(double, { KUBECONFIG: double.kubeconfigPath });
  } finally {
    await double.close();
  }
}

function createdJobs(double: KubeApiDouble): KubeObject[] {
  return double.requests
    .filter((request) => request.method === 'POST' && request.resource === 'jobs')
    .map((request) => request.body!);
}

type JobSpec = {
  backoffLimit?: number;
  template: {
    spec: { containers: { command?: string[]; args?: string[]; env?: { name: string }[] }[] };
  };
};

describe('finding the release', () => {
  it('says the namespace does not exist, and how to pick one, with exit 1', async () => {
    const run = await kubectlHerald(['status', '-n', 'herald-prod'], env);
    expect(run.code).toBe(1);
    expect(run.stdout).toBe('');
    expect(run.stderr).toBe(
      'error: namespace "herald-prod" does not exist in context "double"\n' +
        '  pass -n with the namespace Herald is installed in (`kubectl get namespaces` lists them)\n',
    );
  });

  it('names the releases that are there when --release names one that is not', async () => {
    const run = await kubectlHerald(['dead-letters', 'list', '--release', 'blue'], env);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('error: no Herald release "blue" in namespace "herald"');
    expect(run.stderr).toContain('releases here: herald; pass --release with one of them');
  });

  it('says no release is installed in a namespace that exists but has none', async () => {
    await withDouble(async (double, doubleEnv) => {
      double.addNamespace('empty');
      const run = await kubectlHerald(['status', '-n', 'empty'], doubleEnv);
      expect(run.code).toBe(1);
      expect(run.stderr).toContain('no Herald release in namespace "empty"');
      expect(run.stderr).toContain('helm list -A');
    });
  });

  it('asks for --release (exit 64) when the namespace holds two releases', async () => {
    await withDouble(async (double, doubleEnv) => {
      seedRelease(double, { adminToken: ADMIN_TOKEN, release: 'blue' });
      seedRelease(double, { adminToken: ADMIN_TOKEN, release: 'green' });
      const run = await kubectlHerald(['logs', 'user-handler', '--no-follow'], doubleEnv);
      expect(run.code).toBe(64);
      expect(run.stderr).toContain('2 Herald releases in namespace "herald": blue, green');
      expect(run.stderr).toContain('pass --release');
    });
  });

  it('names the permissions it needs and how to grant them when RBAC forbids a call', async () => {
    await withDouble(async (double, doubleEnv) => {
      seedRelease(double, { adminToken: ADMIN_TOKEN });
      double.forbid('list', 'deployments');
      const run = await kubectlHerald(['status'], doubleEnv);
      expect(run.code).toBe(1);
      expect(run.stderr).toContain(
        'error: forbidden: deployments is forbidden: User "alice" cannot list resource "deployments" in API group "apps" in the namespace "herald"',
      );
      expect(run.stderr).toContain(
        'kubectl herald status needs, in namespace "herald": list deployments.apps, list pods',
      );
      expect(run.stderr).toContain('`kubectl herald rbac -n herald` prints one');
      expect(run.stderr).toContain('`kubectl auth can-i list deployments -n herald`');
    });
  });

  it('says which permission a restore lacks when creating Jobs is forbidden', async () => {
    await withDouble(async (double, doubleEnv) => {
      seedRelease(double, { adminToken: ADMIN_TOKEN });
      double.forbid('create', 'jobs');
      const run = await kubectlHerald(['restore', 'latest', '--yes'], doubleEnv);
      expect(run.code).toBe(1);
      expect(run.stderr).toContain('cannot create resource "jobs" in API group "batch"');
      expect(run.stderr).toContain('create/get jobs.batch');
    });
  });

  it('says the cluster cannot be reached, and how to check it, when the API server is down', async () => {
    let kubeconfig = '';
    await withDouble(async (_double, doubleEnv) => {
      kubeconfig = doubleEnv.KUBECONFIG!;
      const { readFile, writeFile } = await import('node:fs/promises');
      const copy = `${kubeconfig}.down`;
      await writeFile(
        copy,
        (await readFile(kubeconfig, 'utf8')).replace(/127\.0\.0\.1:\d+/, '127.0.0.1:1'),
      );
      const run = await kubectlHerald(['status'], { KUBECONFIG: copy });
      expect(run.code).toBe(1);
      expect(run.stderr).toContain(
        'error: cannot reach the Kubernetes API server at http://127.0.0.1:1 to list deployments',
      );
      expect(run.stderr).toContain('kubectl cluster-info --context double');
    });
  });

  it('says there is no kubeconfig when none is found', async () => {
    const run = await kubectlHerald(['status'], {});
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('error: no kubeconfig');
    expect(run.stderr).toContain('--kubeconfig');
  });

  it('refuses an unknown --context with exit 64, listing the contexts there are', async () => {
    const run = await kubectlHerald(['status', '--context', 'prod'], env);
    expect(run.code).toBe(64);
    expect(run.stderr).toContain('no context "prod" in the kubeconfig');
    expect(run.stderr).toContain('pass --context with one of: double');
  });
});

describe('usage', () => {
  it('exits 64 on an unknown command or flag, and 0 with the help on --help', async () => {
    expect((await kubectlHerald(['frobnicate'], env)).code).toBe(64);
    const flag = await kubectlHerald(['status', '--colour'], env);
    expect(flag.code).toBe(64);
    expect(flag.stderr).toContain("Unknown option '--colour'");
    const help = await kubectlHerald(['--help'], env);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('restore <backup> [--yes]');
    expect(help.stdout).toContain('Exit codes: 0 ok, 1 failure, 64 usage.');
  });

  it('prints a Role with every permission the commands need', async () => {
    const run = await kubectlHerald(['rbac', '-n', 'herald'], {});
    expect(run.code).toBe(0);
    expect(run.stdout).toContain(
      'kind: Role\nmetadata:\n  name: kubectl-herald\n  namespace: herald',
    );
    expect(run.stdout).toContain('resources: ["pods/portforward"]\n    verbs: ["create", "get"]');
    expect(run.stdout).toContain('resources: ["jobs"]\n    verbs: ["create", "get"]');
  });
});

describe('restore', () => {
  it('refuses without --yes when standard input is not a terminal, and creates no Job', async () => {
    const before = createdJobs(kube).length;
    const run = await kubectlHerald(['restore', 'herald-2026-12-01T03-17-00Z.dump'], env);
    expect(run.code).toBe(64);
    expect(run.stderr).toBe(
      'error: refusing to restore herald-2026-12-01T03-17-00Z.dump without confirmation: standard input is not a terminal\n' +
        '  pass --yes to confirm\n',
    );
    expect(createdJobs(kube)).toHaveLength(before);
  });

  it("runs herald-backup restore in a Job from the backup CronJob's template and follows its log", async () => {
    kube.onJob(() => ({
      logs: ['restoring herald-2026-12-01T03-17-00Z.dump', 'restore done: 12 tables, 3400 rows'],
      succeeded: true,
    }));
    const run = await kubectlHerald(['restore', 'herald-2026-12-01T03-17-00Z.dump', '--yes'], env);
    expect(run.code).toBe(0);
    expect(run.stdout).toBe(
      'restoring herald-2026-12-01T03-17-00Z.dump\nrestore done: 12 tables, 3400 rows\n' +
        'restored herald-2026-12-01T03-17-00Z.dump into release "herald"\n',
    );
    const job = createdJobs(kube).at(-1)!;
    expect(job.metadata.name).toMatch(/^herald-backup-restore-[0-9a-f]{6}$/);
    expect(job.metadata.labels).toMatchObject({
      'app.kubernetes.io/instance': 'herald',
      'app.kubernetes.io/component': 'backup',
    });
    expect(job.metadata.annotations).toMatchObject({
      'cronjob.kubernetes.io/instantiate': 'manual',
    });
    const spec = job.spec as JobSpec;
    expect(spec.backoffLimit).toBe(0);
    const container = spec.template.spec.containers[0]!;
    // Kubernetes expands $(DATABASE_URL) from the container's env, which comes from the Secret.
    expect(container.command).toEqual([
      'node',
      'dist/cli.js',
      'restore',
      'herald-2026-12-01T03-17-00Z.dump',
      '--to',
      '$(DATABASE_URL)',
      '--clean',
    ]);
    expect(container.env?.map((variable) => variable.name)).toContain('DATABASE_URL');
  });

  it('exits 1 and says the database may be half-restored when the restore Job fails', async () => {
    kube.onJob(() => ({ logs: ['pg_restore: error: could not connect'], succeeded: false }));
    const run = await kubectlHerald(['restore', 'latest', '--yes', '-o', 'json'], env);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('pg_restore: error: could not connect');
    expect(run.stderr).toMatch(
      /error: restore job herald-backup-restore-[0-9a-f]{6} failed: the database may be half-restored/,
    );
    expect(JSON.parse(run.stdout)).toMatchObject({ backup: 'latest', succeeded: false });
  });

  it('says backups are off when the release has no backup CronJob', async () => {
    await withDouble(async (double, doubleEnv) => {
      seedRelease(double, { adminToken: ADMIN_TOKEN, backup: false });
      const run = await kubectlHerald(['restore', 'latest', '--yes'], doubleEnv);
      expect(run.code).toBe(1);
      expect(run.stderr).toContain('release "herald" has no backup CronJob in namespace "herald"');
      expect(run.stderr).toContain('backup.enabled=true');
    });
  });
});

describe('backup now', () => {
  it('starts a Job owned by the backup CronJob, unchanged, and reports its success', async () => {
    kube.onJob(() => ({
      logs: ['backup written: herald-2026-12-01T10-00-00Z.dump'],
      succeeded: true,
    }));
    const run = await kubectlHerald(['backup', 'now', '-o', 'json'], env);
    expect(run.code).toBe(0);
    const answer = JSON.parse(run.stdout) as { job: string; succeeded: boolean };
    expect(answer).toEqual({
      job: expect.stringMatching(/^herald-backup-manual-/),
      succeeded: true,
    });
    expect(run.stderr).toContain('backup written: herald-2026-12-01T10-00-00Z.dump');
    const job = createdJobs(kube).at(-1)!;
    expect(job.metadata.ownerReferences).toEqual([
      expect.objectContaining({ kind: 'CronJob', name: release.cronJob, controller: true }),
    ]);
    expect((job.spec as JobSpec).template.spec.containers[0]!.command).toEqual([
      'node',
      'dist/cli.js',
      'run',
    ]);
  });
});

describe('logs', () => {
  it("prints each user-handler pod's log lines prefixed by the pod", async () => {
    kube.setPodLog(release.userHandlerPods[0]!, [
      '{"msg":"user-handler started"}',
      '{"msg":"update answered"}',
    ]);
    kube.setPodLog(release.userHandlerPods[1]!, ['{"msg":"user-handler started"}']);
    const run = await kubectlHerald(['logs', 'user-handler', '--tail', '5'], env);
    expect(run.code).toBe(0);
    const lines = run.stdout.trimEnd().split('\n').sort();
    expect(lines).toEqual(
      [
        `[${release.userHandlerPods[0]}] {"msg":"update answered"}`,
        `[${release.userHandlerPods[0]}] {"msg":"user-handler started"}`,
        `[${release.userHandlerPods[1]}] {"msg":"user-handler started"}`,
      ].sort(),
    );
    const requests = kube.requests.filter((request) => request.resource === 'pods/log').slice(-2);
    for (const request of requests) {
      expect(request.query.get('follow')).toBe('true');
      expect(request.query.get('tailLines')).toBe('5');
      expect(request.query.get('container')).toBe('user-handler');
    }
  });

  it('refuses a component the chart does not have with exit 64', async () => {
    const run = await kubectlHerald(['logs', 'frontend'], env);
    expect(run.code).toBe(64);
    expect(run.stderr).toContain('pass one of: user-handler, news-publisher');
  });
});

describe('webhook', () => {
  let telegram: BotApiDouble;
  beforeAll(async () => {
    telegram = await startBotApiDouble();
    // The exec runs the user-handler image's own command, here against the Bot API double.
    const userHandler = join(repositoryRoot(), 'services', 'user-handler');
    kube.onExec(
      (_pod, _container, command) =>
        new Promise((resolve) => {
          const child = spawn(
            command[0] === 'node' ? process.execPath : command[0]!,
            command.slice(1),
            {
              cwd: userHandler,
              env: {
                PATH: process.env.PATH ?? '',
                TELEGRAM_BOT_TOKEN: telegram.token,
                TELEGRAM_API_ROOT: telegram.apiRoot,
                PUBLIC_URL: 'https://herald.example.com',
                WEBHOOK_SECRET: 'a-webhook-secret',
              },
            },
          );
          let stdout = '';
          let stderr = '';
          child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
          child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
          child.on('close', (code) => resolve({ stdout, stderr, exitCode: code ?? 1 }));
        }),
    );
  });
  afterAll(async () => {
    await telegram?.close();
  });

  it('sets the webhook by running webhook-admin in a user-handler pod, then shows it', async () => {
    const set = await kubectlHerald(['webhook', 'set'], env);
    expect(set.stderr).toBe('');
    expect(set.code).toBe(0);
    expect(set.stdout).toContain('webhook set: https://herald.example.com/telegram/webhook');
    const exec = kube.requests.filter((request) => request.resource === 'pods/exec').at(-1)!;
    expect(exec.websocket).toBe(true);
    expect(exec.name).toBe(release.userHandlerPods[0]);
    expect(exec.query.getAll('command')).toEqual(['node', 'dist/webhook-admin.js', 'set']);
    expect(exec.query.get('container')).toBe('user-handler');

    const info = await kubectlHerald(['webhook', 'info', '-o', 'json'], env);
    expect(info.code).toBe(0);
    expect(JSON.parse(info.stdout)).toMatchObject({
      url: 'https://herald.example.com/telegram/webhook',
      pending_update_count: 0,
    });
    const table = await kubectlHerald(['webhook', 'info'], env);
    expect(table.stdout).toMatch(/^URL\s+https:\/\/herald\.example\.com\/telegram\/webhook$/m);
  });

  it('names the exec permission when RBAC forbids it', async () => {
    await withDouble(async (double, doubleEnv) => {
      seedRelease(double, { adminToken: ADMIN_TOKEN });
      double.forbid('create', 'pods/exec');
      const run = await kubectlHerald(['webhook', 'info'], doubleEnv);
      expect(run.code).toBe(1);
      expect(run.stderr).toContain('forbidden: the API server refused to exec into pod');
      expect(run.stderr).toContain('get/create pods/exec');
    });
  });
});
