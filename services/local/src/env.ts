import { accessEnv, aiEnv, envVar, redisKeyPrefix, z } from '@herald/config';
import { newsEnv } from '@herald/news-publisher';
import { workerEnv } from '@herald/user-handler';

/** Local mode: everything optional, with embedded defaults for what is missing. */
export const localEnv = z.object({
  TELEGRAM_BOT_TOKEN: z
    .string()
    .regex(/^\d+:[A-Za-z0-9_-]{30,}$/, 'not a bot token')
    .describe('a bot token from @BotFather; unset opens the console chat')
    .optional(),
  TELEGRAM_API_ROOT: envVar.url().default('https://api.telegram.org'),
  DATABASE_URL: envVar.url(['postgres', 'postgresql']).optional(),
  REDIS_URL: envVar.url(['redis', 'rediss']).optional(),
  REDIS_KEY_PREFIX: redisKeyPrefix,
  HERALD_HOME: z.string().min(1).describe('a directory for local data').default('.herald'),
  ...aiEnv,
  OLLAMA_BASE_URL: envVar.url().default('http://127.0.0.1:11434/v1'),
  ...workerEnv,
  ...accessEnv,
  ...newsEnv,
  // The console shows the channel without one; with a token, unset archives news only.
  NEWS_CHANNEL_ID: newsEnv.NEWS_CHANNEL_ID.optional(),
  PORT: envVar.port().default(8080),
  LOG_LEVEL: envVar.logLevel().default('info'),
});

export type LocalEnv = z.infer<typeof localEnv>;
