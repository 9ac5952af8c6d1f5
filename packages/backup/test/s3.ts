// A real S3 API on loopback (s3rver, files in a temporary folder), reached with the same
// client settings as any S3-compatible store: an endpoint and path-style addressing.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import S3rver from 's3rver';
import { createS3Client, type BackupLocation } from '../src/catalog.js';

/** s3rver accepts any signature; these keys only make the client sign its requests. */
export const TEST_ACCESS_KEY_ID = 'S3RVER';
export const TEST_SECRET_ACCESS_KEY = 'S3RVER';
export const TEST_REGION = 'us-east-1';
export const TEST_BUCKET = 'herald-backups';

export interface TestStore {
  readonly endpoint: string;
  readonly s3: S3Client;
  stop(): Promise<void>;
}

/** Starts an S3 server on 127.0.0.1 with the bucket {@link TEST_BUCKET}. */
export async function startTestStore(): Promise<TestStore> {
  const directory = await mkdtemp(join(tmpdir(), 'herald-backup-s3-'));
  const server = new S3rver({
    address: '127.0.0.1',
    port: 0,
    silent: true,
    directory,
    configureBuckets: [{ name: TEST_BUCKET }],
  });
  const { port } = await server.run();
  const endpoint = `http://127.0.0.1:${port}`;
  const s3 = createS3Client({
    region: TEST_REGION,
    endpoint,
    accessKeyId: TEST_ACCESS_KEY_ID,
    secretAccessKey: TEST_SECRET_ACCESS_KEY,
  });
  return {
    endpoint,
    s3,
    async stop() {
      s3.destroy();
      await server.close();
      await rm(directory, { recursive: true, force: true });
    },
  };
}

/** The whole content of an object. */
export async function readObject(
  s3: S3Client,
  location: BackupLocation,
  key: string,
): Promise<Buffer> {
  const object = await s3.send(new GetObjectCommand({ Bucket: location.bucket, Key: key }));
  return Buffer.from(await object.Body!.transformToByteArray());
}

/** Stores `body` at `key`, replacing what was there. */
export async function writeObject(
  s3: S3Client,
  location: BackupLocation,
  key: string,
  body: Buffer | string,
): Promise<void> {
  await s3.send(new PutObjectCommand({ Bucket: location.bucket, Key: key, Body: body }));
}
