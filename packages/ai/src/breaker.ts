/**
 * One call the circuit let through. Every call ends in one of three ways: the server
 * answered (`success`), it failed (`failure`), or the call ended without saying anything
 * about the server (`release`: the caller cancelled, or stopped reading). Call `release` on
 * every path out (a `finally`); after a verdict it does nothing. A call that succeeded and
 * then broke (a stream cut mid-answer) may still report its `failure`; nothing else counts
 * twice.
 */
export interface CircuitPermit {
  /** Whether this call is the half-open circuit's one trial. */
  readonly trial: boolean;
  success(): void;
  failure(): void;
  release(): void;
}

/** What the circuit gauge reads in each state: 0 closed, 0.5 half-open, 1 open. */
export const CIRCUIT_GAUGE_VALUE = { closed: 0, 'half-open': 0.5, open: 1 } as const;

/**
 * A circuit breaker: after `failureThreshold` failures in a row the circuit opens and
 * calls fail at once for `openMs`, sparing a down or drowning LLM server and answering
 * users without waiting for timeouts. Then one trial call goes through (half-open): its
 * success closes the circuit, its failure opens it again, and a trial that ends without a
 * verdict (cancelled) frees its place for the next call, the circuit staying half-open.
 */
export class CircuitBreaker {
  private failures = 0;
  private openedAt: number | undefined;
  /** The half-open trial now running; a stale call's ending must not free its place. */
  private trial: CircuitPermit | undefined;

  constructor(
    private readonly options: { failureThreshold: number; openMs: number; now?: () => number },
  ) {}

  private now(): number {
    return this.options.now?.() ?? Date.now();
  }

  get state(): 'closed' | 'open' | 'half-open' {
    if (this.openedAt === undefined) return 'closed';
    return this.now() - this.openedAt >= this.options.openMs ? 'half-open' : 'open';
  }

  /** Seconds until a trial call will be let through; 0 when calls go through now. */
  retryAfterSeconds(): number {
    if (this.openedAt === undefined) return 0;
    return Math.max(0, Math.ceil((this.openedAt + this.options.openMs - this.now()) / 1000));
  }

  /**
   * A permit for a call that may go now, or undefined while the circuit is open or a
   * half-open trial is already running. Settle the permit on every path out.
   */
  tryAcquire(): CircuitPermit | undefined {
    const state = this.state;
    if (state === 'open' || (state === 'half-open' && this.trial)) return undefined;
    return this.permit(state === 'half-open');
  }

  private permit(trial: boolean): CircuitPermit {
    let stage: 'running' | 'succeeded' | 'settled' = 'running';
    const leave = () => {
      if (this.trial === permit) this.trial = undefined;
    };
    const permit: CircuitPermit = {
      trial,
      success: () => {
        if (stage !== 'running') return;
        stage = 'succeeded';
        leave();
        this.closed();
      },
      failure: () => {
        if (stage === 'settled') return;
        stage = 'settled';
        leave();
        this.failed();
      },
      release: () => {
        stage = 'settled';
        leave();
      },
    };
    if (trial) this.trial = permit;
    return permit;
  }

  private closed(): void {
    this.failures = 0;
    this.openedAt = undefined;
    // A call that began before the circuit opened may close it: the trial has no more to prove.
    this.trial = undefined;
  }

  private failed(): void {
    this.failures += 1;
    if (this.openedAt !== undefined || this.failures >= this.options.failureThreshold) {
      this.openedAt = this.now();
    }
  }
}
