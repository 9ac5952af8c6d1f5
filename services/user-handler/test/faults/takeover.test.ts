// A pod dies (SIGKILL: an OOM kill, a lost node) while it holds updates whose answers are
// being written. The pod that is left must take those updates over within seconds, not
// after QUEUE_CLAIM_IDLE (30 s by default), and answer each of them once, in order.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { migrateDatabase } from '@herald/db';
import { createLogger } from '@herald/logger';
import { createRedis, type Redis } from '@herald/redis';
import {
  createTestDatabase,
  startBotApiDouble,
  startLlmDouble,
  testRedisUrl,
  uniquePrefix,
  waitFor,
  type BotApiDouble,
  type LlmDouble,
  type TestDatabase,
} from '@herald/testing';
import { killPods, startPod, type Pod } from '../pods.js';
import type { Update } from 'telegraf/types';
import {
  answerScript,
  countReplies,
  MODELS,
  privateMessage,
  SECRET,
  workloadChatId,
  type Workload,
} from './workload.js';

const CHATS = 24;
/** How soon the dead pod's updates must be someone else's. */
const TAKEOVER_LIMIT_MS = 5_000;
/** How long the test waits for that before it fails (QUEUE_CLAIM_IDLE alone takes 30 s+). */
const TAKEOVER_WAIT_MS = 15_000;

