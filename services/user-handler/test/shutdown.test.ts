import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { migrateDatabase } from '@herald/db';
import { createLogger } from '@herald/logger';
import { Redis } from '@herald/redis';
import {
  createTestDatabase,
  freePort,
  startBotApiDouble,
  startLlmDouble,
  testRedisUrl,
  uniquePrefix,
  waitFor,
  type BotApiDouble,
  type LlmDouble,
  type TestDatabase,
} from '@herald/testing';

const MAIN = fileURLToPath(new URL('../dist/main.js', import.meta.url));
const CHAT_ID = 4242;
/** Far longer than the shutdown cap at the double's pace: it can only end by being cut. */
const LONG_ANSWER = Array.from({ length: 400 }, (_, i) => `Gold fact number ${i}.`).join(' ');

interface Run {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
}

function run(env: Record<string, string>): Run {
  let output = '';
  const child = spawn(process.execPath, [MAIN], {
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, output: () => output, exited };
}

/** The JSON log lines of a run. */
function logLines(output: string): Record<string, unknown>[] {
  return output
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

describe('user-handler shutdown while an answer streams', () => {
  let database: TestDatabase;
  let telegram: BotApiDouble;
  let llm: LlmDouble;
  let service: Run;
  const prefix = uniquePrefix('shutdown');

  beforeAll(async () => {
    database = await createTestDatabase();
    await migrateDatabase(database.url, createLogger({ service: 'test', level: 'silent' }));
    telegram = await startBotApiDouble();
    // A slow model: 20 tokens a second, so the answer takes well over a minute.
    llm = await startLlmDouble({ tokensPerSecond: 20, script: () => ({ answer: LONG_ANSWER }) });
    const port = await freePort();
    service = run({
      TELEGRAM_BOT_TOKEN: telegram.token,
      TELEGRAM_API_ROOT: telegram.apiRoot,
      TELEGRAM_MODE: 'polling',
      DATABASE_URL: database.url,
      REDIS_URL: testRedisUrl(),
      REDIS_KEY_PREFIX: prefix,
      AI_BASE_URL: llm.baseUrl,
      AI_MODELS: 'deepseek-r1-14b',
      AI_DEFAULT_MODEL: 'deepseek-r1-14b',
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
    await llm.close();
    await telegram.close();
    await database.drop();
  });

  it('cuts the answer short with a note, acknowledges the update, closes Postgres and Redis and exits 0', async () => {
    telegram.pushUpdates({
      update_id: 900,
      message: {
        message_id: 1,
        date: Math.floor(Date.now() / 1000),
        chat: { id: CHAT_ID, type: 'private', first_name: 'Eve' },
        from: { id: CHAT_ID, is_bot: false, first_name: 'Eve' },
        text: 'Tell me everything about gold',
      },
    });
    await waitFor(() => telegram.callsOf('sendMessageDraft').length > 0 && llm.active === 1, {
      what: 'the answer to start showing while the model still writes',
      timeoutMs: 15_000,
    });

    service.child.kill('SIGTERM');
    expect(await service.exited).toBe(0);

    const lines = logLines(service.output());
    // Every step finished in its time, the pools' included (a step that overran or failed
    // logs an error line instead).
    const finished = lines.filter((l) => l.msg === 'shutdown step done').map((l) => l.step);
    expect(new Set(finished)).toEqual(
      new Set([
        'mark not ready',
        'close HTTP servers',
        'stop polling and workers',
        'close Postgres and Redis',
      ]),
    );
    expect(lines.filter((l) => l.level === 'error')).toEqual([]);
    expect(lines.some((l) => l.msg === 'stopped')).toBe(true);

    // The user got the part written so far, once, and was told why it stops there.
    const finals = telegram
      .callsOf('sendMessage')
      .map((call) => call.payload as { chat_id: number; text: string })
      .filter((payload) => payload.chat_id === CHAT_ID);
    expect(finals).toHaveLength(1);
    expect(finals[0]?.text).toContain('Gold fact number 0.');
    expect(finals[0]?.text).toContain('cut short: Herald is restarting; ask again');
    expect(finals[0]?.text).not.toContain(LONG_ANSWER);

    // Answered once: no other pod finds the update unfinished and answers it again.
    const redis = new Redis(testRedisUrl(), { keyPrefix: prefix });
    try {
      expect(await redis.xlen('updates')).toBe(0);
    } finally {
      redis.disconnect();
    }
  }, 60_000);
});
