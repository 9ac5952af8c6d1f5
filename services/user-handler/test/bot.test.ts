import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { conversationMessages, createDatabase, users } from '@herald/db';
import { createNewsControl } from '@herald/news';
import { parseTelegramHtml, waitFor } from '@herald/testing';
import { eq } from 'drizzle-orm';
import {
  ALICE,
  BOB,
  BOT_USER,
  GROUP,
  message,
  press,
  startHarness,
  type Harness,
} from './harness.js';

const markupOf = (harness: Harness, method = 'sendMessage') =>
  JSON.stringify(harness.telegram.callsOf(method).at(-1)?.payload.reply_markup ?? {});

describe('bot commands', () => {
  let harness: Harness;

  beforeAll(async () => {
    harness = await startHarness('redis', {
      // Nothing listens on port 1: /status must report the AI as unreachable.
      aiBaseUrl: 'http://127.0.0.1:1/v1',
    });
  });
  afterAll(() => harness.close());
  beforeEach(() => harness.clear());

  it('welcomes on /start with quick-action buttons, escaping the user name', async () => {
    await harness.send(message('/start'));
    const [reply] = harness.telegram.callsOf('sendMessage').map((c) => c.payload);
    expect(reply).toMatchObject({ chat_id: ALICE.id, parse_mode: 'HTML' });
    expect(reply?.text).toContain('Alice &lt;admin&gt;');
    for (const data of ['help', 'status', 'models', 'settings']) {
      expect(markupOf(harness)).toContain(`"callback_data":"${data}"`);
    }
  });

  it('lists the commands on /help', async () => {
    await harness.send(message('/help'));
    expect(harness.replies()[0]).toMatch(/\/status[\s\S]*\/reset[\s\S]*\/forget/);
  });

  it('reports dependencies and the queue on /status, with details for admins only', async () => {
    await harness.send(message('/status'), message('/status', BOB));
    const forAdmin = harness.replies(ALICE.id)[0] ?? '';
    const forUser = harness.replies(BOB.id)[0] ?? '';
    expect(forAdmin).toContain('✅ Database');
    expect(forAdmin).toContain('✅ Shared state: Redis');
    expect(forAdmin).toMatch(/Queue: \d+ waiting/);
    expect(forAdmin).toContain('❌ AI: unreachable');
    expect(forAdmin).toContain('Your model: <code>deepseek-r1-14b</code>');
    expect(forAdmin).toMatch(/version \d+\.\d+\.\d+/);
    expect(forAdmin).toMatch(/AI: .*(ECONNREFUSED|fetch failed)/);
    expect(forUser).toContain('❌ AI: unreachable');
    expect(forUser).not.toMatch(/version \d/);
  });

  it('answers an unknown command with help instead of silence', async () => {
    await harness.send(message('/frobnicate <now>'));
    expect(harness.replies()[0]).toContain("I don't know /frobnicate.");
    expect(harness.replies()[0]).toContain('/help');
  });

  it('answers the Status button and acknowledges the press', async () => {
    await harness.send(press('status'));
    expect(harness.telegram.callsOf('answerCallbackQuery')).toHaveLength(1);
    expect(harness.replies()[0]).toContain('Herald status');
  });

  it('offers only the models in AI_MODELS and remembers the pick', async () => {
    await harness.send(message('/models'));
    expect(harness.replies()[0]).toContain('● <code>deepseek-r1-14b</code>');
    // The LLM server is unreachable in this suite: it serves nothing we can see, so no mark.
    expect(harness.replies()[0]).not.toContain('not served');
    expect(markupOf(harness)).toContain('"callback_data":"model:qwen2.5-7b"');

    await harness.send(message('/switch gpt-4o'), message('/switch qwen2.5-7b'));
    expect(harness.replies()[1]).toContain('<code>gpt-4o</code> is not offered here');
    expect(harness.replies()[2]).toContain('Switched to <code>qwen2.5-7b</code>');
    expect((await harness.handler.sessions.settings(ALICE.id)).model).toBe('qwen2.5-7b');

    harness.clear();
    await harness.send(message('/models'));
    expect(harness.replies()[0]).toContain('● <code>qwen2.5-7b</code>');
  });

  it('answers a message-long unknown model or command in messages Telegram accepts', async () => {
    const refusalsBefore = harness.telegram.refusals.length;
    await harness.send(
      message(`/switch ${'<gold>'.repeat(680)}`, BOB),
      message(`/${'x'.repeat(4_000)}`, BOB),
    );
    const replies = harness.replies(BOB.id);
    expect(replies.length).toBeGreaterThan(2);
    for (const html of replies) {
      const parsed = parseTelegramHtml(html);
      if (!parsed.ok) throw new Error(parsed.error);
      expect(parsed.text.length).toBeLessThanOrEqual(4_096);
    }
    expect(replies.join('\n')).toContain('Choose one of:');
    expect(replies.join('\n')).toContain('What I can do');
    expect(harness.telegram.refusals.slice(refusalsBefore)).toEqual([]);
    expect(await harness.handler.queue.stats()).toMatchObject({ deadLetters: 0 });
  });

  it('switches the model with a button and updates the message in place', async () => {
    await harness.send(message('/models', BOB));
    const sentId = harness.telegram.lastMessageId;
    harness.clear();
    await harness.send(press('model:qwen2.5-7b', BOB, sentId));
    expect(harness.telegram.callsOf('answerCallbackQuery')[0]?.payload.text).toBe(
      'Switched to qwen2.5-7b',
    );
    expect(harness.telegram.callsOf('editMessageText')[0]?.payload.text).toContain(
      '● <code>qwen2.5-7b</code>',
    );
    // Pressing the same button again changes nothing and is not an error.
    await harness.send(press('model:qwen2.5-7b', BOB, sentId));
    expect(await harness.handler.queue.stats()).toMatchObject({ deadLetters: 0 });
    await harness.send(press('model:gpt-4o', BOB, sentId));
    expect(harness.telegram.callsOf('answerCallbackQuery').at(-1)?.payload.text).toBe(
      'That model is no longer offered.',
    );
  });

  it('changes settings with buttons and keeps them in Postgres', async () => {
    await harness.send(message('/settings'));
    expect(harness.replies()[0]).toContain('Answer length: Normal');
    const sentId = harness.telegram.lastMessageId;
    await harness.send(press('set:len:short', ALICE, sentId), press('set:think:on', ALICE, sentId));
    const edits = harness.telegram.callsOf('editMessageText').map((c) => String(c.payload.text));
    expect(edits.at(-1)).toContain('Answer length: Short');
    expect(edits.at(-1)).toContain("Show the model's reasoning: yes");
    const db = createDatabase(harness.runtime.pool);
    const [row] = await db.select().from(users).where(eq(users.id, ALICE.id));
    expect(row?.settings).toMatchObject({ answerLength: 'short', showReasoning: true });
  });

  it('clears the conversation on /reset', async () => {
    const chatId = ALICE.id;
    await harness.handler.sessions.appendTurn(chatId, ALICE.id, { role: 'user', content: 'hi' });
    expect(await harness.handler.sessions.recentTurns(chatId)).toHaveLength(1);
    await harness.send(message('/reset'));
    expect(harness.replies()[0]).toContain('Conversation cleared');
    expect(await harness.handler.sessions.recentTurns(chatId)).toEqual([]);
  });

  it('deletes everything stored about the user on /forget, then confirms', async () => {
    await harness.send(message('/settings', BOB));
    await harness.handler.sessions.updateSettings(BOB.id, { language: 'de' });
    await harness.handler.sessions.appendTurn(BOB.id, BOB.id, { role: 'user', content: 'a' });
    await harness.handler.sessions.appendTurn(BOB.id, BOB.id, { role: 'assistant', content: 'b' });
    harness.clear();
    await harness.send(message('/forget', BOB));
    expect(harness.replies()[0]).toMatch(/deleted your profile, your settings and 2 messages/);
    const db = createDatabase(harness.runtime.pool);
    expect(await db.select().from(users).where(eq(users.id, BOB.id))).toEqual([]);
    expect(
      await db.select().from(conversationMessages).where(eq(conversationMessages.chatId, BOB.id)),
    ).toEqual([]);
    expect(await harness.handler.sessions.settings(BOB.id)).toEqual({});
  });

  it('shows /admin stats to admins only', async () => {
    await harness.send(message('/admin stats'), message('/admin stats', BOB));
    expect(harness.replies(ALICE.id)[0]).toMatch(/Users: \d+ \(\d+ active in 24 h\)/);
    expect(harness.replies(ALICE.id)[0]).toMatch(
      /Queue: \d+ waiting, lag [\d.]+ s, 0 dead letters/,
    );
    expect(harness.replies(BOB.id)[0]).toBe("This command is for the bot's operators.");
  });

  it('lets admins pause, resume and run the news publisher and see its sources', async () => {
    const control = createNewsControl(harness.runtime.store);
    const refusalsBefore = harness.telegram.refusals.length;
    await harness.send(message('/admin news pause'), message('/admin news pause', BOB));
    expect(harness.replies(ALICE.id)[0]).toMatch(/^News posting is paused/);
    expect(harness.replies(BOB.id)[0]).toBe("This command is for the bot's operators.");
    expect(await control.pausedBy()).toBe('@alice');
    await harness.send(message('/admin news now'));
    expect(await control.takeRunRequest()).toBe('@alice');
    expect(harness.replies(ALICE.id)[1]).toMatch(/will only fetch and archive/);
    await harness.send(message('/admin news resume'));
    expect(await control.pausedBy()).toBeUndefined();

    const pool = harness.runtime.pool;
    await pool.query(
      `INSERT INTO sources (id, url, kind, consecutive_failures, last_success_at, backoff_until, last_error)
       VALUES ('kitco', 'https://k.example', 'html', 0, now() - interval '5 minutes', NULL, NULL),
              ('broken', 'https://b.example', 'rss', 3, NULL, now() + interval '1 hour', 'http_status: <500> from server')`,
    );
    await harness.send(message('/admin news sources'));
    const sources = harness.replies(ALICE.id).at(-1)!;
    expect(sources).toContain('<b>News sources</b> (2, 1 failing)');
    expect(sources).toMatch(/✅ <code>kitco<\/code>: read 5 min ago/);
    expect(sources).toMatch(
      /❌ <code>broken<\/code>: 3 failures, next try \d\d:\d\d UTC; http_status: &lt;500&gt; from server/,
    );
    expect(harness.telegram.refusals.slice(refusalsBefore)).toEqual([]);
  });

  it('sends a long /admin news sources list as several messages Telegram accepts', async () => {
    const refusalsBefore = harness.telegram.refusals.length;
    const ids = Array.from({ length: 40 }, (_, n) => `failing-source-${n}`);
    await harness.runtime.pool.query(
      `INSERT INTO sources (id, url, kind, consecutive_failures, backoff_until, last_error)
       SELECT id, 'https://' || id || '.example', 'rss', 7, now() + interval '1 hour',
              'fetch failed <ECONNRESET> & ' || repeat('the server closed the connection; ', 6)
       FROM unnest($1::text[]) AS id`,
      [ids],
    );
    await harness.send(message('/admin news sources'));
    const replies = harness.replies(ALICE.id);
    expect(replies.length).toBeGreaterThan(1);
    const seen = replies
      .map((html) => {
        const parsed = parseTelegramHtml(html);
        if (!parsed.ok) throw new Error(parsed.error);
        expect(parsed.text.length).toBeLessThanOrEqual(4_096);
        return parsed.text;
      })
      .join('\n');
    for (const id of ids) expect(seen).toContain(`❌ ${id}: 7 failures`);
    expect(harness.telegram.refusals.slice(refusalsBefore)).toEqual([]);
    expect(await harness.handler.queue.stats()).toMatchObject({ deadLetters: 0 });
  });

  it('in groups, answers only commands, mentions and replies to its own messages', async () => {
    const inGroup = (text: string, extra: object = {}) =>
      message(text, BOB, { chat: GROUP, ...extra });
    const mention = inGroup('@herald_test_bot what is gold doing?');
    (mention as { message: { entities: object[] } }).message.entities = [
      { type: 'mention', offset: 0, length: 16 },
    ];
    await harness.send(
      inGroup('just chatting among ourselves'),
      inGroup('/help@some_other_bot'),
      inGroup('/help@herald_test_bot'),
      mention,
      inGroup('and you?', {
        replyTo: { message_id: 1, date: 1, chat: GROUP, from: BOT_USER, text: 'earlier' },
      }),
    );
    const replies = harness.replies(GROUP.id);
    expect(replies).toHaveLength(3);
    expect(replies[0]).toContain('What I can do');
    // The group and its member are recorded either way.
    const db = createDatabase(harness.runtime.pool);
    expect(await db.select().from(users).where(eq(users.id, BOB.id))).toHaveLength(1);
  });
});

