import type { V1Deployment, V1Pod, V2HorizontalPodAutoscaler } from '@kubernetes/client-node';
import { z } from 'zod';
import { parseAnswer } from './admin-api.js';
import { findBackupCronJob } from './backups.js';
import { LABELS, isReady } from './cluster.js';
import type { CommandContext } from './context.js';
import { CliError } from './errors.js';
import { formatAge, formatInstant, printFields, printJson, printTable } from './output.js';

const adminStatus = z.looseObject({
  version: z.string().nullish(),
  pod: z.string().nullish(),
  queue: z
    .looseObject({
      length: z.number(),
      lagSeconds: z.number().nullish(),
      deadLetters: z.number().nullish(),
    })
    .nullish(),
  llm: z
    .looseObject({
      status: z.string(),
      circuit: z.string().nullish(),
      detail: z.string().nullish(),
    })
    .nullish(),
  postgres: z.string().nullish(),
  redis: z.string().nullish(),
  news: z
    .looseObject({
      paused: z.boolean().nullish(),
      pausedBy: z.string().nullish(),
      leader: z.looseObject({ epoch: z.number(), holder: z.string() }).nullish(),
      lastCycleAt: z.string().nullish(),
      sources: z.looseObject({ total: z.number(), failing: z.number() }).nullish(),
    })
    .nullish(),
});
type AdminStatus = z.infer<typeof adminStatus>;

interface PodRow {
  name: string;
  component: string;
  ready: string;
  status: string;
  restarts: number;
  startedAt: string | null;
}

interface DeploymentRow {
  name: string;
  component: string;
  ready: number;
  desired: number;
  autoscaler: {
    name: string;
    currentReplicas: number;
    desiredReplicas: number;
    minReplicas: number;
    maxReplicas: number;
  } | null;
}

interface BackupState {
  cronJob: string;
  schedule: string;
  lastScheduleTime: string | null;
  lastSuccessfulTime: string | null;
  active: number;
}

function isoOrNull(date: Date | string | undefined): string | null {
  return date ? new Date(date).toISOString() : null;
}

/** Like kubectl's STATUS column: the reason a container waits or ended, else the phase. */
function podStatus(pod: V1Pod): string {
  if (pod.metadata?.deletionTimestamp) return 'Terminating';
  for (const container of pod.status?.containerStatuses ?? []) {
    const reason = container.state?.waiting?.reason ?? container.state?.terminated?.reason;
    if (reason && reason !== 'Completed') return reason;
  }
  return pod.status?.phase ?? 'Unknown';
}

function podRow(pod: V1Pod): PodRow {
  const containers = pod.status?.containerStatuses ?? [];
  const total = pod.spec?.containers.length ?? containers.length;
  const startTime = pod.status?.startTime ?? pod.metadata?.creationTimestamp;
  return {
    name: pod.metadata?.name ?? '',
    component: pod.metadata?.labels?.[LABELS.component] ?? '-',
    ready: `${containers.filter((container) => container.ready).length}/${total}`,
    status: isReady(pod) ? 'Running' : podStatus(pod),
    restarts: containers.reduce((sum, container) => sum + container.restartCount, 0),
    startedAt: startTime ? new Date(startTime).toISOString() : null,
  };
}

function deploymentRow(
  deployment: V1Deployment,
  autoscalers: V2HorizontalPodAutoscaler[],
): DeploymentRow {
  const name = deployment.metadata?.name ?? '';
  // KEDA names its HPA after the ScaledObject, so match on what it scales, not its name.
  const autoscaler = autoscalers.find(
    (hpa) =>
      hpa.spec?.scaleTargetRef.kind === 'Deployment' && hpa.spec.scaleTargetRef.name === name,
  );
  return {
    name,
    component: deployment.metadata?.labels?.[LABELS.component] ?? '-',
    ready: deployment.status?.readyReplicas ?? 0,
    desired: deployment.spec?.replicas ?? 0,
    autoscaler: autoscaler
      ? {
          name: autoscaler.metadata?.name ?? '',
          currentReplicas: autoscaler.status?.currentReplicas ?? 0,
          desiredReplicas: autoscaler.status?.desiredReplicas ?? 0,
          minReplicas: autoscaler.spec?.minReplicas ?? 1,
          maxReplicas: autoscaler.spec?.maxReplicas ?? 0,
        }
      : null,
  };
}

function describeQueue(queue: AdminStatus['queue']): string {
  if (!queue) return 'not in use (local queue)';
  const lag =
    queue.lagSeconds === null || queue.lagSeconds === undefined
      ? ''
      : `, lag ${queue.lagSeconds} s`;
  const dead = queue.deadLetters ?? 0;
  return `${queue.length} pending${lag}, ${dead} dead letter${dead === 1 ? '' : 's'}`;
}

function describeNews(news: AdminStatus['news'], nowMs: number): string {
  if (!news) return '-';
  const state = news.paused ? `paused${news.pausedBy ? ` by ${news.pausedBy}` : ''}` : 'running';
  const sources = news.sources
    ? `; sources ${news.sources.total} (${news.sources.failing} failing)`
    : '';
  return `${state}, last cycle ${formatInstant(news.lastCycleAt, nowMs)}${sources}`;
}

