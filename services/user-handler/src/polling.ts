import type { Logger } from '@herald/logger';
import type { Telegram } from 'telegraf';
import type { Update } from 'telegraf/types';
import type { UpdateQueue } from './updates/queue.js';

export interface Poller {
  /** Stops asking for updates and waits for the current batch to be queued. */
  stop(): Promise<void>;
}

/** The update types Herald's bot handles; the same list goes to setWebhook. */
export const ALLOWED_UPDATES = ['message', 'edited_message', 'callback_query', 'my_chat_member'];

/**
 * Long-polls getUpdates and appends each update to the queue the workers consume, the
 * same path webhook updates take. The offset only moves past an update once the queue
 * has it, so a restart re-reads the rest (the queue drops the repeats).
 */
export function startPolling(telegram: Telegram, queue: UpdateQueue, logger: Logger): Poller {
  const controller = new AbortController();
  let offset = 0;

  const loop = async (): Promise<void> => {
    let failures = 0;
    while (!controller.signal.aborted) {
      let updates: Update[];
      try {
        updates = await telegram.callApi(
          'getUpdates',
          { offset, timeout: 25, allowed_updates: ALLOWED_UPDATES as never },
          // telegraf types its signal with the abort-controller polyfill; Node's is compatible.
          {
            signal: controller.signal as unknown as NonNullable<
              Parameters<typeof telegram.callApi>[2]
            >['signal'],
          },
        );
        failures = 0;
      } catch (error) {
        if (controller.signal.aborted) break;
        failures += 1;
        const conflict = /409|Conflict/.test(String(error));
        logger.error(
          { err: error, failures },
          conflict
            ? 'getUpdates refused: a webhook is set for this bot. Delete it or run with TELEGRAM_MODE=webhook'
            : 'getUpdates failed; retrying. Check TELEGRAM_BOT_TOKEN and that the Bot API is reachable',
        );
        await new Promise((r) => setTimeout(r, Math.min(1_000 * 2 ** failures, 30_000)));
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
        await new Promise((r) => setTimeout(r, 2_000));
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
