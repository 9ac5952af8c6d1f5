/** Options of {@link deliverUpdates}. */
export interface WebhookDelivererOptions {
  /** The webhook's full URL, e.g. `http://127.0.0.1:PORT/telegram/webhook`. */
  url: string;
  /** Sent as `X-Telegram-Bot-Api-Secret-Token`, as setWebhook's `secret_token` asks. */
  secret: string;
  /** Pace of first deliveries: update n is first posted no earlier than n / rate seconds in. */
  updatesPerSecond: number;
  /** Requests open at once, as setWebhook's `max_connections` (default 40). */
  maxConnections?: number;
  /**
   * Updates with the same key are delivered one after another: the next is posted only once
   * the previous one was acknowledged, as Telegram keeps a chat's updates in order. By
   * default the key is the update's chat (or sender); updates without one go unordered.
   */
  orderKey?: (update: object) => unknown;
  /** Wait before the first re-post of an update (default 500 ms); doubled each time after. */
  retryInitialMs?: number;
  /** Longest wait between two posts of one update (default 4 s). */
  retryMaxMs?: number;
  /** A request unanswered this long counts as a connection error (default 10 s). */
  requestTimeoutMs?: number;
}

/** What a delivery run did so far. */
export interface WebhookDelivery {
  /** Updates answered 200. */
  readonly acknowledged: number;
  /** Posts made, re-posts included. */
  readonly attempts: number;
  /** Posts answered with another status than 200. */
  readonly refused: number;
  /** Posts that got no answer: connection refused or reset, or no answer in time. */
  readonly connectionErrors: number;
  /** Answers by HTTP status, connection errors under `error`. */
  readonly statuses: Readonly<Record<string, number>>;
  /** Updates not yet acknowledged. */
  readonly unacknowledged: number;
  /** Resolves once every update is acknowledged, or the run is stopped. */
  readonly done: Promise<void>;
  /** Stops posting (a post in flight is left to finish) and resolves once all have ended. */
  stop(): Promise<void>;
}

/** The chat of an update (or its sender), the key Telegram keeps in order. */
export function updateChatKey(update: object): unknown {
  for (const value of Object.values(update)) {
    if (typeof value !== 'object' || value === null) continue;
    const inner = value as {
      chat?: { id?: unknown };
      message?: { chat?: { id?: unknown } };
      from?: { id?: unknown };
    };
    const key = inner.chat?.id ?? inner.message?.chat?.id ?? inner.from?.id;
    if (key !== undefined) return key;
  }
  return undefined;
}

/**
 * Posts updates to a webhook the way Telegram does: at a given pace, with the secret header,
 * at most `maxConnections` at once, each chat's updates in order, and every update answered
 * with a status other than 200, or not answered at all, posted again with growing waits
 * until it is answered 200. Stops by itself once all are acknowledged.
 */
export function deliverUpdates(
  updates: readonly object[],
  options: WebhookDelivererOptions,
): WebhookDelivery {
  const maxConnections = options.maxConnections ?? 40;
  const orderKey = options.orderKey ?? updateChatKey;
  const retryInitialMs = options.retryInitialMs ?? 500;
  const retryMaxMs = options.retryMaxMs ?? 4_000;
  const requestTimeoutMs = options.requestTimeoutMs ?? 10_000;
  const statuses: Record<string, number> = {};
  let acknowledged = 0;
  let attempts = 0;
  let refused = 0;
  let connectionErrors = 0;
  let stopped = false;
  let wakeAll: () => void = () => undefined;
  const stopping = new Promise<void>((resolve) => (wakeAll = resolve));
  /** Waits `ms`, or less when the run is stopped. */
  const pause = async (ms: number): Promise<void> => {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      new Promise<void>((resolve) => (timer = setTimeout(resolve, ms))),
      stopping,
    ]);
    clearTimeout(timer);
  };

  let open = 0;
  const waiting: (() => void)[] = [];
  const connection = async (): Promise<() => void> => {
    if (open >= maxConnections) await new Promise<void>((resolve) => waiting.push(resolve));
    else open += 1;
    return () => {
      const next = waiting.shift();
      if (next) next();
      else open -= 1;
    };
  };

  /** One post; true when it was answered 200. */
  const post = async (body: string): Promise<boolean> => {
    const release = await connection();
    attempts += 1;
    try {
      const response = await fetch(options.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'x-telegram-bot-api-secret-token': options.secret,
        },
        body,
        signal: AbortSignal.timeout(requestTimeoutMs),
      });
      await response.arrayBuffer().catch(() => undefined);
      statuses[response.status] = (statuses[response.status] ?? 0) + 1;
      if (response.status === 200) return true;
      refused += 1;
      return false;
    } catch {
      statuses.error = (statuses.error ?? 0) + 1;
      connectionErrors += 1;
      return false;
    } finally {
      release();
    }
  };

  const deliver = async (update: object): Promise<void> => {
    const body = JSON.stringify(update);
    for (let wait = retryInitialMs; !stopped; wait = Math.min(wait * 2, retryMaxMs)) {
      if (await post(body)) {
        acknowledged += 1;
        return;
      }
      await pause(wait);
    }
  };

  const startedAt = performance.now();
  const chains = new Map<unknown, Promise<void>>();
  const all = updates.map((update, index) => {
    const due = async () => {
      const wait = startedAt + (index * 1000) / options.updatesPerSecond - performance.now();
      if (wait > 0) await pause(wait);
      if (!stopped) await deliver(update);
    };
    const key = orderKey(update);
    if (key === undefined) return due();
    const delivered = (chains.get(key) ?? Promise.resolve()).then(due);
    chains.set(key, delivered);
    return delivered;
  });
  const done = Promise.all(all).then(() => undefined);

  return {
    get acknowledged() {
      return acknowledged;
    },
    get attempts() {
      return attempts;
    },
    get refused() {
      return refused;
    },
    get connectionErrors() {
      return connectionErrors;
    },
    statuses,
    get unacknowledged() {
      return updates.length - acknowledged;
    },
    done,
    async stop() {
      stopped = true;
      wakeAll();
      await done;
    },
  };
}
