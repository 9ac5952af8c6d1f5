import { readFileSync } from 'node:fs';
import { describe, expect, it } from '@jest/globals';
import { parse } from 'yaml';
import { promtool, RULES_FILE, RUNBOOK, RUNBOOK_URL, ruleGroups, rulesTestFiles } from './tools.js';

interface AlertCase {
  alertname: string;
  exp_alerts?: unknown[];
}

/** For each alert, how many promtool cases expect it to fire and to stay quiet. */
function alertCases(): Map<string, { fires: number; quiet: number }> {
  const cases = new Map<string, { fires: number; quiet: number }>();
  for (const file of rulesTestFiles()) {
    const suite = parse(readFileSync(file, 'utf8')) as {
      tests: { alert_rule_test?: AlertCase[] }[];
    };
    for (const test of suite.tests) {
      for (const check of test.alert_rule_test ?? []) {
        const count = cases.get(check.alertname) ?? { fires: 0, quiet: 0 };
        if ((check.exp_alerts ?? []).length > 0) count.fires += 1;
        else count.quiet += 1;
        cases.set(check.alertname, count);
      }
    }
  }
  return cases;
}

/** GitHub's anchor for a Markdown heading. */
const anchorOf = (heading: string) =>
  heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N} _-]/gu, '')
    .replace(/ /g, '-');

const alerts = ruleGroups().flatMap((group) => group.rules.filter((rule) => rule.alert));

describe('Herald alert rules', () => {
  it('pass promtool check rules', async () => {
    const { code, output } = await promtool(['check', 'rules', RULES_FILE]);
    expect(output).toContain('SUCCESS');
    expect(code).toBe(0);
  });

  it('fire and stay quiet as their promtool unit tests expect', async () => {
    const { code, output } = await promtool(['test', 'rules', ...rulesTestFiles()]);
    // On failure promtool prints each expected and actual alert: show them.
    expect(output).not.toContain('FAILED');
    expect(code).toBe(0);
  }, 60_000);

  it('each have a promtool case where they fire and one where they stay quiet', () => {
    const cases = alertCases();
    const untested = alerts
      .map((rule) => rule.alert!)
      .filter((name) => {
        const count = cases.get(name);
        return !count || count.fires === 0 || count.quiet === 0;
      });
    expect(untested).toEqual([]);
    // And no test names an alert the rules no longer have.
    const names = new Set(alerts.map((rule) => rule.alert));
    expect([...cases.keys()].filter((name) => !names.has(name))).toEqual([]);
  });

  it('each link to their own section of the runbook, and carry a severity and a summary', () => {
    const anchors = new Set(
      readFileSync(RUNBOOK, 'utf8')
        .split('\n')
        .filter((line) => /^#{1,6} /.test(line))
        .map((line) => anchorOf(line.replace(/^#+ /, ''))),
    );
    const problems = alerts.flatMap((rule) => {
      const url = rule.annotations?.runbook_url ?? '';
      const found: string[] = [];
      if (!url.startsWith(RUNBOOK_URL))
        found.push(`${rule.alert}: runbook_url ${url || 'missing'}`);
      else if (!anchors.has(url.slice(RUNBOOK_URL.length)))
        found.push(`${rule.alert}: no runbook section #${url.slice(RUNBOOK_URL.length)}`);
      if (url.slice(RUNBOOK_URL.length) !== rule.alert!.toLowerCase())
        found.push(`${rule.alert}: its section should be #${rule.alert!.toLowerCase()}`);
      if (!['critical', 'warning'].includes(rule.labels?.severity ?? ''))
        found.push(`${rule.alert}: severity ${rule.labels?.severity ?? 'missing'}`);
      if (!rule.annotations?.summary) found.push(`${rule.alert}: no summary`);
      return found;
    });
    expect(problems).toEqual([]);
  });
});
