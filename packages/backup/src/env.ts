import { envVar, z } from '@herald/config';
import { parseBackupUrl } from './catalog.js';
import { parseEncryptionKey } from './encryption.js';

// The backup's whole configuration, read from the environment (the chart fills it from
// its values and the Secret). `list` and `restore` need only the store's part.

/** Where backups are and how to reach them; every command needs these. */
export const storeEnv = {
  BACKUP_S3_URL: z
    .string()
    .refine((value) => parseBackupUrl(value) !== undefined, 'not an s3://bucket/prefix URL')
    .transform((value) => parseBackupUrl(value)!)
    .describe('s3://<bucket>/<prefix>, e.g. s3://herald-backups/production'),
  BACKUP_S3_ENDPOINT: envVar.url().optional(),
  AWS_REGION: z.string().min(1).default('us-east-1'),
  AWS_ACCESS_KEY_ID: envVar.secret('the access key id of the backup bucket (from the Secret)'),
  AWS_SECRET_ACCESS_KEY: envVar.secret(
    'the secret access key of the backup bucket (from the Secret)',
  ),
  AWS_SESSION_TOKEN: envVar.secret('a session token, with temporary credentials').optional(),
  BACKUP_ENCRYPTION_KEY: z
    .string()
    .refine((value) => parseEncryptionKey(value) !== undefined, 'not a 32-byte key')
    .transform((value) => parseEncryptionKey(value)!)
    .describe('32 random bytes as base64 or 64 hex digits (openssl rand -base64 32)')
    .optional(),
  BACKUP_PG_BIN_DIR: z
    .string()
    .describe('the folder holding pg_dump and pg_restore (default: found on PATH)')
    .optional(),
  LOG_LEVEL: envVar.logLevel().default('info'),
};

/** What `herald-backup run` needs besides the store. */
export const runEnv = {
  DATABASE_URL: envVar.url(['postgres', 'postgresql']),
  BACKUP_KEEP_DAILY_DAYS: envVar.count(1, 3_650).default(30),
  BACKUP_KEEP_MONTHLY_MONTHS: envVar.count(0, 1_200).default(12),
  BACKUP_PUSHGATEWAY_URL: envVar.url().optional(),
  /** S3 allows 10,000 parts: 16 MiB parts hold a dump of up to 156 GiB. */
  BACKUP_UPLOAD_PART_MIB: envVar.count(5, 5_120).default(16),
};

export const storeSchema = z.object(storeEnv);
export const runSchema = z.object({ ...storeEnv, ...runEnv });
export type StoreEnv = z.infer<typeof storeSchema>;
export type RunEnv = z.infer<typeof runSchema>;
