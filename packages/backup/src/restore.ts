import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { migrateDatabase } from '@herald/db';
import type { Logger } from '@herald/logger';
import pg from 'pg';
import {
  listBackups,
  readManifest,
  dumpKey,
  type BackupLocation,
  type BackupManifest,
} from './catalog.js';
import { createChecksumStream } from './checksum.js';
import { BackupDecryptionError, createDecryptStream, encryptionKeyId } from './encryption.js';
import { runTool, toolConnection, type PostgresTools } from './postgres-tools.js';

/**
 * What to do when the target database already holds tables: refuse (the default),
 * `force` (restore on top of them), or `clean` (drop each object the backup holds, then
 * recreate it).
 */
export type RestoreMode = 'empty-only' | 'force' | 'clean';

/** A restore that was refused or failed, with what to do about it. */
export class RestoreError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'RestoreError';
  }
}

/** What a restore needs. */
export interface RestoreDeps {
  s3: S3Client;
  location: BackupLocation;
  tools: PostgresTools;
  /** Needed for encrypted backups. */
  encryptionKey?: Buffer;
  logger: Logger;
}

/** What was restored. */
export interface RestoreReport {
  readonly name: string;
  readonly manifest: BackupManifest;
  /** Every table of the restored database and its row count, by name. */
  readonly tables: readonly { readonly table: string; readonly rows: number }[];
  readonly rows: number;
  /** Migrations that ran after the restore (a backup older than the code). */
  readonly migrationsApplied: number;
}

async function withClient<T>(url: string, run: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url, application_name: 'herald-backup' });
  await client.connect();
  try {
    return await run(client);
  } finally {
    await client.end();
  }
}

const USER_SCHEMAS = `n.nspname NOT IN ('pg_catalog', 'information_schema')
  AND n.nspname NOT LIKE 'pg_toast%' AND n.nspname NOT LIKE 'pg_temp%'`;

/** Tables, views and sequences the target already holds, by qualified name. */
async function existingRelations(url: string): Promise<string[]> {
  return withClient(url, async (client) => {
    const result = await client.query<{ name: string }>(
      `SELECT n.nspname || '.' || c.relname AS name
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f') AND ${USER_SCHEMAS}
        ORDER BY 1`,
    );
    return result.rows.map((row) => row.name);
  });
}

/** Row counts of every table outside the migration bookkeeping, counted exactly. */
async function countRows(url: string): Promise<{ table: string; rows: number }[]> {
  return withClient(url, async (client) => {
    const tables = await client.query<{ schema: string; table: string }>(
      `SELECT n.nspname AS schema, c.relname AS table
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE c.relkind IN ('r', 'p') AND ${USER_SCHEMAS} AND n.nspname <> 'drizzle'
        ORDER BY 1, 2`,
    );
    const counts: { table: string; rows: number }[] = [];
    for (const { schema, table } of tables.rows) {
      const identifier = `${client.escapeIdentifier(schema)}.${client.escapeIdentifier(table)}`;
      const result = await client.query<{ count: string }>(
        `SELECT count(*) AS count FROM ${identifier}`,
      );
      counts.push({
        table: schema === 'public' ? table : `${schema}.${table}`,
        rows: Number(result.rows[0]?.count ?? 0),
      });
    }
    return counts;
  });
}

/** The backup called `name`, or the newest complete one for `latest`. */
async function chooseBackup(
  s3: S3Client,
  location: BackupLocation,
  name: string,
): Promise<BackupManifest> {
  let chosen = name;
  if (name === 'latest') {
    const newest = (await listBackups(s3, location)).filter((backup) => backup.complete).at(-1);
    if (!newest) {
      throw new RestoreError(
        `no complete backup under s3://${location.bucket}/${location.prefix}: check BACKUP_S3_URL`,
      );
    }
    chosen = newest.name;
  }
  const manifest = await readManifest(s3, location, chosen);
  if (!manifest) {
    const known = (await listBackups(s3, location)).some((backup) => backup.name === chosen);
    throw new RestoreError(
      known
        ? `backup ${chosen} has no manifest: the run that wrote it did not finish. Choose another one (herald-backup list)`
        : `no backup called ${chosen} under s3://${location.bucket}/${location.prefix}: see herald-backup list`,
    );
  }
  return manifest;
}

