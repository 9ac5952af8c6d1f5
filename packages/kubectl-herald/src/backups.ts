import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { V1CronJob, V1Job, V1Pod } from '@kubernetes/client-node';
import { z } from 'zod';
import { parseAnswer } from './admin-api.js';
import type { Cluster } from './cluster.js';
import type { CommandContext } from './context.js';
import { CliError, UsageError } from './errors.js';
import { streamPodLogs } from './logs.js';
import { formatInstant, printJson, printTable } from './output.js';

/** How often a Job and its pod are looked at while waiting on them. */
const POLL_MS = 1_000;
/** Waiting reasons that mean the pod will not start without someone changing something. */
const STUCK_REASONS = new Set([
  'ErrImagePull',
  'ImagePullBackOff',
  'InvalidImageName',
  'CreateContainerConfigError',
  'CreateContainerError',
]);

const backupList = z.object({
  items: z.array(
    z.looseObject({
      name: z.string(),
      bytes: z.number().nullish(),
      sha256: z.string().nullish(),
      createdAt: z.string().nullish(),
      encrypted: z.boolean().nullish(),
    }),
  ),
});

function formatBytes(bytes: number | null | undefined): string {
  if (bytes === null || bytes === undefined) return '-';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${unit === 0 ? value : value.toFixed(1)} ${units[unit]}`;
}

/** `backup list`: the dumps in the backup store, newest first (through the admin API). */
export async function listBackups(ctx: CommandContext): Promise<void> {
  ctx.positionals([]);
  const body = await (await ctx.admin()).get('/admin/v1/backups');
  if (ctx.output.format === 'json') return printJson(ctx.output, body);
  const { items } = parseAnswer(backupList, body, 'GET /admin/v1/backups');
  if (items.length === 0) {
    ctx.output.out.write('no backups yet: `kubectl herald backup now` makes one\n');
    return;
  }
  const nowMs = ctx.host.nowMs();
  printTable(
    ctx.output,
    ['name', 'size', 'created', 'encrypted', 'sha256'],
    items.map((backup) => [
      backup.name,
      formatBytes(backup.bytes),
      backup.createdAt ? formatInstant(backup.createdAt, nowMs) : '-',
      backup.encrypted ? 'yes' : 'no',
      backup.sha256 ? backup.sha256.slice(0, 12) : '-',
    ]),
  );
}

/** The release's backup CronJob (the chart's `cronjob-backup.yaml`), if backups are on. */
export async function findBackupCronJob(cluster: Cluster): Promise<V1CronJob | undefined> {
  const labelSelector = await cluster.selector('backup');
  const cronJobs = await cluster.call('list cronjobs', () =>
    cluster.batch.listNamespacedCronJob({ namespace: cluster.namespace, labelSelector }),
  );
  return cronJobs.items.find((cronJob) => cronJob.spec?.jobTemplate.spec);
}

async function backupCronJob(cluster: Cluster): Promise<V1CronJob> {
  const cronJob = await findBackupCronJob(cluster);
  if (!cronJob) {
    throw new CliError(
      `release "${await cluster.release()}" has no backup CronJob in namespace "${cluster.namespace}"`,
      'enable backups: `helm upgrade … --set backup.enabled=true --set backup.s3Url=s3://bucket/prefix`',
    );
  }
  return cronJob;
}

/** A Job name: the CronJob's name, the purpose and a random suffix, within 63 characters. */
function jobName(cronJob: V1CronJob, purpose: string): string {
  const suffix = `-${purpose}-${randomBytes(3).toString('hex')}`;
  return `${(cronJob.metadata?.name ?? 'herald-backup').slice(0, 63 - suffix.length)}${suffix}`;
}

/**
 * A Job built from the CronJob's template, as `kubectl create job --from=cronjob/…` builds it:
 * same pod, labels and Secret references, so it runs with exactly what the schedule runs with.
 */