describe('takeover of a dead pod', () => {
  let database: TestDatabase;
  let telegram: BotApiDouble;
  let llm: LlmDouble;
  let redis: Redis;
  let prefix: string;
  let env: Record<string, string>;
  const pods: Pod[] = [];

  const start = () => startPod(env, pods);

  /** Updates pending (taken, unfinished) per pod, from XPENDING's summary. */
  const pendingOf = async (pod: Pod): Promise<number> => {
    const [, , , consumers] = (await redis.xpending('updates', 'workers')) as [
      number,
      string | null,
      string | null,
      [string, string][] | null,
    ];
    // Consumers are named `${hostname}-${pid}-${random}`.
    const mine = (consumers ?? []).filter(([name]) => name.includes(`-${pod.child.pid}-`));
    return mine.reduce((sum, [, count]) => sum + Number(count), 0);
  };

  beforeAll(async () => {
    const logger = createLogger({ service: 'test', level: 'silent' });
    database = await createTestDatabase();
    await migrateDatabase(database.url, logger);
    telegram = await startBotApiDouble();
    // Slow answers (about 4 s each): a pod killed among them holds some half written.
    llm = await startLlmDouble({
      models: [...MODELS],
      timeToFirstTokenMs: 100,
      tokensPerSecond: 10,
      script: (request) => {
        const { answer } = answerScript(false)(request);
        return { answer: `${answer} ${'Rates lead, metals follow. '.repeat(4)}` };
      },
    });
    prefix = uniquePrefix('takeover');
    redis = createRedis({ url: testRedisUrl(), logger, keyPrefix: prefix });
    // The defaults of a production pod, QUEUE_CLAIM_IDLE included; only Telegram's
    // pacing is made faster so that the test stays short.
    env = {
      TELEGRAM_BOT_TOKEN: telegram.token,
      TELEGRAM_API_ROOT: telegram.apiRoot,
      TELEGRAM_MODE: 'webhook',
      WEBHOOK_SECRET: SECRET,
      DATABASE_URL: database.url,
      REDIS_URL: testRedisUrl(),
      REDIS_KEY_PREFIX: prefix,
      AI_BASE_URL: llm.baseUrl,
      AI_MODELS: MODELS.join(','),
      AI_DEFAULT_MODEL: MODELS[0],
      AI_MAX_CONCURRENCY: '64',
      RATE_LIMIT_USER_PER_MINUTE: '10000',
      RATE_LIMIT_GLOBAL_PER_MINUTE: '1000000',
      TELEGRAM_CHAT_INTERVAL: '50ms',
      TELEGRAM_BOT_INTERVAL: '2ms',
      TELEGRAM_DRAFT_INTERVAL: '100ms',
      LOG_LEVEL: 'error',
    };
  });
  afterAll(async () => {
    await killPods(pods);
    const keys = await redis.keys(`${prefix}*`).catch(() => []);
    if (keys.length > 0) await redis.del(...keys.map((key) => key.slice(prefix.length)));
    redis.disconnect();
    await llm.close();
    await telegram.close();
    await database.drop();
  });

  it(`hands the dead pod's updates to the live one within ${TAKEOVER_LIMIT_MS / 1000} s, each answered once, in order`, async () => {
    const both = [await start(), await start()];
    // Each chat switches model, asks for help, then asks a question: the question is last,
    // so nothing newer in its chat cuts its answer short.
    const updates: Update[] = [];
    const workload: Workload = { updates, expected: new Map() };
    let updateId = 50_000;
    for (const [round, text] of [`/switch ${MODELS[1]}`, '/help', 'question'].entries()) {
      for (let c = 1; c <= CHATS; c += 1) {
        const sent = text === 'question' ? `q${c}_${round} how do rates move gold?` : text;
        updates.push(privateMessage(c, sent, (updateId += 1)));
        const expected = workload.expected.get(workloadChatId(c)) ?? [];
        expected.push(
          text === 'question'
            ? `q${c}_${round}`
            : text === '/help'
              ? 'help'
              : `switch:${MODELS[1]}`,
        );
        workload.expected.set(workloadChatId(c), expected);
      }
    }
    // Telegram spreads its connections over the pods behind the Service.
    for (const [index, update] of updates.entries()) {
      const pod = both[index % 2]!;
      const response = await fetch(`http://127.0.0.1:${pod.port}/telegram/webhook`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-telegram-bot-api-secret-token': SECRET },
        body: JSON.stringify(update),
      });
      expect(response.status).toBe(200);
    }

    // Kill the pod that holds the most updates once the answers are being written.
    await waitFor(() => llm.active >= CHATS / 2, {
      what: 'answers being written',
      timeoutMs: 20_000,
    });
    const held = await Promise.all(both.map(pendingOf));
    const victimIndex = held[0]! >= held[1]! ? 0 : 1;
    const victim = both[victimIndex]!;
    expect(held[victimIndex]).toBeGreaterThan(0);
    const killedAt = performance.now();
    victim.child.kill('SIGKILL');
    await victim.exited;
    const takenOverAfterMs = await waitFor(
      async () => (await pendingOf(victim)) === 0 && performance.now() - killedAt,
      {
        what: "the dead pod's updates to be taken over",
        timeoutMs: TAKEOVER_WAIT_MS,
        intervalMs: 50,
      },
    ).catch(() => Number.POSITIVE_INFINITY);
    console.log(
      `[faults] takeover of a dead pod: it held ${held[victimIndex]} updates; ` +
        (Number.isFinite(takenOverAfterMs)
          ? `none pending for it ${(takenOverAfterMs / 1000).toFixed(2)} s after the kill`
          : `still pending for it ${TAKEOVER_WAIT_MS / 1000} s after the kill`),
    );
    expect(takenOverAfterMs).toBeLessThan(TAKEOVER_LIMIT_MS);

    await waitFor(() => telegram.messages.length >= updates.length, {
      what: 'every update answered',
      timeoutMs: 30_000,
    });
    // A second answer, if there were one, would show up meanwhile.
    await new Promise((r) => setTimeout(r, 1_500));
    const figures = countReplies(telegram.messages, workload);
    console.log(`[faults] takeover of a dead pod: ${JSON.stringify(figures)}`);
    expect(figures).toEqual({
      answered: updates.length,
      missing: 0,
      twice: 0,
      outOfOrder: 0,
      apologies: 0,
      other: 0,
      superseded: 0,
    });
  }, 90_000);
});
