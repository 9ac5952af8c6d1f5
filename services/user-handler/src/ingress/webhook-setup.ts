import type { Telegram } from 'telegraf';
import { BOT_COMMANDS } from '../bot/index.js';
import { ALLOWED_UPDATES } from './polling.js';

export const WEBHOOK_PATH = '/telegram/webhook';

export interface WebhookSetup {
  /** `PUBLIC_URL`: the https base URL Telegram reaches the user-handler at. */
  publicUrl: string;
  secret: string;
  maxConnections: number;
  dropPendingUpdates?: boolean;
}

/**
 * Points Telegram at Herald's webhook: the URL, the secret token Telegram sends back with
 * every update, the update types the bot handles, and how many connections Telegram may
 * open at once. Also publishes the command menu.
 */
export async function setWebhook(telegram: Telegram, setup: WebhookSetup): Promise<string> {
  const url = new URL(WEBHOOK_PATH, setup.publicUrl).toString();
  await telegram.setWebhook(url, {
    secret_token: setup.secret,
    allowed_updates: ALLOWED_UPDATES as never,
    max_connections: setup.maxConnections,
    drop_pending_updates: setup.dropPendingUpdates ?? false,
  });
  await telegram.setMyCommands(BOT_COMMANDS);
  return url;
}

/** Removes the webhook (for long polling, or before uninstalling). */
export async function deleteWebhook(telegram: Telegram, dropPendingUpdates = false): Promise<void> {
  await telegram.deleteWebhook({ drop_pending_updates: dropPendingUpdates });
}
