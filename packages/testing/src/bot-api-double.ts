import Fastify, { type FastifyInstance } from 'fastify';

/** One Bot API call the double received. */
export interface BotApiCall {
  method: string;
  token: string;
  payload: Record<string, unknown>;
}

export interface BotApiDouble {
  /** Base URL to use as TELEGRAM_API_ROOT. */
  readonly apiRoot: string;
  readonly token: string;
  readonly calls: BotApiCall[];
  /** Calls of one method, in order. */
  callsOf(method: string): BotApiCall[];
  /** Queues updates for getUpdates (long polling). */
  pushUpdates(...updates: object[]): void;
  close(): Promise<void>;
}

const BOT = {
  id: 7_000_000_001,
  is_bot: true,
  first_name: 'Herald Test',
  username: 'herald_test_bot',
};

/** The limit Telegram puts on a message's text, after entity parsing. */
export const MESSAGE_LIMIT = 4096;

/**
 * A stand-in for Telegram's Bot API on loopback that answers like the real one: the same
 * `{ ok, result }` / `{ ok: false, error_code, description }` shapes, 401 for a wrong
 * token, 400 for empty or too long text, and getUpdates long polling.
 */
export async function startBotApiDouble(
  token = '7000000001:AAH-test-token-for-the-bot-api-double',
): Promise<BotApiDouble> {
  const app: FastifyInstance = Fastify({ logger: false });
  const calls: BotApiCall[] = [];
  const pending: object[] = [];
  const waiters = new Set<() => void>();
  let messageId = 0;

  const fail = (code: number, description: string) => ({
    ok: false,
    error_code: code,
    description,
  });

  app.post<{
    Params: { token: string; method: string };
    Body: Record<string, unknown> | undefined;
  }>('/bot:token/:method', async (request, reply) => {
    const { method } = request.params;
    const payload = request.body ?? {};
    if (request.params.token !== token) return reply.code(401).send(fail(401, 'Unauthorized'));
    calls.push({ method, token: request.params.token, payload });
    switch (method) {
      case 'getMe':
        return { ok: true, result: BOT };
      case 'sendMessage':
      case 'editMessageText': {
        const text = payload.text;
        if (typeof text !== 'string' || text.trim() === '') {
          return reply.code(400).send(fail(400, 'Bad Request: message text is empty'));
        }
        if (text.length > MESSAGE_LIMIT) {
          return reply.code(400).send(fail(400, 'Bad Request: message is too long'));
        }
        return {
          ok: true,
          result: {
            message_id: ++messageId,
            date: Math.floor(Date.now() / 1000),
            chat: { id: Number(payload.chat_id), type: 'private' },
            from: BOT,
            text,
          },
        };
      }
      case 'getUpdates': {
        const offset = Number(payload.offset ?? 0);
        while (pending.length > 0 && (pending[0] as { update_id: number }).update_id < offset) {
          pending.shift();
        }
        if (pending.length === 0) {
          const timeoutMs = Math.min(Number(payload.timeout ?? 0), 2) * 1000;
          await new Promise<void>((resolve) => {
            const done = () => {
              waiters.delete(done);
              clearTimeout(timer);
              resolve();
            };
            const timer = setTimeout(done, timeoutMs);
            waiters.add(done);
          });
        }
        return { ok: true, result: pending.slice(0, 100) };
      }
      case 'answerCallbackQuery':
      case 'sendChatAction':
      case 'setMyCommands':
        return { ok: true, result: true };
      default:
        return reply.code(404).send(fail(404, 'Not Found: method not found'));
    }
  });

  await app.listen({ port: 0, host: '127.0.0.1' });
  const address = app.server.address();
  if (!address || typeof address === 'string') throw new Error('the Bot API double has no port');
  return {
    apiRoot: `http://127.0.0.1:${address.port}`,
    token,
    calls,
    callsOf: (method) => calls.filter((call) => call.method === method),
    pushUpdates: (...updates) => {
      pending.push(...updates);
      for (const wake of [...waiters]) wake();
    },
    close: async () => {
      for (const wake of [...waiters]) wake();
      await app.close();
    },
  };
}
