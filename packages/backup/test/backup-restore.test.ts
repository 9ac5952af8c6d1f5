import { createHash, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { freePort } from '@herald/testing';
import pg from 'pg';
import { runBackup } from '../src/backup.js';
import { createS3Client, dumpKey, listBackups, type BackupLocation } from '../src/catalog.js';
import { encryptionKeyId } from '../src/encryption.js';
import { postgresTools, type PostgresTools } from '../src/postgres-tools.js';
import { restoreBackup } from '../src/restore.js';
import { fillHeraldData, quietLogger, rowCounts, snapshot } from './herald-data.js';
import { startDumpablePostgres, type DumpablePostgres, type TestDatabase } from './postgres.js';
import { TEST_BUCKET, readObject, startTestStore, writeObject, type TestStore } from './s3.js';

let postgres: DumpablePostgres;
let store: TestStore;
let tools: PostgresTools;
/** A small Herald database, filled once, backed up by several tests. */
let source: TestDatabase;
let sourceData: Record<string, string[]>;
const databases: TestDatabase[] = [];

const locationFor = (prefix: string): BackupLocation => ({
  bucket: TEST_BUCKET,
  prefix: `${prefix}-${randomBytes(3).toString('hex')}/`,
});

async function newDatabase(): Promise<TestDatabase> {
  const database = await postgres.createDatabase();
  databases.push(database);
  return database;
}

async function tableCount(url: string): Promise<number> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const result = await client.query<{ count: string }>(
      "SELECT count(*) AS count FROM pg_tables WHERE schemaname NOT IN ('pg_catalog', 'information_schema')",
    );
    return Number(result.rows[0]!.count);
  } finally {
    await client.end();
  }
}

beforeAll(async () => {
  [postgres, store] = await Promise.all([startDumpablePostgres(), startTestStore()]);
  tools = postgresTools(postgres.binDir);
  source = await newDatabase();
  await fillHeraldData(source.url);
  sourceData = await snapshot(source.url);
});

afterAll(async () => {
  for (const database of databases) await database.drop().catch(() => undefined);
  await Promise.all([postgres?.stop(), store?.stop()]);
});

