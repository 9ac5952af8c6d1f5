import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { Logger } from '@herald/logger';
import type { StateStore } from '@herald/redis';
import type pg from 'pg';
import Redlock, { ExecutionError, type Lock } from 'redlock';

/** Thrown where a leader finds it is no longer the leader; it must stop at once. */
export class LeaseLost extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LeaseLost';
  }
}

/** Leadership held by this process: its fencing epoch and how to tell it is still valid. */
export interface Lease {
  readonly epoch: number;
  readonly holder: string;
  /** Aborted as soon as the lease is known to be lost. */
  readonly lost: AbortSignal;
  /** Throws LeaseLost unless the lock is certainly still held (checked on the local clock). */
  assertHeld(): void;
  /** Stops extending and releases the lock, so a standby takes over at once. */
  release(): Promise<void>;
}

export interface LeadershipOptions {
  store: StateStore;
  pool: pg.Pool;
  logger: Logger;
  /** What is led; one lock and one epoch sequence per role. */
  role: string;
  /** Lock time to live; the lock is extended at a third of it. */
  ttlMs: number;
  /** How often a standby tries to take the lock. */
  retryMs?: number;
  onChange?: (leading: boolean, epoch: number) => void;
}

/**
 * Takes the next fencing epoch of `role` in Postgres. FOR UPDATE on the newest epoch
 * waits for any post claim still checking that epoch (they hold it FOR SHARE), so once
 * this commits no claim under an older epoch can commit.
 */
export async function takeEpoch(pool: pg.Pool, role: string, holder: string): Promise<number> {
  for (let attempt = 0; ; attempt += 1) {
    const client = await pool.connect();
    try {
      await client.query('BEGIN');
      const newest = await client.query<{ epoch: string }>(
        'SELECT epoch FROM leader_epochs WHERE role = $1 ORDER BY epoch DESC LIMIT 1 FOR UPDATE',
        [role],
      );
      const epoch = Number(newest.rows[0]?.epoch ?? 0) + 1;
      await client.query('INSERT INTO leader_epochs (role, epoch, holder) VALUES ($1, $2, $3)', [
        role,
        epoch,
        holder,
      ]);
      await client.query('COMMIT');
      return epoch;
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      // Two first leaders at once collide on the primary key; the loser takes the next.
      if ((error as { code?: string }).code === '23505' && attempt < 5) continue;
      throw error;
    } finally {
      client.release();
    }
  }
}

/** The newest epoch of `role`, or 0. */
export async function currentEpoch(pool: pg.Pool, role: string): Promise<number> {
  const result = await pool.query<{ epoch: string | null }>(
    'SELECT max(epoch) AS epoch FROM leader_epochs WHERE role = $1',
    [role],
  );
  return Number(result.rows[0]?.epoch ?? 0);
}

/** Resolves after `ms`, or as soon as one of `signals` aborts. */
export const sleepUnless = (ms: number, ...signals: AbortSignal[]) =>
  new Promise<void>((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      for (const signal of signals) signal.removeEventListener('abort', done);
      resolve();
    }
    for (const signal of signals) signal.addEventListener('abort', done, { once: true });
  });

/**
 * One leader among the replicas: a redlock lock on Redis, extended automatically at a
 * third of its TTL, and a fencing epoch in Postgres per term. Without Redis (local mode,
 * one process) the process leads alone but still takes epochs.
 */
export function createLeadership(options: LeadershipOptions) {
  const holder = `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
  const retryMs = options.retryMs ?? Math.max(250, Math.floor(options.ttlMs / 5));
  const resource = `leader:${options.role}`;
  const { logger } = options;
  // A margin for clock drift between this process and Redis, as redlock counts it.
  const driftMs = Math.round(options.ttlMs * 0.01) + 2;
  const redlock =
    options.store.kind === 'redis'
      ? new Redlock([options.store.redis], { retryCount: 0, driftFactor: 0.01 })
      : undefined;
  // Without listeners redlock would re-emit a failed extension as an uncaught 'error'.
  redlock?.on('error', () => undefined);

  async function lease(lock: Lock | undefined): Promise<Lease> {
    let epoch: number;
    try {
      epoch = await takeEpoch(options.pool, options.role, holder);
    } catch (error) {
      await lock?.release().catch(() => undefined);
      throw error;
    }
    const controller = new AbortController();
    let current = lock;
    let timer: NodeJS.Timeout | undefined;
    let released = false;
    const lose = (reason: string) => {
      if (controller.signal.aborted) return;
      clearTimeout(timer);
      controller.abort(new LeaseLost(reason));
      options.onChange?.(false, epoch);
      if (!released)
        logger.error(
          { role: options.role, epoch },
          `lost the ${options.role} leadership (${reason}); stopping at once and waiting as a standby`,
        );
    };
    const schedule = () => {
      if (!current) return;
      timer = setTimeout(() => void extend(), Math.max(0, (current.expiration - Date.now()) / 3));
    };
    async function extend() {
      if (!current || controller.signal.aborted) return;
      try {
        current = await current.extend(options.ttlMs);
        schedule();
      } catch (error) {
        if (current.expiration - driftMs > Date.now()) {
          logger.warn(
            { err: error, role: options.role, epoch },
            'could not extend the leader lock; retrying while it is still valid (is Redis up?)',
          );
          timer = setTimeout(() => void extend(), Math.min(retryMs, 500));
          return;
        }
        lose('the lock expired before it could be extended');
      }
    }
    schedule();
    options.onChange?.(true, epoch);
    logger.info({ role: options.role, epoch, holder }, `leading ${options.role} as epoch ${epoch}`);
    return {
      epoch,
      holder,
      lost: controller.signal,
      assertHeld() {
        if (controller.signal.aborted) throw controller.signal.reason as LeaseLost;
        if (current && current.expiration - driftMs <= Date.now()) {
          lose('the lock outlived its TTL without an extension (was the process paused?)');
          throw controller.signal.reason as LeaseLost;
        }
      },
      async release() {
        released = true;
        clearTimeout(timer);
        if (!controller.signal.aborted) {
          controller.abort(new LeaseLost('released'));
          options.onChange?.(false, epoch);
        }
        await current?.release().catch(() => undefined);
      },
    };
  }

  return {
    holder,
    /**
     * Waits as a standby until this process takes the lock (or `signal` aborts: then
     * undefined), and returns its lease under a new epoch.
     */
    async campaign(signal: AbortSignal): Promise<Lease | undefined> {
      if (!redlock) return signal.aborted ? undefined : lease(undefined);
      let waiting = false;
      while (!signal.aborted) {
        try {
          const lock = await redlock.acquire([resource], options.ttlMs);
          return await lease(lock);
        } catch (error) {
          if (!waiting) {
            const taken = error instanceof ExecutionError;
            logger.info(
              { role: options.role, err: taken ? undefined : error },
              taken
                ? `another replica holds the ${options.role} lock (or Redis did not answer); standing by`
                : `could not take the ${options.role} leadership (the Redis lock or the Postgres epoch); retrying. Check that Redis and Postgres are up and migrated`,
            );
            waiting = taken;
          }
        }
        await sleepUnless(retryMs, signal);
      }
      return undefined;
    },
  };
}

export type Leadership = ReturnType<typeof createLeadership>;
