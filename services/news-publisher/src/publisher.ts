import type { Logger } from '@herald/logger';
import type { NewsControl } from '@herald/news';
import { runCycle, type CycleDeps, type CycleReport } from './cycle.js';
import { LeaseLost, sleepUnless, type Lease, type Leadership } from './leader.js';

/** The next multiple of `intervalMs` since the epoch: cycles stay on the clock, no drift. */
export function nextTick(now: number, intervalMs: number): number {
  return (Math.floor(now / intervalMs) + 1) * intervalMs;
}

// How often the leader looks for /admin news now while it waits.
const CONTROL_POLL_MS = 1_000;

/**
 * Runs news cycles on the clock while this replica leads, and waits as a standby while
 * another does. A cycle that finds its lease gone stops at once; the replica then stands
 * by again. Stopping (SIGTERM) lets the cycle in flight finish, then releases the lock.
 */
export function createPublisher(deps: {
  leadership: Leadership;
  cycle: CycleDeps;
  control: NewsControl;
  logger: Logger;
  intervalMs: number;
}) {
  const { logger, cycle } = deps;
  const role = cycle.config.role;

  async function runOne(lease: Lease, trigger: string): Promise<CycleReport | undefined> {
    const end = cycle.metrics.cycleSeconds.startTimer();
    try {
      const report = await runCycle(cycle, lease);
      cycle.metrics.cycles.inc({ outcome: 'ok' });
      cycle.metrics.lastCycle.set(Date.now() / 1000);
      logger.info({ trigger, epoch: lease.epoch, ...report }, 'news cycle done');
      return report;
    } catch (error) {
      if (error instanceof LeaseLost) {
        cycle.metrics.cycles.inc({ outcome: 'lease_lost' });
        logger.warn(
          { epoch: lease.epoch, reason: error.message },
          'news cycle stopped: no longer the leader',
        );
        return undefined;
      }
      cycle.metrics.cycles.inc({ outcome: 'failed' });
      logger.error(
        { err: error, epoch: lease.epoch },
        'news cycle failed; the next one runs on schedule. If this repeats, check Postgres and the logs above',
      );
      return undefined;
    } finally {
      end();
    }
  }

  /** Resolves at the next tick, on a run request (its requester), or when stopping. */
  async function waitForTurn(lease: Lease, stop: AbortSignal): Promise<string | undefined> {
    const due = nextTick(Date.now(), deps.intervalMs);
    while (!stop.aborted && !lease.lost.aborted) {
      const left = due - Date.now();
      if (left <= 0) return 'schedule';
      const requested = await deps.control.takeRunRequest().catch(() => undefined);
      if (requested) return `admin ${requested}`;
      await sleepUnless(Math.min(left, CONTROL_POLL_MS), stop, lease.lost);
    }
    return undefined;
  }

  return {
    /** Leads or stands by until `stop` aborts. */
    async run(stop: AbortSignal): Promise<void> {
      // The near-duplicate window loads while this replica waits for the lock or its
      // first tick, so neither the first cycle nor a takeover waits for it.
      cycle.stories.warm();
      while (!stop.aborted) {
        const lease = await deps.leadership.campaign(stop);
        if (!lease) return;
        cycle.metrics.leader.set({ role }, 1);
        cycle.metrics.epoch.set({ role }, lease.epoch);
        try {
          for (;;) {
            const trigger = await waitForTurn(lease, stop);
            if (!trigger) break;
            await runOne(lease, trigger);
          }
        } finally {
          cycle.metrics.leader.set({ role }, 0);
          await lease.release();
        }
      }
    },

    /** One cycle as the leader (waiting for the lock if another replica holds it). */
    async once(stop: AbortSignal): Promise<CycleReport | undefined> {
      const lease = await deps.leadership.campaign(stop);
      if (!lease) return undefined;
      cycle.metrics.leader.set({ role }, 1);
      cycle.metrics.epoch.set({ role }, lease.epoch);
      try {
        return await runOne(lease, 'once');
      } finally {
        cycle.metrics.leader.set({ role }, 0);
        await lease.release();
      }
    },
  };
}
