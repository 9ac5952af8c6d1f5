import type { Logger } from '@herald/logger';
import type { ConsumeOptions, QueuedUpdate, QueueMetrics } from './queue.js';

/**
 * Whether an entry may be handled now: `next` when no earlier entry of its chat is
 * unfinished anywhere, `waiting` while one is, `taken-over` when this worker no longer owns
 * it (another worker claimed it while this one stalled, or already finished it).
 */
export type EntryTurn = 'next' | 'waiting' | 'taken-over';

/** What recording an outcome did: `recorded`, or nothing since another worker owns the entry. */
export type EntrySettled = 'recorded' | 'taken-over';

/** Where the dispatcher asks about order across workers and records outcomes. */
export interface DispatchBackend {
  turnOf(entry: QueuedUpdate): Promise<EntryTurn>;
  /** Called when `turnOf` has said `waiting` for a long time: repairs an orphaned head. */
  repairHead?(entry: QueuedUpdate): Promise<void>;
  /** Finishes the entry, only while this worker owns it. */
  complete(entry: QueuedUpdate): Promise<EntrySettled>;
  /** Moves the entry to the dead letters, only while this worker owns it. */
  deadLetter(entry: QueuedUpdate, reason: string): Promise<EntrySettled>;
}

export interface DispatcherOptions extends ConsumeOptions {
  backend: DispatchBackend;
  /**
   * Checks of what handlers depend on (Postgres, Redis), by name: each rejects while its
   * dependency is unreachable. An attempt that failed while one is down is not counted.
   */
  dependencies?: Record<string, () => Promise<void>>;
  logger: Logger;
  metrics: QueueMetrics;
  /** Handlers running at once; the rest wait their turn. */
  concurrency: number;
  /** Attempts in this worker before an update goes to the dead-letter stream. */
  maxAttempts: number;
  /** Wait before attempt n+1 (n starts at 1). */
  retryDelayMs?: (attempt: number) => number;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** How often a paused worker checks whether its dependencies are back. */
const OUTAGE_PROBE_MS = 250;

/** Telegram's verdicts that no retry can change: the user blocked the bot, left, … */
function isPermanent(error: unknown): boolean {
  const code = (error as { response?: { error_code?: unknown } } | null)?.response?.error_code;
  return code === 403;
}

const describe = (error: unknown): string =>
  error instanceof Error ? error.message : String(error);

/**
 * Runs entries through the handler: one chat at a time per chat, in id order; chats in
 * parallel up to `concurrency`. A failing update is retried here with backoff (its chat
 * waits, so order holds) and dead-lettered after `maxAttempts`; other chats go on.
 */
export class ChatDispatcher {
  private readonly chats = new Map<number, QueuedUpdate[]>();
  /** Per entry in hand, by id: aborted when another worker has taken it over. */
  private readonly ownership = new Map<string, AbortController>();
  /** Entries whose handling has begun: they leave `chats` only when it ends. */
  private readonly active = new Set<string>();
  private readonly draining = new Map<number, Promise<void>>();
  private readonly slotWaiters: (() => void)[] = [];
  private running = 0;
  private stopping = false;
  /** While a dependency is down: resolves once every one is back (or the worker stops). */
  private outage: Promise<void> | undefined;

  constructor(private readonly options: DispatcherOptions) {}

  /** Entries in hand: waiting or running. */
  get size(): number {
    let n = 0;
    for (const list of this.chats.values()) n += list.length;
    return n;
  }

  /** Ids of the entries in hand that this worker still owns, so the queue keeps them claimed. */
  heldIds(): string[] {
    return [...this.chats.values()].flatMap((list) =>
      list.filter((entry) => !entry.signal?.aborted).map((entry) => entry.id),
    );
  }

  /** Entries of one chat in hand behind its first (the one being handled), oldest first. */
  waitingIn(chatId: number): QueuedUpdate[] {
    return this.chats.get(chatId)?.slice(1) ?? [];
  }