/**
 * Restores backup `name` (or `latest`) into the database at `targetUrl` with pg_restore,
 * in one transaction, then runs the migrations, so a backup taken before the running
 * code's last migration still fits it. The dump is streamed from the store; its SHA-256
 * is checked against the manifest before pg_restore receives its last bytes.
 * @throws RestoreError when the target holds tables and `mode` is `empty-only`, when the
 * backup is missing, incomplete, damaged or needs another key; PostgresToolError when
 * pg_restore fails (nothing is left restored then).
 */
export async function restoreBackup(
  deps: RestoreDeps,
  options: { name: string; targetUrl: string; mode: RestoreMode },
): Promise<RestoreReport> {
  const { s3, location, logger } = deps;
  const manifest = await chooseBackup(s3, location, options.name);
  if (manifest.encryption) {
    if (!deps.encryptionKey) {
      throw new RestoreError(
        `backup ${manifest.name} is encrypted: set BACKUP_ENCRYPTION_KEY to the key it was written with (key id ${manifest.encryption.keyId})`,
      );
    }
    const keyId = encryptionKeyId(deps.encryptionKey);
    if (keyId !== manifest.encryption.keyId) {
      throw new RestoreError(
        `backup ${manifest.name} was encrypted with key id ${manifest.encryption.keyId}, but BACKUP_ENCRYPTION_KEY has key id ${keyId}: set the key it was written with`,
      );
    }
  }

  const existing = await existingRelations(options.targetUrl);
  if (existing.length > 0 && options.mode === 'empty-only') {
    const shown = existing.slice(0, 5).join(', ') + (existing.length > 5 ? ', …' : '');
    throw new RestoreError(
      `the target database is not empty (${existing.length} tables, views or sequences: ${shown}). ` +
        'Restore into a new database, or pass --clean to drop and recreate what the backup holds, ' +
        'or --force to restore on top of what is there',
    );
  }
  logger.info(
    { name: manifest.name, bytes: manifest.bytes, mode: options.mode, existing: existing.length },
    'restore started',
  );

  const connection = toolConnection(options.targetUrl);
  const restore = runTool(
    deps.tools.pgRestore,
    [
      '--no-password',
      `--dbname=${connection.dbname}`,
      '--single-transaction',
      '--exit-on-error',
      // The backup's roles and grants need not exist where it is restored (a new managed
      // database, another cluster): the restoring user owns what it creates.
      '--no-owner',
      '--no-acl',
      ...(options.mode === 'clean' ? ['--clean', '--if-exists'] : []),
    ],
    { env: connection.env, stdin: 'pipe', stdout: 'ignore' },
  );
  const object = await s3
    .send(new GetObjectCommand({ Bucket: location.bucket, Key: dumpKey(location, manifest.name) }))
    .catch((error: unknown) => {
      restore.child.kill('SIGTERM');
      throw error;
    });
  const checksum = createChecksumStream({
    // The last bytes wait for the check: pg_restore cannot complete on a damaged dump.
    holdBackBytes: 64 * 1024,
    beforeEnd: ({ bytes, sha256 }) => {
      if (sha256 !== manifest.sha256 || bytes !== manifest.bytes) {
        throw new RestoreError(
          `backup ${manifest.name} is damaged: read ${bytes} bytes with SHA-256 ${sha256}, its manifest records ${manifest.bytes} bytes with ${manifest.sha256}. Choose another backup`,
        );
      }
    },
  });
  const body = object.Body as Readable;
  const streaming =
    deps.encryptionKey && manifest.encryption
      ? pipeline(
          body,
          checksum.stream,
          createDecryptStream(deps.encryptionKey),
          restore.child.stdin,
        )
      : pipeline(body, checksum.stream, restore.child.stdin);
  const [streamed, restored] = await Promise.allSettled([
    streaming.catch((error: unknown) => {
      // pg_restore must not commit what it has: ending it rolls its transaction back.
      restore.child.kill('SIGTERM');
      throw error;
    }),
    restore.finished,
  ]);
  if (streamed.status === 'rejected') {
    const cause = streamed.reason as Error;
    if (cause instanceof RestoreError || cause instanceof BackupDecryptionError) {
      throw new RestoreError(`${cause.message}; nothing was restored`, { cause });
    }
    if (restored.status === 'rejected') throw restored.reason as Error;
    throw new RestoreError(`reading backup ${manifest.name} failed: ${cause.message}`, { cause });
  }
  if (restored.status === 'rejected') throw restored.reason as Error;

  const { applied } = await migrateDatabase(options.targetUrl, logger);
  const tables = await countRows(options.targetUrl);
  return {
    name: manifest.name,
    manifest,
    tables,
    rows: tables.reduce((sum, table) => sum + table.rows, 0),
    migrationsApplied: applied,
  };
}
