// The fault suite's own tools, checked on their own: a Redis that keeps its data through a
// kill or a shutdown, a Postgres that keeps it through a restart, a Telegram that answers
// 429 the way Telegram does, and a webhook deliverer that re-posts until it gets a 200.
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createLogger } from '@herald/logger';
import { createRedis } from '@herald/redis';
import {
  deliverUpdates,
  startBotApiDouble,
  startOwnPostgres,
  startRedisServer,
  type BotApiDouble,
} from '@herald/testing';
import pg from 'pg';
import { countReplies, privateMessage, replyKindOf, workloadChatId } from './workload.js';

const logger = createLogger({ service: 'test', level: 'silent' });

describe('a Redis with an append-only file', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'herald-faults-aof-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('keeps what it acknowledged through a SIGKILL and a graceful shutdown', async () => {
    const server = await startRedisServer({ appendOnly: true, dir });
    const redis = createRedis({ url: server.url, logger, commandTimeoutMs: 5_000 });
    try {
      await redis.set('before-kill', '1');
      await server.kill();
      await server.start();
      expect(await redis.get('before-kill')).toBe('1');
      await redis.set('before-shutdown', '2');
      await server.shutdown();
      await server.start();
      expect(await redis.mget('before-kill', 'before-shutdown')).toEqual(['1', '2']);
    } finally {
      redis.disconnect();
      await server.kill();
    }
  });
});

describe("a Postgres of the test's own", () => {
  it('keeps its data, port and credentials through a stop and a start', async () => {
    const postgres = await startOwnPostgres();
    const query = async (sql: string) => {
      const client = new pg.Client({ connectionString: postgres.url });
      await client.connect();
      try {
        return (await client.query<{ n: number }>(sql)).rows;
      } finally {
        await client.end();
      }
    };
    try {
      await query('CREATE TABLE kept (n int); INSERT INTO kept VALUES (7)');
      await postgres.stop();
      expect(postgres.running).toBe(false);
      await expect(query('SELECT 1')).rejects.toThrow();
      await postgres.start();
      expect(await query('SELECT n FROM kept')).toEqual([{ n: 7 }]);
    } finally {
      await postgres.close();
    }
  });
});

describe("the Bot API double's 429 storm", () => {
  let telegram: BotApiDouble;
  const call = (method: string, body: object) =>
    fetch(`${telegram.apiRoot}/bot${telegram.token}/${method}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
  beforeAll(async () => {
    telegram = await startBotApiDouble();
  });
  afterAll(async () => {
    await telegram.close();
  });

  it('refuses that share of sends as Telegram does, and delivers only what it accepted', async () => {
    telegram.storm({ share: 0.5, retryAfterSeconds: [1, 3], seed: 3 });
    const answers = [];
    for (let n = 0; n < 40; n += 1) {
      const response = await call('sendMessage', { chat_id: 42, text: `m${n}` });
      answers.push({ status: response.status, body: (await response.json()) as object });
    }
    // Reads are never refused.
    expect((await call('getMe', {})).status).toBe(200);
    telegram.calm();
    expect((await call('sendMessage', { chat_id: 42, text: 'after' })).status).toBe(200);

    const refused = answers.filter((answer) => answer.status === 429);
    expect(refused.length).toBeGreaterThan(10);
    expect(refused.length).toBeLessThan(30);
    for (const { body } of refused) {
      const retryAfter = (body as { parameters: { retry_after: number } }).parameters.retry_after;
      expect([1, 2, 3]).toContain(retryAfter);
      expect(body).toEqual({
        ok: false,
        error_code: 429,
        description: `Too Many Requests: retry after ${retryAfter}`,
        parameters: { retry_after: retryAfter },
      });
    }
    expect(telegram.stormRefusals).toBe(refused.length);
    expect(telegram.messages.map((m) => m.text)).toEqual([
      ...answers.flatMap((answer, n) => (answer.status === 200 ? [`m${n}`] : [])),
      'after',
    ]);
  });

  it('picks the same calls for the same seed', async () => {
    const statuses = async () => {
      telegram.storm({ share: 0.5, retryAfterSeconds: [1, 1], seed: 11 });
      const seen = [];
      for (let n = 0; n < 20; n += 1) {
        seen.push((await call('sendMessageDraft', { chat_id: 42, draft_id: 1, text: 'x' })).status);
      }
      telegram.calm();
      return seen;
    };
    expect(await statuses()).toEqual(await statuses());
  });
});

describe('the Telegram-like webhook deliverer', () => {
  let server: Server;
  let url: string;
  /** Update ids in the order the webhook accepted them. */
  const accepted: number[] = [];
  let refuseUntil = 0;

  beforeAll(async () => {
    server = createServer((request, response) => {
      let body = '';
      request.on('data', (chunk: Buffer) => (body += chunk.toString()));
      request.on('end', () => {
        const ok = request.headers['x-telegram-bot-api-secret-token'] === 'secret';
        if (!ok || Date.now() < refuseUntil) {
          response.writeHead(ok ? 503 : 401).end();
          return;
        }
        accepted.push((JSON.parse(body) as { update_id: number }).update_id);
        response.writeHead(200).end('{"ok":true}');
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as { port: number }).port}/telegram/webhook`;
  });
  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
  });

  it('re-posts what was refused until it is accepted, keeping each chat in order', async () => {
    const updates = Array.from({ length: 30 }, (_, n) =>
      privateMessage(1 + (n % 3), `/help`, n + 1),
    );
    refuseUntil = Date.now() + 700;
    const delivery = deliverUpdates(updates, { url, secret: 'secret', updatesPerSecond: 100 });
    await delivery.done;
    expect(delivery.acknowledged).toBe(30);
    expect(delivery.refused).toBeGreaterThan(0);
    expect(delivery.attempts).toBe(30 + delivery.refused);
    expect(delivery.statuses).toEqual({ 200: 30, 503: delivery.refused });
    expect([...accepted].sort((a, b) => a - b)).toEqual(updates.map((u) => u.update_id));
    for (let chat = 0; chat < 3; chat += 1) {
      const ofChat = accepted.filter((id) => (id - 1) % 3 === chat);
      expect(ofChat).toEqual([...ofChat].sort((a, b) => a - b));
    }
  });
});

