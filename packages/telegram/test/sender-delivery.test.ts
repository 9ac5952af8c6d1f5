// What the sender does when a Bot API call fails on the way: through the real telegraf
// client, against a Telegram stand-in on loopback that counts what it carried out.
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { createLogger } from '@herald/logger';
import { freePort } from '@herald/testing';
import { Telegram } from 'telegraf';
import { createSender, mayHaveReachedTelegram, type RawCall, type Sender } from '../src/sender.js';

const logger = createLogger({ service: 'test', level: 'silent' });
const TOKEN = '7000000001:AAH-test-token-for-the-sender';

/** How the stand-in treats the next requests of a method. */
type Mishap =
  /** Carries the call out, then drops the connection before answering. */
  | 'carry-out-then-drop'
  /** Answers 502 as Telegram's gateway does, carrying nothing out. */
  | 'bad-gateway'
  /** Carries the call out, but the gateway stops waiting for it and answers 504. */
  | 'gateway-timeout';

interface Stand {
  apiRoot: string;
  /** Requests received, per method, whatever became of them. */
  received(method: string): number;
  /** Calls carried out (a message sent, an edit applied), per method. */
  carriedOut(method: string): number;
  /** The next `times` requests of `method` meet `mishap`. */
  plan(method: string, mishap: Mishap, times?: number): void;
  reset(): void;
  close(): Promise<void>;
}

