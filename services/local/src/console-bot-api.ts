import Fastify, { type FastifyInstance } from 'fastify';

/** The user of the console chat, as Telegram would describe them. */
export const CONSOLE_USER = {
  id: 1,
  is_bot: false,
  first_name: 'You',
  language_code: 'en',
} as const;
export const CONSOLE_BOT = {
  id: 2,
  is_bot: true,
  first_name: 'Herald',
  username: 'herald_local_bot',
  can_join_groups: false,
  can_read_all_group_messages: false,
  supports_inline_queries: false,
} as const;
/** Any well-formed token; the console API accepts only this one. */
export const CONSOLE_TOKEN = '2:console-chat-only-not-a-real-token';
/**
 * The news channel of the console. Posts are recorded per channel, so what was shown
 * here is still posted to a real NEWS_CHANNEL_ID once a token is set.
 */
export const CONSOLE_CHANNEL = '@herald_console_channel';

interface InlineButton {
  text: string;
  callback_data?: string;
}

export interface ConsoleOutput {
  /** A message the bot sent, as plain text, with its inline buttons. */
  message(text: string, buttons: InlineButton[]): void;
  /** A short notice (callback answers, edits). */
  notice(text: string): void;
  /** A post to the news channel, as plain text. */
  channelPost(text: string): void;
}

const ENTITIES: Record<string, string> = { lt: '<', gt: '>', quot: '"', amp: '&' };

const decode = (html: string) =>
  html.replace(/&(lt|gt|quot|amp|#\d{1,7}|#x[\da-fA-F]{1,6});/g, (entity, name: string) =>
    name.startsWith('#')
      ? String.fromCodePoint(Number(name.startsWith('#x') ? `0${name.slice(1)}` : name.slice(1)))
      : (ENTITIES[name] ?? entity),
  );

/**
 * Telegram HTML to what a terminal can show: tags dropped, entities decoded, and each link
 * as `text (url)`, since a terminal cannot hide a URL behind its text.
 */
export function htmlToText(html: string): string {
  const linked = html.replace(
    /<a\s[^>]*href="([^"]*)"[^>]*>([\s\S]*?)<\/a>/g,
    (_whole, href: string, text: string) => {
      const url = decode(href);
      const shown = text.replace(/<[^>]+>/g, '');
      return decode(shown) === url ? shown : `${shown} (${href})`;
    },
  );
  return decode(linked.replace(/<[^>]+>/g, ''));
}

function buttonsOf(payload: Record<string, unknown>): InlineButton[] {
  const markup = payload.reply_markup as { inline_keyboard?: InlineButton[][] } | undefined;
  return markup?.inline_keyboard?.flat() ?? [];
}

/**
 * A Bot API endpoint on loopback that shows what the bot sends in the terminal. Local
 * mode without a token points the bot at it, so the console chat runs the same code,
 * HTTP calls included, as a real bot.
 */
export async function startConsoleBotApi(output: ConsoleOutput): Promise<{
  apiRoot: string;
  server: FastifyInstance;
}> {
  const server = Fastify({ logger: false });
  let messageId = 0;
  const toChannel = (payload: Record<string, unknown>) => payload.chat_id === CONSOLE_CHANNEL;
  const message = (payload: Record<string, unknown>) => ({
    message_id: ++messageId,
    date: Math.floor(Date.now() / 1000),
    chat: toChannel(payload)
      ? {
          id: -1_000_000_000_002,
          type: 'channel',
          title: 'Herald news',
          username: CONSOLE_CHANNEL.slice(1),
        }
      : { id: Number(payload.chat_id), type: 'private', first_name: CONSOLE_USER.first_name },
    ...(toChannel(payload) ? {} : { from: CONSOLE_BOT }),
    text: typeof payload.text === 'string' ? htmlToText(payload.text) : '',
  });

  server.post<{
    Params: { token: string; method: string };
    Body: Record<string, unknown> | undefined;
  }>('/bot:token/:method', async (request, reply) => {
    if (request.params.token !== CONSOLE_TOKEN) {
      return reply.code(401).send({ ok: false, error_code: 401, description: 'Unauthorized' });
    }
    const payload = request.body ?? {};
    const text = typeof payload.text === 'string' ? htmlToText(payload.text) : '';
    switch (request.params.method) {
      case 'getMe':
        return { ok: true, result: CONSOLE_BOT };
      case 'sendMessage':
        if (toChannel(payload)) output.channelPost(text);
        else output.message(text, buttonsOf(payload));
        return { ok: true, result: message(payload) };
      case 'editMessageText':
        output.message(`(edited) ${text}`, buttonsOf(payload));
        return { ok: true, result: message(payload) };
      case 'answerCallbackQuery':
        if (typeof payload.text === 'string' && payload.text !== '') output.notice(payload.text);
        return { ok: true, result: true };
      case 'sendChatAction':
      case 'sendMessageDraft':
      case 'setMyCommands':
      case 'deleteMessage':
        return { ok: true, result: true };
      default:
        return reply
          .code(404)
          .send({ ok: false, error_code: 404, description: 'Not Found: method not found' });
    }
  });
  await server.listen({ port: 0, host: '127.0.0.1' });
  const address = server.server.address();
  if (!address || typeof address === 'string') throw new Error('the console Bot API has no port');
  return { apiRoot: `http://127.0.0.1:${address.port}`, server };
}