function jobFromTemplate(cronJob: V1CronJob, name: string, owned: boolean): V1Job {
  const template = structuredClone(cronJob.spec!.jobTemplate);
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: {
      name,
      namespace: cronJob.metadata?.namespace,
      labels: { ...template.metadata?.labels },
      annotations: {
        ...template.metadata?.annotations,
        'cronjob.kubernetes.io/instantiate': 'manual',
      },
      ownerReferences:
        owned && cronJob.metadata?.uid
          ? [
              {
                apiVersion: 'batch/v1',
                kind: 'CronJob',
                name: cronJob.metadata.name ?? '',
                uid: cronJob.metadata.uid,
                controller: true,
                blockOwnerDeletion: true,
              },
            ]
          : undefined,
    },
    spec: template.spec!,
  };
}

/**
 * Rewrites the backup container's `herald-backup run` into `herald-backup restore <name>
 * --to $(DATABASE_URL) --clean`: what the backup holds replaces what the database has (in
 * one transaction), so a database with Herald's tables goes back to the backup, and an
 * empty one is filled. Kubernetes expands `$(DATABASE_URL)` from the container's own env
 * (the Secret), so the URL never passes through this machine.
 */
function restoreCommand(job: V1Job, backup: string): void {
  const container = job.spec?.template.spec?.containers[0];
  if (!container) throw new CliError('the backup CronJob has no container to run a restore in');
  if (!container.env?.some((variable) => variable.name === 'DATABASE_URL')) {
    throw new CliError(
      `the backup CronJob's container "${container.name}" has no DATABASE_URL to restore into`,
      'upgrade the release with a chart whose backup CronJob sets DATABASE_URL',
    );
  }
  const restore = ['restore', backup, '--to', '$(DATABASE_URL)', '--clean'];
  const inArgs = container.args?.indexOf('run') ?? -1;
  const inCommand = container.command?.indexOf('run') ?? -1;
  if (inArgs >= 0) {
    container.args = [...container.args!.slice(0, inArgs), ...restore];
  } else if (inCommand >= 0) {
    container.command = [...container.command!.slice(0, inCommand), ...restore];
    container.args = undefined;
  } else {
    throw new CliError(
      `the backup CronJob's container does not run \`herald-backup run\` (command: ${JSON.stringify(
        [...(container.command ?? []), ...(container.args ?? [])],
      )}), so there is no restore command to derive from it`,
    );
  }
  // A restore that failed half-way is for the operator to look at, not to run again alone.
  job.spec!.backoffLimit = 0;
}

async function createJob(cluster: Cluster, job: V1Job): Promise<string> {
  const created = await cluster.call('create jobs', () =>
    cluster.batch.createNamespacedJob({ namespace: cluster.namespace, body: job }),
  );
  return created.metadata?.name ?? job.metadata?.name ?? '';
}

/** The Job's pod once it has started (or ended), failing early if it cannot start. */
async function startedPod(cluster: Cluster, job: string, onWait: () => void): Promise<V1Pod> {
  for (;;) {
    const pods = await cluster.call('list pods', () =>
      cluster.core.listNamespacedPod({
        namespace: cluster.namespace,
        labelSelector: `job-name=${job}`,
      }),
    );
    const pod = pods.items.at(-1);
    const phase = pod?.status?.phase;
    if (pod && phase && phase !== 'Pending' && phase !== 'Unknown') return pod;
    const stuck = pod?.status?.containerStatuses?.find(
      (status) => status.state?.waiting?.reason && STUCK_REASONS.has(status.state.waiting.reason),
    );
    if (stuck) {
      throw new CliError(
        `job ${job}'s pod cannot start: ${stuck.state!.waiting!.reason}: ${stuck.state!.waiting!.message ?? ''}`.trim(),
        `\`kubectl describe pod ${pod?.metadata?.name} -n ${cluster.namespace}\` shows more; delete the job with \`kubectl delete job ${job} -n ${cluster.namespace}\``,
      );
    }
    onWait();
    await sleep(POLL_MS);
  }
}

/** Waits for the Job to finish; true when it succeeded. */
async function jobSucceeded(cluster: Cluster, job: string): Promise<boolean> {
  for (;;) {
    const current = await cluster.call('get jobs', () =>
      cluster.batch.readNamespacedJob({ name: job, namespace: cluster.namespace }),
    );
    const conditions = current.status?.conditions ?? [];
    const holds = (type: string) =>
      conditions.some((condition) => condition.type === type && condition.status === 'True');
    if (holds('Complete') || (current.status?.succeeded ?? 0) > 0) return true;
    if (holds('Failed')) return false;
    await sleep(POLL_MS);
  }
}

