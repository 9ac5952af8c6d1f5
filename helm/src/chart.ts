import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { parseAllDocuments } from 'yaml';

const run = promisify(execFile);

/** The helm package's folder (helm/), whether running from src/ or dist/. */
export const helmPackageDir = resolve(dirname(fileURLToPath(import.meta.url)), '..');
/** The repository root. */
export const repoRoot = resolve(helmPackageDir, '..');
/** The chart. */
export const chartDir = join(helmPackageDir, 'herald');
/** Where scripts/ensure-helm.sh puts helm and kubectl. */
export const toolsBinDir = join(repoRoot, 'node_modules', '.tools', 'bin');

/** A Kubernetes object as `helm template` printed it, with the template it came from. */
export interface RenderedObject {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  };
  [field: string]: unknown;
}

/** A rendered object and its template (`herald/templates/deployment-user-handler.yaml`). */
export interface Manifest {
  source: string;
  object: RenderedObject;
}

/** How to render the chart: values files (absolute or relative to the repository root) and `--set`s. */
export interface RenderOptions {
  valuesFiles?: readonly string[];
  /** Values given inline, applied after the files (as one more values file). */
  values?: Readonly<Record<string, unknown>>;
  set?: Readonly<Record<string, string | number | boolean>>;
  releaseName?: string;
  namespace?: string;
  /** Another copy of the chart (tests that add files to it). */
  chart?: string;
  /** Leave out `helm test` pods. */
  skipTests?: boolean;
  /** Render only these templates (`templates/servicemonitor-user-handler.yaml`). */
  showOnly?: readonly string[];
}

/** A tool from node_modules/.tools/bin; says how to get it when it is missing. */
export function toolPath(tool: 'helm' | 'kubectl'): string {
  const path = join(toolsBinDir, tool);
  if (!existsSync(path)) {
    throw new Error(`${path} is missing: run 'bash helm/scripts/ensure-helm.sh' first`);
  }
  return path;
}

/** Thrown when helm or kubectl exits non-zero; carries what the tool printed. */
export class ToolError extends Error {
  constructor(
    readonly command: string,
    readonly stderr: string,
  ) {
    super(`${command} failed: ${stderr.trim()}`);
    this.name = 'ToolError';
  }
}

/** Runs helm or kubectl, returning stdout; a failure throws a {@link ToolError} with stderr. */
export async function runTool(
  tool: 'helm' | 'kubectl',
  args: readonly string[],
  cwd = repoRoot,
): Promise<string> {
  try {
    const { stdout } = await run(toolPath(tool), [...args], {
      cwd,
      maxBuffer: 64 * 1024 * 1024,
      // helm keeps caches and plugins under HOME; tests must not depend on the user's.
      env: {
        // eslint-disable-next-line no-restricted-properties -- the tool inherits PATH, HOME and the like
        ...process.env,
        HELM_CACHE_HOME: join(repoRoot, 'node_modules', '.tools', 'helm-cache'),
      },
    });
    return stdout;
  } catch (error) {
    const stderr = (error as { stderr?: string }).stderr ?? String(error);
    throw new ToolError(`${tool} ${args.join(' ')}`, stderr);
  }
}

/** The `helm template` arguments for `options`. */
export function templateArgs(options: RenderOptions = {}): string[] {
  const args = [
    'template',
    options.releaseName ?? 'herald',
    options.chart ?? chartDir,
    '--namespace',
    options.namespace ?? 'herald',
  ];
  for (const file of options.valuesFiles ?? []) args.push('--values', resolve(repoRoot, file));
  for (const [key, value] of Object.entries(options.set ?? {})) {
    args.push(typeof value === 'string' ? '--set-string' : '--set', `${key}=${String(value)}`);
  }
  if (options.skipTests) args.push('--skip-tests');
  for (const template of options.showOnly ?? []) args.push('--show-only', template);
  return args;
}

/** `helm template` of the chart: the YAML text. */
export async function renderChartText(options: RenderOptions = {}): Promise<string> {
  if (!options.values) return runTool('helm', templateArgs(options));
  // Inline values go through a file: `--set` reads 2.5 as a string and cannot express lists.
  const dir = await mkdtemp(join(tmpdir(), 'herald-values-'));
  try {
    const file = join(dir, 'values.json');
    await writeFile(file, JSON.stringify(options.values));
    return await runTool(
      'helm',
      templateArgs({ ...options, valuesFiles: [...(options.valuesFiles ?? []), file] }),
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Splits `helm template` output into objects, each with the template it came from. */
export function parseManifests(text: string): Manifest[] {
  const manifests: Manifest[] = [];
  for (const document of parseAllDocuments(text)) {
    if (document.errors.length > 0) {
      throw new Error(`rendered YAML does not parse: ${document.errors[0]!.message}`);
    }
    const object = document.toJS() as RenderedObject | null;
    if (object === null) continue;
    const source = /# Source: (\S+)/.exec(document.toString())?.[1] ?? 'unknown';
    manifests.push({ source, object });
  }
  return manifests;
}

/** `helm template` of the chart, parsed. */
export async function renderChart(options: RenderOptions = {}): Promise<Manifest[]> {
  return parseManifests(await renderChartText(options));
}