describe('counting what the chats received', () => {
  const workload = {
    updates: [],
    expected: new Map([
      [workloadChatId(1), ['q1_0', 'help', 'q1_2', 'switch:qwen2.5-7b']],
      [workloadChatId(2), ['q2_0', 'q2_1']],
    ]),
  };
  const sent = (chat: number, text: string) => ({
    chatId: workloadChatId(chat),
    messageId: 0,
    text,
    at: 0,
  });

  it('tells replies, repeats, gaps, reorderings and apologies apart', () => {
    expect(replyKindOf('Switched to <code>qwen2.5-7b</code>.')).toBe('switch:qwen2.5-7b');
    expect(replyKindOf('<b>What I can do</b>\n/start')).toBe('help');
    expect(replyKindOf('Answer q12_3 call 9.')).toBe('q12_3');
    const problems: string[] = [];
    const figures = countReplies(
      [
        sent(1, 'Answer q1_0.'),
        sent(1, 'Answer q1_2.'),
        sent(1, '<b>What I can do</b>'),
        sent(1, 'Answer q1_2.'),
        sent(2, 'Answer q2_0.'),
        sent(2, 'Sorry, something went wrong on my side and I could not answer that.'),
        sent(2, '<i>(stopped: you sent a new message)</i>'),
      ],
      workload,
      problems,
    );
    expect(figures).toEqual({
      answered: 4,
      missing: 2,
      twice: 1,
      outOfOrder: 1,
      apologies: 1,
      other: 1,
      superseded: 0,
    });
    expect(problems).toHaveLength(6);
  });

  it('takes an answer stopped by a newer question as that question’s reply, and no other stop', () => {
    const figures = countReplies(
      [
        // Chat 1: its first question stopped by its third update, a newer question.
        sent(1, '<i>(stopped: you sent a new message)</i>'),
        sent(1, '<b>What I can do</b>'),
        sent(1, 'Answer q1_2.'),
        sent(1, 'Switched to <code>qwen2.5-7b</code>.'),
        // Chat 2: its last question has no newer one that could have stopped it.
        sent(2, 'Answer q2_0.'),
        sent(2, '<i>(stopped: you sent a new message)</i>'),
      ],
      workload,
    );
    expect(figures).toEqual({
      answered: 5,
      missing: 1,
      twice: 0,
      outOfOrder: 0,
      apologies: 0,
      other: 1,
      superseded: 1,
    });
  });
});
