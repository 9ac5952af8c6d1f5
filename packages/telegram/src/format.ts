// LLM markdown to Telegram HTML. Telegram's HTML parse mode knows a few tags (b, i, s, u,
// code, pre, a, blockquote, tg-spoiler) and rejects the whole message ("can't parse
// entities") on anything else, an unescaped `<` or `&`, or an unbalanced tag. So every
// piece of text is escaped, every tag is opened and closed by the same code, and markdown
// that does not close (a stray `**`, a lone backtick) stays literal text.

/** Telegram's limit on a message's text, counted after entity parsing. */
export const MESSAGE_LIMIT = 4096;

/** Escapes text for Telegram's HTML parse mode: `&`, `<` and `>`. */
export function escapeHtml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** Escapes text for an HTML attribute value in double quotes (a link's href). */
/**
 * At most `max` UTF-16 units of `text`, `ellipsis` included when it is cut, never cutting a
 * character in two: half of an emoji has no UTF-8 form, and Telegram refuses the message.
 */
export function clipText(text: string, max: number, ellipsis = ''): string {
  if (text.length <= max) return text;
  let cut = text.slice(0, Math.max(0, max - ellipsis.length));
  if (/[\uD800-\uDBFF]$/.test(cut)) cut = cut.slice(0, -1);
  return ellipsis ? `${cut.trimEnd()}${ellipsis}` : cut;
}

export const escapeAttribute = (text: string): string => escapeHtml(text).replace(/"/g, '&quot;');

/** The text Telegram shows for a piece of our HTML: tags dropped, entities decoded. */
export function visibleText(html: string): string {
  return html
    .replace(/<[^>]*>/g, '')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&amp;/g, '&');
}

const SIMPLE_MARKERS: [marker: string, tag: string][] = [
  ['**', 'b'],
  ['__', 'b'],
  ['~~', 's'],
  ['*', 'i'],
  ['_', 'i'],
];

const isWordChar = (c: string | undefined) => c !== undefined && /[\p{L}\p{N}]/u.test(c);

/** Inline markdown of one line to HTML; anything that does not close stays literal. */
export function inlineHtml(text: string): string {
  let out = '';
  let i = 0;
  outer: while (i < text.length) {
    const rest = text.slice(i);
    if (rest.startsWith('`')) {
      const ticks = /^`+/.exec(rest)![0];
      const end = text.indexOf(ticks, i + ticks.length);
      if (end > i + ticks.length) {
        out += `<code>${escapeHtml(text.slice(i + ticks.length, end).trim())}</code>`;
        i = end + ticks.length;
        continue;
      }
      out += escapeHtml(ticks);
      i += ticks.length;
      continue;
    }
    if (rest.startsWith('[')) {
      const link = /^\[([^\]\n]+)\]\((https?:\/\/[^\s()]+(?:\([^\s()]*\))?[^\s()]*)\)/.exec(rest);
      if (link) {
        out += `<a href="${escapeAttribute(link[2]!)}">${inlineHtml(link[1]!)}</a>`;
        i += link[0].length;
        continue;
      }
    }
    for (const [marker, tag] of SIMPLE_MARKERS) {
      if (!rest.startsWith(marker)) continue;
      const innerStart = i + marker.length;
      const first = text[innerStart];
      // An opening marker is followed by a non-space; `_` inside a word (snake_case) is text.
      if (first === undefined || /\s/.test(first)) break;
      if (marker.startsWith('_') && isWordChar(text[i - 1])) break;
      let end = text.indexOf(marker, innerStart + 1);
      while (end !== -1) {
        const before = text[end - 1];
        const after = text[end + marker.length];
        const closes =
          before !== undefined &&
          !/\s/.test(before) &&
          !(marker.startsWith('_') && isWordChar(after)) &&
          // `*` must not be the start of a `**`.
          !(marker.length === 1 && text[end + 1] === marker);
        if (closes) break;
        end = text.indexOf(marker, end + 1);
      }
      if (end === -1) break;
      out += `<${tag}>${inlineHtml(text.slice(innerStart, end))}</${tag}>`;
      i = end + marker.length;
      continue outer;
    }
    out += escapeHtml(text[i]!);
    i += 1;
  }
  return out;
}

/** A self-contained piece of a message: balanced HTML that may stand alone. */
export interface Block {
  html: string;
  /** Length as Telegram counts it (after entity parsing). */
  length: number;
  kind: 'text' | 'code' | 'quote';
  /** For splitting a block that is too long on its own. */
  source: string;
  language?: string;
}

const block = (kind: Block['kind'], html: string, source: string, language?: string): Block => ({
  kind,
  html,
  source,
  length: visibleText(html).length,
  ...(language ? { language } : {}),
});

function codeBlock(code: string, language: string | undefined): Block {
  const lang = language && /^[\w+#.-]{1,30}$/.test(language) ? language : undefined;
  const open = lang ? `<pre><code class="language-${lang}">` : '<pre><code>';
  return block('code', `${open}${escapeHtml(code)}</code></pre>`, code, lang);
}

function textLine(line: string): string {
  const heading = /^#{1,6}\s+(.*)$/.exec(line);
  if (heading) return `<b>${inlineHtml(heading[1]!.replace(/\s+#+\s*$/, ''))}</b>`;
  const bullet = /^(\s*)[-*+]\s+(.*)$/.exec(line);
  if (bullet) return `${bullet[1]}• ${inlineHtml(bullet[2]!)}`;
  if (/^\s*([-*_])\s*(\1\s*){2,}$/.test(line)) return '———';
  return inlineHtml(line);
}

/**
 * Markdown to blocks of Telegram HTML: paragraphs, fenced code (as
 * `<pre><code class="language-…">`, closed even when the model forgot to), quotes, and
 * tables (kept monospaced, since Telegram has none).
 */
export function markdownBlocks(markdown: string): Block[] {
  const blocks: Block[] = [];
  const lines = markdown.replace(/\r\n?/g, '\n').split('\n');
  let paragraph: string[] = [];
  const flush = () => {
    while (paragraph.length > 0 && paragraph.at(-1)!.trim() === '') paragraph.pop();
    if (paragraph.length > 0) {
      blocks.push(block('text', paragraph.map(textLine).join('\n'), paragraph.join('\n')));
    }
    paragraph = [];
  };
  for (let n = 0; n < lines.length; n += 1) {
    const line = lines[n]!;
    const fence = /^\s*(`{3,}|~{3,})\s*([\w+#.-]*)\s*$/.exec(line);
    if (fence) {
      flush();
      const code: string[] = [];
      n += 1;
      while (n < lines.length && !lines[n]!.trim().startsWith(fence[1]!)) code.push(lines[n++]!);
      blocks.push(codeBlock(code.join('\n'), fence[2] || undefined));
      continue;
    }
    if (/^\s*>/.test(line)) {
      flush();
      const quoted: string[] = [];
      while (n < lines.length && /^\s*>/.test(lines[n]!))
        quoted.push(lines[n++]!.replace(/^\s*>\s?/, ''));
      n -= 1;
      blocks.push(
        block(
          'quote',
          `<blockquote>${quoted.map(textLine).join('\n')}</blockquote>`,
          quoted.join('\n'),
        ),
      );
      continue;
    }
    if (/^\s*\|.*\|\s*$/.test(line)) {
      flush();
      const rows: string[] = [];
      while (n < lines.length && /^\s*\|.*\|\s*$/.test(lines[n]!)) rows.push(lines[n++]!.trim());
      n -= 1;
      blocks.push(codeBlock(rows.filter((r) => !/^\|[\s:|-]+\|$/.test(r)).join('\n'), undefined));
      continue;
    }
    if (line.trim() === '') {
      flush();
      continue;
    }
    paragraph.push(line);
  }
  flush();
  return blocks;
}

/** Cuts text into pieces of at most `limit` characters at the best boundary available. */
function cutText(text: string, limit: number): string[] {
  const pieces: string[] = [];
  let rest = text;
  while (rest.length > limit) {
    const window = rest.slice(0, limit);
    const at = Math.max(
      window.lastIndexOf('\n'),
      window.lastIndexOf('. ') + 1,
      window.lastIndexOf(' '),
    );
    const cut = at > limit / 2 ? at : limit;
    pieces.push(rest.slice(0, cut));
    rest = rest.slice(cut).replace(/^[ \n]/, '');
  }
  if (rest !== '') pieces.push(rest);
  return pieces;
}

/** Splits a block that does not fit one message into blocks that each do. */
function splitBlock(big: Block, limit: number): Block[] {
  if (big.kind === 'code') {
    // Whole lines per piece; each piece its own <pre>, so no tag spans two messages.
    const room = limit - 2;
    const pieces: string[] = [];
    let current = '';
    for (const line of big.source.split('\n')) {
      for (const part of cutText(line, room)) {
        const next = current === '' ? part : `${current}\n${part}`;
        if (next.length > room && current !== '') {
          pieces.push(current);
          current = part;
        } else {
          current = next;
        }
      }
    }
    if (current !== '') pieces.push(current);
    return pieces.map((piece) => codeBlock(piece, big.language));
  }
  // Text: cut the source, then render each piece on its own (a marker cut in two stays
  // literal rather than producing a broken tag).
  const pieces = cutText(big.source, Math.floor(limit * 0.9));
  return pieces.flatMap((piece) => {
    const rendered =
      big.kind === 'quote'
        ? block(
            'quote',
            `<blockquote>${piece.split('\n').map(textLine).join('\n')}</blockquote>`,
            piece,
          )
        : block('text', piece.split('\n').map(textLine).join('\n'), piece);
    return rendered.length <= limit
      ? [rendered]
      : cutText(piece, limit).map((p) => block('text', escapeHtml(p), p));
  });
}

/**
 * Packs blocks into messages of at most `limit` characters (after entity parsing),
 * breaking only between blocks: paragraphs, code blocks, quotes. A block too long for one
 * message is split at line, sentence or word boundaries into blocks that each fit.
 */
export function packMessages(blocks: readonly Block[], limit = MESSAGE_LIMIT): string[] {
  const messages: string[] = [];
  let html = '';
  let length = 0;
  for (const piece of blocks.flatMap((b) => (b.length > limit ? splitBlock(b, limit) : [b]))) {
    if (html !== '' && length + 2 + piece.length > limit) {
      messages.push(html);
      html = '';
      length = 0;
    }
    if (html === '') {
      html = piece.html;
      length = piece.length;
    } else {
      html = `${html}\n\n${piece.html}`;
      length += 2 + piece.length;
    }
  }
  if (html !== '') messages.push(html);
  return messages;
}

/** LLM markdown to Telegram HTML messages, each under the limit, none cut inside a tag. */
export function formatAnswer(
  markdown: string,
  options: { reasoning?: string; limit?: number } = {},
): string[] {
  const blocks = markdownBlocks(markdown);
  if (options.reasoning && options.reasoning.trim() !== '') {
    // The model's thinking, folded: Telegram shows an expandable quote collapsed.
    const limit = options.limit ?? MESSAGE_LIMIT;
    const thinking = options.reasoning.trim();
    const shown = thinking.length > limit - 200 ? `${thinking.slice(0, limit - 200)}…` : thinking;
    blocks.unshift(
      block('quote', `<blockquote expandable>${escapeHtml(shown)}</blockquote>`, shown),
    );
  }
  return packMessages(blocks, options.limit);
}

/** The text of HTML messages without markup, for when Telegram still refuses the HTML. */
export function plainText(html: string): string {
  return visibleText(html.replace(/<br\s*\/?>/g, '\n'));
}
