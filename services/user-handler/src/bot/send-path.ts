import type { Sender } from '@herald/telegram';
import type { Context, Middleware, Telegraf } from 'telegraf';
import { currentRateLimitBudget, journalStage } from '../updates/journal.js';

type Telegram = Telegraf['telegram'];

/** One Bot API call as it travels the send path. */
export type ApiCall = (
  method: string,
  payload: Record<string, unknown>,
  options: { signal?: AbortSignal | undefined },
) => Promise<unknown>;

/** The last stage: telegraf's own HTTP call to the Bot API. */
function telegramStage(telegram: Telegram): ApiCall {
  const raw = telegram.callApi.bind(telegram);
  return (method, payload, options) => raw(method as never, payload as never, options as never);
}

/**
 * Flow control: the shared sender's per-chat and global pacing, 429 `retry_after` (within
 * the update's bound on such waits), retries of what cannot have taken effect, and the
 * plain-text fallback. The caller's signal (polling's stop, a lost update) ends its waits
 * and retries too.
 */
function flowControlStage(sender: Sender | undefined, next: ApiCall): ApiCall {
  if (!sender) return next;
  return (method, payload, options) =>
    sender.call(method, payload, (m, p) => next(m, p, options), {
      signal: options.signal,
      // An update's calls share one bound on their 429 waits; other calls get the default.
      rateLimitBudget: currentRateLimitBudget(),
    });
}

/**
 * Routes every Bot API call of a Telegram instance through Herald's send path, in this
 * order:
 *
 * 1. **journal** (while an update is being handled): a call that an earlier attempt of the
 *    same update already made is answered from the record instead of being sent again, and
 *    nothing is sent once another worker has taken the update over;
 * 2. **flow control**: the shared sender (see `flowControlStage`);
 * 3. **Telegram**: the HTTP call.
 *
 * Outside an update (the bot's own instance: apologies, the command menu) the journal stage
 * is absent.
 */
export function useSendPath(telegram: Telegram, sender: Sender | undefined): void {
  const send = journalStage(flowControlStage(sender, telegramStage(telegram)));
  telegram.callApi = ((method: string, payload?: object, options?: { signal?: AbortSignal }) =>
    send(method, (payload ?? {}) as Record<string, unknown>, options ?? {})) as Telegram['callApi'];
}

/**
 * First middleware of the bot: telegraf gives each update its own Telegram instance, so
 * each one is routed through the send path before any feature can call it.
 */
export function sendPathMiddleware(sender: Sender | undefined): Middleware<Context> {
  return (ctx, next) => {
    useSendPath(ctx.telegram, sender);
    return next();
  };
}