  holds(id: string): boolean {
    for (const list of this.chats.values()) if (list.some((e) => e.id === id)) return true;
    return false;
  }

  add(entry: QueuedUpdate): void {
    const list = this.chats.get(entry.chatId) ?? [];
    if (list.some((e) => e.id === entry.id)) return;
    const ownership = new AbortController();
    this.ownership.set(entry.id, ownership);
    const held: QueuedUpdate = { ...entry, signal: ownership.signal };
    // Sorted by id: a claimed older entry goes before newer ones already in hand.
    const at = list.findIndex((e) => compareIds(e.id, held.id) > 0);
    if (at === -1) list.push(held);
    else list.splice(at, 0, held);
    this.chats.set(held.chatId, list);
    this.startDrain(held.chatId);
  }

  /**
   * Lets go of entries another worker has taken over: waiting ones are dropped now, a
   * running one's handler is told through its signal, and no outcome of theirs is recorded
   * here. Ids not in hand, or already let go of, are ignored.
   */
  takenOver(ids: Iterable<string>): void {
    for (const id of ids) {
      const ownership = this.ownership.get(id);
      if (!ownership || ownership.signal.aborted) continue;
      ownership.abort(new Error('another worker took this update over'));
      const entry = this.release(id);
      this.options.metrics.takenOver.inc();
      this.options.logger.warn(
        { update_id: entry?.update.update_id, chat_id: entry?.chatId, entry: id },
        'another worker took over an update this one held, so it is left to that worker. This ' +
          'worker stalled longer than QUEUE_CLAIM_IDLE (a long synchronous task, CPU ' +
          'throttling, a paused process); if this repeats, give the pods more CPU or raise ' +
          'QUEUE_CLAIM_IDLE',
      );
    }
  }

  /** Drops a waiting entry from its chat; a running one stays until its handling ends. */
  private release(id: string): QueuedUpdate | undefined {
    for (const list of this.chats.values()) {
      const at = list.findIndex((e) => e.id === id);
      if (at === -1) continue;
      const entry = list[at]!;
      if (!this.active.has(id)) {
        list.splice(at, 1);
        this.ownership.delete(id);
      }
      return entry;
    }
    return undefined;
  }

  private startDrain(chatId: number): void {
    if (this.draining.has(chatId)) return;
    const done = this.drain(chatId).finally(() => {
      this.draining.delete(chatId);
      // An entry added while the loop was finishing starts a new one.
      if (!this.stopping && (this.chats.get(chatId)?.length ?? 0) > 0) this.startDrain(chatId);
    });
    this.draining.set(chatId, done);
  }

  /** Resolves once every entry in hand is finished, or after `timeoutMs`. */
  async stop(timeoutMs: number): Promise<void> {
    this.stopping = true;
    await Promise.race([Promise.all(this.draining.values()), sleep(timeoutMs)]);
  }

  private async drain(chatId: number): Promise<void> {
    const list = this.chats.get(chatId)!;
    let waitedMs = 0;
    while (list.length > 0) {
      const entry = list[0]!;
      const turn = await this.options.backend.turnOf(entry).catch((): EntryTurn => 'waiting');
      // Let go of meanwhile, or an older entry claimed in front of it: look again.
      if (list[0] !== entry) continue;
      if (turn === 'taken-over') {
        this.takenOver([entry.id]);
        if (list[0] === entry) list.shift();
        continue;
      }
      if (turn === 'waiting') {
        // An earlier update of this chat is with another worker (or a dead one, until its
        // entry is claimed): wait rather than answer out of order.
        if (this.stopping) return;
        const pause = Math.min(25 * 2 ** Math.floor(waitedMs / 1_000), 500);
        await sleep(pause);
        waitedMs += pause;
        if (waitedMs > 60_000) {
          await this.options.backend.repairHead?.(entry).catch(() => undefined);
          waitedMs = 0;
        }
        continue;
      }
      waitedMs = 0;
      if (this.stopping) return;
      this.active.add(entry.id);
      try {
        await this.process(entry);
      } finally {
        this.active.delete(entry.id);
        this.ownership.delete(entry.id);
      }
      // A claim may have put an older entry first meanwhile; remove this one by id.
      const index = list.indexOf(entry);
      if (index !== -1) list.splice(index, 1);
    }
    if (this.chats.get(chatId) === list) this.chats.delete(chatId);
  }

