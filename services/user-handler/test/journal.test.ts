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
import { sendPathMiddleware } from '../src/bot/send-path.js';
import { botUpdateHandler, createRedisJournal } from '../src/updates/journal.js';
import { createRedisQueue, UPDATE_STREAM, WORKER_GROUP } from '../src/updates/redis-queue.js';
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
    bot.use(sendPathMiddleware(undefined));
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

  it('sends nothing more for an update once another worker has taken it over', async () => {
    const gate = () => {
      let open!: () => void;
      const opened = new Promise<void>((resolve) => (open = resolve));
      return { open, opened };
    };
    const [handling, mayGoOn] = [gate(), gate()];
    const slowBot = new Telegraf(telegram.token, { telegram: { apiRoot: telegram.apiRoot } });
    slowBot.use(sendPathMiddleware(undefined));
    slowBot.on('message', async (ctx) => {
      await ctx.reply('before the takeover');
      handling.open();
      await mayGoOn.opened;
      await ctx.sendChatAction('typing');
      await ctx.reply('after the takeover');
    });
    slowBot.catch((error) => {
      throw error;
    });
    const registry = new Registry();
    const counted = async (name: string, labels: Record<string, string> = {}) =>
      (await registry.getSingleMetric(name)?.get())?.values.find((v) =>
        Object.entries(labels).every(([k, l]) => v.labels[k] === l),
      )?.value ?? 0;
    // A short claim timeout: the keep-alive that notices the takeover runs every 100 ms.
    const queue = createRedisQueue({
      redis,
      logger,
      registry,
      claimIdleMs: 300,
      consumerName: 'pod-a',
    });
    const consumer = queue.consume({
      handler: botUpdateHandler(slowBot, createRedisJournal(redis)),
    });
    const callsBefore = telegram.calls.length;
    try {
      await queue.enqueue(message('tell me everything'));
      await handling.opened;
      // Pod B decided this pod was gone and took the update while it was being handled.
      const [[id] = ['']] = (await redis.xpending(UPDATE_STREAM, WORKER_GROUP, '-', '+', 1)) as [
        string,
      ][];
      await redis.xclaim(UPDATE_STREAM, WORKER_GROUP, 'pod-b', 0, id);
      await waitFor(async () => (await counted('herald_updates_taken_over_total')) === 1, {
        what: 'this pod to notice the takeover',
      });
      mayGoOn.open();
      await waitFor(
        async () =>
          (await counted('herald_updates_processed_total', { outcome: 'taken_over' })) === 1,
        { what: 'this pod to leave the update to pod B' },
      );
      const sent = telegram.calls.slice(callsBefore).filter((call) => call.method !== 'getMe');
      expect(sent.map((call) => [call.method, call.payload.text])).toEqual([
        ['sendMessage', 'before the takeover'],
      ]);
    } finally {
      mayGoOn.open();
      await consumer.stop();
    }
  });
});
