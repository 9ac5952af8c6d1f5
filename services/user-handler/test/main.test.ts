import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { migrateDatabase } from '@herald/db';
import { createLogger } from '@herald/logger';
import {
  createTestDatabase,
  freePort,
  startBotApiDouble,
  testRedisUrl,
  uniquePrefix,
  waitFor,
  type BotApiDouble,
  type TestDatabase,
} from '@herald/testing';

const MAIN = fileURLToPath(new URL('../dist/main.js', import.meta.url));

interface Run {
  child: ChildProcess;
  output: () => string;
  /** Resolves once the process has printed `text` (never, if it does not). */
  printed: (text: string) => Promise<void>;
  exited: Promise<number | null>;
}

function run(env: Record<string, string>): Run {
  let output = '';
  const child = spawn(process.execPath, [MAIN], {
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const append = (chunk: Buffer) => (output += chunk.toString());
  child.stdout?.on('data', append);
  child.stderr?.on('data', append);
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const printed = (text: string) =>
    new Promise<void>((resolve) => {
      const check = () => {
        if (!output.includes(text)) return;
        child.stdout?.off('data', check);
        resolve();
      };
      child.stdout?.on('data', check);
      check();
    });
  return { child, output: () => output, printed, exited };
}

describe('user-handler process', () => {
  it('refuses durations without a unit with exit 78, telling the operator to add one', async () => {
    const service = run({
      TELEGRAM_BOT_TOKEN: '123456789:AAEhBP0av28tHkVx9-LyFqM0hPz1GzA1b2c',
      TELEGRAM_MODE: 'webhook',
      WEBHOOK_SECRET: 'a-webhook-secret',
      DATABASE_URL: 'postgres://herald@127.0.0.1:1/herald',
      REDIS_URL: testRedisUrl(),
      REDIS_KEY_PREFIX: uniquePrefix('units'),
      PORT: String(await freePort()),
      // Meant as 34 ms and 30 s; read as seconds, the bot would send one message per 34 s.
      TELEGRAM_BOT_INTERVAL: '34',
      QUEUE_CLAIM_IDLE: '30',
    });
    // Whichever comes first: the refusal, or a start on misread durations.
    const started = service.printed('user-handler started').then(() => 'started' as const);
    const outcome = await Promise.race([service.exited, started]);
    if (outcome === 'started') service.child.kill('SIGKILL');
    expect(outcome).toBe(78);
    const text = service.output();
    expect(text).toContain('- TELEGRAM_BOT_INTERVAL: "34" is invalid');
    expect(text).toContain('add a unit: 34ms, 34s, 34m');
    expect(text).toContain('- QUEUE_CLAIM_IDLE: "30" is invalid');
    expect(text).toContain('add a unit: 30ms, 30s, 30m');
  });

  it('exits 78 listing every bad variable at once', async () => {
    const { exited, output } = run({
      TELEGRAM_BOT_TOKEN: 'not-a-token',
      TELEGRAM_MODE: 'carrier-pigeon',
      PORT: '99999',
      REDIS_URL: 'redis://127.0.0.1:6379',
    });
    expect(await exited).toBe(78);
    const text = output();
    for (const variable of ['TELEGRAM_BOT_TOKEN', 'TELEGRAM_MODE', 'PORT', 'DATABASE_URL']) {
      expect(text).toContain(`- ${variable}:`);
    }
    expect(text).not.toContain('not-a-token');
  });

  describe('running', () => {
    let database: TestDatabase;
    let telegram: BotApiDouble;
    let port: number;
    let service: Run;

    beforeAll(async () => {
      database = await createTestDatabase();
      await migrateDatabase(database.url, createLogger({ service: 'test', level: 'silent' }));
      telegram = await startBotApiDouble();
      port = await freePort();
      service = run({
        TELEGRAM_BOT_TOKEN: telegram.token,
        TELEGRAM_API_ROOT: telegram.apiRoot,
        TELEGRAM_MODE: 'polling',
        DATABASE_URL: database.url,
        REDIS_URL: testRedisUrl(),
        REDIS_KEY_PREFIX: uniquePrefix('main'),
        PORT: String(port),
        LOG_LEVEL: 'debug',
      });
      await waitFor(async () => (await fetch(`http://127.0.0.1:${port}/readyz`)).status === 200, {
        what: 'the user-handler to be ready',
        timeoutMs: 20_000,
      });
    });
    afterAll(async () => {
      service.child.kill('SIGKILL');
      await telegram.close();
      await database.drop();
    });

    it('answers updates from polling, then stops cleanly on SIGTERM without logging the token', async () => {
      telegram.pushUpdates({
        update_id: 500,
        message: {
          message_id: 1,
          date: 1_700_000_000,
          chat: { id: 42, type: 'private', first_name: 'Eve' },
          from: { id: 42, is_bot: false, first_name: 'Eve' },
          text: '/start',
          entities: [{ type: 'bot_command', offset: 0, length: 6 }],
        },
      });
      await waitFor(() => telegram.callsOf('sendMessage').length === 1, {
        what: 'the /start reply',
      });
      expect(telegram.callsOf('sendMessage')[0]?.payload).toMatchObject({ chat_id: 42 });

      service.child.kill('SIGTERM');
      expect(await service.exited).toBe(0);
      const output = service.output();
      expect(output).toContain('"msg":"stopped"');
      expect(output).not.toContain(telegram.token);
      expect(output).not.toContain(telegram.token.split(':')[1]);
    });
  });
});