  private async acquireSlot(): Promise<void> {
    if (this.running < this.options.concurrency) {
      this.running += 1;
      return;
    }
    await new Promise<void>((resolve) => this.slotWaiters.push(resolve));
  }

  private releaseSlot(): void {
    const next = this.slotWaiters.shift();
    if (next) next();
    else this.running -= 1;
  }

  private async process(entry: QueuedUpdate): Promise<void> {
    const { logger, metrics, maxAttempts } = this.options;
    const context = { update_id: entry.update.update_id, chat_id: entry.chatId, entry: entry.id };
    const retryDelayMs = this.options.retryDelayMs ?? ((n: number) => 500 * 4 ** (n - 1));
    let lastError: unknown;
    // Attempts that count toward maxAttempts: one that failed during an outage does not.
    let attempt = 1;
    for (;;) {
      // No handler starts while a dependency is known to be down: it would only fail.
      if (this.outage) {
        await this.outage;
        if (this.stopping) return this.leaveQueued(context);
      }
      await this.acquireSlot();
      if (entry.signal?.aborted) {
        this.releaseSlot();
        if (lastError !== undefined) this.leave(entry, context);
        return;
      }
      const timer = metrics.processingSeconds.startTimer();
      try {
        await this.options.handler(entry);
        lastError = undefined;
      } catch (error) {
        lastError = error;
      } finally {
        timer();
        this.releaseSlot();
      }
      // Whatever this attempt did, the worker that took the update over now answers it.
      if (entry.signal?.aborted) {
        this.leave(entry, context);
        return;
      }
      if (lastError === undefined) {
        logger.debug({ ...context, attempt }, 'update handled');
        await this.finish(entry, 'ok', context);
        return;
      }
      if (isPermanent(lastError)) {
        logger.info(
          { ...context, reason: describe(lastError) },
          'update dropped: Telegram refused',
        );
        await this.finish(entry, 'dropped', context);
        return;
      }
      const down = await this.failingDependencies();
      if (down.length > 0) {
        // Not the update's fault: it goes again, uncounted, once the dependency is back.
        metrics.processed.inc({ outcome: 'waited_out' });
        logger.debug(
          { ...context, reason: describe(lastError), down },
          'handling an update failed while a dependency is down; it goes again once it is back',
        );
        await this.waitOutOutage(down);
        if (this.stopping) return this.leaveQueued(context);
        continue;
      }
      if (attempt >= maxAttempts) break;
      metrics.processed.inc({ outcome: 'retried' });
      logger.warn(
        { ...context, err: lastError, attempt, maxAttempts },
        'handling an update failed; retrying',
      );
      await sleep(retryDelayMs(attempt));
      attempt += 1;
    }
    await this.giveUp(entry, lastError, `failed ${maxAttempts} times: ${describe(lastError)}`);
  }

  /** Stopping while a dependency is down: the update stays queued, and the next worker has it. */
  private leaveQueued(context: object): void {
    this.options.logger.info(
      context,
      'stopping while a dependency is down: the update stays queued for the next worker',
    );
  }

  /** Names of the dependencies whose checks fail now. */
  private async failingDependencies(): Promise<string[]> {
    const checks = Object.entries(this.options.dependencies ?? {});
    const results = await Promise.all(
      checks.map(([name, check]) =>
        check().then(
          () => undefined,
          () => name,
        ),
      ),
    );
    return results.filter((name): name is string => name !== undefined);
  }

