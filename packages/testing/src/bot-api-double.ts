import Fastify, { type FastifyInstance } from 'fastify';
import { parseTelegramHtml } from './telegram-html.js';

/** One Bot API call the double received. */
export interface BotApiCall {
  method: string;
  token: string;
  payload: Record<string, unknown>;
  /** performance.now() when the double accepted it. */
  at: number;
}

export type ChatMemberStatus =
  'creator' | 'administrator' | 'member' | 'restricted' | 'left' | 'kicked';

export interface BotApiDouble {
  /** Base URL to use as TELEGRAM_API_ROOT. */
  readonly apiRoot: string;
  readonly token: string;
  /**
   * Calls carried out, and those refused as invalid (400: empty text, an edit of nothing);
   * 429s, `failOnce` refusals and held calls never carried out are not here. What reached a
   * chat is in `messages`.
   */
  readonly calls: BotApiCall[];
  /** Calls of one method, in order. */
  callsOf(method: string): BotApiCall[];
  /** Queues updates for getUpdates (long polling). */
  pushUpdates(...updates: object[]): void;
  /** The webhook as setWebhook left it (getWebhookInfo's view). */
  readonly webhook: Record<string, unknown> | undefined;
  /**
   * Holds every message-sending call from now on without carrying it out, as a Telegram
   * that has not answered yet. `release` carries them out; `dropHeld` discards them.
   */
  hold(): void;
  release(): void;
  /** Discards held calls unanswered: they never reach the chat. Returns how many. */
  dropHeld(): number;
  readonly heldCount: number;
  /**
   * Fails the next call that `matches` with Telegram's error shape, e.g. 500 or
   * 429 with `parameters.retry_after`.
   */
  failOnce(
    matches: (call: BotApiCall) => boolean,
    error: { code: number; description: string; retryAfterSeconds?: number },
  ): void;
  /** Makes a file downloadable through getFile, as if a user had sent it. */
  addFile(fileId: string, content: Buffer, path: string): void;
  /** What getChatMember answers for a user in a chat (default: `member`). */
  setChatMember(chatId: number, userId: number, status: ChatMemberStatus): void;
  /** Drafts accepted, in order. */
  readonly drafts: DraftCall[];
  /** Every error answer given, in order (429s included). */
  readonly refusals: { method: string; code: number; description: string }[];
  /** Edits Telegram applied (a refused or not-modifying edit is not here), in order. */
  readonly edits: { chatId: string; messageId: number; text: string }[];
  /** A message's text as readers see it now, after any edits. */
  messageText(chatId: number | string, messageId: number): string | undefined;
  /** 429 answers given so far. */
  readonly tooManyRequests: number;
  /**
   * A flood storm, as Telegram answers a bot that sends too much: from now on, until
   * {@link BotApiDouble.calm}, `share` of the message-sending calls (sendMessage,
   * editMessageText, sendMessageDraft and the other send and edit methods) are refused with
   * 429 and a `retry_after`, each picked by a seeded generator so that runs repeat.
   */
  storm(options: StormOptions): void;
  /** Ends the storm: every call is carried out again. */
  calm(): void;
  /** 429 answers the storm gave so far. */
  readonly stormRefusals: number;
  /**
   * Messages Telegram delivered to chats (sendMessage calls it accepted), in order; calls it
   * refused (429, 400) are not here, while `calls` may hold some.
   */
  readonly messages: DeliveredMessage[];
  /** The id of the last message sent through the double. */
  readonly lastMessageId: number;
  close(): Promise<void>;
}

const chatOf = (id: unknown) => {
  const chatId = Number(id);
  return chatId < 0
    ? { id: chatId, type: 'supergroup', title: 'Group' }
    : { id: chatId, type: 'private', first_name: 'User' };
};

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
export interface BotApiDoubleOptions {
  token?: string;
  /**
   * Enforce Telegram's flood limits with 429 and `retry_after`: per chat about 1 message
   * a second, per group 20 a minute, per bot 30 a second (each with a small burst), and
   * drafts at most `draftsPerSecond` per chat.
   */
  enforceLimits?: boolean;
  limits?: {
    perChatPerSecond?: number;
    perGroupPerMinute?: number;
    perBotPerSecond?: number;
    draftsPerSecond?: number;
  };
  /** false: answer sendMessageDraft as a Bot API older than 9.5 does (404). */
  drafts?: boolean;
  /** Delay before each answer, as Telegram's round trip. */
  latencyMs?: number;
}

/** A flood storm of the Bot API double (see `BotApiDouble.storm`). */
export interface StormOptions {
  /** Share of the message-sending calls refused, 0 to 1. */
  share: number;
  /** Least and most `retry_after` seconds, whole seconds picked evenly. */
  retryAfterSeconds: [min: number, max: number];
  /** Seed of the generator that picks the calls and their waits. */
  seed?: number;
}