describe('limits and access', () => {
  it('limits a user and tells them once when to try again; others go on', async () => {
    const harness = await startHarness('redis', {
      limits: { perUserPerMinute: 3, globalPerMinute: 1_000 },
      adminUserIds: [],
    });
    try {
      const flood = Array.from({ length: 6 }, () => message('/help', BOB));
      await harness.send(...flood, message('/help', ALICE));
      const toBob = harness.replies(BOB.id);
      expect(toBob.filter((t) => t.includes('What I can do'))).toHaveLength(3);
      const warnings = toBob.filter((t) => t.includes('faster than I can answer'));
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toMatch(/try again in \d+ s/);
      expect(harness.replies(ALICE.id)).toHaveLength(1);
      const metrics = await harness.runtime.registry.getSingleMetricAsString(
        'herald_rate_limited_total',
      );
      expect(metrics).toMatch(/scope="user"[^\n]* 3/);
    } finally {
      await harness.close();
    }
  });

  it('applies the global limit to everyone together', async () => {
    const harness = await startHarness('in-process', {
      limits: { perUserPerMinute: 100, globalPerMinute: 2 },
      adminUserIds: [],
    });
    try {
      await harness.send(message('/help', ALICE));
      await harness.send(message('/help', BOB), message('/help', BOB));
      expect(harness.replies(BOB.id).at(-1)).toMatch(
        /very busy right now\. Please try again in \d+ s/,
      );
    } finally {
      await harness.close();
    }
  });

  it('tells users outside ALLOWED_USER_IDS that the bot is private', async () => {
    const harness = await startHarness('in-process', {
      allowedUserIds: [ALICE.id],
      adminUserIds: [],
    });
    try {
      await harness.send(message('/start', BOB), message('/help', ALICE));
      expect(harness.replies(BOB.id)).toEqual([
        'This bot is private. Ask its operator to add your user id.',
      ]);
      expect(harness.replies(ALICE.id)[0]).toContain('What I can do');
    } finally {
      await harness.close();
    }
  });
});

