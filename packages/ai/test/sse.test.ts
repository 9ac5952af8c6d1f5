import { describe, expect, it } from '@jest/globals';
import { SseEventTooLargeError, sseData } from '../src/sse.js';

const encoder = new TextEncoder();

async function* chunks(...parts: (string | Uint8Array)[]): AsyncGenerator<Uint8Array> {
  for (const part of parts) yield typeof part === 'string' ? encoder.encode(part) : part;
}

async function events(body: AsyncIterable<Uint8Array>, maxEventBytes?: number) {
  const out: string[] = [];
  for await (const data of sseData(body, maxEventBytes === undefined ? {} : { maxEventBytes }))
    out.push(data);
  return out;
}

describe('sseData', () => {
  it('reads events whose lines, line ends and characters are cut across chunks', async () => {
    const euro = encoder.encode('€');
    const body = chunks(
      ': keep-alive\r',
      '\ndata: {"a":',
      '1}\r\n\r',
      '\ndata: one\ndata: two\n\nevent: x\ndata: ',
      euro.subarray(0, 1),
      euro.subarray(1),
      '\r\rdata: last',
    );
    expect(await events(body)).toEqual(['{"a":1}', 'one\ntwo', '€', 'last']);
  });

  it('takes an event of exactly the cap, counting its lines as sent', async () => {
    const line = `data: ${'x'.repeat(10)}`;
    expect(await events(chunks(`${line}\n\n`), line.length)).toEqual(['x'.repeat(10)]);
    await expect(events(chunks(`${line}\n\n`), line.length - 1)).rejects.toBeInstanceOf(
      SseEventTooLargeError,
    );
  });

  it('fails on a line that grows past the cap without ever ending', async () => {
    const endless = chunks('data: ', ...Array.from({ length: 20 }, () => 'x'.repeat(100)));
    await expect(events(endless, 1_000)).rejects.toBeInstanceOf(SseEventTooLargeError);
  });

  it('fails on an event whose data lines together pass the cap', async () => {
    const many = chunks(...Array.from({ length: 20 }, () => `data: ${'x'.repeat(100)}\n`), '\n');
    await expect(events(many, 1_000)).rejects.toMatchObject({
      name: 'SseEventTooLargeError',
      limitBytes: 1_000,
    });
  });

  it('fails on a comment line past the cap', async () => {
    await expect(events(chunks(`: ${'x'.repeat(2_000)}\n`), 1_000)).rejects.toBeInstanceOf(
      SseEventTooLargeError,
    );
  });
});
