// Prometheus cannot scrape a Job that has exited, so the backup pushes its outcome to a
// Pushgateway: the text exposition format over plain HTTP, no client library needed.

/** The job label the metrics are grouped under, unless the URL names its own grouping. */
export const PUSHGATEWAY_JOB = 'herald_backup';

/**
 * The grouping URL: BACKUP_PUSHGATEWAY_URL as given when it already holds a
 * `/metrics/job/…` path (to add labels such as an instance), else `<url>/metrics/job/herald_backup`.
 */
export function groupingUrl(pushgatewayUrl: string): string {
  const url = new URL(pushgatewayUrl);
  if (!/\/metrics\/job\//.test(url.pathname)) {
    url.pathname = `${url.pathname.replace(/\/+$/, '')}/metrics/job/${PUSHGATEWAY_JOB}`;
  }
  return url.toString();
}

function gauge(name: string, help: string, value: number): string {
  return `# HELP ${name} ${help}\n# TYPE ${name} gauge\n${name} ${value}\n`;
}

/** The metrics of a successful backup, in the text exposition format. */
export function successMetrics(result: {
  finishedAt: Date;
  bytes: number;
  durationSeconds: number;
}): string {
  return (
    gauge(
      'herald_backup_last_success_timestamp_seconds',
      'When the last backup that was stored whole finished (Unix time).',
      result.finishedAt.getTime() / 1000,
    ) +
    gauge('herald_backup_last_size_bytes', 'Size of the last stored backup.', result.bytes) +
    gauge(
      'herald_backup_last_duration_seconds',
      'How long the last successful backup took.',
      result.durationSeconds,
    )
  );
}

/** The metric of a failed backup, in the text exposition format. */
export function failureMetrics(failedAt: Date): string {
  return gauge(
    'herald_backup_last_failure_timestamp_seconds',
    'When a backup last failed (Unix time).',
    failedAt.getTime() / 1000,
  );
}

/**
 * Sends `body` to the Pushgateway. `PUT` replaces the group's metrics (a success);
 * `POST` replaces only the metrics it names (a failure keeps the last success's time).
 * @throws when the gateway cannot be reached or answers other than 2xx.
 */
export async function pushMetrics(
  pushgatewayUrl: string,
  method: 'PUT' | 'POST',
  body: string,
  { timeoutMs = 10_000 }: { timeoutMs?: number } = {},
): Promise<void> {
  const url = groupingUrl(pushgatewayUrl);
  const response = await fetch(url, {
    method,
    headers: { 'content-type': 'text/plain; version=0.0.4' },
    body,
    signal: AbortSignal.timeout(timeoutMs),
  });
  if (!response.ok) {
    const text = (await response.text()).slice(0, 300);
    throw new Error(`the Pushgateway at ${url} answered ${response.status}: ${text}`);
  }
}
