import { costEnv } from '@herald/ops';
import {
  accessEnv,
  aiEnv,
  envVar,
  requiredWhen,
  sendLimitsEnv,
  serverEnv,
  storageEnv,
  telegramEnv,
  z,
  type EnvRule,
} from '@herald/config';

/** Telegram's rule for setWebhook's secret_token: 1-256 of A-Z, a-z, 0-9, _ and -. */
const WEBHOOK_SECRET = z
  .string()
  .regex(/^[A-Za-z0-9_-]{1,256}$/, 'not a valid secret token')
  .describe('1-256 characters of A-Z, a-z, 0-9, _ and - (e.g. `openssl rand -hex 32`)');

/** How updates are worked: shared by the user-handler and local mode. */
export const workerEnv = {
  WORKER_CONCURRENCY: envVar.count(1, 1_000).default(64),
  QUEUE_CLAIM_IDLE: envVar.durationMs().default(30_000),
  QUEUE_HEARTBEAT_TTL: envVar
    .durationMs()
    .refine((ms) => ms >= 500, 'must be at least 500ms: shorter, a busy pod could look dead')
    .default(3_000),
  RATE_LIMIT_USER_PER_MINUTE: envVar.count(1, 100_000).default(20),
  RATE_LIMIT_GLOBAL_PER_MINUTE: envVar.count(1, 1_000_000).default(1_800),
  AI_MAX_CONCURRENCY: envVar.count(1, 1_000).default(16),
  AI_HISTORY_TOKENS: envVar.count(0, 1_000_000).default(4_000),
  AI_MAX_TOKENS: envVar.count(16, 1_000_000).default(8_192),
  PROMPTS_DIR: z.string().min(1).describe('a folder with chat.md and market.md').optional(),
  ...sendLimitsEnv,
};

/** The admin API (off unless a token is set): its own port, never behind the Ingress. */
export const adminEnv = {
  ADMIN_PORT: envVar.port().default(8081),
  ADMIN_API_TOKEN: z
    .string()
    .min(32, 'at least 32 characters')
    .describe('a bearer token of 32 or more characters (e.g. `openssl rand -hex 32`)')
    .optional(),
};

/**
 * What the admin API needs to list backups and start one: the backup store (the same
 * settings as the backup CronJob) and, in a cluster, the CronJob to start a Job from.
 */
export const adminBackupEnv = {
  BACKUP_S3_URL: z
    .string()
    .regex(/^s3:\/\//, 'not s3://bucket/prefix')
    .optional(),
  BACKUP_S3_ENDPOINT: envVar.url().optional(),
  AWS_REGION: z.string().min(1).optional(),
  AWS_ACCESS_KEY_ID: z.string().min(1).optional(),
  AWS_SECRET_ACCESS_KEY: z.string().min(1).optional(),
  AWS_SESSION_TOKEN: z.string().min(1).optional(),
  BACKUP_CRONJOB: z.string().min(1).describe("the chart's backup CronJob").optional(),
  KUBERNETES_SERVICE_HOST: z.string().min(1).optional(),
  KUBERNETES_SERVICE_PORT: z.string().min(1).optional(),
};

export const userHandlerEnv = z.object({
  ...telegramEnv,
  TELEGRAM_MODE: envVar.oneOf(['webhook', 'polling']).default('webhook'),
  WEBHOOK_SECRET: WEBHOOK_SECRET.optional(),
  PUBLIC_URL: envVar.url(['https']).optional(),
  WEBHOOK_MAX_CONNECTIONS: envVar.count(1, 100).default(40),
  ...workerEnv,
  ...storageEnv,
  ...aiEnv,
  ...accessEnv,
  ...serverEnv,
  ...costEnv,
  ...adminEnv,
  ...adminBackupEnv,
});

export type UserHandlerEnv = z.infer<typeof userHandlerEnv>;

export const userHandlerRules: readonly EnvRule[] = [
  requiredWhen(
    'WEBHOOK_SECRET',
    (env) => (env.TELEGRAM_MODE ?? 'webhook') === 'webhook',
    'a secret token when TELEGRAM_MODE is webhook: Telegram sends it with every update',
  ),
];
