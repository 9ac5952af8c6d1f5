// A user-handler on a real Postgres (its own database) and, for `redis`, the test run's
// real Redis under a key prefix of its own, talking to a Bot API double over loopback.
import { migrateDatabase } from '@herald/db';
import { createLogger, type Logger } from '@herald/logger';
import { openRuntime, type ServiceRuntime } from '@herald/ops';
import {
  createTestDatabase,
  startBotApiDouble,
  testRedisUrl,
  uniquePrefix,
  waitFor,
  type BotApiDouble,
  type BotApiDoubleOptions,
  type TestDatabase,
} from '@herald/testing';
import type { FastifyInstance } from 'fastify';
import type { Update } from 'telegraf/types';
import { buildApp } from '../src/app.js';
import { WEBHOOK_PATH } from '../src/ingress/webhook-setup.js';
import { createUserHandler, type UserHandler, type UserHandlerOptions } from '../src/service.js';

export const ALICE = { id: 1001, is_bot: false, first_name: 'Alice <admin>', username: 'alice' };
export const BOB = { id: 1002, is_bot: false, first_name: 'Bob' };
export const GROUP = { id: -100_200, type: 'supergroup' as const, title: 'Gold traders' };
/** The Bot API double's bot. */
export const BOT_USER = {
  id: 7_000_000_001,
  is_bot: true,
  first_name: 'Herald Test',
  username: 'herald_test_bot',
};

let nextUpdateId = 1;
const nextId = () => nextUpdateId++;

type Sender = typeof ALICE | typeof BOB;

/** A text message update, private by default; commands carry their bot_command entity. */
export function message(
  text: string,
  from: Sender = ALICE,
  options: { chat?: typeof GROUP; replyTo?: object } = {},
): Update {
  const id = nextId();
  const command = /^\/\w+(@\w+)?/.exec(text)?.[0];
  const chat = options.chat ?? {
    id: from.id,
    type: 'private' as const,
    first_name: from.first_name,
  };
  return {
    update_id: id,
    message: {
      message_id: id,
      date: Math.floor(Date.now() / 1000),
      chat,
      from,
      text,
      ...(command
        ? { entities: [{ type: 'bot_command', offset: 0, length: command.length }] }
        : {}),
      ...(options.replyTo ? { reply_to_message: options.replyTo } : {}),
    },
  } as Update;
}

/** A button press on a message the bot sent. */
export function press(data: string, from: Sender = ALICE, messageId = 1): Update {
  const id = nextId();
  return {
    update_id: id,
    callback_query: {
      id: `cb${id}`,
      from,
      chat_instance: '1',
      data,
      message: {
        message_id: messageId,
        date: Math.floor(Date.now() / 1000),
        chat: { id: from.id, type: 'private', first_name: from.first_name },
        from: BOT_USER,
        text: 'earlier message',
      },
    },
  };
}

export interface Harness {
  telegram: BotApiDouble;
  runtime: ServiceRuntime;
  handler: UserHandler;
  database: TestDatabase;
  prefix: string;
  logger: Logger;
  /**
   * With the `webhook` option: the URL of `POST /telegram/webhook` served over loopback
   * by the handler's own HTTP app, as Telegram reaches a pod.
   */
  webhookUrl: string | undefined;
  /** Queues updates and waits until the workers have finished all of them. */
  send(...updates: Update[]): Promise<void>;
  /** Texts of sendMessage calls since the last `clear`. */
  replies(chatId?: number): string[];
  clear(): void;
  close(): Promise<void>;
}

