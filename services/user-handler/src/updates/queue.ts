import { Counter, Gauge, Histogram, type Registry } from '@herald/ops';
import type { Update } from 'telegraf/types';

/** One update waiting in, or taken from, the queue. */
export interface QueuedUpdate {
  /** The queue's id for this entry; ids of one chat sort in arrival order. */
  id: string;
  update: Update;
  chatId: number;
  /** How many times a worker has taken this entry, this one included. */
  deliveries: number;
  /**
   * Aborted when another worker has taken this entry over (this one stalled longer than
   * the claim timeout): the handler should stop, and its outcome is not recorded here.
   */
  signal?: AbortSignal;
}

export interface QueueStats {
  /** Entries not yet finished: waiting or being handled. */
  length: number;
  /** Age of the oldest unfinished entry, 0 when the queue is empty. */
  lagSeconds: number;
  /** Entries moved to the dead-letter stream so far (still kept there). */
  deadLetters: number;
}

/** What the workers do with each update; a throw means "try again". */
export type UpdateHandler = (entry: QueuedUpdate) => Promise<void>;

export interface ConsumeOptions {
  handler: UpdateHandler;
  /** Called once when an update is given up on, e.g. to tell the user. */
  onDeadLetter?: (entry: QueuedUpdate, error: unknown) => Promise<void>;
}

export interface Consumer {
  /** Stops taking new entries and waits (bounded) for the ones in hand. */
  stop(): Promise<void>;
}

/** An update the workers gave up on, kept for operators. */
export interface DeadLetter {
  /** The dead-letter entry's id. */
  id: string;
  /** Absent when the entry held no readable update. */
  updateId: number | undefined;
  chatId: number;
  reason: string;
  /** Times a worker took the update before giving up. */
  deliveries: number;
  failedAt: Date;
  /** The update's kind (message, callback_query…), or 'unreadable'. */
  kind: string;
  /** The update as Telegram sent it, or the raw text when it is not JSON. */
  update: unknown;
}

/** The dead letters, for operators (the admin API): read, replay, drop. */
export interface DeadLetterQueue {
  /** Newest first. */
  list(limit: number): Promise<DeadLetter[]>;
  get(id: string): Promise<DeadLetter | undefined>;
  /**
   * Puts the update back at the end of its chat's queue, past the duplicate check that
   * would otherwise refuse it, and removes it from the dead letters, in one step. Returns
   * the new queue id; undefined when the dead letter is gone or unreadable.
   */
  replay(id: string): Promise<string | undefined>;
  /** Removes it; false when it was already gone. */
  drop(id: string): Promise<boolean>;
}

/** What a dead letter's kind is: the update's one field besides update_id. */
export function updateKindOf(update: unknown): string {
  if (typeof update !== 'object' || update === null) return 'unreadable';
  return Object.keys(update).find((key) => key !== 'update_id') ?? 'unknown';
}

/**
 * The update queue: the webhook and the poller append, workers consume. Updates of one
 * chat are handled strictly in order; different chats run in parallel.
 */
export interface UpdateQueue {
  readonly kind: 'redis' | 'in-process';
  /**
   * Appends an update unless the same update_id was seen in the last 24 h. `json` is the
   * update as received, when the caller has it, to spare serializing it again.
   */
  enqueue(update: Update, json?: string): Promise<'queued' | 'duplicate'>;
  consume(options: ConsumeOptions): Consumer;
  stats(): Promise<QueueStats>;
  /**
   * The updates of this chat queued behind the one being handled, oldest first: a long
   * answer stops when its asker has sent something newer (a new question, /reset).
   */
  waitingUpdates(chatId: number): Promise<Update[]>;
  readonly deadLetterQueue: DeadLetterQueue;
}

/** Telegram redelivers an unacknowledged update for up to 24 hours. */
export const DEDUPE_TTL_SECONDS = 24 * 60 * 60;

