import { pipeline } from 'node:stream/promises';
import type { S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import type { Logger } from '@herald/logger';
import {
  backupName,
  dumpKey,
  writeManifest,
  type BackupLocation,
  type BackupManifest,
} from './catalog.js';
import { createChecksumStream } from './checksum.js';
import { ENCRYPTION_ALGORITHM, createEncryptStream, encryptionKeyId } from './encryption.js';
import {
  PostgresToolError,
  runTool,
  serverInfo,
  toolConnection,
  toolVersion,
  type PostgresTools,
} from './postgres-tools.js';

/** What a backup run needs. */
export interface BackupDeps {
  s3: S3Client;
  location: BackupLocation;
  /** The database to dump. */
  databaseUrl: string;
  tools: PostgresTools;
  /** 32 bytes; the dump is encrypted when given. */
  encryptionKey?: Buffer;
  logger: Logger;
  clock?: () => Date;
  /**
   * Size of each uploaded part. S3 allows 10,000 parts, so this caps a backup at
   * 10,000 × partBytes; memory use is about (queueSize + 1) × partBytes.
   */
  partBytes?: number;
  /** Parts uploaded at once. */
  queueSize?: number;
}

/** What a backup run stored. */
export interface BackupResult {
  readonly name: string;
  readonly key: string;
  readonly manifest: BackupManifest;
  readonly finishedAt: Date;
}

/** 16 MiB parts: up to 156 GiB per backup, about 80 MiB of memory with 4 in flight. */
export const DEFAULT_PART_BYTES = 16 * 1024 * 1024;

/**
 * Streams `pg_dump --format=custom` of the database to the store as one object, without a
 * temporary file: pg_dump's output goes through optional encryption and a SHA-256 into a
 * multipart upload. The upload completes only after pg_dump has exited 0; on any failure
 * it is aborted and nothing is stored. Then the manifest (size, checksum, versions) is
 * written beside it, which marks the backup complete.
 * @throws PostgresToolError when pg_dump cannot dump this server or fails; the store's
 * errors as they come.
 */
export async function runBackup(deps: BackupDeps): Promise<BackupResult> {
  const clock = deps.clock ?? (() => new Date());
  const startedAt = clock();
  const encrypted = deps.encryptionKey !== undefined;
  const name = backupName(startedAt, encrypted);
  const key = dumpKey(deps.location, name);

  const [server, pgDump] = await Promise.all([
    serverInfo(deps.databaseUrl),
    toolVersion(deps.tools.pgDump),
  ]);
  if (pgDump.major < server.major) {
    throw new PostgresToolError(
      `pg_dump ${pgDump.major} cannot dump a PostgreSQL ${server.major} server: run the backup ` +
        `image built with PG_MAJOR=${server.major} (chart value backup.pgMajor), or set ` +
        `BACKUP_PG_BIN_DIR to the bin folder of a PostgreSQL ${server.major} client`,
    );
  }
  deps.logger.info(
    { name, bucket: deps.location.bucket, key, encrypted, server: server.version },
    'backup started',
  );

  const connection = toolConnection(deps.databaseUrl);
  const dump = runTool(
    deps.tools.pgDump,
    ['--format=custom', '--no-password', `--dbname=${connection.dbname}`],
    { env: connection.env, stdin: 'ignore', stdout: 'pipe' },
  );
  const checksum = createChecksumStream({ beforeEnd: () => dump.finished });
  const stages = deps.encryptionKey
    ? pipeline(dump.child.stdout, createEncryptStream(deps.encryptionKey), checksum.stream)
    : pipeline(dump.child.stdout, checksum.stream);
  const upload = new Upload({
    client: deps.s3,
    params: {
      Bucket: deps.location.bucket,
      Key: key,
      Body: checksum.stream,
      ContentType: 'application/octet-stream',
      Metadata: {
        'herald-format': 'pg_dump-custom',
        'herald-encryption': encrypted ? ENCRYPTION_ALGORITHM : 'none',
      },
    },
    partSize: deps.partBytes ?? DEFAULT_PART_BYTES,
    queueSize: deps.queueSize ?? 4,
  });

  try {
    await Promise.all([upload.done(), stages, dump.finished]);
  } catch (error) {
    // The upload was aborted; pg_dump must not stay blocked on a pipe nobody reads.
    dump.child.kill('SIGTERM');
    checksum.stream.destroy();
    await upload.abort().catch(() => undefined);
    throw error;
  }

  const finishedAt = clock();
  const { bytes, sha256 } = checksum.checksum();
  const manifest: BackupManifest = {
    name,
    startedAt: startedAt.toISOString(),
    bytes,
    sha256,
    durationSeconds: (finishedAt.getTime() - startedAt.getTime()) / 1000,
    format: 'pg_dump-custom',
    encryption: deps.encryptionKey
      ? { algorithm: ENCRYPTION_ALGORITHM, keyId: encryptionKeyId(deps.encryptionKey) }
      : null,
    database: server.database,
    serverVersion: server.version,
    pgDumpVersion: pgDump.text,
  };
  await writeManifest(deps.s3, deps.location, manifest);
  return { name, key, manifest, finishedAt };
}