async function startStand(): Promise<Stand> {
  const received = new Map<string, number>();
  const carriedOut = new Map<string, number>();
  const plans = new Map<string, Mishap[]>();
  const bump = (counts: Map<string, number>, method: string) =>
    counts.set(method, (counts.get(method) ?? 0) + 1);
  const readBody = async (request: IncomingMessage) => {
    for await (const chunk of request) void chunk;
  };
  let messageId = 0;
  const server: Server = createServer((request, response) => {
    void (async () => {
      const method = request.url?.split('/').pop() ?? '';
      await readBody(request);
      bump(received, method);
      const mishap = plans.get(method)?.shift();
      if (mishap === 'bad-gateway') {
        response.writeHead(502, { 'content-type': 'text/html' });
        response.end('<html><head><title>502 Bad Gateway</title></head></html>');
        return;
      }
      bump(carriedOut, method);
      if (mishap === 'gateway-timeout') {
        response.writeHead(504, { 'content-type': 'text/html' });
        response.end('<html><head><title>504 Gateway Time-out</title></head></html>');
        return;
      }
      if (mishap === 'carry-out-then-drop') {
        request.socket.destroy();
        return;
      }
      messageId += 1;
      const result = method.startsWith('send')
        ? { message_id: messageId, date: 0, chat: { id: 1, type: 'private' } }
        : true;
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ ok: true, result }));
    })();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    apiRoot: `http://127.0.0.1:${port}`,
    received: (method) => received.get(method) ?? 0,
    carriedOut: (method) => carriedOut.get(method) ?? 0,
    plan: (method, mishap, times = 1) =>
      plans.set(method, [...(plans.get(method) ?? []), ...Array<Mishap>(times).fill(mishap)]),
    reset() {
      received.clear();
      carriedOut.clear();
      plans.clear();
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** The real telegraf client's callApi, as the services hand it to the sender. */
const rawCallTo = (apiRoot: string): RawCall => {
  const api = new Telegram(TOKEN, { apiRoot });
  return (method, payload) => api.callApi(method as never, payload as never);
};

const newSender = (maxRetries = 2): Sender =>
  createSender({
    store: { kind: 'in-process' },
    logger,
    maxRetries,
    limits: { perChatIntervalMs: 0, perGroupIntervalMs: 0, botIntervalMs: 0, draftIntervalMs: 0 },
  });

describe('the sender when a call fails on the way to Telegram', () => {
  let stand: Stand;
  let raw: RawCall;

  beforeAll(async () => {
    stand = await startStand();
    raw = rawCallTo(stand.apiRoot);
  });
  beforeEach(() => stand.reset());
  afterAll(() => stand.close());

  it('sends a message once when the connection drops after Telegram accepted it', async () => {
    stand.plan('sendMessage', 'carry-out-then-drop', 5);
    const error = await newSender()
      .call('sendMessage', { chat_id: 1, text: 'the answer' }, raw)
      .catch((failure: unknown) => failure);
    expect(error).toMatchObject({ name: 'FetchError', code: 'ECONNRESET' });
    // The caller can tell that this message may have reached the chat.
    expect(mayHaveReachedTelegram(error)).toBe(true);
    expect(stand.received('sendMessage')).toBe(1);
    expect(stand.carriedOut('sendMessage')).toBe(1);
  });

  it.each([
    ['copyMessage', { chat_id: 1, from_chat_id: 2, message_id: 3 }],
    ['forwardMessage', { chat_id: 1, from_chat_id: 2, message_id: 3 }],
    ['sendPhoto', { chat_id: 1, photo: 'file-id' }],
    ['sendMediaGroup', { chat_id: 1, media: [{ type: 'photo', media: 'file-id' }] }],
    ['deleteWebhook', { drop_pending_updates: true }],
  ])(
    'does not repeat %s when its answer was lost: a repeat would act twice',
    async (method, payload) => {
      stand.plan(method, 'carry-out-then-drop', 5);
      await expect(newSender().call(method, payload, raw)).rejects.toMatchObject({
        code: 'ECONNRESET',
      });
      expect(stand.received(method)).toBe(1);
    },
  );

  it.each([
    ['editMessageText', { chat_id: 1, message_id: 1, text: 'the whole answer' }],
    ['sendChatAction', { chat_id: 1, action: 'typing' }],
    ['answerCallbackQuery', { callback_query_id: 'q1' }],
    ['getUpdates', { offset: 10, timeout: 0 }],
    ['setMyCommands', { commands: [{ command: 'help', description: 'What I can do' }] }],
  ])('repeats %s when its answer was lost: a repeat changes nothing', async (method, payload) => {
    stand.plan(method, 'carry-out-then-drop');
    await expect(newSender().call(method, payload, raw)).resolves.toBeDefined();
    expect(stand.received(method)).toBe(2);
  });

  it('retries a message Telegram answered with 502, and it is sent once', async () => {
    stand.plan('sendMessage', 'bad-gateway');
    await expect(
      newSender().call('sendMessage', { chat_id: 1, text: 'after a 502' }, raw),
    ).resolves.toMatchObject({ message_id: expect.any(Number) });
    expect(stand.received('sendMessage')).toBe(2);
    expect(stand.carriedOut('sendMessage')).toBe(1);
  });

  it('does not repeat a message the gateway timed out on (504): it may have been sent', async () => {
    stand.plan('sendMessage', 'gateway-timeout', 5);
    await expect(
      newSender().call('sendMessage', { chat_id: 1, text: 'slow' }, raw),
    ).rejects.toMatchObject({ response: { error_code: 504 } });
    expect(stand.received('sendMessage')).toBe(1);
  });

  it('retries a message that could not connect, a bounded number of times, then fails', async () => {
    const closed = rawCallTo(`http://127.0.0.1:${await freePort()}`);
    let attempts = 0;
    const counted: RawCall = (method, payload) => {
      attempts += 1;
      return closed(method, payload);
    };
    const error = await newSender(2)
      .call('sendMessage', { chat_id: 1, text: 'nobody listens' }, counted)
      .catch((failure: unknown) => failure);
    expect(error).toMatchObject({ code: 'ECONNREFUSED' });
    expect(mayHaveReachedTelegram(error)).toBe(false);
    expect(attempts).toBe(3);
  });

  it('retries a message whose fetch failed to connect (undici: TypeError with a cause)', async () => {
    const port = await freePort();
    let attempts = 0;
    const viaFetch: RawCall = async (method, payload) => {
      attempts += 1;
      // The first attempt finds nobody listening; the next ones reach the stand-in.
      const root = attempts === 1 ? `http://127.0.0.1:${port}` : stand.apiRoot;
      const response = await fetch(`${root}/bot${TOKEN}/${method}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(payload),
      });
      return ((await response.json()) as { result: unknown }).result;
    };
    await newSender().call('sendMessage', { chat_id: 1, text: 'second try' }, viaFetch);
    expect(attempts).toBe(2);
    expect(stand.carriedOut('sendMessage')).toBe(1);
  });

  it('never retries a programming error, such as a TypeError in building the request', async () => {
    let attempts = 0;
    const broken: RawCall = () => {
      attempts += 1;
      return Promise.reject(new TypeError("Cannot read properties of undefined (reading 'id')"));
    };
    await expect(
      newSender().call('editMessageText', { chat_id: 1, message_id: 1, text: 'x' }, broken),
    ).rejects.toBeInstanceOf(TypeError);
    expect(attempts).toBe(1);
  });
});