function describeBackup(backup: BackupState | null, nowMs: number): string {
  if (!backup) return 'no backup CronJob (backup.enabled is off)';
  const running = backup.active ? `, ${backup.active} running` : '';
  const lastRunFailed =
    backup.lastScheduleTime &&
    !backup.active &&
    (!backup.lastSuccessfulTime || backup.lastScheduleTime > backup.lastSuccessfulTime);
  return (
    `${formatInstant(backup.lastSuccessfulTime, nowMs)}` +
    (lastRunFailed
      ? `; last run ${formatInstant(backup.lastScheduleTime, nowMs)} did not succeed`
      : '') +
    `${running} (schedule "${backup.schedule}")`
  );
}

/**
 * `status`: the release at a glance: pods, replicas and autoscaler, then what the admin API
 * says (leader, queue, last news cycle, dependencies) and the last backup. Exits 1 when the
 * admin API could not be asked, after printing what the cluster told.
 */
export async function showStatus(ctx: CommandContext): Promise<void> {
  ctx.positionals([]);
  const cluster = ctx.cluster();
  const release = await cluster.release();
  const labelSelector = await cluster.selector();
  const namespace = cluster.namespace;
  const [pods, deployments, autoscalers, backup] = await Promise.all([
    cluster.pods(),
    cluster.call('list deployments', () =>
      cluster.apps.listNamespacedDeployment({ namespace, labelSelector }),
    ),
    cluster.call('list horizontalpodautoscalers', () =>
      cluster.autoscaling.listNamespacedHorizontalPodAutoscaler({ namespace }),
    ),
    findBackupCronJob(cluster).then((cronJob): BackupState | null =>
      cronJob
        ? {
            cronJob: cronJob.metadata?.name ?? '',
            schedule: cronJob.spec?.schedule ?? '',
            lastScheduleTime: isoOrNull(cronJob.status?.lastScheduleTime),
            lastSuccessfulTime: isoOrNull(cronJob.status?.lastSuccessfulTime),
            active: cronJob.status?.active?.length ?? 0,
          }
        : null,
    ),
  ]);

  let admin: AdminStatus | null = null;
  let adminBody: unknown = null;
  let adminError: string | null = null;
  try {
    adminBody = await (await ctx.admin()).get('/admin/v1/status');
    admin = parseAnswer(adminStatus, adminBody, 'GET /admin/v1/status');
  } catch (error) {
    if (!(error instanceof CliError)) throw error;
    adminError = error.hint ? `${error.message} (${error.hint})` : error.message;
  }

  const podRows = pods.map(podRow);
  const deploymentRows = deployments.items
    .map((deployment) => deploymentRow(deployment, autoscalers.items))
    .sort((a, b) => a.name.localeCompare(b.name));

  if (ctx.output.format === 'json') {
    printJson(ctx.output, {
      release,
      namespace,
      context: cluster.contextName,
      pods: podRows,
      deployments: deploymentRows,
      backup,
      admin: adminBody,
      adminError,
    });
  } else {
    const nowMs = ctx.host.nowMs();
    ctx.output.out.write(
      `Release ${release} in namespace ${namespace} (context ${cluster.contextName})\n\n`,
    );
    printTable(
      ctx.output,
      ['pod', 'component', 'ready', 'status', 'restarts', 'age'],
      podRows.map((pod) => [
        pod.name,
        pod.component,
        pod.ready,
        pod.status,
        String(pod.restarts),
        formatAge(pod.startedAt, nowMs),
      ]),
    );
    ctx.output.out.write('\n');
    printTable(
      ctx.output,
      ['deployment', 'component', 'ready', 'autoscaler'],
      deploymentRows.map((deployment) => [
        deployment.name,
        deployment.component,
        `${deployment.ready}/${deployment.desired}`,
        deployment.autoscaler
          ? `${deployment.autoscaler.currentReplicas} now, ${deployment.autoscaler.desiredReplicas} wanted (min ${deployment.autoscaler.minReplicas}, max ${deployment.autoscaler.maxReplicas})`
          : '-',
      ]),
    );
    ctx.output.out.write('\n');
    const leader = admin?.news?.leader;
    printFields(ctx.output, [
      ...(admin
        ? ([
            ['Leader', leader ? `${leader.holder} (epoch ${leader.epoch})` : 'none'],
            ['News', describeNews(admin.news, nowMs)],
            ['Queue', describeQueue(admin.queue)],
            [
              'LLM',
              admin.llm
                ? `${admin.llm.status}${admin.llm.circuit ? ` (circuit ${admin.llm.circuit})` : ''}${admin.llm.detail ? `: ${admin.llm.detail}` : ''}`
                : '-',
            ],
            ['Postgres', admin.postgres ?? '-'],
            ['Redis', admin.redis ?? '-'],
          ] as [string, string][])
        : ([['Admin API', `unavailable: ${adminError}`]] as [string, string][])),
      ['Last backup', describeBackup(backup, nowMs)],
    ]);
  }
  if (adminError) {
    throw new CliError('status is incomplete: the admin API did not answer', adminError);
  }
}
