import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { format, resolveConfig } from 'prettier';
import { renderGpuPriceTable, renderSystemTable } from './costs.js';
import { PROFILES, renderProfileValues, renderSizingTable } from './profiles.js';

/** inference/ of the repository. */
export const INFERENCE_DIR = fileURLToPath(new URL('../', import.meta.url));

/** A generated file and what it should hold. */
export interface GeneratedFile {
  /** Relative to inference/. */
  path: string;
  content: string;
}

/** Replaces what lies between `<!-- name:begin -->` and `<!-- name:end -->`. */
export function replaceBlock(text: string, name: string, block: string): string {
  const begin = `<!-- ${name}:begin -->`;
  const end = `<!-- ${name}:end -->`;
  const from = text.indexOf(begin);
  const to = text.indexOf(end);
  if (from === -1 || to === -1 || to < from) {
    throw new Error(`the generated block "${name}" has lost its ${begin} … ${end} markers`);
  }
  return `${text.slice(0, from + begin.length)}\n${block}\n${text.slice(to)}`;
}

/**
 * Every file whose numbers come from sizing.ts and costs.ts: the profiles' values files and
 * the tables of the README and the cost page, as they should read now, formatted as the
 * repository's Prettier check wants them.
 */
export async function generatedFiles(dir = INFERENCE_DIR): Promise<GeneratedFile[]> {
  const read = (path: string) => readFileSync(`${dir}${path}`, 'utf8');
  const readme = replaceBlock(read('README.md'), 'sizing', renderSizingTable());
  let costs = replaceBlock(read('COSTS.md'), 'gpu-prices', renderGpuPriceTable());
  costs = replaceBlock(costs, 'system', renderSystemTable());
  const files = [
    ...PROFILES.map((p) => ({ path: `profiles/${p.id}.yaml`, content: renderProfileValues(p) })),
    { path: 'README.md', content: readme },
    { path: 'COSTS.md', content: costs },
  ];
  return Promise.all(
    files.map(async (file) => {
      const filepath = `${dir}${file.path}`;
      const options = (await resolveConfig(filepath)) ?? {};
      return { path: file.path, content: await format(file.content, { ...options, filepath }) };
    }),
  );
}
