import type { S3Client } from '@aws-sdk/client-s3';
import type { Logger } from '@herald/logger';
import { runBackup, type BackupResult } from './backup.js';
import { listBackups, readManifest, type BackupLocation } from './catalog.js';
import { failureMetrics, pushMetrics, successMetrics } from './pushgateway.js';
import { pruneBackups, type PruningPlan, type RetentionPolicy } from './retention.js';
import { restoreBackup, type RestoreMode } from './restore.js';
import type { PostgresTools } from './postgres-tools.js';

/** Exit statuses of herald-backup (sysexits.h where one fits). */
export const EXIT = { ok: 0, failure: 1, usage: 64, config: 78 } as const;

/** What every command is given. */
export interface CommandDeps {
  s3: S3Client;
  location: BackupLocation;
  tools: PostgresTools;
  encryptionKey?: Buffer;
  logger: Logger;
  /** Where a command's own output (tables, reports) goes. */
  out: (text: string) => void;
  clock?: () => Date;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Bytes as a person reads them: 1.4 GiB. */
export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return unit === 0 ? `${bytes} B` : `${value.toFixed(1)} ${units[unit]}`;
}

/**
 * `herald-backup run`: dumps the database to the store, pushes the outcome to the
 * Pushgateway when one is configured, prunes by the policy, and ends with one log line
 * naming what was written. Returns the exit status.
 */
export async function runCommand(
  deps: CommandDeps & {
    databaseUrl: string;
    policy: RetentionPolicy;
    pushgatewayUrl?: string;
    partBytes?: number;
  },
): Promise<number> {
  const { logger } = deps;
  const clock = deps.clock ?? (() => new Date());
  const push = async (method: 'PUT' | 'POST', body: string): Promise<void> => {
    if (!deps.pushgatewayUrl) return;
    try {
      await pushMetrics(deps.pushgatewayUrl, method, body);
    } catch (error) {
      logger.error(
        { err: error },
        'could not push the backup metrics to BACKUP_PUSHGATEWAY_URL; the backup alert will fire once the last pushed success is too old. Check the URL and that the Pushgateway runs',
      );
    }
  };

  let result: BackupResult;
  try {
    result = await runBackup({
      s3: deps.s3,
      location: deps.location,
      databaseUrl: deps.databaseUrl,
      tools: deps.tools,
      encryptionKey: deps.encryptionKey,
      logger,
      clock,
      partBytes: deps.partBytes,
    });
  } catch (error) {
    logger.error(
      { err: error },
      `backup failed, nothing was stored: ${messageOf(error)}. Fix the cause and run herald-backup run again`,
    );
    await push('POST', failureMetrics(clock()));
    return EXIT.failure;
  }
  const { manifest } = result;
  await push(
    'PUT',
    successMetrics({
      finishedAt: result.finishedAt,
      bytes: manifest.bytes,
      durationSeconds: manifest.durationSeconds,
    }),
  );

  let plan: PruningPlan | undefined;
  try {
    plan = await pruneBackups({
      s3: deps.s3,
      location: deps.location,
      policy: deps.policy,
      now: result.finishedAt,
      logger,
    });
  } catch (error) {
    logger.error(
      { err: error },
      `pruning old backups failed (the new backup is stored): ${messageOf(error)}`,
    );
  }
  logger.info(
    {
      name: result.name,
      bucket: deps.location.bucket,
      key: result.key,
      bytes: manifest.bytes,
      sha256: manifest.sha256,
      seconds: manifest.durationSeconds,
      encrypted: manifest.encryption !== null,
      pruned: plan ? plan.prune.length : 'failed',
    },
    `backup written: ${result.name}, ${manifest.bytes} bytes, sha256 ${manifest.sha256}, ${manifest.durationSeconds} s`,
  );
  return plan ? EXIT.ok : EXIT.failure;
}

/** `herald-backup list [--json]`: the backups in the store, oldest first. */
export async function listCommand(deps: CommandDeps, { json }: { json: boolean }): Promise<number> {
  const backups = await listBackups(deps.s3, deps.location);
  const rows = await Promise.all(
    backups.map(async (backup) => ({
      ...backup,
      manifest: backup.complete
        ? await readManifest(deps.s3, deps.location, backup.name)
        : undefined,
    })),
  );
  if (json) {
    deps.out(
      `${JSON.stringify(
        rows.map((row) => ({
          name: row.name,
          startedAt: row.startedAt.toISOString(),
          bytes: row.bytes,
          sha256: row.manifest?.sha256 ?? null,
          encrypted: row.encrypted,
          complete: row.complete,
        })),
        null,
        2,
      )}\n`,
    );
    return EXIT.ok;
  }
  if (rows.length === 0) {
    deps.out(`no backups under s3://${deps.location.bucket}/${deps.location.prefix}\n`);
    return EXIT.ok;
  }
  const lines = rows.map((row) =>
    [
      row.name.padEnd(40),
      row.startedAt.toISOString().replace('T', ' ').slice(0, 19).padEnd(20),
      formatBytes(row.bytes).padStart(10),
      `  ${(row.manifest?.sha256.slice(0, 16) ?? '-').padEnd(16)}`,
      `  ${row.complete ? 'complete' : 'incomplete (no manifest)'}`,
    ].join(''),
  );
  deps.out(
    `${'NAME'.padEnd(40)}${'STARTED (UTC)'.padEnd(20)}${'SIZE'.padStart(10)}  ${'SHA-256'.padEnd(16)}  STATE\n${lines.join('\n')}\n`,
  );
  return EXIT.ok;
}

/** `herald-backup restore <name|latest> --to <url> [--clean|--force]`. */
export async function restoreCommand(
  deps: CommandDeps,
  options: { name: string; targetUrl: string; mode: RestoreMode; targetLabel: string },
): Promise<number> {
  const started = Date.now();
  try {
    const report = await restoreBackup(
      {
        s3: deps.s3,
        location: deps.location,
        tools: deps.tools,
        encryptionKey: deps.encryptionKey,
        logger: deps.logger,
      },
      options,
    );
    const width = Math.max(5, ...report.tables.map((table) => table.table.length));
    deps.out(
      [
        `restored ${report.name} (taken ${report.manifest.startedAt}, ${formatBytes(report.manifest.bytes)}) into ${options.targetLabel} in ${((Date.now() - started) / 1000).toFixed(1)} s`,
        ...report.tables.map((table) => `  ${table.table.padEnd(width)}  ${table.rows}`),
        `${report.tables.length} tables, ${report.rows} rows; ${report.migrationsApplied} migration(s) applied after the restore`,
      ].join('\n') + '\n',
    );
    return EXIT.ok;
  } catch (error) {
    deps.logger.error({ err: error }, `restore failed: ${messageOf(error)}`);
    return EXIT.failure;
  }
}
