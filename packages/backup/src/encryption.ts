import {
  createCipheriv,
  createDecipheriv,
  createHash,
  hkdfSync,
  randomBytes,
  timingSafeEqual,
} from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';

// Streaming AES-256-GCM. A dump is cut into chunks, each sealed on its own with a nonce
// made of its index and a "last chunk" flag, under a key derived for this file alone from
// BACKUP_ENCRYPTION_KEY and a random salt. So a dump of any size is encrypted in constant
// memory; a reordered, dropped, damaged or cut-off chunk fails authentication; and no
// chunk's plaintext is passed on before its tag is checked.
//
// File layout: header, then chunks of `chunkBytes` plaintext + 16-byte tag each; the
// final chunk holds 0..chunkBytes bytes and carries the "last" flag in its nonce.
//   header = "HRLDBKUP" (8) | version 1 (1) | chunkBytes uint32 BE (4) | salt (16)

const MAGIC = Buffer.from('HRLDBKUP', 'ascii');
const VERSION = 1;
const SALT_BYTES = 16;
const HEADER_BYTES = MAGIC.length + 1 + 4 + SALT_BYTES;
const TAG_BYTES = 16;
const KEY_BYTES = 32;
/** 64 KiB: large enough that the 16-byte tags cost 0.02%, small enough to hold in memory. */
export const DEFAULT_CHUNK_BYTES = 64 * 1024;
const MAX_CHUNKS = 2 ** 32;
const KEY_INFO = Buffer.from('herald-backup aes-256-gcm v1');

/** The algorithm recorded in a backup's manifest. */
export const ENCRYPTION_ALGORITHM = 'AES-256-GCM-STREAM-64K';

/** Thrown when an encrypted backup cannot be read: wrong key, damaged or cut-off data. */
export class BackupDecryptionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BackupDecryptionError';
  }
}

/**
 * Reads BACKUP_ENCRYPTION_KEY: 32 random bytes written as base64 (`openssl rand -base64 32`)
 * or as 64 hex digits. Returns undefined for anything else.
 */
