// Every Dockerfile in the repository: lint-clean, and keeping the image contract that the
// chart relies on (read-only root filesystem, user 10001, exec-form command, Node 24).
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, relative } from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { repositoryRoot } from '@herald/testing';
import {
  contractProblems,
  findDockerfiles,
  lintDockerfile,
  nodeVersions,
  parseDockerfile,
  runtimeStage,
} from '../src/dockerfiles.js';

const root = repositoryRoot();
const dockerfiles = findDockerfiles(root);
const named = dockerfiles.map((path) => [relative(root, path), path] as const);
const services = named.filter(([name]) => name.startsWith('services/'));

it('finds the Dockerfile of each deployed service', () => {
  expect(services.map(([name]) => name)).toEqual(
    expect.arrayContaining([
      'services/news-publisher/Dockerfile',
      'services/user-handler/Dockerfile',
    ]),
  );
});

describe.each(named)('%s', (_name, path) => {
  const text = readFileSync(path, 'utf8');

  it('has no problem dockerfile-utils reports', () => {
    expect(lintDockerfile(text)).toEqual([]);
  });

  it('keeps the image contract: Node 24, user 10001, /app, NODE_ENV, exec-form command, OCI labels, dockerignore', () => {
    expect(contractProblems(path)).toEqual([]);
  });
});

describe.each(services)('%s', (_name, path) => {
  const text = readFileSync(path, 'utf8');
  const packageName = `@herald/${basename(dirname(path))}`;

  it('builds its payload with payload.sh, the script the image checks run', () => {
    const runs = parseDockerfile(text)
      .filter((i) => i.keyword === 'RUN')
      .map((i) => i.args);
    expect(runs.join('\n')).toContain(`packages/images/scripts/payload.sh ${packageName} /payload`);
    // A direct `pnpm deploy` here could drift from what the checks test.
    expect(runs.filter((run) => /\bpnpm\b.*\sdeploy\b/.test(run))).toEqual([]);
  });

  it('runs the service as `node dist/main.js` from the payload copied to /app', () => {
    const runtime = runtimeStage(parseDockerfile(text));
    expect(runtime.filter((i) => i.keyword === 'CMD').at(-1)?.args).toBe(
      '["node", "dist/main.js"]',
    );
    expect(runtime.filter((i) => i.keyword === 'ENTRYPOINT')).toEqual([]);
    expect(
      runtime.some((i) => i.keyword === 'COPY' && i.args === '--from=build /payload /app'),
    ).toBe(true);
  });
});

it('pins one Node 24 release in every Dockerfile, the one the image checks run', () => {
  const versions = new Set(dockerfiles.flatMap((path) => nodeVersions(readFileSync(path, 'utf8'))));
  expect(versions.size).toBe(1);
  const [version] = [...versions];
  expect(version).toMatch(/^24\.\d+\.\d+$/);
});

describe('contractProblems', () => {
  it('names each broken rule of a root, shell-form, unlabelled image on Node 20', () => {
    const dir = mkdtempSync(join(tmpdir(), 'herald-dockerfile-'));
    try {
      const path = join(dir, 'Dockerfile');
      writeFileSync(path, 'FROM node:20\nWORKDIR /srv\nCOPY . .\nCMD node dist/main.js\n');
      expect(contractProblems(path)).toEqual([
        'runtime stage is FROM node:20: use a pinned node:24.x slim or distroless image',
        'the runtime user is root: set USER 10001:10001',
        'WORKDIR of the runtime is not /app',
        'the runtime does not set ENV NODE_ENV=production',
        'line 4: CMD in shell form: /bin/sh would get SIGTERM, not node; use the JSON (exec) form',
        'no LABEL org.opencontainers.image.source set from a build arg',
        'no LABEL org.opencontainers.image.revision set from a build arg',
        'no LABEL org.opencontainers.image.version set from a build arg',
        'no Dockerfile.dockerignore beside it: the whole repository would be the context',
      ]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
