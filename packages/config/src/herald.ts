import { z } from 'zod';
import { envVar } from './env-vars.js';

// Variables that several Herald services share, defined once so they read the same way
// everywhere (see the README's configuration table).

const BOT_TOKEN = /^\d+:[A-Za-z0-9_-]{30,}$/;

/** Variables about Telegram, shared by every role that talks to the Bot API. */
export const telegramEnv = {
  TELEGRAM_BOT_TOKEN: z
    .string()
    .regex(BOT_TOKEN, 'not a bot token')
    .describe('the bot token from @BotFather, like 123456789:AA...'),
  TELEGRAM_API_ROOT: envVar.url().default('https://api.telegram.org'),
};

/** The spacing every Bot API sender keeps between messages (Telegram's flood limits). */
export const sendLimitsEnv = {
  TELEGRAM_CHAT_INTERVAL: envVar.durationMs().default(1_000),
  TELEGRAM_GROUP_INTERVAL: envVar.durationMs().default(3_000),
  TELEGRAM_BOT_INTERVAL: envVar.durationMs().default(34),
  TELEGRAM_DRAFT_INTERVAL: envVar.durationMs().default(250),
};

/** Variables about the OpenAI-compatible LLM endpoint. */
export const aiEnv = {
  AI_BASE_URL: envVar.url().optional(),
  AI_API_KEY: envVar.secret('the API key of the LLM endpoint').optional(),
  AI_MODELS: envVar.list('comma-separated model ids users may pick').default([]),
  AI_DEFAULT_MODEL: z.string().min(1).describe('a model id from AI_MODELS').optional(),
  AI_FIRST_TOKEN_TIMEOUT: envVar.durationMs().default(30_000),
  AI_TOKEN_GAP_TIMEOUT: envVar.durationMs().default(30_000),
  AI_TOTAL_TIMEOUT: envVar.durationMs().default(300_000),
  /** The server's chat template writes `<think>` itself (R1 distills without a reasoning parser). */
  AI_UNTAGGED_REASONING: envVar.boolean().default(false),
  AI_VISION_MODEL: z.string().min(1).describe('a vision model id served by AI_BASE_URL').optional(),
  AI_TRANSCRIBE_MODEL: z
    .string()
    .min(1)
    .describe('a speech-to-text model id served by AI_BASE_URL (e.g. a Whisper model)')
    .optional(),
  AI_FILE_MAX_BYTES: envVar.count(1_024, 20 * 1024 * 1024).default(10 * 1024 * 1024),
};

/** Who may do what. */
export const accessEnv = {
  ADMIN_USER_IDS: envVar.idList().default([]),
  ALLOWED_USER_IDS: envVar.idList().optional(),
};

/** HTTP port (health, metrics, webhook) and log level. */
export const serverEnv = {
  PORT: envVar.port().default(8080),
  LOG_LEVEL: envVar.logLevel().default('info'),
};

/** Lets several Herald installs share one Redis. */
export const redisKeyPrefix = z
  .string()
  .regex(/^[A-Za-z0-9:_.-]{1,64}$/, 'not a key prefix')
  .describe('1-64 characters of A-Z, a-z, 0-9 and :_.- such as herald:')
  .default('herald:');

/** Postgres and Redis, required in production. */
export const storageEnv = {
  DATABASE_URL: envVar.url(['postgres', 'postgresql']),
  REDIS_URL: envVar.url(['redis', 'rediss']),
  REDIS_KEY_PREFIX: redisKeyPrefix,
};
