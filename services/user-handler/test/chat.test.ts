import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import {
  freePort,
  parseTelegramHtml,
  startLlmDouble,
  waitFor,
  type LlmDouble,
} from '@herald/testing';
import { botUpdateHandler, createRedisJournal } from '../src/updates/journal.js';
import { ALICE, BOB, GROUP, message, startHarness, type Harness } from './harness.js';

const HOSTILE =
  'Gold < silver && **bold never closed, `stray tick, <think>not a tag</think> & 5 > 3';

/** Everything the user finally sees in a chat: text of final messages, as Telegram parsed it. */
function finalText(harness: Harness, chatId: number): string {
  return harness.telegram.calls
    .filter((c) => c.payload.chat_id === chatId && c.payload.parse_mode === 'HTML')
    .map((c) => {
      const parsed = parseTelegramHtml(String(c.payload.text));
      if (!parsed.ok) throw new Error(parsed.error);
      return parsed.text;
    })
    .join('\n');
}

describe('chatting with the AI', () => {
  let llm: LlmDouble;
  let harness: Harness;

  beforeAll(async () => {
    llm = await startLlmDouble({ charsPerToken: 5, tokensPerSecond: 400 });
    harness = await startHarness('redis', {
      aiBaseUrl: llm.baseUrl,
      telegram: {
        enforceLimits: true,
        limits: { perChatPerSecond: 50, perGroupPerMinute: 1_200, draftsPerSecond: 100 },
      },
    });
  });
  afterAll(async () => {
    await harness.close();
    await llm.close();
  });
  beforeEach(() => {
    harness.clear();
    harness.telegram.drafts.length = 0;
    harness.telegram.refusals.length = 0;
  });

  it('streams drafts in a private chat, then sends the formatted answer, reasoning kept out', async () => {
    llm.setScript(() => ({
      reasoning: 'SECRET-REASONING about gold',
      // Long enough to stream for several draft intervals, however busy the machine.
      answer: `**Gold** is up.\n\n${HOSTILE}\n\n${'Central banks keep buying. '.repeat(30)}`,
    }));
    await harness.send(message('How is gold?', BOB));
    const drafts = harness.telegram.drafts.filter((d) => d.chatId === BOB.id).map((d) => d.text);
    expect(drafts.length).toBeGreaterThan(1);
    expect(drafts.some((t) => t.startsWith('**Gold** is up'))).toBe(true);
    const seen = finalText(harness, BOB.id);
    expect(seen).toContain('Gold is up.');
    expect(seen).toContain(
      'Gold < silver && **bold never closed, `stray tick, <think>not a tag</think> & 5 > 3',
    );
    expect(seen).not.toContain('SECRET-REASONING');
    expect(drafts.join('')).not.toContain('SECRET-REASONING');
    expect(harness.telegram.refusals).toEqual([]);
    // The question and the answer are now the conversation.
    expect((await harness.handler.sessions.recentTurns(BOB.id)).map((t) => t.role)).toEqual([
      'user',
      'assistant',
    ]);
  });

  it('sends the history with the next question', async () => {
    llm.setScript(() => ({ answer: 'second answer' }));
    await harness.send(message('And silver?', BOB));
    const sent = llm.requests.at(-1)!.messages.map((m) => m.content);
    expect(sent).toContain('How is gold?');
    expect(sent.at(-1)).toBe('And silver?');
  });

  it('splits a 6,000-character answer into messages Telegram accepts, cutting nothing', async () => {
    const paragraphs = Array.from({ length: 60 }, (_, n) => `Part ${n}: ${HOSTILE}`);
    llm.setScript(() => ({ answer: paragraphs.join('\n\n') }));
    await harness.send(message('Tell me everything', ALICE));
    const finals = harness.telegram.calls.filter(
      (c) => c.payload.chat_id === ALICE.id && c.payload.parse_mode === 'HTML',
    );
    expect(finals.length).toBeGreaterThan(1);
    const seen = finalText(harness, ALICE.id);
    for (let n = 0; n < 60; n += 1) expect(seen).toContain(`Part ${n}: ${HOSTILE}`);
    expect(harness.telegram.refusals).toEqual([]);
  });

  it('shows the reasoning as an expandable quote when the user asks for it', async () => {
    await harness.handler.sessions.updateSettings(ALICE.id, { showReasoning: true });
    llm.setScript(() => ({ reasoning: 'Because ETFs bought.', answer: 'Gold rose.' }));
    await harness.send(message('Why?', ALICE));
    const [final] = harness.telegram.calls.filter(
      (c) => c.payload.chat_id === ALICE.id && c.payload.parse_mode === 'HTML',
    );
    expect(final?.payload.text).toBe(
      '<blockquote expandable>Because ETFs bought.</blockquote>\n\nGold rose.',
    );
    await harness.handler.sessions.updateSettings(ALICE.id, { showReasoning: false });
  });

  it('edits one message in a group, replying to the question', async () => {
    llm.setScript(() => ({ answer: 'Group answer. '.repeat(20), tokensPerSecond: 20 }));
    const question = message('@herald_test_bot what now?', BOB, { chat: GROUP });
    (question as { message: { entities: object[] } }).message.entities = [
      { type: 'mention', offset: 0, length: 16 },
    ];
    await harness.send(question);
    const sends = harness.telegram
      .callsOf('sendMessage')
      .filter((c) => c.payload.chat_id === GROUP.id);
    const edits = harness.telegram
      .callsOf('editMessageText')
      .filter((c) => c.payload.chat_id === GROUP.id);
    expect(sends).toHaveLength(1);
    expect(edits.length).toBeGreaterThan(1);
    expect(edits.at(-1)?.payload.parse_mode).toBe('HTML');
    expect(String(edits.at(-1)?.payload.text)).toContain('Group answer.');
    expect(harness.telegram.drafts.filter((d) => d.chatId === GROUP.id)).toEqual([]);
  });

  it('keeps what was written when the LLM drops the connection mid-answer, and says so', async () => {
    llm.setScript(() => ({
      answer: 'The first part arrives. '.repeat(10),
      disconnectAfterTokens: 20,
    }));
    await harness.send(message('tell me', BOB));
    const seen = finalText(harness, BOB.id);
    expect(seen).toContain('The first part arrives.');
    expect(seen).toContain('(the answer was cut off: the AI stopped responding)');
    expect(harness.telegram.refusals).toEqual([]);
  });

  it('stops an answer when the user sends a newer message, and answers that one', async () => {
    llm.setScript((request) => {
      const last = String(request.messages.at(-1)?.content);
      return last === 'slow one'
        ? { answer: 'word '.repeat(400), tokensPerSecond: 20 }
        : { answer: 'quick answer' };
    });
    await harness.handler.queue.enqueue(message('slow one', ALICE));
    await waitFor(() =>
      harness.telegram.drafts.some((d) => d.chatId === ALICE.id && d.text.startsWith('word')),
    );
    await harness.send(message('never mind', ALICE));
    const seen = finalText(harness, ALICE.id);
    expect(seen).toContain('(stopped: you sent a new message)');
    expect(seen).toContain('quick answer');
  });

  it('finishes an answer when the user only sends a command meanwhile, then answers the command', async () => {
    llm.setScript(() => ({ answer: 'steady words '.repeat(40), tokensPerSecond: 60 }));
    await harness.handler.queue.enqueue(message('tell me about gold', ALICE));
    await waitFor(() =>
      harness.telegram.drafts.some((d) => d.chatId === ALICE.id && d.text.startsWith('steady')),
    );
    await harness.send(message('/help', ALICE));
    const replies = harness.replies(ALICE.id);
    expect(replies).toHaveLength(2);
    expect(replies[0]).toContain('steady words');
    expect(replies[0]).not.toContain('stopped');
    expect(replies[1]).toContain('What I can do');
  });
});

