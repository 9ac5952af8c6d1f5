import { createHash, randomBytes } from 'node:crypto';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { describe, expect, it } from '@jest/globals';
import { createChecksumStream } from '../src/checksum.js';
import {
  BackupDecryptionError,
  createDecryptStream,
  createEncryptStream,
  parseEncryptionKey,
} from '../src/encryption.js';

async function collect(stream: Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const part of stream) parts.push(part as Buffer);
  return Buffer.concat(parts);
}

/** Feeds `data` in pieces of `pieceBytes` through the given streams and returns the output. */
async function through(data: Buffer, streams: NodeJS.ReadWriteStream[], pieceBytes = 4_096) {
  const pieces: Buffer[] = [];
  for (let start = 0; start < data.length; start += pieceBytes) {
    pieces.push(data.subarray(start, start + pieceBytes));
  }
  const parts: Buffer[] = [];
  await pipeline(
    Readable.from(pieces),
    ...(streams as [NodeJS.ReadWriteStream]),
    new Writable({
      write(chunk: Buffer, _encoding, done) {
        parts.push(chunk);
        done();
      },
    }),
  );
  return Buffer.concat(parts);
}

describe('backup checksum stream', () => {
  it('does not end until the check before the end succeeds, and fails with its error', async () => {
    let release!: () => void;
    const checked = new Promise<void>((resolve) => (release = resolve));
    const { stream, checksum } = createChecksumStream({ beforeEnd: () => checked });
    const ended = collect(stream);
    let done = false;
    void ended.then(() => (done = true));
    stream.end(Buffer.from('dump bytes'));
    await new Promise((resolve) => setImmediate(resolve));
    expect(done).toBe(false);
    release();
    expect((await ended).toString()).toBe('dump bytes');
    expect(checksum()).toEqual({
      bytes: 10,
      sha256: createHash('sha256').update('dump bytes').digest('hex'),
    });

    const failing = createChecksumStream({
      beforeEnd: () => Promise.reject(new Error('pg_dump failed (exit code 1)')),
    });
    const failed = collect(failing.stream);
    failing.stream.end(Buffer.from('half a dump'));
    await expect(failed).rejects.toThrow('pg_dump failed (exit code 1)');
  });

  it('passes the last bytes on only after the check succeeds', async () => {
    const data = randomBytes(100_000);
    const received: Buffer[] = [];
    const { stream } = createChecksumStream({
      holdBackBytes: 64 * 1024,
      beforeEnd: () => {
        // Everything but the held-back tail has been passed on when the check runs.
        expect(Buffer.concat(received)).toEqual(data.subarray(0, data.length - 64 * 1024));
        throw new Error('checksum mismatch');
      },
    });
    stream.on('data', (chunk: Buffer) => received.push(chunk));
    const finished = new Promise((resolve, reject) => {
      stream.on('end', resolve);
      stream.on('error', reject);
    });
    stream.end(data);
    await expect(finished).rejects.toThrow('checksum mismatch');
    expect(Buffer.concat(received).length).toBe(data.length - 64 * 1024);
  });
});

describe('backup encryption', () => {
  const key = randomBytes(32);

  it.each([0, 1, 1_000, 1_024, 1_025, 10_000])(
    'decrypts what it encrypted (%i bytes, chunks of 1 KiB)',
    async (size) => {
      const data = randomBytes(size);
      const sealed = await through(data, [createEncryptStream(key, { chunkBytes: 1_024 })], 333);
      // A header, then each chunk's ciphertext and 16-byte tag (an empty dump: one tag).
      expect(sealed.length).toBe(29 + size + 16 * Math.max(1, Math.ceil(size / 1_024)));
      expect(await through(sealed, [createDecryptStream(key)], 500)).toEqual(data);
    },
  );

  it('fails clearly with a wrong key, on damaged data and on a cut-off end', async () => {
    const data = randomBytes(5_000);
    const sealed = await through(data, [createEncryptStream(key, { chunkBytes: 1_024 })]);
    expect(sealed.includes(data.subarray(0, 32))).toBe(false);

    await expect(through(sealed, [createDecryptStream(randomBytes(32))])).rejects.toThrow(
      new BackupDecryptionError(
        'the backup does not decrypt with this BACKUP_ENCRYPTION_KEY: use the key it was written with',
      ),
    );
    const damaged = Buffer.from(sealed);
    damaged.writeUInt8(damaged.readUInt8(3_000) ^ 1, 3_000);
    await expect(through(damaged, [createDecryptStream(key)])).rejects.toThrow(
      /damaged or cut off \(chunk 2 fails authentication\)/,
    );
    // Cut at a chunk boundary: every remaining chunk is whole, the last-chunk flag is not.
    const frames = 29 + 2 * (1_024 + 16);
    await expect(through(sealed.subarray(0, frames), [createDecryptStream(key)])).rejects.toThrow(
      /damaged or cut off \(chunk 1 fails authentication\)/,
    );
    await expect(through(sealed.subarray(0, 10), [createDecryptStream(key)])).rejects.toThrow(
      'the encrypted backup is cut off before its end',
    );
    await expect(
      through(Buffer.from('PGDMP not encrypted at all'.repeat(3)), [createDecryptStream(key)]),
    ).rejects.toThrow('not an encrypted Herald backup');
  });

  it('takes a key as base64 or hex of 32 bytes and nothing else', () => {
    expect(parseEncryptionKey(key.toString('base64'))).toEqual(key);
    expect(parseEncryptionKey(key.toString('hex'))).toEqual(key);
    expect(parseEncryptionKey(randomBytes(16).toString('base64'))).toBeUndefined();
    expect(parseEncryptionKey('correct horse battery staple')).toBeUndefined();
  });
});
