import type { Logger } from '@herald/logger';
import type { Telegram } from 'telegraf';
import type { Update } from 'telegraf/types';
import type { UpdateQueue } from '../updates/queue.js';

export interface Poller {
  /** Stops asking for updates and waits for the current batch to be queued. */
  stop(): Promise<void>;
}

/** The update types Herald's bot handles; the same list goes to setWebhook. */
export const ALLOWED_UPDATES = ['message', 'edited_message', 'callback_query', 'my_chat_member'];

/** Waits `ms`, or less: until `signal` aborts. */
function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) {
      resolve();
      return;
    }
    const wake = () => {
      clearTimeout(timer);
      resolve();
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', wake);
      resolve();
    }, ms);
    signal.addEventListener('abort', wake, { once: true });
  });
}

/**
 * Long-polls getUpdates and appends each update to the queue the workers consume, the
 * same path webhook updates take. The offset only moves past an update once the queue
 * has it, so a restart re-reads the rest (the queue drops the repeats).
 * `stop` aborts the poll in flight, with the sender's retries and waits behind it, and
 * any wait before asking again, so shutdown never waits out a backoff.
 */
export function startPolling(telegram: Telegram, queue: UpdateQueue, logger: Logger): Poller {
  const controller = new AbortController();
  const { signal } = controller;
  let offset = 0;

  const loop = async (): Promise<void> => {
    let failures = 0;
    while (!signal.aborted) {
      let updates: Update[];
      try {
        updates = await telegram.callApi(
          'getUpdates',
          { offset, timeout: 25, allowed_updates: ALLOWED_UPDATES as never },
          // telegraf types its signal with the abort-controller polyfill; Node's is compatible.
          // The shared sender, handed this signal, ends its backoff and 429 waits at once.
          {
            signal: signal as unknown as NonNullable<
              Parameters<typeof telegram.callApi>[2]
            >['signal'],
          },
        );
        failures = 0;
      } catch (error) {
        if (signal.aborted) break;
        failures += 1;
        const conflict = /409|Conflict/.test(String(error));
        logger.error(
          { err: error, failures },
          conflict
            ? 'getUpdates refused: a webhook is set for this bot. Delete it or run with TELEGRAM_MODE=webhook'
            : 'getUpdates failed; retrying. Check TELEGRAM_BOT_TOKEN and that the Bot API is reachable',
        );
        await pause(Math.min(1_000 * 2 ** failures, 30_000), signal);
        continue;
      }
      try {
        for (const update of updates) {
          await queue.enqueue(update);
          offset = update.update_id + 1;
        }
      } catch (error) {
        logger.error(
          { err: error, offset },
          'could not queue polled updates (is Redis up?); asking Telegram for them again in 2 s',
        );
        await pause(2_000, signal);
      }
    }
  };

  const done = loop();
  return {
    stop: async () => {
      controller.abort();
      await done;
    },
  };
}
