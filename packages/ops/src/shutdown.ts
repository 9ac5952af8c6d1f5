import type { Logger } from '@herald/logger';

export interface ShutdownStep {
  name: string;
  run: () => Promise<unknown>;
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

/**
 * Runs the shutdown steps once, on the first SIGTERM or SIGINT. A second signal exits at
 * once. Returns a function that starts the same shutdown from code.
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
      try {
        await step.run();
        options.logger.debug({ step: step.name }, 'shutdown step done');
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
