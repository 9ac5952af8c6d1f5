import { escapeHtml, MESSAGE_LIMIT, visibleText } from '@herald/telegram';
import type { Context } from 'telegraf';

/** Cuts plain text into pieces of at most `limit` characters, at a space when one is near. */
function cutPlain(text: string, limit: number): string[] {
  const pieces: string[] = [];
  let rest = text;
  while (rest.length > limit) {
    const space = rest.lastIndexOf(' ', limit);
    const at = space > limit / 2 ? space : limit;
    pieces.push(rest.slice(0, at));
    rest = rest.slice(at).trimStart();
  }
  if (rest !== '') pieces.push(rest);
  return pieces;
}

/**
 * Splits HTML whose every line is balanced on its own (a list of headlines, of sources)
 * into messages of at most `limit` characters as Telegram counts them (after entity
 * parsing), breaking only between lines so that no tag spans two messages. A lone line
 * longer than a message keeps its text but loses its markup, cut at spaces.
 */
export function splitHtmlLines(html: string, limit = MESSAGE_LIMIT): string[] {
  const messages: string[] = [];
  let lines: string[] = [];
  let length = 0;
  const flush = () => {
    const text = lines.join('\n').trim();
    if (text !== '') messages.push(text);
    lines = [];
    length = 0;
  };
  for (const line of html.split('\n')) {
    const visible = visibleText(line);
    const pieces = visible.length <= limit ? [line] : cutPlain(visible, limit).map(escapeHtml);
    for (const piece of pieces) {
      const size = visibleText(piece).length;
      if (lines.length > 0 && length + 1 + size > limit) flush();
      length += (lines.length > 0 ? 1 : 0) + size;
      lines.push(piece);
    }
  }
  flush();
  return messages;
}

type ReplyExtra = NonNullable<Parameters<Context['reply']>[1]>;

/**
 * Replies with HTML that may be longer than one Telegram message (see `splitHtmlLines`):
 * as many messages as it takes, buttons on the last one. Returns the ids sent.
 */
export async function replyHtml(
  ctx: Context,
  html: string,
  extra: ReplyExtra = {},
): Promise<number[]> {
  const { reply_markup: buttons, ...rest } = extra;
  const parts = splitHtmlLines(html);
  const ids: number[] = [];
  for (const [index, part] of parts.entries()) {
    const last = index === parts.length - 1;
    const sent = await ctx.reply(part, {
      ...rest,
      parse_mode: 'HTML',
      ...(last && buttons ? { reply_markup: buttons } : {}),
    });
    ids.push(sent.message_id);
  }
  return ids;
}
