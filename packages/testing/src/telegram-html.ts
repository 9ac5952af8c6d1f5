// What Telegram's HTML parse mode accepts, for the Bot API double: the supported tags
// only, balanced, with `<`, `>` and `&` escaped in text, and the four named entities.
// A message that breaks a rule is refused as Telegram refuses it: "can't parse entities".

const TAGS = new Set([
  'b',
  'strong',
  'i',
  'em',
  'u',
  'ins',
  's',
  'strike',
  'del',
  'span',
  'tg-spoiler',
  'a',
  'code',
  'pre',
  'blockquote',
  'tg-emoji',
]);
const ENTITIES: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"' };

export type ParsedHtml = { ok: true; text: string } | { ok: false; error: string };

/** Parses text as Telegram's HTML mode does; returns the visible text or the error. */
export function parseTelegramHtml(html: string): ParsedHtml {
  const open: string[] = [];
  let text = '';
  let i = 0;
  const at = () => Buffer.byteLength(html.slice(0, i));
  while (i < html.length) {
    const c = html[i]!;
    if (c === '<') {
      const tag =
        /^<(\/?)([a-zA-Z][\w-]*)((?:\s+[\w-]+(?:\s*=\s*(?:"[^"]*"|'[^']*'|[^\s>]+))?)*)\s*>/.exec(
          html.slice(i),
        );
      if (!tag) {
        return { ok: false, error: `Unexpected end tag at byte offset ${at()}` };
      }
      const [whole, closing, rawName] = tag;
      const name = rawName!.toLowerCase();
      if (!TAGS.has(name)) {
        return { ok: false, error: `Unsupported start tag "${name}" at byte offset ${at()}` };
      }
      if (closing) {
        if (open.at(-1) !== name) {
          return {
            ok: false,
            error: `Can't find end tag corresponding to start tag "${open.at(-1) ?? name}"`,
          };
        }
        open.pop();
      } else {
        open.push(name);
      }
      i += whole.length;
      continue;
    }
    if (c === '>') {
      return { ok: false, error: `Character '>' is reserved at byte offset ${at()}` };
    }
    if (c === '&') {
      const entity = /^&(#\d{1,7}|#x[\da-fA-F]{1,6}|[a-zA-Z]+);/.exec(html.slice(i));
      const named = entity?.[1];
      if (!entity || (named && !named.startsWith('#') && !(named in ENTITIES))) {
        return { ok: false, error: `Unsupported HTML entity at byte offset ${at()}` };
      }
      text += named!.startsWith('#')
        ? String.fromCodePoint(
            Number(named!.startsWith('#x') ? `0x${named!.slice(2)}` : named!.slice(1)),
          )
        : ENTITIES[named!];
      i += entity[0].length;
      continue;
    }
    text += c;
    i += 1;
  }
  if (open.length > 0) {
    return { ok: false, error: `Can't find end tag corresponding to start tag "${open.at(-1)!}"` };
  }
  return { ok: true, text };
}
