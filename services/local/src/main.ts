// `pnpm start`: Herald in one process on embedded defaults. Postgres is DATABASE_URL or an
// embedded server under HERALD_HOME; shared state is REDIS_URL or in-process; Telegram is
// long polling with TELEGRAM_BOT_TOKEN, else a console chat in this terminal.
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { loadEnv } from '@herald/config';
import { migrateDatabase } from '@herald/db';
import { createLogger } from '@herald/logger';
import { onShutdownSignal, openRuntime } from '@herald/ops';
import { buildApp, createUserHandler, optionsFromEnv, VERSION } from '@herald/user-handler';
import { pino } from 'pino';
import { CONSOLE_TOKEN, CONSOLE_USER, startConsoleBotApi } from './console-bot-api.js';
import { startConsoleChat, type ConsoleChat } from './console-chat.js';
import { startLocalDatabase } from './embedded-database.js';
import { localEnv } from './env.js';

const env = loadEnv('herald', localEnv);
const home = resolve(env.HERALD_HOME);
mkdirSync(home, { recursive: true });
const consoleMode = env.TELEGRAM_BOT_TOKEN === undefined;
const logFile = join(home, 'herald.log');
// The console chat owns the terminal; logs go to a file there.
const logger = createLogger({
  service: 'herald-local',
  level: env.LOG_LEVEL,
  secrets: [env.TELEGRAM_BOT_TOKEN, env.AI_API_KEY],
  ...(consoleMode ? { destination: pino.destination({ dest: logFile, sync: true }) } : {}),
});
const say = (line: string): void => void process.stdout.write(`${line}\n`);

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
    })
  : undefined;

const adminUserIds = consoleMode ? [...env.ADMIN_USER_IDS, CONSOLE_USER.id] : env.ADMIN_USER_IDS;
const handler = createUserHandler({
  logger,
  runtime,
  telegram: {
    token: env.TELEGRAM_BOT_TOKEN ?? CONSOLE_TOKEN,
    apiRoot: consoleApi?.apiRoot ?? env.TELEGRAM_API_ROOT,
  },
  adminUserIds,
  ...optionsFromEnv(env),
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
  `AI: ${env.AI_BASE_URL ? env.AI_BASE_URL : 'not configured (set AI_BASE_URL)'}`,
  `health and metrics: http://127.0.0.1:${env.PORT}/readyz, /metrics`,
];
if (consoleMode) {
  say(`Herald ${VERSION}, local mode: console chat (TELEGRAM_BOT_TOKEN is not set).`);
  for (const line of where) say(`  ${line}`);
  say(`  logs: ${logFile}`);
  say('Type /start, /help or /status. Ctrl+D quits.\n');
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
