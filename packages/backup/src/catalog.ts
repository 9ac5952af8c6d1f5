import {
  GetObjectCommand,
  ListObjectsV2Command,
  NoSuchKey,
  PutObjectCommand,
  S3Client,
  type ListObjectsV2CommandOutput,
} from '@aws-sdk/client-s3';

// Where backups live and what they are called. Each backup is two objects under the
// prefix of BACKUP_S3_URL: the dump, named by the UTC time it was started,
//   herald-2025-01-31T03-17-00Z.dump        (or .dump.enc when encrypted)
// and its manifest beside it, written last, so a dump without one did not finish:
//   herald-2025-01-31T03-17-00Z.dump.manifest.json

/** A bucket and a key prefix ('' or ending in '/'), from `s3://bucket/prefix`. */
export interface BackupLocation {
  readonly bucket: string;
  readonly prefix: string;
}

const S3_URL = /^s3:\/\/([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])(?:\/(.*))?$/;

/** Reads `s3://bucket/prefix`; undefined when it is not such a URL. */
export function parseBackupUrl(url: string): BackupLocation | undefined {
  const match = S3_URL.exec(url.trim());
  if (!match) return undefined;
  const path = (match[2] ?? '').replace(/^\/+|\/+$/g, '');
  return { bucket: match[1]!, prefix: path === '' ? '' : `${path}/` };
}

const NAME = /^herald-(\d{4}-\d{2}-\d{2})T(\d{2})-(\d{2})-(\d{2})Z\.dump(\.enc)?$/;
const MANIFEST_SUFFIX = '.manifest.json';

/** The name of a backup started at `startedAt`. */
export function backupName(startedAt: Date, encrypted: boolean): string {
  const stamp = startedAt
    .toISOString()
    .replace(/\.\d{3}Z$/, 'Z')
    .replace(/:/g, '-');
  return `herald-${stamp}.dump${encrypted ? '.enc' : ''}`;
}

/** When the backup called `name` was started, or undefined for a name not ours. */
export function backupTime(name: string): Date | undefined {
  const match = NAME.exec(name);
  if (!match) return undefined;
  const time = new Date(`${match[1]}T${match[2]}:${match[3]}:${match[4]}Z`);
  return Number.isNaN(time.getTime()) ? undefined : time;
}

/** What a backup's manifest records; written after the dump is stored whole. */
export interface BackupManifest {
  readonly name: string;
  /** When the dump started (ISO 8601, UTC). */
  readonly startedAt: string;
  /** Size of the stored object, in bytes (after encryption when encrypted). */
  readonly bytes: number;
  /** SHA-256 of the stored object, hex: `aws s3 cp s3://… - | sha256sum` gives the same. */
  readonly sha256: string;
  readonly durationSeconds: number;
  readonly format: 'pg_dump-custom';
  readonly encryption: { readonly algorithm: string; readonly keyId: string } | null;
  readonly database: string;
  readonly serverVersion: string;
  readonly pgDumpVersion: string;
}

/** One backup found under the prefix. */
export interface BackupEntry {
  readonly name: string;
  readonly key: string;
  readonly manifestKey: string;
  readonly startedAt: Date;
  /** Size of the dump object as listed. */
  readonly bytes: number;
  readonly encrypted: boolean;
  /** False when the manifest is missing: the run that wrote the dump did not finish. */
  readonly complete: boolean;
}

/** The object key of a backup's dump. */
export function dumpKey(location: BackupLocation, name: string): string {
  return `${location.prefix}${name}`;
}

/** The object key of a backup's manifest. */
export function manifestKey(location: BackupLocation, name: string): string {
  return `${location.prefix}${name}${MANIFEST_SUFFIX}`;
}

/** Settings of the S3 client; credentials come from the Secret through the environment. */
export interface S3Settings {
  region: string;
  /** For stores other than AWS (MinIO, Ceph, R2…); path-style addressing is used then. */
  endpoint?: string;
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

/** An S3 client for AWS or, with `endpoint`, any S3-compatible store. */
export function createS3Client(settings: S3Settings): S3Client {
  return new S3Client({
    region: settings.region,
    credentials: {
      accessKeyId: settings.accessKeyId,
      secretAccessKey: settings.secretAccessKey,
      ...(settings.sessionToken ? { sessionToken: settings.sessionToken } : {}),
    },
    ...(settings.endpoint
      ? {
          endpoint: settings.endpoint,
          forcePathStyle: true,
          // Many S3-compatible stores reject the CRC32 trailers the SDK adds by default
          // since early 2025; the backup's own SHA-256 in the manifest covers integrity.
          requestChecksumCalculation: 'WHEN_REQUIRED' as const,
          responseChecksumValidation: 'WHEN_REQUIRED' as const,
        }
      : {}),
  });
}

/**
 * Every backup under the location, oldest first. Objects whose names are not backup
 * names are ignored, so the prefix may be shared with other files.
 */
export async function listBackups(s3: S3Client, location: BackupLocation): Promise<BackupEntry[]> {
  const dumps = new Map<string, { key: string; bytes: number }>();
  const manifests = new Set<string>();
  let continuationToken: string | undefined;
  do {
    const page: ListObjectsV2CommandOutput = await s3.send(
      new ListObjectsV2Command({
        Bucket: location.bucket,
        Prefix: location.prefix,
        Delimiter: '/',
        ContinuationToken: continuationToken,
      }),
    );
    for (const object of page.Contents ?? []) {
      if (!object.Key) continue;
      const name = object.Key.slice(location.prefix.length);
      if (name.endsWith(MANIFEST_SUFFIX)) manifests.add(name.slice(0, -MANIFEST_SUFFIX.length));
      else if (backupTime(name)) dumps.set(name, { key: object.Key, bytes: object.Size ?? 0 });
    }
    continuationToken = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (continuationToken);

  return [...dumps.entries()]
    .map(([name, { key, bytes }]) => ({
      name,
      key,
      manifestKey: manifestKey(location, name),
      startedAt: backupTime(name)!,
      bytes,
      encrypted: name.endsWith('.enc'),
      complete: manifests.has(name),
    }))
    .sort((a, b) => a.startedAt.getTime() - b.startedAt.getTime() || a.name.localeCompare(b.name));
}

/** Reads a backup's manifest; undefined when it has none. */
export async function readManifest(
  s3: S3Client,
  location: BackupLocation,
  name: string,
): Promise<BackupManifest | undefined> {
  try {
    const object = await s3.send(
      new GetObjectCommand({ Bucket: location.bucket, Key: manifestKey(location, name) }),
    );
    const text = await object.Body!.transformToString('utf8');
    return JSON.parse(text) as BackupManifest;
  } catch (error) {
    if (error instanceof NoSuchKey || (error as { name?: string }).name === 'NoSuchKey') {
      return undefined;
    }
    throw error;
  }
}

/** Stores a backup's manifest beside its dump. */
export async function writeManifest(
  s3: S3Client,
  location: BackupLocation,
  manifest: BackupManifest,
): Promise<void> {
  await s3.send(
    new PutObjectCommand({
      Bucket: location.bucket,
      Key: manifestKey(location, manifest.name),
      Body: `${JSON.stringify(manifest, null, 2)}\n`,
      ContentType: 'application/json',
    }),
  );
}