/** A message the double delivered to a chat. */
export interface DeliveredMessage {
  chatId: number;
  messageId: number;
  text: string;
  /** performance.now() when the double accepted it. */
  at: number;
}

/** A small seeded generator (mulberry32) of numbers in [0, 1): repeatable storms. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/** Calls that post to a chat: the ones Telegram's flood control refuses. */
const isMessageSend = (method: string): boolean =>
  (method.startsWith('send') && method !== 'sendChatAction') ||
  method.startsWith('editMessage') ||
  method === 'copyMessage' ||
  method === 'forwardMessage';

/** A sendMessageDraft the double accepted. */
export interface DraftCall {
  chatId: number;
  draftId: number;
  text: string;
  at: number;
}

export async function startBotApiDouble(
  tokenOrOptions: string | BotApiDoubleOptions = {},
): Promise<BotApiDouble> {
  const options: BotApiDoubleOptions =
    typeof tokenOrOptions === 'string' ? { token: tokenOrOptions } : tokenOrOptions;
  const token = options.token ?? '7000000001:AAH-test-token-for-the-bot-api-double';
  const limits = {
    perChatPerSecond: 1,
    perGroupPerMinute: 20,
    perBotPerSecond: 30,
    draftsPerSecond: 5,
    ...options.limits,
  };
  const buckets = new Map<string, { tokens: number; at: number }>();
  /** Takes a token from a bucket, or returns the seconds to wait for one. */
  const take = (key: string, capacity: number, perSecond: number): number => {
    const now = performance.now() / 1000;
    const bucket = buckets.get(key) ?? { tokens: capacity, at: now };
    bucket.tokens = Math.min(capacity, bucket.tokens + (now - bucket.at) * perSecond);
    bucket.at = now;
    buckets.set(key, bucket);
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return 0;
    }
    return (1 - bucket.tokens) / perSecond;
  };
  const drafts: DraftCall[] = [];
  const files = new Map<string, { content: Buffer; path: string }>();
  const members = new Map<string, ChatMemberStatus>();
  let tooManyRequests = 0;
  const app: FastifyInstance = Fastify({ logger: false });
  const calls: BotApiCall[] = [];
  const pending: object[] = [];
  const waiters = new Set<() => void>();
  const messages = new Map<string, string>();
  let messageId = 0;
  let webhook: Record<string, unknown> | undefined;
  let holding = false;
  const held: { carryOut: () => void; discard: () => void }[] = [];
  const SENDS = new Set(['sendMessage', 'editMessageText']);
  const failures: {
    matches: (call: BotApiCall) => boolean;
    error: { code: number; description: string; retryAfterSeconds?: number };
  }[] = [];

  const refusals: { method: string; code: number; description: string }[] = [];
  const edits: { chatId: string; messageId: number; text: string }[] = [];
  const delivered: DeliveredMessage[] = [];
  let storm: { share: number; min: number; max: number; random: () => number } | undefined;
  let stormRefusals = 0;

  app.post<{
    Params: { token: string; method: string };
    Body: Record<string, unknown> | undefined;
  }>('/bot:token/:method', async (request, reply) => {
    const { method } = request.params;
    const fail = (code: number, description: string) => {
      refusals.push({ method, code, description });
      return { ok: false, error_code: code, description };
    };
    const payload = request.body ?? {};
    if (request.params.token !== token) return reply.code(401).send(fail(401, 'Unauthorized'));
    if (options.latencyMs) await new Promise((r) => setTimeout(r, options.latencyMs));
    const isSend = method === 'sendMessage' || method === 'editMessageText';
    if (options.enforceLimits && (isSend || method === 'sendMessageDraft')) {
      const chat = String(payload.chat_id);
      const group = Number(payload.chat_id) < 0;
      const wait =
        method === 'sendMessageDraft'
          ? take(`draft:${chat}`, 2, limits.draftsPerSecond)
          : Math.max(
              take('bot', limits.perBotPerSecond, limits.perBotPerSecond),
              group
                ? take(`group:${chat}`, 3, limits.perGroupPerMinute / 60)
                : take(`chat:${chat}`, 3, limits.perChatPerSecond),
            );
      if (wait > 0) {
        tooManyRequests += 1;
        const retryAfter = Math.max(1, Math.ceil(wait));
        return reply.code(429).send({
          ...fail(429, `Too Many Requests: retry after ${retryAfter}`),
          parameters: { retry_after: retryAfter },
        });
      }
    }
    if (storm && isMessageSend(method) && storm.random() < storm.share) {
      tooManyRequests += 1;
      stormRefusals += 1;
      const retryAfter = storm.min + Math.floor(storm.random() * (storm.max - storm.min + 1));
      return reply.code(429).send({
        ...fail(429, `Too Many Requests: retry after ${retryAfter}`),
        parameters: { retry_after: retryAfter },
      });
    }
    if ((isSend || method === 'sendMessageDraft') && typeof payload.text === 'string') {
      let visible = payload.text;
      if (payload.parse_mode === 'HTML') {
        const parsed = parseTelegramHtml(payload.text);
        if (!parsed.ok) {
          return reply
            .code(400)
            .send(fail(400, `Bad Request: can't parse entities: ${parsed.error}`));
        }
        visible = parsed.text;
      }
      if (visible.length > MESSAGE_LIMIT) {
        return reply.code(400).send(fail(400, 'Bad Request: message is too long'));
      }
    }
    if (holding && SENDS.has(method)) {
      const carriedOut = await new Promise<boolean>((resolve) =>
        held.push({ carryOut: () => resolve(true), discard: () => resolve(false) }),
      );
      if (!carriedOut) {
        // The caller is gone (killed): the call never reached Telegram.
        reply.raw.destroy();
        return reply;
      }
    }
    const call = { method, token: request.params.token, payload, at: performance.now() };
    const failure = failures.findIndex((f) => f.matches(call));
    if (failure !== -1) {
      const [{ error }] = failures.splice(failure, 1) as [(typeof failures)[number]];
      return reply.code(error.code).send({
        ...fail(error.code, error.description),
        ...(error.retryAfterSeconds === undefined
          ? {}
          : { parameters: { retry_after: error.retryAfterSeconds } }),
      });
    }
    calls.push(call);
    switch (method) {
      case 'getMe':
        return { ok: true, result: BOT };
      case 'sendMessage':
      case 'editMessageText': {
        const text = payload.text;
        if (typeof text !== 'string' || text.trim() === '') {
          return reply.code(400).send(fail(400, 'Bad Request: message text is empty'));
        }
        const content = JSON.stringify([text, payload.reply_markup ?? null]);
        if (method === 'editMessageText') {
          const key = `${String(payload.chat_id)}:${String(payload.message_id)}`;
          const current = messages.get(key);
          if (current === undefined) {
            return reply.code(400).send(fail(400, 'Bad Request: message to edit not found'));
          }
          if (current === content) {
            return reply
              .code(400)
              .send(
                fail(
                  400,
                  'Bad Request: message is not modified: specified new message content and ' +
                    'reply markup are exactly the same as a current content and reply markup of the message',
                ),
              );
          }
          messages.set(key, content);
          edits.push({
            chatId: String(payload.chat_id),
            messageId: Number(payload.message_id),
            text,
          });
          return {
            ok: true,
            result: {
              message_id: Number(payload.message_id),
              date: Math.floor(Date.now() / 1000),
              edit_date: Math.floor(Date.now() / 1000),
              chat: chatOf(payload.chat_id),
              from: BOT,
              text,
            },
          };
        }
        messages.set(`${String(payload.chat_id)}:${messageId + 1}`, content);
        delivered.push({
          chatId: Number(payload.chat_id),
          messageId: messageId + 1,
          text,
          at: performance.now(),
        });
        return {
          ok: true,
          result: {
            message_id: ++messageId,
            date: Math.floor(Date.now() / 1000),
            chat: chatOf(payload.chat_id),
            from: BOT,
            text,
          },
        };
      }
      case 'getFile': {
        const file = files.get(String(payload.file_id));
        if (!file) return reply.code(400).send(fail(400, 'Bad Request: invalid file_id'));
        return {
          ok: true,
          result: {
            file_id: payload.file_id,
            file_unique_id: `u-${String(payload.file_id)}`,
            file_size: file.content.length,
            file_path: file.path,
          },
        };
      }
      case 'sendMessageDraft': {
        if (options.drafts === false) {
          return reply.code(404).send(fail(404, 'Not Found: method not found'));
        }
        if (!(Number(payload.chat_id) > 0)) {
          return reply.code(400).send(fail(400, 'Bad Request: TEXTDRAFT_PEER_INVALID'));
        }
        if (!(Number(payload.draft_id) !== 0)) {
          return reply.code(400).send(fail(400, 'Bad Request: draft_id must be non-zero'));
        }
        drafts.push({
          chatId: Number(payload.chat_id),
          draftId: Number(payload.draft_id),
          text: typeof payload.text === 'string' ? payload.text : '',
          at: performance.now(),
        });
        return { ok: true, result: true };
      }
      case 'setWebhook': {
        const url = typeof payload.url === 'string' ? payload.url : '';
        if (url === '') {
          webhook = undefined;
          return { ok: true, result: true, description: 'Webhook was deleted' };
        }
        if (!url.startsWith('https://')) {
          return reply
            .code(400)
            .send(fail(400, 'Bad Request: bad webhook: An HTTPS URL must be provided for webhook'));
        }
        const secret = payload.secret_token;
        if (
          secret !== undefined &&
          !(typeof secret === 'string' && /^[A-Za-z0-9_-]{1,256}$/.test(secret))
        ) {
          return reply
            .code(400)
            .send(fail(400, 'Bad Request: secret token contains unallowed characters'));
        }
        const max = Number(payload.max_connections ?? 40);
        if (!(max >= 1 && max <= 100)) {
          return reply
            .code(400)
            .send(fail(400, 'Bad Request: bad webhook: max_connections must be between 1 and 100'));
        }
        webhook = { ...payload, max_connections: max };
        return { ok: true, result: true, description: 'Webhook was set' };
      }
      case 'deleteWebhook':
        webhook = undefined;
        return { ok: true, result: true, description: 'Webhook was deleted' };
      case 'getWebhookInfo':
        return {
          ok: true,
          result: webhook
            ? {
                url: webhook.url,
                has_custom_certificate: false,
                pending_update_count: 0,
                max_connections: webhook.max_connections,
                allowed_updates: webhook.allowed_updates,
              }
            : { url: '', has_custom_certificate: false, pending_update_count: 0 },
        };
      case 'getUpdates': {
        if (webhook) {
          return reply
            .code(409)
            .send(
              fail(
                409,
                "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first",
              ),
            );
        }
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
      case 'getChatMember': {
        const userId = Number(payload.user_id);
        if (!Number.isSafeInteger(userId) || userId <= 0)
          return reply.code(400).send(fail(400, 'Bad Request: invalid user_id specified'));
        const status = members.get(`${String(payload.chat_id)}:${userId}`) ?? 'member';
        const admin = status === 'creator' || status === 'administrator';
        return {
          ok: true,
          result: {
            status,
            user: { id: userId, is_bot: false, first_name: 'User' },
            ...(admin ? { is_anonymous: false } : {}),
            ...(status === 'administrator' ? { can_be_edited: false } : {}),
          },
        };
      }
      case 'answerCallbackQuery':
      case 'sendChatAction':
      case 'setMyCommands':
        return { ok: true, result: true };
      default:
        return reply.code(404).send(fail(404, 'Not Found: method not found'));
    }
  });

  app.get<{ Params: { token: string; '*': string } }>(
    '/file/bot:token/*',
    async (request, reply) => {
      if (request.params.token !== token) return reply.code(401).send('Unauthorized');
      const file = [...files.values()].find((f) => f.path === request.params['*']);
      if (!file) return reply.code(404).send('Not Found');
      return reply.type('application/octet-stream').send(file.content);
    },
  );

  await app.listen({ port: 0, host: '127.0.0.1' });
  const address = app.server.address();
  if (!address || typeof address === 'string') throw new Error('the Bot API double has no port');
  return {
    addFile: (fileId, content, path) => void files.set(fileId, { content, path }),
    setChatMember: (chatId, userId, status) => void members.set(`${chatId}:${userId}`, status),
    apiRoot: `http://127.0.0.1:${address.port}`,
    token,
    calls,
    callsOf: (method) => calls.filter((call) => call.method === method),
    pushUpdates: (...updates) => {
      pending.push(...updates);
      for (const wake of [...waiters]) wake();
    },
    get webhook() {
      return webhook;
    },
    hold: () => {
      holding = true;
    },
    release: () => {
      holding = false;
      for (const call of held.splice(0)) call.carryOut();
    },
    dropHeld: () => {
      holding = false;
      const dropped = held.splice(0);
      for (const call of dropped) call.discard();
      return dropped.length;
    },
    drafts,
    refusals,
    edits,
    messageText(chatId, id) {
      const content = messages.get(`${String(chatId)}:${id}`);
      return content === undefined ? undefined : (JSON.parse(content) as [string])[0];
    },
    get tooManyRequests() {
      return tooManyRequests;
    },
    storm: ({ share, retryAfterSeconds: [min, max], seed = 1 }) => {
      if (!(share >= 0 && share <= 1) || !(min >= 1 && max >= min)) {
        throw new Error(
          'storm: share must be within 0..1 and retryAfterSeconds [min >= 1, max >= min]',
        );
      }
      storm = { share, min: Math.floor(min), max: Math.floor(max), random: seededRandom(seed) };
    },
    calm: () => {
      storm = undefined;
    },
    get stormRefusals() {
      return stormRefusals;
    },
    messages: delivered,
    failOnce: (matches, error) => void failures.push({ matches, error }),
    get lastMessageId() {
      return messageId;
    },
    get heldCount() {
      return held.length;
    },
    close: async () => {
      for (const wake of [...waiters]) wake();
      for (const call of held.splice(0)) call.discard();
      await app.close();
    },
  };
}
