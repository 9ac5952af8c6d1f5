/**
 * Regenerates inference/profiles/*.yaml and the tables of the README and the cost page
 * from sizing.ts and costs.ts. `--check` changes nothing and exits 1 when a file is stale.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { generatedFiles, INFERENCE_DIR } from './docs.js';

const check = process.argv.includes('--check');
let stale = 0;
for (const file of await generatedFiles()) {
  const path = `${INFERENCE_DIR}${file.path}`;
  const current = existsSync(path) ? readFileSync(path, 'utf8') : undefined;
  if (current === file.content) continue;
  stale += 1;
  if (check) {
    process.stderr.write(
      `stale: inference/${file.path} (run pnpm --filter @herald/inference profiles)\n`,
    );
    continue;
  }
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, file.content);
  process.stdout.write(`wrote inference/${file.path}\n`);
}
if (check && stale > 0) process.exitCode = 1;
