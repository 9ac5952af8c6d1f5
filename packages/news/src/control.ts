import type { StateStore } from '@herald/redis';

/**
 * What Telegram admins ask of the news publisher (/admin news pause|resume|now), shared
 * between the user-handler that hears the command and the publisher that obeys it: Redis
 * keys in production, this process's memory in local mode.
 */
export interface NewsControl {
  pause(by: string): Promise<void>;
  resume(): Promise<void>;
  /** Who paused it, or undefined when it runs. */
  pausedBy(): Promise<string | undefined>;
  /** Asks the leader for a cycle now, outside the schedule. */
  requestRun(by: string): Promise<void>;
  /** Takes the pending run request, if any (each request runs one cycle). */
  takeRunRequest(): Promise<string | undefined>;
}

const PAUSED = 'news:paused';
const RUN_NOW = 'news:run-now';
// A run request nobody took within a day is stale: the publisher was down.
const RUN_REQUEST_TTL_S = 86_400;

// One in-process control per store: in local mode the bot that hears /admin news and the
// publisher that obeys it each ask for a control, and must get the same one.
const inProcess = new WeakMap<StateStore, NewsControl>();

/** The news control kept in `store`: Redis keys, or for an in-process store one shared object. */
export function createNewsControl(store: StateStore): NewsControl {
  if (store.kind === 'redis') {
    const { redis } = store;
    return {
      pause: async (by) => void (await redis.set(PAUSED, by)),
      resume: async () => void (await redis.del(PAUSED)),
      pausedBy: async () => (await redis.get(PAUSED)) ?? undefined,
      requestRun: async (by) => void (await redis.set(RUN_NOW, by, 'EX', RUN_REQUEST_TTL_S)),
      takeRunRequest: async () => (await redis.getdel(RUN_NOW)) ?? undefined,
    };
  }
  const existing = inProcess.get(store);
  if (existing) return existing;
  let paused: string | undefined;
  let runRequest: string | undefined;
  const control: NewsControl = {
    pause: async (by) => void (paused = by),
    resume: async () => void (paused = undefined),
    pausedBy: async () => paused,
    requestRun: async (by) => void (runRequest = by),
    takeRunRequest: async () => {
      const taken = runRequest;
      runRequest = undefined;
      return taken;
    },
  };
  inProcess.set(store, control);
  return control;
}
