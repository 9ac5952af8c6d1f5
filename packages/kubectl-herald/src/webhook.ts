import { Writable } from 'node:stream';
import { Exec, type V1Status } from '@kubernetes/client-node';
import { z } from 'zod';
import type { Cluster } from './cluster.js';
import type { CommandContext } from './context.js';
import { CliError } from './errors.js';
import { COMMAND_PERMISSIONS, describePermissions } from './permissions.js';
import { formatInstant, printFields, printJson } from './output.js';

/** Telegram's WebhookInfo, as `webhook-admin info` prints it. */
const webhookInfo = z.looseObject({
  url: z.string(),
  has_custom_certificate: z.boolean().optional(),
  pending_update_count: z.number(),
  ip_address: z.string().optional(),
  last_error_date: z.number().optional(),
  last_error_message: z.string().optional(),
  max_connections: z.number().optional(),
  allowed_updates: z.array(z.string()).optional(),
});

interface ExecResult {
  stdout: string;
  stderr: string;
  status: V1Status | undefined;
}

function collector(): { stream: Writable; text: () => string } {
  const chunks: Buffer[] = [];
  return {
    stream: new Writable({
      write(chunk: Buffer, _encoding, done) {
        chunks.push(chunk);
        done();
      },
    }),
    text: () => Buffer.concat(chunks).toString('utf8'),
  };
}

/** Runs a command in a pod's container (`kubectl exec`), collecting its output and status. */
async function execInPod(
  cluster: Cluster,
  pod: string,
  container: string,
  command: string[],
): Promise<ExecResult> {
  const stdout = collector();
  const stderr = collector();
  let status: V1Status | undefined;
  let socket;
  try {
    socket = await new Exec(cluster.kubeConfig).exec(
      cluster.namespace,
      pod,
      container,
      command,
      stdout.stream,
      stderr.stream,
      null,
      false,
      (received) => (status = received),
    );
  } catch (error) {
    const reason =
      typeof error === 'object' && error !== null && 'message' in error
        ? String(error.message)
        : String(error);
    if (/\b403\b/.test(reason)) {
      throw new CliError(
        `forbidden: the API server refused to exec into pod ${pod} (${reason})`,
        `kubectl herald webhook needs, in namespace "${cluster.namespace}": ${describePermissions(COMMAND_PERMISSIONS.webhook ?? [])}`,
      );
    }
    throw new CliError(`could not exec into pod ${pod}: ${reason}`);
  }
  await new Promise<void>((resolve) => {
    if (socket.readyState === socket.CLOSED) resolve();
    else socket.on('close', () => resolve());
  });
  return { stdout: stdout.text(), stderr: stderr.text(), status };
}

/**
 * `webhook info|set [--drop-pending-updates]`: runs the user-handler image's own
 * `webhook-admin` in a running pod, so it uses the pod's bot token, PUBLIC_URL and
 * WEBHOOK_SECRET; none of them leaves the cluster.
 */
export async function runWebhookAdmin(ctx: CommandContext, action: 'info' | 'set'): Promise<void> {
  ctx.positionals([]);
  const cluster = ctx.cluster();
  const pod = await cluster.readyPod('user-handler');
  const podName = pod.metadata?.name ?? '';
  const container =
    pod.spec?.containers.find((candidate) => candidate.name === 'user-handler')?.name ??
    pod.spec?.containers[0]?.name ??
    '';
  const command = ['node', 'dist/webhook-admin.js', action];
  if (action === 'set' && ctx.options.dropPendingUpdates) command.push('--drop-pending-updates');
  const result = await execInPod(cluster, podName, container, command);
  if (result.status?.status !== 'Success') {
    const exitCode = result.status?.details?.causes?.find(
      (cause) => cause.reason === 'ExitCode',
    )?.message;
    throw new CliError(
      `webhook-admin ${action} failed in pod ${podName}${exitCode ? ` (exit ${exitCode})` : ''}: ` +
        (result.stderr.trim() || result.status?.message || 'no output'),
      action === 'set'
        ? 'check PUBLIC_URL (publicUrl in the chart) and WEBHOOK_SECRET in the Secret'
        : 'check TELEGRAM_BOT_TOKEN in the Secret and that the pod reaches Telegram',
    );
  }
  if (action === 'set') {
    if (ctx.output.format === 'json') {
      return printJson(ctx.output, { set: true, pod: podName, message: result.stdout.trim() });
    }
    ctx.output.out.write(result.stdout);
    return;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(result.stdout);
  } catch {
    throw new CliError(
      `webhook-admin info printed something other than JSON: ${result.stdout.slice(0, 200)}`,
    );
  }
  if (ctx.output.format === 'json') return printJson(ctx.output, parsed);
  const info = webhookInfo.safeParse(parsed);
  if (!info.success) {
    throw new CliError(
      'webhook-admin info printed JSON that is not a WebhookInfo',
      'use -o json to see it',
    );
  }
  const nowMs = ctx.host.nowMs();
  printFields(ctx.output, [
    ['URL', info.data.url || '(none: polling mode, or not set yet)'],
    ['Pending updates', String(info.data.pending_update_count)],
    [
      'Max connections',
      info.data.max_connections === undefined ? '-' : String(info.data.max_connections),
    ],
    ['IP address', info.data.ip_address ?? '-'],
    [
      'Last error',
      info.data.last_error_date
        ? `${formatInstant(new Date(info.data.last_error_date * 1000), nowMs)}: ${info.data.last_error_message ?? ''}`
        : 'none',
    ],
  ]);
}
