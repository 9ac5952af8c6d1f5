import { sources, type Database } from '@herald/db';
import { createNewsControl } from '@herald/news';
import type { StateStore } from '@herald/redis';
import { asc } from 'drizzle-orm';

/** A news source's health as the publisher recorded it. */
export interface SourceHealth {
  id: string;
  url: string;
  enabled: boolean;
  lastFetchedAt: Date | null;
  lastSuccessAt: Date | null;
  consecutiveFailures: number;
  backoffUntil: Date | null;
  lastError: string | null;
}

/** What /admin news does: pause, resume and run the publisher, and show its sources. */
export interface NewsAdmin {
  pause(by: string): Promise<void>;
  resume(): Promise<void>;
  pausedBy(): Promise<string | undefined>;
  runNow(by: string): Promise<void>;
  sources(): Promise<SourceHealth[]>;
}

export function createNewsAdmin(deps: { db: Database; store: StateStore }): NewsAdmin {
  const control = createNewsControl(deps.store);
  return {
    pause: (by) => control.pause(by),
    resume: () => control.resume(),
    pausedBy: () => control.pausedBy(),
    runNow: (by) => control.requestRun(by),
    sources: () =>
      deps.db
        .select({
          id: sources.id,
          url: sources.url,
          enabled: sources.enabled,
          lastFetchedAt: sources.lastFetchedAt,
          lastSuccessAt: sources.lastSuccessAt,
          consecutiveFailures: sources.consecutiveFailures,
          backoffUntil: sources.backoffUntil,
          lastError: sources.lastError,
        })
        .from(sources)
        .orderBy(asc(sources.id)),
  };
}
