import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import {
  backupName,
  dumpKey,
  listBackups,
  manifestKey,
  type BackupEntry,
  type BackupLocation,
} from '../src/catalog.js';
import { planPruning, pruneBackups } from '../src/retention.js';
import { quietLogger } from './herald-data.js';
import { TEST_BUCKET, startTestStore, writeObject, type TestStore } from './s3.js';

const POLICY = { dailyDays: 30, monthlyMonths: 12 };
const NOW = new Date('2025-06-15T03:17:00Z');

function entry(iso: string, complete = true): BackupEntry {
  const startedAt = new Date(iso);
  const name = backupName(startedAt, false);
  return {
    name,
    key: name,
    manifestKey: `${name}.manifest.json`,
    startedAt,
    bytes: 1,
    encrypted: false,
    complete,
  };
}

/** One backup a day at 03:17 UTC from `from` to `to`, inclusive. */
function daily(from: string, to: string): BackupEntry[] {
  const entries: BackupEntry[] = [];
  for (let time = new Date(`${from}T03:17:00Z`); time <= new Date(`${to}T03:17:00Z`);) {
    entries.push(entry(time.toISOString()));
    time = new Date(time.getTime() + 86_400_000);
  }
  return entries;
}

const kept = (backups: BackupEntry[], policy = POLICY, now = NOW) =>
  planPruning(backups, policy, now).keep.map(
    ({ backup, reason }) => `${backup.startedAt.toISOString().slice(0, 10)} ${reason}`,
  );

describe('pruning by policy', () => {
  it('keeps 30 days of daily copies and the first copy of each month for 12 months', () => {
    // Two years of nightly backups up to today.
    const result = kept(daily('2023-06-01', '2025-06-15'));

    const dailies = result.filter((line) => line.endsWith('daily'));
    expect(dailies[0]).toBe('2025-05-17 daily');
    expect(dailies).toHaveLength(29);
    // June's first copy is still a daily one.
    expect(result).toContain('2025-06-01 daily');
    expect(result.filter((line) => line.endsWith('monthly'))).toEqual([
      '2024-07-01 monthly',
      '2024-08-01 monthly',
      '2024-09-01 monthly',
      '2024-10-01 monthly',
      '2024-11-01 monthly',
      '2024-12-01 monthly',
      '2025-01-01 monthly',
      '2025-02-01 monthly',
      '2025-03-01 monthly',
      '2025-04-01 monthly',
      '2025-05-01 monthly',
    ]);
    expect(result.at(-1)).toBe('2025-06-15 newest');
    expect(result).toHaveLength(29 + 11 + 1);
  });

  it('takes the first backup a month has as its monthly copy, even a late one', () => {
    const backups = [
      entry('2025-01-20T03:17:00Z'),
      entry('2025-01-25T03:17:00Z'),
      entry('2025-03-09T03:17:00Z'),
      entry('2025-03-10T03:17:00Z'),
    ];
    expect(kept(backups)).toEqual([
      '2025-01-20 monthly',
      '2025-03-09 monthly',
      '2025-03-10 newest',
    ]);
  });

  it('never prunes the newest complete backup, even when the policy would', () => {
    const backups = [entry('2024-01-01T03:17:00Z'), entry('2024-02-01T03:17:00Z')];
    expect(kept(backups, { dailyDays: 1, monthlyMonths: 0 })).toEqual(['2024-02-01 newest']);
  });

  it('lets an unfinished backup (no manifest) stand only inside the daily window', () => {
    const backups = [
      entry('2025-05-01T03:17:00Z', false),
      entry('2025-05-02T03:17:00Z'),
      entry('2025-06-14T03:17:00Z', false),
    ];
    expect(kept(backups)).toEqual(['2025-05-02 newest', '2025-06-14 daily']);
  });
});

describe('pruning the store', () => {
  let store: TestStore;
  beforeAll(async () => {
    store = await startTestStore();
  });
  afterAll(async () => {
    await store?.stop();
  });

  it('deletes the dumps and manifests the policy drops and leaves other objects alone', async () => {
    const location: BackupLocation = { bucket: TEST_BUCKET, prefix: 'prune/' };
    const times = [
      '2023-11-02T03:17:00Z', // older than 12 months: goes
      '2024-08-01T03:17:00Z', // first of its month within 12 months: monthly copy
      '2024-08-02T03:17:00Z', // second of that month: goes
      '2025-05-10T03:17:00Z', // first of May: monthly copy
      '2025-05-11T03:17:00Z', // neither: goes
      '2025-06-01T03:17:00Z', // within 30 days
      '2025-06-14T03:17:00Z', // within 30 days, newest
    ];
    for (const time of times) {
      const name = backupName(new Date(time), false);
      await writeObject(store.s3, location, dumpKey(location, name), 'PGDMP');
      await writeObject(store.s3, location, manifestKey(location, name), '{}');
    }
    await writeObject(store.s3, location, 'prune/README.txt', 'not a backup');
    await writeObject(
      store.s3,
      { ...location, prefix: 'other/' },
      'other/herald-2020-01-01T00-00-00Z.dump',
      'x',
    );

    const plan = await pruneBackups({
      s3: store.s3,
      location,
      policy: POLICY,
      now: NOW,
      logger: quietLogger,
    });

    expect(plan.prune.map((backup) => backup.startedAt.toISOString())).toEqual([
      '2023-11-02T03:17:00.000Z',
      '2024-08-02T03:17:00.000Z',
      '2025-05-11T03:17:00.000Z',
    ]);
    const left = await listBackups(store.s3, location);
    expect(left.map((backup) => [backup.startedAt.toISOString(), backup.complete])).toEqual([
      ['2024-08-01T03:17:00.000Z', true],
      ['2025-05-10T03:17:00.000Z', true],
      ['2025-06-01T03:17:00.000Z', true],
      ['2025-06-14T03:17:00.000Z', true],
    ]);
    const all = await store.s3.send(new ListObjectsV2Command({ Bucket: TEST_BUCKET }));
    expect((all.Contents ?? []).map((object) => object.Key).sort()).toEqual(
      [
        'other/herald-2020-01-01T00-00-00Z.dump',
        'prune/README.txt',
        ...left.flatMap((backup) => [backup.key, backup.manifestKey]),
      ].sort(),
    );
  });
});
