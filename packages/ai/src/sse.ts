/**
 * Bytes a single event may take before the stream is given up. A chat completion chunk
 * carries a few tokens (well under 1 KiB); 1 MiB leaves room for any real server while
 * keeping a broken one, or something that is not an SSE server, from filling the memory.
 */
export const DEFAULT_MAX_EVENT_BYTES = 1024 * 1024;

/** A stream event (or one of its lines) grew past the cap before it ended. */
export class SseEventTooLargeError extends Error {
  constructor(readonly limitBytes: number) {
    super(`a server-sent event grew over ${limitBytes} bytes before it ended`);
    this.name = 'SseEventTooLargeError';
  }
}

const LF = 0x0a;
const CR = 0x0d;

/**
 * Reads a server-sent-events body into the `data` of each event. Chunks may split lines
 * and UTF-8 characters anywhere; comments (`: keep-alive`) and other fields are skipped.
 * Throws SseEventTooLargeError as soon as one event (its data lines together, or any one
 * line) passes `maxEventBytes`, without holding more than that.
 */
export async function* sseData(
  body: AsyncIterable<Uint8Array>,
  options: { maxEventBytes?: number } = {},
): AsyncGenerator<string> {
  const maxEventBytes = options.maxEventBytes ?? DEFAULT_MAX_EVENT_BYTES;
  const decoder = new TextDecoder();
  // The line being read, in pieces as they came; lines end at a byte that is never inside
  // a UTF-8 character, so each whole line decodes on its own.
  let line: Uint8Array[] = [];
  let lineBytes = 0;
  let data: string[] = [];
  let dataBytes = 0;
  // A CR that ended a line, whose LF (of a CRLF) may open the next chunk.
  let afterCr = false;

  const take = (piece: Uint8Array) => {
    if (piece.length === 0) return;
    lineBytes += piece.length;
    if (dataBytes + lineBytes > maxEventBytes) throw new SseEventTooLargeError(maxEventBytes);
    line.push(piece);
  };
  /** Ends the current line; returns the event's data when the line ended an event. */
  const endLine = (): string | undefined => {
    const text = decoder.decode(line.length === 1 ? line[0] : concat(line, lineBytes));
    const bytes = lineBytes;
    line = [];
    lineBytes = 0;
    if (text === '') {
      const event = data.length > 0 ? data.join('\n') : undefined;
      data = [];
      dataBytes = 0;
      return event;
    }
    if (text.startsWith('data:')) {
      data.push(text.slice(text.startsWith('data: ') ? 6 : 5));
      dataBytes += bytes;
    }
    return undefined;
  };

  for await (const chunk of body) {
    let start = 0;
    for (let i = 0; i < chunk.length; i += 1) {
      const byte = chunk[i];
      if (byte !== LF && byte !== CR) continue;
      if (byte === LF && afterCr && i === start && lineBytes === 0) {
        afterCr = false;
        start = i + 1;
        continue;
      }
      take(chunk.subarray(start, i));
      start = i + 1;
      afterCr = byte === CR;
      const event = endLine();
      if (event !== undefined) yield event;
    }
    if (start < chunk.length) afterCr = false;
    take(chunk.subarray(start));
  }
  // A last event without its closing blank line is still delivered.
  if (lineBytes > 0) endLine();
  if (data.length > 0) yield data.join('\n');
}

function concat(pieces: Uint8Array[], length: number): Uint8Array {
  const out = new Uint8Array(length);
  let offset = 0;
  for (const piece of pieces) {
    out.set(piece, offset);
    offset += piece.length;
  }
  return out;
}
