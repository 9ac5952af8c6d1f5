/** A piece of the model's output: its reasoning, or the answer. */
export interface OutputPart {
  kind: 'reasoning' | 'answer';
  text: string;
}

const OPEN = '<think>';
const CLOSE = '</think>';

/**
 * Splits `<think>…</think>` out of streamed content, however the tags are cut across
 * chunks. With `untaggedStart` (a server whose chat template writes the opening tag
 * itself, as DeepSeek-R1 distills' does without vLLM's reasoning parser), text before a
 * first `</think>` is reasoning too; the start is then held back until a `</think>` shows
 * or `maxHoldChars` pass without one.
 */
export class ThinkSplitter {
  private state: 'start' | 'thinking' | 'answer' = 'start';
  private pending = '';
  private answerStarted = false;

  constructor(
    private readonly untaggedStart = false,
    private readonly maxHoldChars = 4_000,
  ) {}

  push(text: string): OutputPart[] {
    this.pending += text;
    const parts: OutputPart[] = [];
    for (;;) {
      if (this.state === 'start') {
        const trimmed = this.pending.trimStart();
        if (trimmed.startsWith(OPEN)) {
          this.pending = trimmed.slice(OPEN.length);
          this.state = 'thinking';
          continue;
        }
        if (OPEN.startsWith(trimmed) && trimmed.length < OPEN.length) return parts;
        if (!this.untaggedStart) {
          this.state = 'answer';
          continue;
        }
        // Reasoning whose opening tag the template wrote.
        if (this.closeReasoning(parts)) continue;
        if (this.pending.length < this.maxHoldChars) return parts;
        this.state = 'answer';
        continue;
      }
      if (this.state === 'thinking') {
        if (this.closeReasoning(parts)) continue;
        const safe = this.pending.length - partialSuffix(this.pending, CLOSE);
        if (safe > 0) parts.push({ kind: 'reasoning', text: this.pending.slice(0, safe) });
        this.pending = this.pending.slice(safe);
        return parts;
      }
      // The answer, without the blank lines that follow </think>.
      if (!this.answerStarted) {
        this.pending = this.pending.trimStart();
        if (this.pending === '') return parts;
        this.answerStarted = true;
      }
      parts.push({ kind: 'answer', text: this.pending });
      this.pending = '';
      return parts;
    }
  }

  /** At a `</think>` in the pending text: emits the reasoning before it and starts the answer. */
  private closeReasoning(parts: OutputPart[]): boolean {
    const close = this.pending.indexOf(CLOSE);
    if (close === -1) return false;
    if (close > 0) parts.push({ kind: 'reasoning', text: this.pending.slice(0, close) });
    this.pending = this.pending.slice(close + CLOSE.length);
    this.state = 'answer';
    return true;
  }

  /** The rest, at the end of the stream. */
  end(): OutputPart[] {
    const rest = this.state === 'answer' || this.answerStarted ? this.pending : this.pending.trim();
    this.pending = '';
    if (rest === '') return [];
    // A stream that ended while "thinking" never answered: what it said is reasoning.
    return [{ kind: this.state === 'thinking' ? 'reasoning' : 'answer', text: rest }];
  }
}

/** Length of the longest end of `text` that is a beginning of `tag`. */
function partialSuffix(text: string, tag: string): number {
  for (let n = Math.min(tag.length - 1, text.length); n > 0; n -= 1) {
    if (text.endsWith(tag.slice(0, n))) return n;
  }
  return 0;
}
