import type { Logger } from '@herald/logger';

export interface ShutdownStep {
  name: string;
  run: () => Promise<unknown>;
  /**
   * Longest this step may take. Past it the step is reported unfinished and the next steps
   * run anyway, so one stuck step never keeps the pools from closing before the cap.
   */
  timeoutMs?: number;
}

export interface ShutdownOptions {
  logger: Logger;
  /** Run in order: stop accepting, finish in-flight work, then close pools. */
  steps: readonly ShutdownStep[];
  /**
   * Past this the process exits 1 anyway. Keep it under the pod's
   * terminationGracePeriodSeconds (30 s by default) so Kubernetes never has to SIGKILL.
   */
  timeoutMs?: number;
  signals?: readonly NodeJS.Signals[];
  exit?: (code: number) => void;
}

const TIMED_OUT = Symbol('timed out');

/** Runs `step`, resolving to TIMED_OUT if it takes longer than its own `timeoutMs`. */
async function runStep(step: ShutdownStep): Promise<unknown> {
  const running = Promise.resolve().then(step.run);
  if (step.timeoutMs === undefined) return running;
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      running,
      new Promise<typeof TIMED_OUT>((resolve) => {
        timer = setTimeout(() => resolve(TIMED_OUT), step.timeoutMs);
        timer.unref();
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Runs the shutdown steps once, on the first SIGTERM or SIGINT, logging each as it
 * finishes. A step that fails or overruns its own time is logged and the rest still run;
 * the process then exits 1, else 0. A second signal exits at once. Returns a function
 * that starts the same shutdown from code.
 */
export function onShutdownSignal(options: ShutdownOptions): () => Promise<void> {
  const exit = options.exit ?? ((code: number) => process.exit(code));
  const timeoutMs = options.timeoutMs ?? 25_000;
  let shutdown: Promise<void> | undefined;

  const run = async (): Promise<void> => {
    const timer = setTimeout(() => {
      options.logger.error(
        { timeoutMs },
        'shutdown took too long; exiting with work unfinished. Look for a stuck request or connection',
      );
      exit(1);
    }, timeoutMs);
    timer.unref();
    let failed = false;
    for (const step of options.steps) {
      const started = performance.now();
      try {
        const outcome = await runStep(step);
        if (outcome === TIMED_OUT) {
          failed = true;
          options.logger.error(
            { step: step.name, timeoutMs: step.timeoutMs },
            'shutdown step did not finish in time; going on with the next. What it was waiting for is left unfinished: look for a stuck request or connection',
          );
          continue;
        }
        options.logger.info(
          { step: step.name, durationMs: Math.round(performance.now() - started) },
          'shutdown step done',
        );
      } catch (error) {
        failed = true;
        options.logger.error({ err: error, step: step.name }, 'shutdown step failed');
      }
    }
    clearTimeout(timer);
    options.logger.info('stopped');
    exit(failed ? 1 : 0);
  };

  const start = (): Promise<void> => {
    shutdown ??= run();
    return shutdown;
  };

  for (const signal of options.signals ?? ['SIGTERM', 'SIGINT']) {
    process.on(signal, () => {
      if (shutdown) {
        options.logger.warn({ signal }, 'second signal: exiting now');
        exit(1);
        return;
      }
      options.logger.info({ signal }, 'shutting down: no new work, finishing what is in flight');
      void start();
    });
  }
  return start;
}
