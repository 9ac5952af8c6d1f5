// A worker killed with SIGKILL in the middle of a batch: after another worker starts,
// every update is answered exactly once and each chat's answers are in order.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { migrateDatabase } from '@herald/db';
import { createLogger } from '@herald/logger';
import { createRedis, type Redis } from '@herald/redis';
import {
  createTestDatabase,
  startBotApiDouble,
  testRedisUrl,
  uniquePrefix,
  waitFor,
  type BotApiDouble,
  type TestDatabase,
} from '@herald/testing';
import { killPods, startPod, type Pod } from './pods.js';

const SECRET = 'fault-test-secret';
const CHATS = 50;
const PER_CHAT = 10;

describe('a worker killed mid-batch', () => {
  let database: TestDatabase;
  let telegram: BotApiDouble;
  let redis: Redis;
  let env: Record<string, string>;
  const workers: Pod[] = [];

  const startWorker = () => startPod(env, workers);

  beforeAll(async () => {
    const logger = createLogger({ service: 'test', level: 'silent' });
    database = await createTestDatabase();
    await migrateDatabase(database.url, logger);
    telegram = await startBotApiDouble();
    const prefix = uniquePrefix('fault');
    redis = createRedis({ url: testRedisUrl(), logger, keyPrefix: prefix });
    env = {
      TELEGRAM_BOT_TOKEN: telegram.token,
      TELEGRAM_API_ROOT: telegram.apiRoot,
      TELEGRAM_MODE: 'webhook',
      WEBHOOK_SECRET: SECRET,
      DATABASE_URL: database.url,
      REDIS_URL: testRedisUrl(),
      REDIS_KEY_PREFIX: prefix,
      QUEUE_CLAIM_IDLE: '1s',
      RATE_LIMIT_USER_PER_MINUTE: '10000',
      RATE_LIMIT_GLOBAL_PER_MINUTE: '1000000',
      LOG_LEVEL: 'error',
    };
  });
  afterAll(async () => {
    await killPods(workers);
    redis.disconnect();
    await telegram.close();
    await database.drop();
  });

  it(`answers all ${CHATS * PER_CHAT} updates of ${CHATS} chats exactly once, in order`, async () => {
    const first = await startWorker();
    // Update n of chat c asks for "/u<c>_<n>"; the bot's answer names it.
    const updates = [];
    let updateId = 10_000;
    for (let n = 0; n < PER_CHAT; n += 1) {
      for (let c = 1; c <= CHATS; c += 1) {
        const text = `/u${c}_${n}`;
        updateId += 1;
        updates.push({
          update_id: updateId,
          message: {
            message_id: updateId,
            date: Math.floor(Date.now() / 1000),
            chat: { id: c, type: 'private', first_name: `User ${c}` },
            from: { id: c, is_bot: false, first_name: `User ${c}` },
            text,
            entities: [{ type: 'bot_command', offset: 0, length: text.length }],
          },
        });
      }
    }
    for (const update of updates) {
      const response = await fetch(`http://127.0.0.1:${first.port}/telegram/webhook`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-telegram-bot-api-secret-token': SECRET },
        body: JSON.stringify(update),
      });
      expect(response.status).toBe(200);
    }

    const answered = () =>
      telegram
        .callsOf('sendMessage')
        .map((call) => /\/u(\d+)_(\d+)/.exec(String(call.payload.text)));
    await waitFor(() => answered().length >= 150, { what: '150 answers', timeoutMs: 30_000 });
    // Telegram stops answering: the worker's next sends hang in flight. Once every answer
    // Telegram did accept is in the worker's journal, the worker is killed mid-batch.
    telegram.hold();
    const accepted = answered();
    const recorded = async () => {
      // Unfinished updates are still in the stream; finished ones were deleted from it.
      const unfinished = new Set(
        (await redis.xrange('updates', '-', '+')).map(
          ([, fields]) => (JSON.parse(fields[1] ?? '{}') as { update_id: number }).update_id,
        ),
      );
      for (const match of accepted) {
        const id = 10_000 + Number(match![2]) * CHATS + Number(match![1]);
        if (unfinished.has(id) && (await redis.exists(`update-calls:${id}`)) === 0) return false;
      }
      return true;
    };
    await waitFor(recorded, { what: 'accepted answers to be journaled' });
    await waitFor(() => telegram.heldCount > 0, { what: 'sends in flight' });
    first.child.kill('SIGKILL');
    await first.exited;
    const dropped = telegram.dropHeld();
    expect(dropped).toBeGreaterThan(0);
    expect(answered().length).toBeLessThan(CHATS * PER_CHAT);

    await startWorker();
    await waitFor(() => answered().length >= CHATS * PER_CHAT, {
      what: 'all answers after the restart',
      timeoutMs: 60_000,
    });
    // Give a duplicate, if there were one, time to show up.
    await new Promise((r) => setTimeout(r, 1_500));

    const perChat = new Map<number, number[]>();
    for (const match of answered()) {
      const chat = Number(match![1]);
      perChat.set(chat, [...(perChat.get(chat) ?? []), Number(match![2])]);
    }
    expect(answered()).toHaveLength(CHATS * PER_CHAT);
    for (let c = 1; c <= CHATS; c += 1) {
      expect({ chat: c, answers: perChat.get(c) }).toEqual({
        chat: c,
        answers: Array.from({ length: PER_CHAT }, (_, n) => n),
      });
    }
  }, 120_000);
});
