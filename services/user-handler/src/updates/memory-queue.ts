import type { Logger } from '@herald/logger';
import type { Registry } from '@herald/ops';
import type { Update } from 'telegraf/types';
import {
  chatIdOf,
  DEDUPE_TTL_SECONDS,
  queueMetrics,
  type ConsumeOptions,
  type DeadLetter,
  type DeadLetterQueue,
  updateKindOf,
  type Consumer,
  type QueuedUpdate,
  type QueueStats,
  type UpdateQueue,
} from './queue.js';
import { ChatDispatcher } from './dispatcher.js';

export interface MemoryQueueOptions {
  logger: Logger;
  registry: Registry;
  concurrency?: number;
  maxAttempts?: number;
  retryDelayMs?: (attempt: number) => number;
  now?: () => number;
  /** Checks of what handlers depend on: attempts failed while one is down are not counted. */
  dependencies?: Record<string, () => Promise<void>>;
}

/** A dead letter of the in-process queue. */
export interface MemoryDeadLetter {
  id: string;
  entry: QueuedUpdate;
  reason: string;
  /** When it was given up on, in ms since the epoch. */
  at: number;
}

/** Dead letters kept in memory; the oldest go first past this many. */
const DEAD_LETTER_LIMIT = 1_000;

/**
 * The update queue of local mode, inside this process: the same order, retry and
 * dead-letter rules as the Redis queue, without surviving a restart.
 */
export function createMemoryQueue(options: MemoryQueueOptions): UpdateQueue & {
  readonly deadLetters: readonly MemoryDeadLetter[];
} {
  const now = options.now ?? Date.now;
  const seen = new Map<number, number>();
  const deadLetters: MemoryDeadLetter[] = [];
  let sequence = 0;
  let dispatcher: ChatDispatcher | undefined;
  // Entries queued before a consumer starts, or while none runs.
  const waiting: QueuedUpdate[] = [];
  const enqueuedAt = new Map<string, number>();

  const forget = (entry: QueuedUpdate) => enqueuedAt.delete(entry.id);
  const add = (update: Update): string => {
    sequence += 1;
    const entry: QueuedUpdate = {
      id: `${now()}-${sequence}`,
      update,
      chatId: chatIdOf(update),
      deliveries: 1,
    };
    enqueuedAt.set(entry.id, now());
    if (dispatcher) dispatcher.add(entry);
    else waiting.push(entry);
    return entry.id;
  };
  const shown = (letter: MemoryDeadLetter): DeadLetter => ({
    id: letter.id,
    updateId: letter.entry.update.update_id,
    chatId: letter.entry.chatId,
    reason: letter.reason,
    deliveries: letter.entry.deliveries,
    failedAt: new Date(letter.at),
    kind: updateKindOf(letter.entry.update),
    update: letter.entry.update,
  });
  const deadLetterQueue: DeadLetterQueue = {
    list: (limit) => Promise.resolve(deadLetters.slice(-limit).reverse().map(shown)),
    get: (id) => {
      const letter = deadLetters.find((l) => l.id === id);
      return Promise.resolve(letter && shown(letter));
    },
    replay: (id) => {
      const at = deadLetters.findIndex((l) => l.id === id);
      if (at < 0) return Promise.resolve(undefined);
      const [letter] = deadLetters.splice(at, 1);
      return Promise.resolve(add(letter!.entry.update));
    },
    drop: (id) => {
      const at = deadLetters.findIndex((l) => l.id === id);
      if (at >= 0) deadLetters.splice(at, 1);
      return Promise.resolve(at >= 0);
    },
  };

  const queue = {
    kind: 'in-process' as const,
    deadLetters,
    deadLetterQueue,
    enqueue(update: Update): Promise<'queued' | 'duplicate'> {
      const cutoff = now() - DEDUPE_TTL_SECONDS * 1000;
      for (const [id, at] of seen) {
        if (at >= cutoff) break;
        seen.delete(id);
      }
      if (seen.has(update.update_id)) return Promise.resolve('duplicate');
      seen.set(update.update_id, now());
      add(update);
      return Promise.resolve('queued');
    },
    consume(consume: ConsumeOptions): Consumer {
      if (dispatcher) throw new Error('this queue already has a consumer');
      const current = new ChatDispatcher({
        ...consume,
        logger: options.logger,
        metrics,
        concurrency: options.concurrency ?? 16,
        maxAttempts: options.maxAttempts ?? 3,
        ...(options.retryDelayMs ? { retryDelayMs: options.retryDelayMs } : {}),
        ...(options.dependencies ? { dependencies: options.dependencies } : {}),
        backend: {
          // One dispatcher owns every chat here, and it keeps each chat in order itself.
          turnOf: () => Promise.resolve('next'),
          complete: (entry) => {
            forget(entry);
            return Promise.resolve('recorded');
          },
          deadLetter: (entry, reason) => {
            forget(entry);
            deadLetters.push({ entry, reason, id: `${now()}-${++sequence}`, at: now() });
            if (deadLetters.length > DEAD_LETTER_LIMIT) deadLetters.shift();
            return Promise.resolve('recorded');
          },
        },
      });
      dispatcher = current;
      for (const entry of waiting.splice(0)) current.add(entry);
      return {
        stop: async () => {
          await current.stop(20_000);
          dispatcher = undefined;
        },
      };
    },
    waitingUpdates(chatId: number): Promise<Update[]> {
      const inHand = dispatcher?.waitingIn(chatId) ?? [];
      return Promise.resolve(inHand.map((entry) => entry.update));
    },
    stats(): Promise<QueueStats> {
      const oldest = Math.min(...enqueuedAt.values());
      return Promise.resolve({
        length: enqueuedAt.size,
        lagSeconds: enqueuedAt.size === 0 ? 0 : Math.max(0, (now() - oldest) / 1000),
        deadLetters: deadLetters.length,
      });
    },
  };
  const metrics = queueMetrics(options.registry, queue);
  return queue;
}
