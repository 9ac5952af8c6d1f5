import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startBotApiDouble, type BotApiDouble } from '@herald/testing';

const ADMIN = fileURLToPath(new URL('../dist/webhook-admin.js', import.meta.url));
const SECRET = 'a-webhook-secret-0123456789';

function admin(args: string[], env: Record<string, string>) {
  return new Promise<{ code: number | null; output: string }>((resolve) => {
    let output = '';
    const child = spawn(process.execPath, [ADMIN, ...args], {
      env: { PATH: process.env.PATH ?? '', ...env },
    });
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.on('exit', (code) => resolve({ code, output }));
  });
}

describe('webhook-admin', () => {
  let telegram: BotApiDouble;
  let env: Record<string, string>;
  beforeAll(async () => {
    telegram = await startBotApiDouble();
    env = {
      TELEGRAM_BOT_TOKEN: telegram.token,
      TELEGRAM_API_ROOT: telegram.apiRoot,
      PUBLIC_URL: 'https://bot.example.com',
      WEBHOOK_SECRET: SECRET,
      WEBHOOK_MAX_CONNECTIONS: '80',
    };
  });
  afterAll(() => telegram.close());

  it('sets the webhook with its secret, the handled update types and max_connections', async () => {
    const { code, output } = await admin(['set'], env);
    expect(code).toBe(0);
    expect(output).toContain('https://bot.example.com/telegram/webhook');
    expect(telegram.webhook).toMatchObject({
      url: 'https://bot.example.com/telegram/webhook',
      secret_token: SECRET,
      max_connections: 80,
      allowed_updates: ['message', 'edited_message', 'callback_query', 'my_chat_member'],
    });
    expect(telegram.callsOf('setMyCommands')).toHaveLength(1);
    const info = await admin(['info'], env);
    expect(info.output).toContain('"max_connections": 80');
    expect(info.output).not.toContain(SECRET);
  });

  it('deletes the webhook', async () => {
    await admin(['set'], env);
    const { code } = await admin(['delete', '--drop-pending-updates'], env);
    expect(code).toBe(0);
    expect(telegram.webhook).toBeUndefined();
    expect(telegram.callsOf('deleteWebhook').at(-1)?.payload).toMatchObject({
      drop_pending_updates: true,
    });
  });

  it('refuses to set a webhook without an https PUBLIC_URL and a secret (exit 78)', async () => {
    const { code, output } = await admin(['set'], {
      ...env,
      PUBLIC_URL: 'http://bot.example.com',
      WEBHOOK_SECRET: '',
    });
    expect(code).toBe(78);
    expect(output).toContain('- PUBLIC_URL:');
    expect(output).toContain('- WEBHOOK_SECRET:');
  });

  it("reports Telegram's refusal and exits 1, without printing the token", async () => {
    const wrong = '7000000001:AAH-not-the-token-of-this-bot-at-all';
    const { code, output } = await admin(['info'], { ...env, TELEGRAM_BOT_TOKEN: wrong });
    expect(code).toBe(1);
    expect(output).toContain('Telegram refused: Unauthorized');
    expect(output).not.toContain(wrong);
  });
});