/**
 * Follows a Job to its end: its pod's log lines as they come (to stdout, or stderr under
 * `-o json` so stdout stays one JSON document), then its outcome.
 */
async function followJob(ctx: CommandContext, cluster: Cluster, job: string): Promise<boolean> {
  ctx.interruptNotice = `job ${job} goes on in the cluster: follow it with \`kubectl logs -f job/${job} -n ${cluster.namespace}\``;
  let told = false;
  const pod = await startedPod(cluster, job, () => {
    if (told) return;
    told = true;
    ctx.output.err.write(`waiting for job ${job}'s pod to start…\n`);
  });
  const sink = ctx.output.format === 'json' ? ctx.output.err : ctx.output.out;
  await streamPodLogs(cluster, [pod], {
    follow: true,
    component: 'backup',
    write: (_pod, line) => sink.write(`${line}\n`),
  });
  const succeeded = await jobSucceeded(cluster, job);
  ctx.interruptNotice = undefined;
  return succeeded;
}

/** `backup now`: runs the backup CronJob's Job now, and follows it unless `--no-follow`. */
export async function backupNow(ctx: CommandContext): Promise<void> {
  ctx.positionals([]);
  const cluster = ctx.cluster();
  const cronJob = await backupCronJob(cluster);
  const job = await createJob(cluster, jobFromTemplate(cronJob, jobName(cronJob, 'manual'), true));
  ctx.output.err.write(`created job ${job} from cronjob ${cronJob.metadata?.name}\n`);
  if (!ctx.options.follow) {
    if (ctx.output.format === 'json') return printJson(ctx.output, { job });
    ctx.output.out.write(`job ${job} started: \`kubectl herald logs backup\` follows it\n`);
    return;
  }
  const succeeded = await followJob(ctx, cluster, job);
  if (ctx.output.format === 'json') printJson(ctx.output, { job, succeeded });
  if (!succeeded) {
    throw new CliError(
      `backup job ${job} failed`,
      `its log is above; \`kubectl describe job ${job} -n ${cluster.namespace}\` shows more`,
    );
  }
  if (ctx.output.format !== 'json') ctx.output.out.write(`backup job ${job} succeeded\n`);
}

/**
 * `restore <backup>`: replaces the release's database with a backup, in a Job made from the
 * backup CronJob's template (same image, Secret and network policy), after asking.
 */
export async function restoreBackup(ctx: CommandContext): Promise<void> {
  const [backup = ''] = ctx.positionals(['backup']);
  if (!/^[A-Za-z0-9][A-Za-z0-9._:/-]*$/.test(backup)) {
    throw new UsageError(
      `"${backup}" is not a backup name`,
      '`kubectl herald backup list` shows them, e.g. herald-2026-12-01T03-17-00Z.dump',
    );
  }
  const cluster = ctx.cluster();
  const release = await cluster.release();
  const cronJob = await backupCronJob(cluster);
  const job = jobFromTemplate(cronJob, jobName(cronJob, 'restore'), false);
  restoreCommand(job, backup);
  await ctx.confirm(
    `Restore ${backup} into the database of release "${release}" (namespace "${cluster.namespace}")? ` +
      'Everything written since that backup is lost.',
    `restore ${backup}`,
  );
  const name = await createJob(cluster, job);
  ctx.output.err.write(`created job ${name}: restoring ${backup}\n`);
  const succeeded = await followJob(ctx, cluster, name);
  if (ctx.output.format === 'json') printJson(ctx.output, { job: name, backup, succeeded });
  if (!succeeded) {
    throw new CliError(
      `restore job ${name} failed: the database may be half-restored`,
      `its log is above; fix the cause and run the restore again (it replaces what the backup holds), or \`kubectl describe job ${name} -n ${cluster.namespace}\``,
    );
  }
  if (ctx.output.format !== 'json') {
    ctx.output.out.write(`restored ${backup} into release "${release}"\n`);
  }
}