export function parseEncryptionKey(text: string): Buffer | undefined {
  const trimmed = text.trim();
  if (/^[0-9a-fA-F]{64}$/.test(trimmed)) return Buffer.from(trimmed, 'hex');
  if (/^[A-Za-z0-9+/_-]{42,44}={0,2}$/.test(trimmed)) {
    const key = Buffer.from(trimmed.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
    if (key.length === KEY_BYTES) return key;
  }
  return undefined;
}

/**
 * A short public name for a key, recorded in each manifest so that a restore with the
 * wrong key says so before reading any data. It is a hash: it tells keys apart and
 * reveals nothing of them.
 */
export function encryptionKeyId(key: Buffer): string {
  return createHash('sha256')
    .update('herald-backup key id\0')
    .update(key)
    .digest('hex')
    .slice(0, 16);
}

function fileKey(key: Buffer, salt: Buffer): Buffer {
  return Buffer.from(hkdfSync('sha256', key, salt, KEY_INFO, KEY_BYTES));
}

function chunkNonce(index: number, last: boolean): Buffer {
  const nonce = Buffer.alloc(12);
  nonce.writeUInt32BE(index, 7);
  nonce[11] = last ? 1 : 0;
  return nonce;
}

/** Bytes gathered from a stream until a whole chunk (and what follows it) is there. */
class ByteQueue {
  private parts: Buffer[] = [];
  length = 0;

  push(part: Buffer): void {
    this.parts.push(part);
    this.length += part.length;
  }

  /** Removes and returns the first `count` bytes (count <= length). */
  take(count: number): Buffer {
    const joined = this.parts.length === 1 ? this.parts[0]! : Buffer.concat(this.parts);
    const taken = joined.subarray(0, count);
    const rest = joined.subarray(count);
    this.parts = rest.length > 0 ? [rest] : [];
    this.length = rest.length;
    return taken;
  }
}

/**
 * A stream that encrypts what is written to it with `key` (32 bytes), in the chunked
 * AES-256-GCM framing described at the top of this file.
 */
export function createEncryptStream(
  key: Buffer,
  { chunkBytes = DEFAULT_CHUNK_BYTES }: { chunkBytes?: number } = {},
): Transform {
  const salt = randomBytes(SALT_BYTES);
  const header = Buffer.alloc(HEADER_BYTES);
  MAGIC.copy(header, 0);
  header[MAGIC.length] = VERSION;
  header.writeUInt32BE(chunkBytes, MAGIC.length + 1);
  salt.copy(header, MAGIC.length + 5);
  const subkey = fileKey(key, salt);
  const pending = new ByteQueue();
  let index = 0;

  const seal = (plaintext: Buffer, last: boolean): Buffer => {
    if (index >= MAX_CHUNKS) throw new Error('backup too large for one encrypted file');
    const cipher = createCipheriv('aes-256-gcm', subkey, chunkNonce(index, last));
    cipher.setAAD(header);
    index += 1;
    return Buffer.concat([cipher.update(plaintext), cipher.final(), cipher.getAuthTag()]);
  };

  return new Transform({
    construct(callback) {
      this.push(header);
      callback();
    },
    transform(chunk: Buffer, _encoding, callback: TransformCallback) {
      pending.push(chunk);
      try {
        // Strictly more than a chunk: the last chunk is sealed in flush, flagged as last.
        while (pending.length > chunkBytes) this.push(seal(pending.take(chunkBytes), false));
        callback();
      } catch (error) {
        callback(error as Error);
      }
    },
    flush(callback: TransformCallback) {
      try {
        this.push(seal(pending.take(pending.length), true));
        callback();
      } catch (error) {
        callback(error as Error);
      }
    },
  });
}

/**
 * A stream that decrypts a backup written by {@link createEncryptStream} with `key`. It
 * emits a chunk's plaintext only once the chunk's tag checks out, and fails with a
 * {@link BackupDecryptionError} on a wrong key, damaged data or a cut-off end.
 */
export function createDecryptStream(key: Buffer): Transform {
  const pending = new ByteQueue();
  let header: Buffer | undefined;
  let subkey: Buffer | undefined;
  let frameBytes = 0;
  let index = 0;

  const open = (frame: Buffer, last: boolean): Buffer => {
    const decipher = createDecipheriv('aes-256-gcm', subkey!, chunkNonce(index, last));
    decipher.setAAD(header!);
    decipher.setAuthTag(frame.subarray(frame.length - TAG_BYTES));
    try {
      const plaintext = Buffer.concat([
        decipher.update(frame.subarray(0, frame.length - TAG_BYTES)),
        decipher.final(),
      ]);
      index += 1;
      return plaintext;
    } catch {
      throw new BackupDecryptionError(
        index === 0
          ? 'the backup does not decrypt with this BACKUP_ENCRYPTION_KEY: use the key it was written with'
          : `the encrypted backup is damaged or cut off (chunk ${index} fails authentication)`,
      );
    }
  };

  const readHeader = (): void => {
    const candidate = pending.take(HEADER_BYTES);
    if (!timingSafeEqual(candidate.subarray(0, MAGIC.length), MAGIC)) {
      throw new BackupDecryptionError('not an encrypted Herald backup (unknown header)');
    }
    const version = candidate[MAGIC.length];
    if (version !== VERSION) {
      throw new BackupDecryptionError(
        `encrypted with format version ${version}, which this herald-backup cannot read`,
      );
    }
    const chunkBytes = candidate.readUInt32BE(MAGIC.length + 1);
    if (chunkBytes < 1 || chunkBytes > 64 * 1024 * 1024) {
      throw new BackupDecryptionError(`the encrypted backup's header is damaged`);
    }
    header = candidate;
    frameBytes = chunkBytes + TAG_BYTES;
    subkey = fileKey(key, candidate.subarray(MAGIC.length + 5));
  };

  return new Transform({
    transform(chunk: Buffer, _encoding, callback: TransformCallback) {
      pending.push(chunk);
      try {
        if (!header && pending.length >= HEADER_BYTES) readHeader();
        // A frame followed by more bytes is not the last one.
        while (header && pending.length > frameBytes) {
          this.push(open(pending.take(frameBytes), false));
        }
        callback();
      } catch (error) {
        callback(error as Error);
      }
    },
    flush(callback: TransformCallback) {
      try {
        if (!header && pending.length >= HEADER_BYTES) readHeader();
        if (!header || pending.length < TAG_BYTES) {
          throw new BackupDecryptionError('the encrypted backup is cut off before its end');
        }
        this.push(open(pending.take(pending.length), true));
        callback();
      } catch (error) {
        callback(error as Error);
      }
    },
  });
}
