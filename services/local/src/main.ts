// `pnpm start`: Herald in one process on embedded defaults. Postgres is DATABASE_URL or an
// embedded server under HERALD_HOME; shared state is REDIS_URL or in-process; Telegram is
// long polling with TELEGRAM_BOT_TOKEN, else a console chat in this terminal; the LLM is
// AI_BASE_URL, else a local Ollama if one answers; the news publisher runs alongside.
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { loadEnv } from '@herald/config';
import { migrateDatabase } from '@herald/db';
import { createLogger, urlPasswords } from '@herald/logger';
import { onShutdownSignal, openRuntime } from '@herald/ops';
import { buildApp, createUserHandler, optionsFromEnv, VERSION } from '@herald/user-handler';
import { pino } from 'pino';
import { CONSOLE_TOKEN, CONSOLE_USER, startConsoleBotApi } from './console-bot-api.js';
import { startConsoleChat, type ConsoleChat } from './console-chat.js';
import { startLocalDatabase } from './embedded-database.js';
import { localEnv } from './env.js';
import { describeAi, probeLocalLlm, withLocalLlm } from './local-llm.js';
import { createLocalNews, type LocalNews, type NewsChannel } from './news.js';

const env = loadEnv('herald', localEnv);
const home = resolve(env.HERALD_HOME);
mkdirSync(home, { recursive: true });
const consoleMode = env.TELEGRAM_BOT_TOKEN === undefined;
const logFile = join(home, 'herald.log');
// The console chat owns the terminal; logs go to a file there.
const logger = createLogger({
  service: 'herald-local',
  level: env.LOG_LEVEL,
  secrets: [
    env.TELEGRAM_BOT_TOKEN,
    env.AI_API_KEY,
    ...urlPasswords(env.DATABASE_URL, env.REDIS_URL, env.AI_BASE_URL),
  ],
  ...(consoleMode ? { destination: pino.destination({ dest: logFile, sync: true }) } : {}),
});
const say = (line: string): void => void process.stdout.write(`${line}\n`);

// Asked while Postgres starts; nothing listening is the common case, so the wait is short.
const probing = env.AI_BASE_URL
  ? undefined
  : probeLocalLlm(env.OLLAMA_BASE_URL, { timeoutMs: 1_000, preferredModel: env.AI_DEFAULT_MODEL });
const embedded = env.DATABASE_URL ? undefined : await startLocalDatabase(home, logger);
const databaseUrl = env.DATABASE_URL ?? embedded!.url;
await migrateDatabase(databaseUrl, logger);
const runtime = openRuntime({
  service: 'local',
  version: VERSION,
  logger,
  databaseUrl,
  redisUrl: env.REDIS_URL,
  redisKeyPrefix: env.REDIS_KEY_PREFIX,
});
const probe = await probing;
const settings = probe?.found ? withLocalLlm(env, probe.llm) : env;

// Inline buttons of the last message, by label, so the console can press them.
let lastButtons = new Map<string, string>();
const consoleApi = consoleMode
  ? await startConsoleBotApi({
      message: (text, buttons) => {
        lastButtons = new Map(buttons.map((b) => [b.text, b.callback_data ?? '']));
        const row = buttons.map((b) => `[${b.text}]`).join(' ');
        say(`\nherald> ${text.replace(/\n/g, '\n        ')}${row ? `\n        ${row}` : ''}\n`);
      },
      notice: (text) => say(`(${text})`),
      channelPost: (text) => say(`\n${text.replace(/^/gm, 'channel│ ')}\n`),
    })
  : undefined;

const telegram = {
  token: env.TELEGRAM_BOT_TOKEN ?? CONSOLE_TOKEN,
  apiRoot: consoleApi?.apiRoot ?? env.TELEGRAM_API_ROOT,
};
const channel: NewsChannel = consoleMode
  ? { kind: 'console' }
  : env.NEWS_CHANNEL_ID
    ? { kind: 'telegram', channelId: env.NEWS_CHANNEL_ID }
    : { kind: 'archive' };
let news: LocalNews;
try {
  news = createLocalNews({
    env: settings,
    runtime,
    logger,
    telegram,
    channel,
    say: consoleMode ? say : (line) => logger.info(line),
  });
} catch (error) {
  // A sources or checklist file that cannot be used: its problems, then out.
  logger.error({ err: error }, 'the news publisher could not start');
  say(`news: ${error instanceof Error ? error.message : String(error)}`);
  await consoleApi?.server.close();
  await runtime.close();
  await embedded?.server.stop();
  process.exit(78);
}

const adminUserIds = consoleMode ? [...env.ADMIN_USER_IDS, CONSOLE_USER.id] : env.ADMIN_USER_IDS;
const handler = createUserHandler({
  logger,
  runtime,
  telegram,
  adminUserIds,
  ...optionsFromEnv(settings),
});

let shuttingDown = false;
const app = await buildApp({
  logger,
  registry: runtime.registry,
  metrics: runtime.metrics,
  checks: runtime.checks,
  isShuttingDown: () => shuttingDown,
});

let chat: ConsoleChat | undefined;
const shutdown = onShutdownSignal({
  logger,
  steps: [
    { name: 'mark not ready', run: async () => (shuttingDown = true) },
    // Before Postgres closes and while the console Bot API still shows channel posts.
    { name: 'stop the news publisher', run: () => news.stop() },
    { name: 'stop polling and workers', run: () => handler.stop() },
    { name: 'close console', run: async () => chat?.close() },
    { name: 'close HTTP server', run: () => app.close() },
    { name: 'close console Bot API', run: async () => consoleApi?.server.close() },
    { name: 'close Postgres and Redis', run: () => runtime.close() },
    { name: 'stop embedded Postgres', run: async () => embedded?.server.stop() },
  ],
});

try {
  await app.listen({ port: env.PORT, host: '127.0.0.1' });
} catch (error) {
  logger.error({ err: error, port: env.PORT }, 'could not listen; set PORT to a free port');
  say(`Port ${env.PORT} is taken: set PORT to a free port (health and metrics listen there).`);
  await shutdown();
}

const where = [
  `Postgres: ${embedded ? `embedded, data in ${embedded.server.clusterDir}` : 'DATABASE_URL'}`,
  `shared state: ${runtime.store.kind === 'redis' ? 'REDIS_URL' : 'in-process'}`,
  ...describeAi(env, probe),
  news.description,
  `health and metrics: http://127.0.0.1:${env.PORT}/readyz, /metrics`,
];
if (consoleMode) {
  say(`Herald ${VERSION}, local mode: console chat (TELEGRAM_BOT_TOKEN is not set).`);
  for (const line of where) say(`  ${line}`);
  say(`  logs: ${logFile}`);
  say('Type /start, /help, /status or /gold. Ctrl+D quits.\n');
  handler.start({ polling: false });
  chat = startConsoleChat(
    handler.bot,
    () => lastButtons,
    (error) => logger.error({ err: error }, 'the console chat failed to handle a line'),
  );
  void chat.closed.then(() => shutdown());
} else {
  handler.start({ polling: true });
  logger.info({ version: VERSION, setup: where }, 'Herald local mode: long polling Telegram');
}
news.start();
