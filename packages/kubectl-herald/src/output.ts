/** Where a command writes: data to `out`, progress and prompts to `err` (so `-o json` pipes cleanly). */
export interface Output {
  readonly format: 'table' | 'json';
  readonly out: NodeJS.WritableStream;
  readonly err: NodeJS.WritableStream;
}

/** Writes `value` as indented JSON, one document per command. */
export function printJson(output: Output, value: unknown): void {
  output.out.write(`${JSON.stringify(value, null, 2)}\n`);
}

/**
 * Writes rows as columns aligned like kubectl's: upper-case headers, two spaces between
 * columns, no borders, so the output greps and pastes well.
 */
export function printTable(output: Output, headers: string[], rows: string[][]): void {
  output.out.write(formatTable(headers, rows));
}

/** The text of {@link printTable}. */
export function formatTable(headers: string[], rows: string[][]): string {
  const all = [headers.map((header) => header.toUpperCase()), ...rows];
  const widths = headers.map((_, column) =>
    Math.max(...all.map((row) => (row[column] ?? '').length)),
  );
  return all
    .map((row) =>
      row
        .map((cell, column) =>
          column === row.length - 1 ? cell : cell.padEnd(widths[column] ?? 0),
        )
        .join('  ')
        .trimEnd(),
    )
    .map((line) => `${line}\n`)
    .join('');
}

/** Writes `label  value` lines with the labels aligned, for one object's fields. */
export function printFields(output: Output, fields: [label: string, value: string][]): void {
  const width = Math.max(...fields.map(([label]) => label.length));
  for (const [label, value] of fields) output.out.write(`${label.padEnd(width)}  ${value}\n`);
}

/** kubectl's compact age: 45s, 12m, 5h, 3d. */
export function formatAge(fromIso: string | Date | undefined | null, nowMs: number): string {
  if (!fromIso) return '-';
  const thenMs = new Date(fromIso).getTime();
  if (Number.isNaN(thenMs)) return '-';
  const seconds = Math.max(0, Math.floor((nowMs - thenMs) / 1000));
  if (seconds < 120) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 120) return `${minutes}m`;
  const hours = Math.floor(minutes / 60);
  if (hours < 48) return `${hours}h`;
  return `${Math.floor(hours / 24)}d`;
}

/** An instant as ISO text with its age beside it: `2026-12-01T03:17:00Z (5h ago)`. */
export function formatInstant(iso: string | Date | undefined | null, nowMs: number): string {
  if (!iso) return 'never';
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return String(iso);
  return `${date.toISOString().replace(/\.\d{3}Z$/, 'Z')} (${formatAge(date, nowMs)} ago)`;
}
