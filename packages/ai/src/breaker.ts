/**
 * A circuit breaker: after `failureThreshold` failures in a row the circuit opens and
 * calls fail at once for `openMs`, sparing a down or drowning LLM server and answering
 * users without waiting for timeouts. Then one trial call goes through (half-open): its
 * success closes the circuit, its failure opens it again.
 */
export class CircuitBreaker {
  private failures = 0;
  private openedAt: number | undefined;
  private trialInFlight = false;

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

  /** Whether a call may go now; a half-open circuit lets one trial through at a time. */
  tryAcquire(): boolean {
    const state = this.state;
    if (state === 'closed') return true;
    if (state === 'open' || this.trialInFlight) return false;
    this.trialInFlight = true;
    return true;
  }

  success(): void {
    this.failures = 0;
    this.openedAt = undefined;
    this.trialInFlight = false;
  }

  failure(): void {
    this.trialInFlight = false;
    this.failures += 1;
    if (this.openedAt !== undefined || this.failures >= this.options.failureThreshold) {
      this.openedAt = this.now();
    }
  }
}
