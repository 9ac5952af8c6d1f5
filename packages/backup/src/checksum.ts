import { createHash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';

/** Size and SHA-256 of what passed through a {@link createChecksumStream}. */
export interface Checksum {
  readonly bytes: number;
  /** Hex digest. */
  readonly sha256: string;
}

/**
 * A pass-through stream that counts and hashes what flows through it.
 *
 * `beforeEnd` runs once everything has passed and the checksum is known; the stream ends
 * only when it resolves, and fails with its error. A backup uses it to end the upload only
 * after pg_dump has exited 0, so a dump cut short is never stored as a whole one; a restore
 * uses it to compare the checksum with the manifest's. With `holdBackBytes`, that many
 * trailing bytes are passed on only after `beforeEnd` succeeds, so a reader cannot finish
 * on data that then fails the check.
 */
export function createChecksumStream(
  options: {
    beforeEnd?: (checksum: Checksum) => Promise<void> | void;
    holdBackBytes?: number;
  } = {},
): { stream: Transform; checksum: () => Checksum } {
  const hash = createHash('sha256');
  const holdBackBytes = options.holdBackBytes ?? 0;
  let bytes = 0;
  let sha256: string | undefined;
  let held: Buffer = Buffer.alloc(0);
  const stream = new Transform({
    transform(chunk: Buffer, _encoding, callback: TransformCallback) {
      hash.update(chunk);
      bytes += chunk.length;
      if (holdBackBytes === 0) {
        callback(null, chunk);
        return;
      }
      held = held.length === 0 ? chunk : Buffer.concat([held, chunk]);
      if (held.length > holdBackBytes) {
        const passed = held.subarray(0, held.length - holdBackBytes);
        held = Buffer.from(held.subarray(held.length - holdBackBytes));
        callback(null, passed);
        return;
      }
      callback();
    },
    flush(callback: TransformCallback) {
      sha256 = hash.digest('hex');
      Promise.resolve(options.beforeEnd?.({ bytes, sha256 })).then(
        () => callback(null, held.length > 0 ? held : undefined),
        (error: Error) => callback(error),
      );
    },
  });
  return {
    stream,
    checksum: () => {
      if (sha256 === undefined) throw new Error('the checksum is known only at the end');
      return { bytes, sha256 };
    },
  };
}
