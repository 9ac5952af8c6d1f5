/**
 * Bounds the LLM requests one pod runs at once. Beyond that, requests wait in line (in
 * arrival order) and learn their place, so a saturated model means "you are number 3 in
 * line", not silence or a pile-up of timeouts.
 */
export class AiSlots {
  private running = 0;
  private readonly line: (() => void)[] = [];

  constructor(private readonly limit: number) {}

  get waiting(): number {
    return this.line.length;
  }

  /** Resolves with a release function once a slot is free; `onWait` gets the place in line. */
  async acquire(onWait?: (position: number) => void, signal?: AbortSignal): Promise<() => void> {
    if (this.running < this.limit && this.line.length === 0) {
      this.running += 1;
      return this.release();
    }
    onWait?.(this.line.length + 1);
    await new Promise<void>((resolve, reject) => {
      const turn = () => resolve();
      this.line.push(turn);
      signal?.addEventListener('abort', () => {
        const at = this.line.indexOf(turn);
        if (at !== -1) this.line.splice(at, 1);
        reject(signal.reason as Error);
      });
    });
    return this.release();
  }

  private release(): () => void {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.line.shift();
      if (next) next();
      else this.running -= 1;
    };
  }
}
