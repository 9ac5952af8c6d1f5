import { describe, expect, it } from '@jest/globals';
import { execFile } from 'node:child_process';
import { copyFile, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import * as prettier from 'prettier';
import { chartDir, helmPackageDir } from '../src/chart.js';

const run = promisify(execFile);

describe('the chart README', () => {
  it('documents every value, its parameter table current (run `pnpm --filter @herald/helm readme` if not)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'herald-readme-'));
    try {
      const readme = join(dir, 'README.md');
      await copyFile(join(chartDir, 'README.md'), readme);
      // readme-generator fails on a value without `## @param` and on a `## @param` without a value.
      await run(join(helmPackageDir, 'node_modules', '.bin', 'readme-generator'), [
        '--values',
        join(chartDir, 'values.yaml'),
        '--readme',
        readme,
      ]);
      const config = (await prettier.resolveConfig(join(chartDir, 'README.md'))) ?? {};
      const regenerated = await prettier.format(await readFile(readme, 'utf8'), {
        ...config,
        filepath: join(chartDir, 'README.md'),
      });
      expect(regenerated).toBe(await readFile(join(chartDir, 'README.md'), 'utf8'));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