export async function startHarness(
  kind: 'redis' | 'in-process',
  overrides: Partial<Omit<UserHandlerOptions, 'logger' | 'runtime' | 'telegram'>> & {
    /** A Redis of the test's own (one it can stop), instead of the run's shared one. */
    redisUrl?: string;
    /** Options of the Bot API double. */
    telegram?: BotApiDoubleOptions;
    /** An OpenAI-compatible endpoint (an LLM double) for the chat. */
    aiBaseUrl?: string;
    aiConcurrency?: number;
    /** Vision and transcription models, file size limit. */
    aiFiles?: { visionModel?: string; transcribeModel?: string; fileMaxBytes?: number };
    /**
     * A Postgres of the test's own (one it can stop) to create the test database on: the
     * URL of a role that may create databases. Default: the run's shared Postgres.
     */
    postgresAdminUrl?: string;
    /** Serve the webhook over HTTP on loopback, with this secret (see `webhookUrl`). */
    webhook?: { secret: string };
  } = {},
): Promise<Harness> {
  const {
    redisUrl,
    telegram: telegramOptions,
    aiBaseUrl,
    aiConcurrency,
    aiFiles,
    postgresAdminUrl,
    webhook,
    ...options
  } = overrides;
  const logger = createLogger({ service: 'test', level: process.env.HARNESS_LOG ?? 'silent' });
  const database = await createTestDatabase(postgresAdminUrl);
  await migrateDatabase(database.url, logger);
  const telegram = await startBotApiDouble(telegramOptions);
  const prefix = uniquePrefix('uh');
  const runtime = openRuntime({
    service: 'user-handler',
    version: 'test',
    logger,
    databaseUrl: database.url,
    redisUrl: kind === 'redis' ? (redisUrl ?? testRedisUrl()) : undefined,
    redisKeyPrefix: prefix,
  });
  const handler = createUserHandler({
    logger,
    runtime,
    telegram: { token: telegram.token, apiRoot: telegram.apiRoot },
    adminUserIds: [ALICE.id],
    models: { available: ['deepseek-r1-14b', 'qwen2.5-7b'], default: 'deepseek-r1-14b' },
    limits: { perUserPerMinute: 1_000, globalPerMinute: 100_000 },
    workers: { concurrency: 16, claimIdleMs: 30_000 },
    // Fast enough for tests, still the shape of Telegram's limits.
    sendLimits: {
      perChatIntervalMs: 50,
      perGroupIntervalMs: 100,
      botIntervalMs: 2,
      draftIntervalMs: 20,
    },
    ...(aiBaseUrl
      ? {
          ai: {
            baseUrl: aiBaseUrl,
            models: ['deepseek-r1-14b', 'qwen2.5-7b'],
            timeouts: { firstTokenMs: 5_000, gapMs: 5_000, totalMs: 60_000 },
            untaggedReasoning: false,
            maxConcurrency: aiConcurrency ?? 8,
            historyTokens: 4_000,
            maxTokens: 4_096,
            ...aiFiles,
          },
        }
      : {}),
    ...options,
  });
  let app: FastifyInstance | undefined;
  let webhookUrl: string | undefined;
  if (webhook) {
    app = await buildApp({
      logger,
      registry: runtime.registry,
      metrics: runtime.metrics,
      checks: runtime.checks,
      webhook: { secret: webhook.secret, queue: handler.queue },
    });
    await app.listen({ port: 0, host: '127.0.0.1' });
    const address = app.server.address();
    if (!address || typeof address === 'string') throw new Error('the webhook has no port');
    webhookUrl = `http://127.0.0.1:${address.port}${WEBHOOK_PATH}`;
  }
  handler.start({ polling: false });
  const idle = async () => (await handler.queue.stats()).length === 0;
  return {
    telegram,
    runtime,
    handler,
    database,
    prefix,
    logger,
    webhookUrl,
    async send(...updates) {
      for (const update of updates) await handler.queue.enqueue(update);
      await waitFor(idle, { what: 'the queue to drain' });
    },
    replies: (chatId) =>
      telegram
        .callsOf('sendMessage')
        .filter((call) => chatId === undefined || call.payload.chat_id === chatId)
        .map((call) => String(call.payload.text)),
    clear: () => {
      telegram.calls.length = 0;
    },
    async close() {
      // Every step runs even when one fails (a server a fault test left down), so that
      // nothing stays open; the first failure is reported.
      const failures: unknown[] = [];
      const step = async (run: () => Promise<unknown>) => {
        try {
          await run();
        } catch (error) {
          failures.push(error);
        }
      };
      // Telegram is turned away first, as a pod that stops does.
      await step(async () => app?.close());
      await step(() => handler.stop());
      await step(async () => {
        if (runtime.store.kind !== 'redis') return;
        // KEYS takes the pattern as is; DEL adds the client's prefix again.
        const keys = await runtime.store.redis.keys(`${prefix}*`);
        const bare = keys.map((key) => key.slice(prefix.length));
        if (bare.length > 0) await runtime.store.redis.del(...bare);
      });
      await step(() => runtime.close());
      await step(() => telegram.close());
      await step(() => database.drop());
      if (failures.length > 0) throw failures[0];
    },
  };
}

/** A third user, neither a Herald admin nor a group admin. */
export const CAROL = { id: 1003, is_bot: false, first_name: 'Carol' };

/** A message in a group that mentions the bot, so the bot answers it there. */
export function mention(text: string, from: Sender = ALICE, chat = GROUP): Update {
  const update = message(`@${BOT_USER.username} ${text}`, from, { chat });
  (update as { message: { entities: object[] } }).message.entities = [
    { type: 'mention', offset: 0, length: BOT_USER.username.length + 1 },
  ];
  return update;
}

/** A button press on a message the bot sent in a group. */
export function pressInGroup(data: string, from: Sender, messageId: number, chat = GROUP): Update {
  const update = press(data, from, messageId);
  (update as { callback_query: { message: { chat: object } } }).callback_query.message.chat = chat;
  return update;
}

/** A user's edit of one of their earlier messages. */
export function edited(
  text: string,
  from: Sender,
  messageId: number,
  options: { chat?: typeof GROUP } = {},
): Update {
  const id = nextId();
  const chat = options.chat ?? {
    id: from.id,
    type: 'private' as const,
    first_name: from.first_name,
  };
  return {
    update_id: id,
    edited_message: {
      message_id: messageId,
      date: Math.floor(Date.now() / 1000) - 60,
      edit_date: Math.floor(Date.now() / 1000),
      chat,
      from,
      text,
    },
  };
}
