// Where the rule files, the dashboards and Prometheus's own tools are, for the tests.
import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { repositoryRoot } from '@herald/testing';
import { parse } from 'yaml';

export const ROOT = repositoryRoot();
export const RULES_FILE = join(ROOT, 'helm/herald/files/prometheus/herald-rules.yaml');
export const RULES_TESTS = join(ROOT, 'packages/observability/rules-tests');
export const DASHBOARDS_DIR = join(ROOT, 'helm/herald/files/dashboards');
export const RUNBOOK = join(ROOT, 'helm/herald/docs/runbook.md');
export const RUNBOOK_URL =
  'https://github.com/herald-bot/herald/blob/main/helm/herald/docs/runbook.md#';

const TOOLS = join(ROOT, 'node_modules/.tools/prometheus/usr/bin');

/** Path of `promtool` or `prometheus`, unpacked by scripts/ensure-prometheus.sh. */
export function prometheusTool(name: 'promtool' | 'prometheus'): string {
  const path = join(TOOLS, name);
  if (!existsSync(path)) {
    throw new Error(
      `${path} is missing: run bash packages/observability/scripts/ensure-prometheus.sh ` +
        '(root `pnpm test` runs it for you)',
    );
  }
  return path;
}

/** Runs promtool; resolves with its output whatever its exit status. */
export async function promtool(args: string[]): Promise<{ code: number; output: string }> {
  try {
    const { stdout, stderr } = await promisify(execFile)(prometheusTool('promtool'), args, {
      cwd: ROOT,
      maxBuffer: 16 * 1024 * 1024,
    });
    return { code: 0, output: stdout + stderr };
  } catch (error) {
    const failed = error as { code?: number; stdout?: string; stderr?: string };
    return { code: failed.code ?? 1, output: (failed.stdout ?? '') + (failed.stderr ?? '') };
  }
}

export interface Rule {
  record?: string;
  alert?: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

/** The rule groups of Herald's rule file. */
export function ruleGroups(): { name: string; rules: Rule[] }[] {
  return (parse(readFileSync(RULES_FILE, 'utf8')) as { groups: { name: string; rules: Rule[] }[] })
    .groups;
}

/** The promtool unit test files. */
export function rulesTestFiles(): string[] {
  return readdirSync(RULES_TESTS)
    .filter((file) => file.endsWith('.yaml'))
    .map((file) => join(RULES_TESTS, file));
}
