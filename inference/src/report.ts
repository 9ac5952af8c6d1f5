import type { LevelReport } from './load.js';
import type { Percentiles } from './stats.js';

/** The whole run, as `--json` prints it. */
export interface LoadTestReport {
  base_url: string;
  model: string;
  max_tokens: number;
  levels: LevelReport[];
}

const ms = (p: Percentiles) =>
  [p.p50, p.p95, p.p99].map((v) => (v === null ? '-' : String(Math.round(v)))).join('/');

/** The final table: one row per concurrency level. */
export function renderTable(report: LoadTestReport): string {
  const header = [
    'conc',
    'reqs',
    'ok',
    'err',
    '429',
    'TTFT ms p50/95/99',
    'answer TTFT ms p50/95/99',
    'ITL ms p50/95/99',
    'tok/s/req p50',
    'tok/s total',
  ];
  const rows = report.levels.map((l) => [
    String(l.concurrency),
    String(l.requests),
    String(l.succeeded),
    String(l.errors),
    String(l.rate_limited),
    ms(l.ttft_ms),
    ms(l.answer_ttft_ms),
    ms(l.itl_ms),
    l.tokens_per_s.per_request.p50 === null ? '-' : l.tokens_per_s.per_request.p50.toFixed(1),
    l.tokens_per_s.total.toFixed(1),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padStart(widths[i]!)).join('  ');
  const out = [
    `${report.model} at ${report.base_url}, max_tokens ${report.max_tokens}`,
    line(header),
    ...rows.map(line),
  ];
  for (const l of report.levels) {
    for (const [kind, count] of Object.entries(l.error_kinds)) {
      out.push(`  level ${l.concurrency}: ${count} × ${kind}`);
    }
  }
  return out.join('\n');
}
