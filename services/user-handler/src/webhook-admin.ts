// `node dist/webhook-admin.js set|delete|info [--drop-pending-updates]`: manages the bot's
// webhook for operators and for the Helm hook. Configured by the environment only.
import { envVar, loadEnv, requiredWhen, telegramEnv, z } from '@herald/config';
import { Telegram } from 'telegraf';
import { deleteWebhook, setWebhook } from './ingress/webhook-setup.js';
import { userHandlerEnv } from './env.js';

const [action = '', ...flags] = process.argv.slice(2);
const USAGE = 'usage: webhook-admin set|delete|info [--drop-pending-updates]';
if (!['set', 'delete', 'info'].includes(action)) {
  process.stderr.write(`${USAGE}\n`);
  process.exit(64);
}

const env = loadEnv(
  'webhook-admin',
  z.object({
    ...telegramEnv,
    PUBLIC_URL: userHandlerEnv.shape.PUBLIC_URL,
    WEBHOOK_SECRET: userHandlerEnv.shape.WEBHOOK_SECRET,
    WEBHOOK_MAX_CONNECTIONS: envVar.count(1, 100).default(40),
  }),
  {
    rules:
      action === 'set'
        ? [
            requiredWhen('PUBLIC_URL', () => true, 'the https URL Telegram reaches Herald at'),
            requiredWhen('WEBHOOK_SECRET', () => true, 'the secret token the user-handler checks'),
          ]
        : [],
  },
);
const telegram = new Telegram(env.TELEGRAM_BOT_TOKEN, { apiRoot: env.TELEGRAM_API_ROOT });
const drop = flags.includes('--drop-pending-updates');

try {
  if (action === 'set') {
    const url = await setWebhook(telegram, {
      publicUrl: env.PUBLIC_URL!,
      secret: env.WEBHOOK_SECRET!,
      maxConnections: env.WEBHOOK_MAX_CONNECTIONS,
      dropPendingUpdates: drop,
    });
    process.stdout.write(`webhook set: ${url} (max_connections ${env.WEBHOOK_MAX_CONNECTIONS})\n`);
  } else if (action === 'delete') {
    await deleteWebhook(telegram, drop);
    process.stdout.write('webhook deleted: use TELEGRAM_MODE=polling, or set it again\n');
  } else {
    const info = await telegram.getWebhookInfo();
    process.stdout.write(`${JSON.stringify(info, null, 2)}\n`);
  }
} catch (error) {
  const description =
    (error as { response?: { description?: string } }).response?.description ?? String(error);
  process.stderr.write(
    `Telegram refused: ${description.replaceAll(env.TELEGRAM_BOT_TOKEN, '<token>')}\n`,
  );
  process.exit(1);
}
