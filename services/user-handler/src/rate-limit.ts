import { Counter, type Registry } from '@herald/ops';
import type { StateStore } from '@herald/redis';

export interface RateLimits {
  /** Messages one user may send per minute (also the burst they may send at once). */
  perUserPerMinute: number;
  /** Messages all users together may send per minute. */
  globalPerMinute: number;
}

export type RateDecision =
  | { allowed: true }
  | {
      allowed: false;
      scope: 'user' | 'global';
      retryAfterSeconds: number;
      /** True once per wait: tell the user then, and stay quiet for the repeats. */
      notify: boolean;
    };

export interface RateLimiter {
  take(userId: number): Promise<RateDecision>;
  /** Deletes what the limiter keeps about a user (/forget). */
  forget(userId: number): Promise<void>;
}

// Two token buckets, the user's and everyone's, checked and spent in one atomic step:
// a message spends from both or from neither. Time comes from Redis, so pods with skewed
// clocks agree. Returns {allowed, scope (1 user, 2 global), wait ms, notify}.
const TAKE = `
local now_parts = redis.call('TIME')
local now = now_parts[1] * 1000 + math.floor(now_parts[2] / 1000)
local function level(key, capacity, per_ms)
  local stored = redis.call('HMGET', key, 'tokens', 'at')
  local tokens = tonumber(stored[1]) or capacity
  local at = tonumber(stored[2]) or now
  return math.min(capacity, tokens + math.max(0, now - at) * per_ms)
end
local user_cap, global_cap = tonumber(ARGV[1]), tonumber(ARGV[2])
local user_rate, global_rate = user_cap / 60000, global_cap / 60000
local user = level(KEYS[1], user_cap, user_rate)
local all = level(KEYS[2], global_cap, global_rate)
if user >= 1 and all >= 1 then
  redis.call('HSET', KEYS[1], 'tokens', user - 1, 'at', now)
  redis.call('PEXPIRE', KEYS[1], 120000)
  redis.call('HSET', KEYS[2], 'tokens', all - 1, 'at', now)
  redis.call('PEXPIRE', KEYS[2], 120000)
  return {1, 0, 0, 0}
end
local scope, wait = 1, math.ceil((1 - user) / user_rate)
if user >= 1 then scope, wait = 2, math.ceil((1 - all) / global_rate) end
local told = redis.call('SET', KEYS[3], '1', 'NX', 'PX', math.max(wait, 1))
return {0, scope, wait, told and 1 or 0}`;

const userKey = (userId: number) => `ratelimit:user:${userId}`;
const toldKey = (userId: number) => `ratelimit:told:${userId}`;
const GLOBAL_KEY = 'ratelimit:global';

/** Per-user and global message limits, shared by every pod through Redis. */
export function createRateLimiter(deps: {
  store: StateStore;
  limits: RateLimits;
  registry: Registry;
  now?: () => number;
}): RateLimiter {
  const limited = new Counter({
    name: 'herald_rate_limited_total',
    help: 'Updates refused by a rate limit, by scope: user or global',
    labelNames: ['scope'],
    registers: [deps.registry],
  });
  const { perUserPerMinute, globalPerMinute } = deps.limits;
  const count = (decision: RateDecision): RateDecision => {
    if (!decision.allowed) limited.inc({ scope: decision.scope });
    return decision;
  };

  if (deps.store.kind === 'redis') {
    const redis = deps.store.redis;
    redis.defineCommand('heraldRateTake', { numberOfKeys: 3, lua: TAKE });
    const take = (
      redis as unknown as {
        heraldRateTake(...args: (string | number)[]): Promise<[number, number, number, number]>;
      }
    ).heraldRateTake.bind(redis);
    return {
      async take(userId) {
        const [allowed, scope, waitMs, notify] = await take(
          userKey(userId),
          GLOBAL_KEY,
          toldKey(userId),
          perUserPerMinute,
          globalPerMinute,
        );
        if (allowed === 1) return { allowed: true };
        return count({
          allowed: false,
          scope: scope === 1 ? 'user' : 'global',
          retryAfterSeconds: Math.max(1, Math.ceil(waitMs / 1000)),
          notify: notify === 1,
        });
      },
      async forget(userId) {
        await redis.del(userKey(userId), toldKey(userId));
      },
    };
  }

  // Local mode: the same buckets in this process.
  const now = deps.now ?? Date.now;
  const buckets = new Map<string, { tokens: number; at: number }>();
  const toldUntil = new Map<number, number>();
  const level = (key: string, capacity: number) => {
    const bucket = buckets.get(key) ?? { tokens: capacity, at: now() };
    bucket.tokens = Math.min(capacity, bucket.tokens + ((now() - bucket.at) * capacity) / 60_000);
    bucket.at = now();
    buckets.set(key, bucket);
    return bucket;
  };
  return {
    take(userId) {
      const user = level(userKey(userId), perUserPerMinute);
      const all = level(GLOBAL_KEY, globalPerMinute);
      if (user.tokens >= 1 && all.tokens >= 1) {
        user.tokens -= 1;
        all.tokens -= 1;
        return Promise.resolve({ allowed: true });
      }
      const scope = user.tokens >= 1 ? 'global' : 'user';
      const [tokens, capacity] =
        scope === 'user' ? [user.tokens, perUserPerMinute] : [all.tokens, globalPerMinute];
      const waitMs = Math.ceil(((1 - tokens) * 60_000) / capacity);
      const notify = (toldUntil.get(userId) ?? 0) <= now();
      if (notify) toldUntil.set(userId, now() + waitMs);
      return Promise.resolve(
        count({
          allowed: false,
          scope,
          retryAfterSeconds: Math.max(1, Math.ceil(waitMs / 1000)),
          notify,
        }),
      );
    },
    forget(userId) {
      buckets.delete(userKey(userId));
      toldUntil.delete(userId);
      return Promise.resolve();
    },
  };
}
