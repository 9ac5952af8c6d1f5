import { maskUrlPasswords, type Logger } from '@herald/logger';
import { Redis, type RedisOptions } from 'ioredis';

export { Redis };

export interface RedisConfig {
  url: string;
  logger: Logger;
  /** Prepended to every key, so several Herald installs can share one Redis. */
  keyPrefix?: string;
  /** Connection name shown by CLIENT LIST. */
  connectionName?: string;
  /**
   * Longest wait for any one command, in ms. Set `undefined` for a connection that runs
   * blocking reads (XREADGROUP BLOCK), whose replies legitimately take long.
   */
  commandTimeoutMs?: number | undefined;
  /** Called on every connection error; wire a counter here. */
  onError?: (error: Error) => void;
}

/**
 * Reconnect quickly at first, then every 2 s at most, forever: Redis coming back must
 * heal the service without a restart. The jitter keeps many pods from reconnecting in
 * lockstep after a Redis failover.
 */
export function reconnectDelayMs(attempt: number): number {
  const base = Math.min(50 * 2 ** Math.min(attempt, 10), 2_000);
  return Math.round(base / 2 + Math.random() * (base / 2));
}

/**
 * An ioredis client with bounded waits. When Redis is down, commands fail within about
 * `commandTimeoutMs` instead of queueing without limit, so callers can answer 503 and let
 * Telegram retry later.
 */
export function createRedis(config: RedisConfig): Redis {
  const commandTimeout = 'commandTimeoutMs' in config ? config.commandTimeoutMs : 2_000;
  const options: RedisOptions = {
    keyPrefix: config.keyPrefix,
    connectionName: config.connectionName,
    connectTimeout: 5_000,
    commandTimeout,
    maxRetriesPerRequest: 1,
    retryStrategy: reconnectDelayMs,
    // After a failover the old primary turns replica; reconnect to reach the new one.
    reconnectOnError: (error) => error.message.startsWith('READONLY'),
  };
  const client = new Redis(config.url, options);
  reportConnection(client, config);
  return client;
}

/**
 * A second connection to the same Redis with the same settings, e.g. for blocking reads
 * that must not delay other commands. It reports its outages like the first one does: one
 * log line per outage, never an unhandled `error` event.
 */
export function duplicateRedis(
  client: Redis,
  config: Pick<RedisConfig, 'logger' | 'onError' | 'connectionName' | 'commandTimeoutMs'>,
): Redis {
  const copy = client.duplicate({
    connectionName: config.connectionName,
    ...('commandTimeoutMs' in config ? { commandTimeout: config.commandTimeoutMs } : {}),
  });
  reportConnection(copy, config);
  return copy;
}

/** Logs a connection's outages, once each, and counts every error through `onError`. */
function reportConnection(
  client: Redis,
  config: Pick<RedisConfig, 'logger' | 'onError' | 'connectionName'>,
): void {
  const name = config.connectionName ?? 'main';
  let healthy = false;
  client.on('ready', () => {
    if (!healthy) config.logger.info({ connection: name }, 'connected to Redis');
    healthy = true;
  });
  client.on('error', (error: Error) => {
    config.onError?.(error);
    // One line per outage, not one per reconnect attempt, and no stack trace: the cause
    // is the message (ECONNREFUSED, a timeout), and the stack would only show ioredis.
    if (healthy) {
      config.logger.error(
        { connection: name, reason: error.message },
        'lost the connection to Redis; retrying every 2 s. Check that Redis is up and REDIS_URL is right',
      );
    } else {
      config.logger.debug({ connection: name, reason: error.message }, 'Redis still unreachable');
    }
    healthy = false;
  });
}

/**
 * Resolves once the client is connected (at once when it is), or rejects after `timeoutMs`
 * or when `signal` aborts. Lets a caller wait out a short Redis outage before a step that
 * must reach Redis, instead of failing at once.
 */
export async function redisConnected(
  client: Redis,
  timeoutMs: number,
  signal?: AbortSignal,
): Promise<void> {
  if (client.status === 'ready') return;
  signal?.throwIfAborted();
  await new Promise<void>((resolve, reject) => {
    const done = (error?: Error) => {
      clearTimeout(timer);
      client.off('ready', onReady);
      signal?.removeEventListener('abort', onAbort);
      if (error) reject(error);
      else resolve();
    };
    const onReady = () => done();
    const onAbort = () => done(signal?.reason as Error);
    const timer = setTimeout(
      () => done(new RedisUnavailableError(`Redis did not come back within ${timeoutMs} ms`)),
      timeoutMs,
    );
    client.once('ready', onReady);
    signal?.addEventListener('abort', onAbort, { once: true });
    // It may have connected between the check above and the listener.
    if (client.status === 'ready') done();
  });
}

/** Redis is unreachable: an outage of a dependency, not a fault of the work that needed it. */
export class RedisUnavailableError extends Error {
  override readonly name = 'RedisUnavailableError';
}

/** Resolves when Redis answers PING within `timeoutMs`. */
export async function pingRedis(client: Redis, timeoutMs = 2_000): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      client.ping(),
      new Promise((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`Redis did not answer within ${timeoutMs} ms`)),
          timeoutMs,
        );
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Where Herald keeps its shared, fast-changing state (queue, locks, limits, sessions):
 * a real Redis in production, or this process in local mode. Each feature that needs
 * such state takes a `StateStore` and picks its Redis or in-process implementation by
 * `kind`; both are tested against the same cases.
 */
export type StateStore =
  | { readonly kind: 'redis'; readonly redis: Redis; readonly url: string }
  | { readonly kind: 'in-process' };

/** Opens the state store: Redis at `url`, or in-process state when `url` is undefined. */
export function openStateStore(
  config: Omit<RedisConfig, 'url'> & { url: string | undefined },
): StateStore {
  if (config.url === undefined) return { kind: 'in-process' };
  return {
    kind: 'redis',
    redis: createRedis({ ...config, url: config.url }),
    // Shown in status output and logs: the password stays with the client alone.
    url: maskUrlPasswords(config.url),
  };
}

/** Readiness of the state store: PING for Redis; in-process state is always there. */
export async function pingStateStore(store: StateStore, timeoutMs?: number): Promise<void> {
  if (store.kind === 'redis') await pingRedis(store.redis, timeoutMs);
}

/** Closes the store's connections, letting queued replies finish. */
export async function closeStateStore(store: StateStore): Promise<void> {
  if (store.kind !== 'redis') return;
  try {
    await store.redis.quit();
  } catch {
    store.redis.disconnect();
  }
}