describe('backup and restore', () => {
  it('restores every row of every Herald table from a backup streamed to the store in parts', async () => {
    // Incompressible article text makes the dump span two 5 MiB parts.
    const large = await newDatabase();
    await fillHeraldData(large.url, { bulkBytes: 7 * 1024 * 1024 });
    const largeData = await snapshot(large.url);
    const location = locationFor('round-trip');
    const commands: string[] = [];
    store.s3.middlewareStack.add(
      (next, context) => (args) => {
        commands.push(context.commandName ?? '');
        return next(args);
      },
      { step: 'initialize', name: 'recordCommands' },
    );

    const backup = await runBackup({
      s3: store.s3,
      location,
      databaseUrl: large.url,
      tools,
      logger: quietLogger,
      partBytes: 5 * 1024 * 1024,
    });

    const stored = await readObject(store.s3, location, backup.key);
    expect(stored.length).toBeGreaterThan(5 * 1024 * 1024);
    expect(backup.manifest.bytes).toBe(stored.length);
    expect(backup.manifest.sha256).toBe(createHash('sha256').update(stored).digest('hex'));
    expect(stored.subarray(0, 5).toString('latin1')).toBe('PGDMP');
    store.s3.middlewareStack.remove('recordCommands');
    expect(commands.filter((name) => name !== 'GetObjectCommand')).toEqual([
      'CreateMultipartUploadCommand',
      'UploadPartCommand',
      'UploadPartCommand',
      'CompleteMultipartUploadCommand',
      'PutObjectCommand',
    ]);
    expect(await listBackups(store.s3, location)).toEqual([
      expect.objectContaining({ name: backup.name, complete: true, bytes: stored.length }),
    ]);

    const target = await newDatabase();
    const report = await restoreBackup(
      { s3: store.s3, location, tools, logger: quietLogger },
      { name: backup.name, targetUrl: target.url, mode: 'empty-only' },
    );

    expect(await snapshot(target.url)).toEqual(largeData);
    const counts = rowCounts(largeData);
    expect(Object.fromEntries(report.tables.map((t) => [`public.${t.table}`, t.rows]))).toEqual(
      Object.fromEntries(Object.entries(counts).filter(([table]) => table.startsWith('public.'))),
    );
    expect(report.migrationsApplied).toBe(0);
  });

  it('refuses to restore into a database that holds tables, and leaves it as it was', async () => {
    const location = locationFor('refuse');
    const backup = await runBackup({
      s3: store.s3,
      location,
      databaseUrl: source.url,
      tools,
      logger: quietLogger,
    });

    await expect(
      restoreBackup(
        { s3: store.s3, location, tools, logger: quietLogger },
        { name: backup.name, targetUrl: source.url, mode: 'empty-only' },
      ),
    ).rejects.toThrow(/target database is not empty .*--clean.*--force/);
    expect(await snapshot(source.url)).toEqual(sourceData);
  });

  it('with --clean, puts back the backup in a database that changed since', async () => {
    const location = locationFor('clean');
    const changed = await newDatabase();
    await fillHeraldData(changed.url);
    const before = await snapshot(changed.url);
    const backup = await runBackup({
      s3: store.s3,
      location,
      databaseUrl: changed.url,
      tools,
      logger: quietLogger,
    });
    const client = new pg.Client({ connectionString: changed.url });
    await client.connect();
    await client.query('DELETE FROM conversation_messages WHERE id % 2 = 0');
    await client.query("INSERT INTO users (id, username) VALUES (99, 'after-the-backup')");
    await client.end();

    await restoreBackup(
      { s3: store.s3, location, tools, logger: quietLogger },
      { name: 'latest', targetUrl: changed.url, mode: 'clean' },
    );

    expect(await snapshot(changed.url)).toEqual(before);
    expect(backup.name).toMatch(/^herald-\d{4}-\d{2}-\d{2}T\d{2}-\d{2}-\d{2}Z\.dump$/);
  });

  it('encrypts a backup so that it restores only with its key, and names the key a restore needs', async () => {
    const location = locationFor('encrypted');
    const key = randomBytes(32);
    const otherKey = randomBytes(32);
    const backup = await runBackup({
      s3: store.s3,
      location,
      databaseUrl: source.url,
      tools,
      encryptionKey: key,
      logger: quietLogger,
    });
    expect(backup.name).toMatch(/\.dump\.enc$/);
    const stored = await readObject(store.s3, location, backup.key);
    expect(stored.subarray(0, 8).toString('latin1')).toBe('HRLDBKUP');
    expect(stored.includes(Buffer.from('PGDMP'))).toBe(false);
    expect(backup.manifest.encryption).toEqual({
      algorithm: expect.any(String),
      keyId: encryptionKeyId(key),
    });

    const target = await newDatabase();
    const deps = { s3: store.s3, location, tools, logger: quietLogger };
    await expect(
      restoreBackup(
        { ...deps, encryptionKey: otherKey },
        { name: backup.name, targetUrl: target.url, mode: 'empty-only' },
      ),
    ).rejects.toThrow(
      `encrypted with key id ${encryptionKeyId(key)}, but BACKUP_ENCRYPTION_KEY has key id ${encryptionKeyId(otherKey)}`,
    );
    await expect(
      restoreBackup(deps, { name: backup.name, targetUrl: target.url, mode: 'empty-only' }),
    ).rejects.toThrow(/is encrypted: set BACKUP_ENCRYPTION_KEY/);
    expect(await tableCount(target.url)).toBe(0);

    await restoreBackup(
      { ...deps, encryptionKey: key },
      { name: backup.name, targetUrl: target.url, mode: 'empty-only' },
    );
    expect(await snapshot(target.url)).toEqual(sourceData);
  });

  it('refuses a backup damaged in the store and restores nothing from it', async () => {
    const location = locationFor('damaged');
    const backup = await runBackup({
      s3: store.s3,
      location,
      databaseUrl: source.url,
      tools,
      logger: quietLogger,
    });
    const stored = await readObject(store.s3, location, backup.key);
    const damaged = Buffer.from(stored);
    damaged.writeUInt8(damaged.readUInt8(damaged.length - 3) ^ 0xff, damaged.length - 3);
    await writeObject(store.s3, location, dumpKey(location, backup.name), damaged);

    const target = await newDatabase();
    await expect(
      restoreBackup(
        { s3: store.s3, location, tools, logger: quietLogger },
        { name: backup.name, targetUrl: target.url, mode: 'empty-only' },
      ),
    ).rejects.toThrow(/is damaged: .*Choose another backup; nothing was restored/);
    expect(await tableCount(target.url)).toBe(0);
  });

  it('fails with the connection error when the store cannot be reached', async () => {
    const closedPort = await freePort();
    const unreachable = createS3Client({
      region: 'us-east-1',
      endpoint: `http://127.0.0.1:${closedPort}`,
      accessKeyId: 'key',
      secretAccessKey: 'secret',
    });
    try {
      await expect(
        runBackup({
          s3: unreachable,
          location: locationFor('unreachable'),
          databaseUrl: source.url,
          tools,
          logger: quietLogger,
        }),
      ).rejects.toThrow(/ECONNREFUSED/);
    } finally {
      unreachable.destroy();
    }
  });

  it('stores nothing when pg_dump fails partway through the dump', async () => {
    const location = locationFor('failed');
    const database = await newDatabase();
    await fillHeraldData(database.url);
    // A role that reads every table, but `users` (dumped last) has row-level security:
    // pg_dump writes the other tables, then stops with an error on that one.
    const role = `reader_${randomBytes(4).toString('hex')}`;
    const password = randomBytes(8).toString('hex');
    const admin = new pg.Client({ connectionString: database.url });
    await admin.connect();
    await admin.query(`CREATE ROLE ${role} LOGIN PASSWORD '${password}'`);
    for (const schema of ['public', 'drizzle']) {
      await admin.query(`GRANT USAGE ON SCHEMA ${schema} TO ${role}`);
      await admin.query(`GRANT SELECT ON ALL TABLES IN SCHEMA ${schema} TO ${role}`);
      await admin.query(`GRANT SELECT ON ALL SEQUENCES IN SCHEMA ${schema} TO ${role}`);
    }
    await admin.query('ALTER TABLE users ENABLE ROW LEVEL SECURITY');
    await admin.query('CREATE POLICY own_rows ON users USING (id = 0)');
    const url = new URL(database.url);
    url.username = role;
    url.password = password;

    try {
      await expect(
        runBackup({
          s3: store.s3,
          location,
          databaseUrl: url.toString(),
          tools,
          logger: quietLogger,
        }),
      ).rejects.toThrow(
        /pg_dump failed \(exit code 1\): .*row-level security policy for table "users"/,
      );
      expect(await listBackups(store.s3, location)).toEqual([]);
    } finally {
      await admin.query(`DROP OWNED BY ${role}`);
      await admin.query(`DROP ROLE ${role}`);
      await admin.end();
    }
  });
});