/** The chat an update belongs to, for per-chat ordering; 0 when it has none. */
export function chatIdOf(update: object): number {
  for (const value of Object.values(update)) {
    if (typeof value !== 'object' || value === null) continue;
    const record = value as {
      chat?: { id?: unknown };
      message?: { chat?: { id?: unknown } };
      from?: { id?: unknown };
    };
    const id = record.chat?.id ?? record.message?.chat?.id ?? record.from?.id;
    if (typeof id === 'number') return id;
  }
  return 0;
}

/** An update's id when `value` has the shape of a Telegram Update, else undefined. */
export function updateIdOf(value: unknown): number | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const id = (value as { update_id?: unknown }).update_id;
  // An Update carries its id and exactly one payload field.
  if (!Number.isSafeInteger(id) || (id as number) < 0 || Object.keys(value).length < 2) {
    return undefined;
  }
  return id as number;
}

/** Metrics of the queue and its workers, registered once per registry. */
export interface QueueMetrics {
  processed: Counter<'outcome'>;
  processingSeconds: Histogram;
  deadLetters: Counter;
  takenOver: Counter;
  /** 1 while this process's workers wait for a dependency to come back. */
  paused: Gauge;
}

const metricsByRegistry = new WeakMap<Registry, QueueMetrics>();

/**
 * Registers the queue metrics. Length, lag and dead letters are read from the queue at
 * scrape time, so every pod reports the shared queue's true state.
 */
export function queueMetrics(registry: Registry, queue?: UpdateQueue): QueueMetrics {
  const known = metricsByRegistry.get(registry);
  if (known) return known;
  const metrics: QueueMetrics = {
    processed: new Counter({
      name: 'herald_updates_processed_total',
      help:
        'Updates handled by workers, by outcome: ok, retried, dead_lettered, dropped, taken_over ' +
        '(handled here, but another worker took it over meanwhile and records its outcome), ' +
        'waited_out (an attempt failed while Postgres or Redis was down: it goes again once ' +
        'the dependency is back, and does not count toward the update’s tries)',
      labelNames: ['outcome'],
      registers: [registry],
    }),
    processingSeconds: new Histogram({
      name: 'herald_update_processing_seconds',
      help: 'Time a worker spent handling one update (one attempt)',
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers: [registry],
    }),
    deadLetters: new Counter({
      name: 'herald_update_dead_letters_total',
      help: 'Updates given up on and moved to the dead-letter stream',
      registers: [registry],
    }),
    takenOver: new Counter({
      name: 'herald_updates_taken_over_total',
      help:
        'Updates this worker held that another worker took over, because this one stalled ' +
        'longer than the claim timeout (QUEUE_CLAIM_IDLE)',
      registers: [registry],
    }),
    paused: new Gauge({
      name: 'herald_update_workers_paused',
      help:
        '1 while this process’s update workers wait for Postgres or Redis to come back; ' +
        'updates wait in the queue meanwhile',
      registers: [registry],
    }),
  };
  metrics.paused.set(0);
  // Every outcome from zero: rate() and increase() then see the first one after a start.
  for (const outcome of ['ok', 'retried', 'waited_out', 'dead_lettered', 'dropped', 'taken_over']) {
    metrics.processed.inc({ outcome }, 0);
  }
  if (queue) {
    let last: Promise<QueueStats> | undefined;
    // The three gauges share one read of the queue per scrape.
    const read = (): Promise<QueueStats> => {
      last ??= queue.stats().finally(() => setTimeout(() => (last = undefined), 100));
      return last;
    };
    const gauge = (name: string, help: string, pick: (s: QueueStats) => number) =>
      new Gauge({
        name,
        help,
        registers: [registry],
        async collect() {
          try {
            this.set(pick(await read()));
          } catch {
            // Redis is down: /readyz and herald_dependency_up already say so.
          }
        },
      });
    gauge('herald_update_queue_length', 'Updates queued and not yet finished', (s) => s.length);
    gauge(
      'herald_update_queue_lag_seconds',
      'Age of the oldest unfinished update in the queue',
      (s) => s.lagSeconds,
    );
    gauge(
      'herald_update_dead_letter_length',
      'Updates in the dead-letter stream',
      (s) => s.deadLetters,
    );
  }
  metricsByRegistry.set(registry, metrics);
  return metrics;
}
