import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { createLogger } from '@herald/logger';
import { createRedis, type Redis } from '@herald/redis';
import {
  startBotApiDouble,
  testRedisUrl,
  uniquePrefix,
  waitFor,
  type BotApiDouble,
} from '@herald/testing';
import { Telegram } from 'telegraf';
import { createSender, type RawCall, type Sender } from '../src/sender.js';

const logger = createLogger({ service: 'test', level: 'silent' });

describe('the shared sender', () => {
  let telegram: BotApiDouble;
  let raw: RawCall;
  let prefix: string;
  const clients: Redis[] = [];
  /** A sender as one pod has it: its own Redis connection, the shared limits. */
  const pod = (limits = { perChatIntervalMs: 100, botIntervalMs: 10 }): Sender => {
    const redis = createRedis({ url: testRedisUrl(), logger, keyPrefix: prefix });
    clients.push(redis);
    return createSender({ store: { kind: 'redis', redis, url: testRedisUrl() }, logger, limits });
  };

  beforeAll(async () => {
    telegram = await startBotApiDouble({
      enforceLimits: true,
      limits: { perChatPerSecond: 10, perBotPerSecond: 100 },
    });
    const api = new Telegram(telegram.token, { apiRoot: telegram.apiRoot });
    raw = (method, payload) => api.callApi(method as never, payload as never);
  });
  beforeEach(() => {
    prefix = uniquePrefix('sender');
    telegram.calls.length = 0;
  });
  afterEach(() => {
    for (const c of clients.splice(0)) c.disconnect();
  });
  afterAll(() => telegram.close());

  it('keeps two pods together under one chat’s limit: no 429 from Telegram', async () => {
    const [a, b] = [pod(), pod()];
    const before = telegram.tooManyRequests;
    const started = Date.now();
    await Promise.all(
      Array.from({ length: 12 }, (_, n) =>
        (n % 2 ? a : b).call('sendMessage', { chat_id: 501, text: `m${n}` }, raw),
      ),
    );
    expect(telegram.tooManyRequests - before).toBe(0);
    expect(telegram.callsOf('sendMessage')).toHaveLength(12);
    // 12 messages 100 ms apart take at least 1.1 s.
    expect(Date.now() - started).toBeGreaterThanOrEqual(1_000);
  });

  it('pauses the chat for every pod when Telegram answers 429, then delivers', async () => {
    const [a, b] = [pod(), pod()];
    telegram.failOnce((call) => call.payload.text === 'first', {
      code: 429,
      description: 'Too Many Requests: retry after 1',
      retryAfterSeconds: 1,
    });
    const first = a.call('sendMessage', { chat_id: 502, text: 'first' }, raw);
    await waitFor(() => telegram.refusals.some((r) => r.code === 429));
    const refusedAt = performance.now();
    // Another pod sends to the same chat right after the 429: it must wait out the pause too.
    await b.call('sendMessage', { chat_id: 502, text: 'second' }, raw);
    await first;
    const second = telegram.callsOf('sendMessage').find((c) => c.payload.text === 'second')!;
    expect(second.at - refusedAt).toBeGreaterThanOrEqual(900);
    expect(
      telegram
        .callsOf('sendMessage')
        .map((c) => c.payload.text)
        .sort(),
    ).toEqual(['first', 'second']);
  });

  it('sends the same text as plain text when Telegram cannot parse its HTML', async () => {
    await pod().call(
      'sendMessage',
      { chat_id: 503, text: '<think>x</think> 2 < 3', parse_mode: 'HTML' },
      raw,
    );
    const [sent] = telegram.callsOf('sendMessage');
    expect(sent?.payload.parse_mode).toBeUndefined();
    expect(sent?.payload.text).toBe('x 2 < 3');
  });

  it('retries a 5xx, and passes other refusals to the caller', async () => {
    telegram.failOnce((call) => call.method === 'sendMessage', {
      code: 502,
      description: 'Bad Gateway',
    });
    await pod().call('sendMessage', { chat_id: 504, text: 'after a 502' }, raw);
    expect(telegram.callsOf('sendMessage').map((c) => c.payload.text)).toEqual(['after a 502']);
    await expect(pod().call('sendMessage', { chat_id: 504, text: '' }, raw)).rejects.toMatchObject({
      response: { error_code: 400 },
    });
  });

  /** Records `label` in `events` after `ms`, to tell a prompt stop from one that waited. */
  const markAfter = (events: string[], label: string, ms: number) =>
    new Promise<void>((resolve) =>
      setTimeout(() => {
        events.push(label);
        resolve();
      }, ms),
    );

  it('stops a message in backoff as soon as its signal aborts, sending nothing more', async () => {
    for (let n = 0; n < 3; n += 1) {
      telegram.failOnce((call) => call.method === 'sendMessage', {
        code: 502,
        description: 'Bad Gateway',
      });
    }
    const refusals = () =>
      telegram.refusals.slice(before).filter((r) => r.method === 'sendMessage').length;
    const before = telegram.refusals.length;
    const controller = new AbortController();
    const events: string[] = [];
    const call = pod()
      .call('sendMessage', { chat_id: 505, text: 'never' }, raw, { signal: controller.signal })
      .then(
        () => events.push('sent'),
        (error: unknown) => {
          events.push('stopped');
          return error;
        },
      );
    // After the third 502 the sender backs off for 1 s before the fourth try.
    await waitFor(() => refusals() === 3);
    const reason = new Error('shutting down');
    controller.abort(reason);
    const backoffHalfOver = markAfter(events, 'half the backoff over', 500);
    await expect(call).resolves.toBe(reason);
    await backoffHalfOver;
    expect(events).toEqual(['stopped', 'half the backoff over']);
    // Past the end of the backoff: no fourth try reached Telegram.
    await markAfter(events, 'backoff over', 700);
    expect(refusals()).toBe(3);
    expect(telegram.callsOf('sendMessage')).toHaveLength(0);
  });

  it('stops a message waiting out a 429 as soon as its signal aborts, sending nothing more', async () => {
    telegram.failOnce((call) => call.method === 'sendMessage', {
      code: 429,
      description: 'Too Many Requests: retry after 2',
      retryAfterSeconds: 2,
    });
    const before = telegram.refusals.length;
    const controller = new AbortController();
    const events: string[] = [];
    const call = pod()
      .call('sendMessage', { chat_id: 506, text: 'never' }, raw, { signal: controller.signal })
      .then(
        () => events.push('sent'),
        (error: unknown) => {
          events.push('stopped');
          return error;
        },
      );
    await waitFor(() => telegram.refusals.slice(before).some((r) => r.code === 429));
    const reason = new Error('shutting down');
    controller.abort(reason);
    const pauseHalfOver = markAfter(events, 'half the pause over', 1_000);
    await expect(call).resolves.toBe(reason);
    await pauseHalfOver;
    expect(events).toEqual(['stopped', 'half the pause over']);
    expect(telegram.callsOf('sendMessage')).toHaveLength(0);
  });

  it('waits out a 429 before repeating a call outside the message limits', async () => {
    telegram.failOnce((call) => call.method === 'getMe', {
      code: 429,
      description: 'Too Many Requests: retry after 2',
      retryAfterSeconds: 2,
    });
    const events: string[] = [];
    const call = pod()
      .call('getMe', {}, raw)
      .then(() => events.push('answered'));
    await waitFor(() => telegram.refusals.some((r) => r.method === 'getMe'));
    await markAfter(events, 'half the pause over', 1_000);
    await call;
    expect(events).toEqual(['half the pause over', 'answered']);
    expect(telegram.callsOf('getMe')).toHaveLength(1);
  });

  it('keeps waiting out 429s well past its retry count, then delivers once', async () => {
    // Telegram in a flood storm: the same message refused five times in a row.
    for (let n = 0; n < 5; n += 1) {
      telegram.failOnce((call) => call.method === 'sendMessage' && call.payload.chat_id === 777, {
        code: 429,
        description: 'Too Many Requests: retry after 1',
        retryAfterSeconds: 1,
      });
    }
    const redis = createRedis({ url: testRedisUrl(), logger, keyPrefix: prefix });
    clients.push(redis);
    const sender = createSender({
      store: { kind: 'redis', redis, url: testRedisUrl() },
      logger,
      limits: { perChatIntervalMs: 10, botIntervalMs: 1 },
      maxRetries: 2,
    });
    const budget = { remainingMs: 60_000 };
    const refusedBefore = telegram.refusals.length;
    await sender.call('sendMessage', { chat_id: 777, text: 'after the storm' }, raw, {
      rateLimitBudget: budget,
    });
    expect(telegram.refusals.slice(refusedBefore).filter((r) => r.code === 429)).toHaveLength(5);
    expect(telegram.callsOf('sendMessage').filter((c) => c.payload.chat_id === 777)).toHaveLength(
      1,
    );
    expect(telegram.messageText(777, telegram.lastMessageId)).toBe('after the storm');
    expect(budget.remainingMs).toBe(60_000 - 5_000);
  }, 20_000);

  it('gives up with the 429 once the update may wait no longer', async () => {
    for (let n = 0; n < 3; n += 1) {
      telegram.failOnce((call) => call.method === 'sendMessage' && call.payload.chat_id === 778, {
        code: 429,
        description: 'Too Many Requests: retry after 1',
        retryAfterSeconds: 1,
      });
    }
    const budget = { remainingMs: 1_500 };
    const refusedBefore = telegram.refusals.length;
    const call = pod().call('sendMessage', { chat_id: 778, text: 'too late' }, raw, {
      rateLimitBudget: budget,
    });
    await expect(call).rejects.toMatchObject({ response: { error_code: 429 } });
    // One wait of 1 s fitted the budget; the second did not.
    expect(budget.remainingMs).toBe(500);
    expect(telegram.refusals.slice(refusedBefore)).toHaveLength(2);
    expect(telegram.callsOf('sendMessage').filter((c) => c.payload.chat_id === 778)).toHaveLength(
      0,
    );
  });
});
