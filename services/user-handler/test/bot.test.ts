import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { createLogger } from '@herald/logger';
import { startBotApiDouble, type BotApiDouble } from '@herald/testing';
import type { Telegraf } from 'telegraf';
import type { Update } from 'telegraf/types';
import { createBot, type StatusReport } from '../src/bot/index.js';

const ALICE = { id: 1001, is_bot: false, first_name: 'Alice <admin>' };
const BOB = { id: 1002, is_bot: false, first_name: 'Bob' };
let updateId = 0;

function message(text: string, from = ALICE): Update {
  const command = /^\/\w+/.exec(text)?.[0];
  return {
    update_id: ++updateId,
    message: {
      message_id: updateId,
      date: 1_700_000_000,
      chat: { id: from.id, type: 'private', first_name: from.first_name },
      from,
      text,
      ...(command
        ? { entities: [{ type: 'bot_command', offset: 0, length: command.length }] }
        : {}),
    },
  };
}

const healthy: StatusReport = {
  uptimeSeconds: 3_725,
  version: '1.2.3',
  postgres: 'ok',
  state: { kind: 'redis', health: 'ok' },
  ai: {
    configured: true,
    reachable: false,
    models: ['deepseek-r1-14b'],
    detail: 'connect ECONNREFUSED',
  },
};

describe('bot commands', () => {
  let telegram: BotApiDouble;
  let bot: Telegraf;
  const sent = () => telegram.callsOf('sendMessage').map((call) => call.payload);

  beforeAll(async () => {
    telegram = await startBotApiDouble();
    bot = createBot(
      { token: telegram.token, apiRoot: telegram.apiRoot },
      {
        logger: createLogger({ service: 'test', level: 'silent' }),
        adminUserIds: [ALICE.id],
        status: async () => healthy,
      },
    );
  });
  afterAll(() => telegram.close());
  beforeEach(() => {
    telegram.calls.length = 0;
  });

  it('welcomes on /start with quick-action buttons, escaping the user name', async () => {
    await bot.handleUpdate(message('/start'));
    const [reply] = sent();
    expect(reply).toMatchObject({ chat_id: ALICE.id, parse_mode: 'HTML' });
    expect(reply?.text).toContain('Alice &lt;admin&gt;');
    expect(JSON.stringify(reply?.reply_markup)).toContain('"callback_data":"status"');
  });

  it('lists the commands on /help', async () => {
    await bot.handleUpdate(message('/help'));
    expect(sent()[0]?.text).toMatch(/\/status/);
  });

  it('reports dependencies on /status, with details for admins only', async () => {
    await bot.handleUpdate(message('/status'));
    await bot.handleUpdate(message('/status', BOB));
    const [forAdmin, forUser] = sent().map((p) => String(p.text));
    expect(forAdmin).toContain('Uptime: 1h 2m 5s');
    expect(forAdmin).toContain('✅ Database');
    expect(forAdmin).toContain('❌ AI: unreachable');
    expect(forAdmin).toContain('version 1.2.3');
    expect(forAdmin).toContain('ECONNREFUSED');
    expect(forUser).toContain('❌ AI: unreachable');
    expect(forUser).not.toContain('ECONNREFUSED');
  });

  it('answers an unknown command with help instead of silence', async () => {
    await bot.handleUpdate(message('/frobnicate <now>'));
    const text = String(sent()[0]?.text);
    expect(text).toContain("I don't know /frobnicate.");
    expect(text).toContain('/help');
  });

  it('answers the Status button and acknowledges the press', async () => {
    await bot.handleUpdate({
      update_id: ++updateId,
      callback_query: {
        id: 'cb1',
        from: ALICE,
        chat_instance: 'ci',
        data: 'status',
        message: {
          message_id: 1,
          date: 1,
          chat: { id: ALICE.id, type: 'private', first_name: 'A' },
          text: 'x',
        },
      },
    });
    expect(telegram.callsOf('answerCallbackQuery')).toHaveLength(1);
    expect(String(sent()[0]?.text)).toContain('Herald status');
  });

  it('tells users outside ALLOWED_USER_IDS that the bot is private', async () => {
    const privateBot = createBot(
      { token: telegram.token, apiRoot: telegram.apiRoot },
      {
        logger: createLogger({ service: 'test', level: 'silent' }),
        adminUserIds: [],
        allowedUserIds: [ALICE.id],
        status: async () => healthy,
      },
    );
    await privateBot.handleUpdate(message('/start', BOB));
    await privateBot.handleUpdate(message('/help', ALICE));
    const [toBob, toAlice] = sent();
    expect(toBob).toMatchObject({ chat_id: BOB.id, text: expect.stringContaining('private') });
    expect(toAlice).toMatchObject({
      chat_id: ALICE.id,
      text: expect.stringContaining('What I can do'),
    });
  });
});
