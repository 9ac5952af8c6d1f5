import { Writable } from 'node:stream';
import { describe, expect, it } from '@jest/globals';
import { createLogger } from '@herald/logger';
import { onShutdownSignal } from './shutdown.js';

function capturingLogger() {
  const lines: Record<string, unknown>[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n').filter(Boolean)) {
        lines.push(JSON.parse(line) as Record<string, unknown>);
      }
      done();
    },
  });
  return { logger: createLogger({ service: 'test', level: 'debug', destination }), lines };
}

/** Resolves with the exit code the shutdown chose. */
function shutdownWith(
  steps: Parameters<typeof onShutdownSignal>[0]['steps'],
  logger: ReturnType<typeof capturingLogger>['logger'],
  capMs = 5_000,
): Promise<number> {
  return new Promise((resolve) => {
    const start = onShutdownSignal({ logger, steps, timeoutMs: capMs, signals: [], exit: resolve });
    void start();
  });
}

describe('onShutdownSignal', () => {
  it('runs the steps in order, logs each one done, and exits 0', async () => {
    const { logger, lines } = capturingLogger();
    const ran: string[] = [];
    const step = (name: string) => ({ name, run: async () => ran.push(name) });
    const code = await shutdownWith([step('stop taking work'), step('close pools')], logger);
    expect(code).toBe(0);
    expect(ran).toEqual(['stop taking work', 'close pools']);
    expect(lines.filter((l) => l.msg === 'shutdown step done').map((l) => l.step)).toEqual([
      'stop taking work',
      'close pools',
    ]);
    expect(lines.at(-1)?.msg).toBe('stopped');
  });

  it('still closes the pools when an earlier step overruns its time, then exits 1', async () => {
    const { logger, lines } = capturingLogger();
    let poolsClosed = false;
    const code = await shutdownWith(
      [
        { name: 'finish in-flight work', run: () => new Promise(() => undefined), timeoutMs: 20 },
        { name: 'close pools', run: async () => (poolsClosed = true) },
      ],
      logger,
    );
    expect(poolsClosed).toBe(true);
    expect(code).toBe(1);
    const unfinished = lines.find((l) => l.step === 'finish in-flight work');
    expect(unfinished).toMatchObject({ level: 'error', timeoutMs: 20 });
    expect(String(unfinished?.msg)).toContain('did not finish in time');
  });

  it('goes on after a step that throws, and exits 1', async () => {
    const { logger, lines } = capturingLogger();
    let poolsClosed = false;
    const code = await shutdownWith(
      [
        {
          name: 'stop workers',
          run: () => {
            throw new Error('workers refused to stop');
          },
        },
        { name: 'close pools', run: async () => (poolsClosed = true) },
      ],
      logger,
    );
    expect(poolsClosed).toBe(true);
    expect(code).toBe(1);
    expect(lines.find((l) => l.msg === 'shutdown step failed')).toMatchObject({
      step: 'stop workers',
    });
  });

  it('exits 1 at the cap when a step without a time of its own never ends', async () => {
    const { logger } = capturingLogger();
    const code = await shutdownWith(
      [{ name: 'stuck', run: () => new Promise(() => undefined) }],
      logger,
      30,
    );
    expect(code).toBe(1);
  });
});
