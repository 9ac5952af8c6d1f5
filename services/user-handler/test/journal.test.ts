import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createLogger } from '@herald/logger';
import { Registry } from '@herald/ops';
import { createRedis, type Redis } from '@herald/redis';
import {
  startBotApiDouble,
  testRedisUrl,
  uniquePrefix,
  waitFor,
  type BotApiDouble,
} from '@herald/testing';
import { Telegraf } from 'telegraf';
import { botUpdateHandler, createRedisJournal, journalMiddleware } from '../src/updates/journal.js';
import { createRedisQueue } from '../src/updates/redis-queue.js';
import { message } from './harness.js';

describe('the call journal', () => {
  const logger = createLogger({ service: 'test', level: 'silent' });
  const prefix = uniquePrefix('journal');
  let redis: Redis;
  let telegram: BotApiDouble;
  let bot: Telegraf;

  beforeAll(async () => {
    redis = createRedis({ url: testRedisUrl(), logger, keyPrefix: prefix });
    telegram = await startBotApiDouble();
    bot = new Telegraf(telegram.token, { telegram: { apiRoot: telegram.apiRoot } });
    bot.use(journalMiddleware());
    // An update whose handling makes two calls.
    bot.on('message', async (ctx) => {
      await ctx.reply('first part');
      await ctx.reply('second part');
    });
    bot.catch((error) => {
      throw error;
    });
  });
  afterAll(async () => {
    redis.disconnect();
    await telegram.close();
  });

  it('does not repeat a call that went through when the update is retried', async () => {
    const queue = createRedisQueue({
      redis,
      logger,
      registry: new Registry(),
      retryDelayMs: () => 10,
    });
    // Telegram fails the second call once: the update is retried from the start.
    telegram.failOnce((call) => call.payload.text === 'second part', {
      code: 502,
      description: 'Bad Gateway',
    });
    const consumer = queue.consume({ handler: botUpdateHandler(bot, createRedisJournal(redis)) });
    try {
      await queue.enqueue(message('hello'));
      await waitFor(async () => (await queue.stats()).length === 0);
      const texts = telegram.callsOf('sendMessage').map((call) => call.payload.text);
      expect(texts).toEqual(['first part', 'second part']);
      // The journal goes with the finished update.
      expect(await redis.keys(`${prefix}update-calls:*`)).toEqual([]);
    } finally {
      await consumer.stop();
    }
  });
});