describe.each(['redis', 'in-process'] as const)('sessions on %s', (kind) => {
  let harness: Harness;
  beforeAll(async () => {
    harness = await startHarness(kind);
  });
  afterAll(() => harness.close());

  it('keeps the last turns hot and the whole history in Postgres', async () => {
    const { sessions } = harness.handler;
    await harness.send(message('/start', BOB));
    for (let n = 0; n < 25; n += 1) {
      await sessions.appendTurn(BOB.id, BOB.id, {
        role: n % 2 ? 'assistant' : 'user',
        content: `t${n}`,
      });
    }
    const turns = await sessions.recentTurns(BOB.id);
    expect(turns.map((t) => t.content)).toEqual(Array.from({ length: 20 }, (_, i) => `t${i + 5}`));
    const db = createDatabase(harness.runtime.pool);
    const rows = await db
      .select()
      .from(conversationMessages)
      .where(eq(conversationMessages.chatId, BOB.id));
    expect(rows).toHaveLength(25);
  });

  it('serves a session from Postgres when the hot copy is gone (a new pod, a Redis restart)', async () => {
    await harness.handler.sessions.updateSettings(BOB.id, { language: 'es' });
    const { createSessionStore } = await import('../src/sessions.js');
    // A second store with its own empty cache stands for another pod / a flushed Redis.
    const store = harness.runtime.store;
    if (store.kind === 'redis')
      await store.redis.del(`session:settings:${BOB.id}`, `session:turns:${BOB.id}`);
    const fresh = createSessionStore({
      db: createDatabase(harness.runtime.pool),
      store: store.kind === 'redis' ? store : { kind: 'in-process' },
    });
    expect((await fresh.settings(BOB.id)).language).toBe('es');
    await waitFor(async () => (await fresh.recentTurns(BOB.id)).length === 20);
  });
});
