import { DeleteObjectsCommand, type S3Client } from '@aws-sdk/client-s3';
import type { Logger } from '@herald/logger';
import { listBackups, type BackupEntry, type BackupLocation } from './catalog.js';

/** How long copies are kept: every backup for `dailyDays`, one a month for `monthlyMonths`. */
export interface RetentionPolicy {
  readonly dailyDays: number;
  readonly monthlyMonths: number;
}

/** Why a backup is kept. */
export type KeepReason = 'newest' | 'daily' | 'monthly';

/** What the policy decides for the backups found. */
export interface PruningPlan {
  readonly keep: readonly { readonly backup: BackupEntry; readonly reason: KeepReason }[];
  readonly prune: readonly BackupEntry[];
}

const DAY_MS = 86_400_000;

/** `time` moved back by `months` calendar months (UTC), the day clamped to the month's end. */
function monthsBefore(time: Date, months: number): Date {
  const year = time.getUTCFullYear();
  const month = time.getUTCMonth() - months;
  const lastDay = new Date(Date.UTC(year, month + 1, 0)).getUTCDate();
  return new Date(
    Date.UTC(
      year,
      month,
      Math.min(time.getUTCDate(), lastDay),
      time.getUTCHours(),
      time.getUTCMinutes(),
      time.getUTCSeconds(),
      time.getUTCMilliseconds(),
    ),
  );
}

/**
 * Decides which backups the policy keeps at `now`:
 * - every backup younger than `dailyDays` days (a daily copy);
 * - the first complete backup of each UTC calendar month, while younger than
 *   `monthlyMonths` months (a monthly copy);
 * - the newest complete backup, always, so that a policy or clock mistake never leaves
 *   the store with nothing to restore.
 * A backup without a manifest (a run that did not finish) is never a monthly or newest
 * copy; it goes once it is older than the daily window.
 */
export function planPruning(
  backups: readonly BackupEntry[],
  policy: RetentionPolicy,
  now: Date,
): PruningPlan {
  const dailySince = now.getTime() - policy.dailyDays * DAY_MS;
  const monthlySince = monthsBefore(now, policy.monthlyMonths).getTime();
  const complete = backups
    .filter((backup) => backup.complete)
    .sort((a, b) => a.startedAt.getTime() - b.startedAt.getTime());

  const reasons = new Map<string, KeepReason>();
  const newest = complete.at(-1);
  if (newest) reasons.set(newest.name, 'newest');
  for (const backup of backups) {
    if (!reasons.has(backup.name) && backup.startedAt.getTime() > dailySince) {
      reasons.set(backup.name, 'daily');
    }
  }
  const seenMonths = new Set<string>();
  for (const backup of complete) {
    const month = backup.startedAt.toISOString().slice(0, 7);
    if (seenMonths.has(month)) continue;
    seenMonths.add(month);
    if (!reasons.has(backup.name) && backup.startedAt.getTime() > monthlySince) {
      reasons.set(backup.name, 'monthly');
    }
  }

  const keep: { backup: BackupEntry; reason: KeepReason }[] = [];
  const prune: BackupEntry[] = [];
  for (const backup of backups) {
    const reason = reasons.get(backup.name);
    if (reason) keep.push({ backup, reason });
    else prune.push(backup);
  }
  return { keep, prune };
}

// DeleteObjects takes at most 1,000 keys per request.
const DELETE_BATCH = 1_000;

/**
 * Applies {@link planPruning} to the backups under `location`: deletes each pruned
 * backup's dump and manifest. Returns the plan it carried out.
 * @throws when the store refuses a deletion, naming the keys it kept.
 */
export async function pruneBackups(deps: {
  s3: S3Client;
  location: BackupLocation;
  policy: RetentionPolicy;
  now: Date;
  logger: Logger;
}): Promise<PruningPlan> {
  const { s3, location, policy, now, logger } = deps;
  const plan = planPruning(await listBackups(s3, location), policy, now);
  const keys = plan.prune.flatMap((backup) => [backup.key, backup.manifestKey]);
  for (let start = 0; start < keys.length; start += DELETE_BATCH) {
    const batch = keys.slice(start, start + DELETE_BATCH);
    const result = await s3.send(
      new DeleteObjectsCommand({
        Bucket: location.bucket,
        Delete: { Objects: batch.map((Key) => ({ Key })), Quiet: true },
      }),
    );
    const failed = (result.Errors ?? []).filter((error) => error.Code !== 'NoSuchKey');
    if (failed.length > 0) {
      throw new Error(
        `the store refused to delete ${failed.length} object(s) while pruning ` +
          `(${failed
            .slice(0, 3)
            .map((error) => `${error.Key}: ${error.Code ?? 'error'}`)
            .join(', ')}); check that the credentials may s3:DeleteObject under the prefix`,
      );
    }
  }
  logger.info(
    {
      kept: plan.keep.length,
      pruned: plan.prune.map((backup) => backup.name),
      policy,
    },
    `pruning: kept ${plan.keep.length} backup(s), deleted ${plan.prune.length}`,
  );
  return plan;
}
