import { readFile } from 'node:fs/promises';
import { Agent, fetch } from 'undici';
import type { Logger } from '@herald/logger';
import type { adminBackupEnv } from '../env.js';
import type { BackupAdmin, BackupEntry } from './api.js';

const SERVICE_ACCOUNT = '/var/run/secrets/kubernetes.io/serviceaccount';

/**
 * The admin API's backups: the list from the store (`BACKUP_S3_URL` with its credentials,
 * the same settings as the backup CronJob), and a run now that creates a Job from the
 * chart's backup CronJob (`BACKUP_CRONJOB`) through the Kubernetes API, with the pod's
 * service account. Either is absent when its settings are.
 */
export function backupAdminFromEnv(
  env: { [K in keyof typeof adminBackupEnv]?: string | undefined },
  logger: Logger,
): BackupAdmin {
  const url = env.BACKUP_S3_URL;
  const accessKeyId = env.AWS_ACCESS_KEY_ID;
  const secretAccessKey = env.AWS_SECRET_ACCESS_KEY;
  const list =
    url && accessKeyId && secretAccessKey
      ? async (): Promise<BackupEntry[]> => {
          // Loaded on first use: a user-handler without backups never pays for the S3 SDK.
          const backup = await import('@herald/backup');
          const location = backup.parseBackupUrl(url);
          if (!location) throw new Error(`BACKUP_S3_URL is not s3://bucket/prefix: ${url}`);
          const s3 = backup.createS3Client({
            region: env.AWS_REGION ?? 'us-east-1',
            accessKeyId,
            secretAccessKey,
            ...(env.BACKUP_S3_ENDPOINT ? { endpoint: env.BACKUP_S3_ENDPOINT } : {}),
            ...(env.AWS_SESSION_TOKEN ? { sessionToken: env.AWS_SESSION_TOKEN } : {}),
          });
          try {
            const entries = await backup.listBackups(s3, location);
            return entries.reverse().map((entry) => ({
              name: entry.name,
              bytes: entry.bytes,
              createdAt: entry.startedAt.toISOString(),
              encrypted: entry.encrypted,
              complete: entry.complete,
            }));
          } finally {
            s3.destroy();
          }
        }
      : undefined;
  const cronJob = env.BACKUP_CRONJOB;
  const host = env.KUBERNETES_SERVICE_HOST;
  const runNow =
    cronJob && host
      ? () => jobFromCronJob({ cronJob, host, port: env.KUBERNETES_SERVICE_PORT ?? '443', logger })
      : undefined;
  return { list, runNow };
}

interface CronJobObject {
  metadata: { name: string; namespace: string; uid: string; labels?: Record<string, string> };
  spec: { jobTemplate: { metadata?: { labels?: Record<string, string> }; spec: unknown } };
}

/**
 * What `kubectl create job --from=cronjob/<name>` does: a Job with the CronJob's template,
 * owned by the CronJob so that its history limits clean it up.
 */
async function jobFromCronJob(options: {
  cronJob: string;
  host: string;
  port: string;
  logger: Logger;
}): Promise<string> {
  const [token, namespace, ca] = await Promise.all([
    readFile(`${SERVICE_ACCOUNT}/token`, 'utf8'),
    readFile(`${SERVICE_ACCOUNT}/namespace`, 'utf8'),
    readFile(`${SERVICE_ACCOUNT}/ca.crt`, 'utf8'),
  ]);
  const dispatcher = new Agent({ connect: { ca } });
  const base = `https://${options.host.includes(':') ? `[${options.host}]` : options.host}:${options.port}`;
  const call = async (path: string, init: { method?: string; body?: string } = {}) => {
    const response = await fetch(`${base}${path}`, {
      ...init,
      dispatcher,
      headers: { authorization: `Bearer ${token.trim()}`, 'content-type': 'application/json' },
    });
    const body = (await response.json()) as { message?: string };
    if (!response.ok) {
      throw new Error(
        `the Kubernetes API refused ${init.method ?? 'GET'} ${path} (${response.status}): ${body.message ?? ''}. ` +
          'The chart grants the user-handler get on its backup CronJob and create on Jobs when admin.enabled and backup.enabled',
      );
    }
    return body;
  };
  try {
    const ns = namespace.trim();
    const cron = (await call(
      `/apis/batch/v1/namespaces/${ns}/cronjobs/${encodeURIComponent(options.cronJob)}`,
    )) as unknown as CronJobObject;
    const name = `${cron.metadata.name}-manual-${Date.now().toString(36)}`.slice(0, 63);
    await call(`/apis/batch/v1/namespaces/${ns}/jobs`, {
      method: 'POST',
      body: JSON.stringify({
        apiVersion: 'batch/v1',
        kind: 'Job',
        metadata: {
          name,
          namespace: ns,
          labels: { ...cron.spec.jobTemplate.metadata?.labels },
          annotations: { 'cronjob.kubernetes.io/instantiate': 'manual' },
          ownerReferences: [
            {
              apiVersion: 'batch/v1',
              kind: 'CronJob',
              name: cron.metadata.name,
              uid: cron.metadata.uid,
              controller: true,
            },
          ],
        },
        spec: cron.spec.jobTemplate.spec,
      }),
    });
    options.logger.info({ job: name }, 'backup Job created on request');
    return name;
  } finally {
    await dispatcher.close();
  }
}
