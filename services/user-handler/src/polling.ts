import type { Logger } from '@herald/logger';
import type { Telegraf } from 'telegraf';
import type { Update } from 'telegraf/types';

export interface Poller {
  /** Stops asking for updates and waits for the current batch to finish. */
  stop(): Promise<void>;
}

/**
 * Long-polls getUpdates and hands each update to `bot.handleUpdate`, in order. The
 * offset only moves past an update once it was handled, so a restart re-reads the rest.
 */
export function startPolling(bot: Telegraf, logger: Logger): Poller {
  const controller = new AbortController();
  let offset = 0;

  const loop = async (): Promise<void> => {
    let failures = 0;
    while (!controller.signal.aborted) {
      let updates: Update[];
      try {
        updates = await bot.telegram.callApi(
          'getUpdates',
          { offset, timeout: 25, allowed_updates: ['message', 'edited_message', 'callback_query'] },
          // telegraf types its signal with the abort-controller polyfill; Node's is compatible.
          {
            signal: controller.signal as unknown as NonNullable<
              Parameters<typeof bot.telegram.callApi>[2]
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
      for (const update of updates) {
        await bot.handleUpdate(update);
        offset = update.update_id + 1;
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