  /**
   * Pauses this worker's handlers until every dependency answers again: one probe and one
   * pair of log lines per outage, however many updates wait on it. Ends early on stop.
   */
  private waitOutOutage(down: string[]): Promise<void> {
    this.outage ??= (async () => {
      const { logger, metrics } = this.options;
      const started = Date.now();
      metrics.paused.set(1);
      logger.error(
        { down },
        `${down.join(' and ')} unreachable: update workers pause until it is back. Updates ` +
          'wait in the queue and are answered then; nothing is counted against them. Check ' +
          'that the dependency is up (see /readyz and herald_dependency_up)',
      );
      let failing = down;
      while (failing.length > 0 && !this.stopping) {
        await sleep(OUTAGE_PROBE_MS);
        failing = await this.failingDependencies();
      }
      metrics.paused.set(0);
      logger.info(
        { down, paused_ms: Date.now() - started },
        'dependencies are back: update workers resume',
      );
      this.outage = undefined;
    })();
    return this.outage;
  }

  /** Records a handled update as finished, unless another worker took it over meanwhile. */
  private async finish(
    entry: QueuedUpdate,
    outcome: 'ok' | 'dropped',
    context: object,
  ): Promise<void> {
    if ((await this.settle(() => this.options.backend.complete(entry), context)) === 'taken-over') {
      this.takenOver([entry.id]);
      this.leave(entry, context);
      return;
    }
    this.options.metrics.processed.inc({ outcome });
  }

  /** Counts an update handled here whose outcome the worker that took it over records. */
  private leave(entry: QueuedUpdate, context: object): void {
    this.options.metrics.processed.inc({ outcome: 'taken_over' });
    this.options.logger.info(
      context,
      'stopped handling an update another worker took over; that worker answers it',
    );
  }

  /** Moves an update to the dead-letter stream, tells the user, and goes on. */
  async giveUp(entry: QueuedUpdate, error: unknown, reason: string): Promise<void> {
    const context = { update_id: entry.update.update_id, chat_id: entry.chatId, entry: entry.id };
    const settled = await this.settle(
      () => this.options.backend.deadLetter(entry, reason),
      context,
    );
    if (settled === 'taken-over') {
      this.takenOver([entry.id]);
      this.leave(entry, context);
      return;
    }
    this.options.logger.error(
      { ...context, err: error, reason },
      'update moved to the dead-letter stream. Inspect it with XRANGE on the dead-letter stream ' +
        '(see README, "Dead letters"), fix the cause, and replay it if needed',
    );
    this.options.metrics.processed.inc({ outcome: 'dead_lettered' });
    this.options.metrics.deadLetters.inc();
    await this.options
      .onDeadLetter?.(entry, error)
      .catch((notifyError: unknown) =>
        this.options.logger.warn(
          { ...context, err: notifyError },
          'could not tell the user their update failed',
        ),
      );
  }

  /**
   * Records an outcome, retrying while the queue's store is unreachable; undefined when
   * the worker stops before it could.
   */
  private async settle(
    step: () => Promise<EntrySettled>,
    context: object,
  ): Promise<EntrySettled | undefined> {
    for (let attempt = 1; ; attempt += 1) {
      try {
        return await step();
      } catch (error) {
        if (attempt === 1 || attempt % 30 === 0) {
          this.options.logger.error(
            { ...context, reason: describe(error), attempt },
            'could not record a handled update (is Redis up?); retrying so it is not handled twice',
          );
        }
        if (this.stopping && attempt >= 5) return undefined;
        await sleep(Math.min(100 * attempt, 2_000));
      }
    }
  }
}

/** Orders stream ids ("ms-seq"); ids of other shapes compare as strings. */
export function compareIds(a: string, b: string): number {
  const [am = 0, as = 0] = a.split('-').map(Number);
  const [bm = 0, bs = 0] = b.split('-').map(Number);
  return am - bm || as - bs;
}