describe('when the AI cannot answer', () => {
  it('tells the user within 2 s that the AI is offline', async () => {
    const port = await freePort();
    const harness = await startHarness('in-process', { aiBaseUrl: `http://127.0.0.1:${port}/v1` });
    try {
      const started = Date.now();
      await harness.handler.queue.enqueue(message('anyone there?', BOB));
      await waitFor(() => harness.replies(BOB.id).length > 0, { timeoutMs: 5_000 });
      expect(Date.now() - started).toBeLessThan(2_000);
      expect(harness.replies(BOB.id)[0]).toMatch(
        /The AI is offline right now\. Please try again in/,
      );
    } finally {
      await harness.close();
    }
  });

  it('says so when the AI is saturated, and tells a waiting user their place in line', async () => {
    const llm = await startLlmDouble({ charsPerToken: 5 });
    const harness = await startHarness('in-process', { aiBaseUrl: llm.baseUrl, aiConcurrency: 1 });
    try {
      llm.setScript((request) =>
        String(request.messages.at(-1)?.content) === 'first'
          ? { answer: 'long '.repeat(60), tokensPerSecond: 40 }
          : { status: 429, retryAfterSeconds: 7, answer: '' },
      );
      await harness.handler.queue.enqueue(message('first', ALICE));
      await waitFor(() => llm.active === 1, { what: 'the first answer to be streaming' });
      await harness.send(message('second', BOB));
      const toBob = harness.telegram.drafts.filter((d) => d.chatId === BOB.id).map((d) => d.text);
      expect(toBob).toContain('⏳ Many questions right now: you are number 1 in line.');
      expect(finalText(harness, BOB.id)).toBe(
        'The AI is busy with other questions right now. Please try again in 7 s.',
      );
    } finally {
      await harness.close();
      await llm.close();
    }
  });

  it('streams by editing a message when the Bot API has no drafts', async () => {
    const llm = await startLlmDouble({ charsPerToken: 5, tokensPerSecond: 200 });
    const harness = await startHarness('in-process', {
      aiBaseUrl: llm.baseUrl,
      telegram: { drafts: false },
    });
    try {
      llm.setScript(() => ({ answer: 'An answer without drafts. '.repeat(10) }));
      await harness.send(message('hello', BOB));
      expect(harness.telegram.callsOf('editMessageText').length).toBeGreaterThan(0);
      expect(finalText(harness, BOB.id)).toContain('An answer without drafts.');
    } finally {
      await harness.close();
      await llm.close();
    }
  });

  it('stops asking the LLM as soon as another worker takes the update over', async () => {
    const llm = await startLlmDouble({ charsPerToken: 5, tokensPerSecond: 40 });
    const harness = await startHarness('redis', { aiBaseUrl: llm.baseUrl });
    try {
      // A long answer: 200 tokens at 40 a second.
      llm.setScript(() => ({ answer: 'word '.repeat(200) }));
      const { runtime, handler } = harness;
      if (runtime.store.kind !== 'redis') throw new Error('needs Redis');
      const takenOver = new AbortController();
      const handling = botUpdateHandler(
        handler.bot,
        createRedisJournal(runtime.store.redis),
      )({
        id: '1-0',
        update: message('tell me a long story', BOB),
        chatId: BOB.id,
        deliveries: 1,
        signal: takenOver.signal,
      }).catch((error: unknown) => error);
      await waitFor(() => (llm.streams[0]?.tokens ?? 0) > 0, { what: 'the answer to stream' });
      takenOver.abort(new Error('another worker took this update over'));
      const outcome = await handling;

      // The handler ends with the takeover, and the LLM's stream was closed early.
      expect(String(outcome)).toContain('another worker took this update over');
      await waitFor(() => llm.active === 0, { what: 'the stream to close' });
      expect(llm.streams[0]!.tokens).toBeLessThan(200);
      const sentAfter = harness.telegram.calls.length;
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(harness.telegram.calls.length).toBe(sentAfter);
    } finally {
      await harness.close();
      await llm.close();
    }
  });
});
