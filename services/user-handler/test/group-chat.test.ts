import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { conversationMessages, createDatabase } from '@herald/db';
import { parseTelegramHtml, startLlmDouble, waitFor, type LlmDouble } from '@herald/testing';
import { eq } from 'drizzle-orm';
import type { Update } from 'telegraf/types';
import {
  ALICE,
  BOB,
  CAROL,
  edited,
  GROUP,
  mention,
  message,
  pressInGroup,
  startHarness,
  type Harness,
} from './harness.js';

/** What readers of a message see now, after every edit. */
function shown(harness: Harness, messageId: number): string {
  const html = harness.telegram.messageText(GROUP.id, messageId) ?? '';
  const parsed = parseTelegramHtml(html);
  if (!parsed.ok) throw new Error(parsed.error);
  return parsed.text;
}

/** The id of the bot's message answering a question, once it has sent one. */
async function answerMessageId(harness: Harness, question: Update): Promise<number> {
  if (!('message' in question)) throw new Error('a question is a message');
  const questionId = question.message.message_id;
  return waitFor(
    () => {
      const at = harness.telegram.calls.findIndex(
        (c) =>
          c.method === 'sendMessage' &&
          c.payload.chat_id === GROUP.id &&
          (c.payload.reply_parameters as { message_id?: number } | undefined)?.message_id ===
            questionId,
      );
      // Nothing else is sent meanwhile: the answer is the double's latest message.
      return at === -1 ? undefined : harness.telegram.lastMessageId;
    },
    { what: 'the answer to start in the group' },
  );
}

/** Every text the bot put in the group: messages as sent and as edited. */
const groupTexts = (harness: Harness): string[] =>
  harness.telegram.calls
    .filter(
      (c) =>
        (c.method === 'sendMessage' || c.method === 'editMessageText') &&
        c.payload.chat_id === GROUP.id,
    )
    .map((c) => String(c.payload.text));

const deadLetters = async (harness: Harness) => (await harness.handler.queue.stats()).deadLetters;

describe('answering in a group', () => {
  let llm: LlmDouble;
  let harness: Harness;
  // 80 words of 4 characters, one token each at 20 tokens/s: four seconds of writing,
  // long enough for the updates queued behind it to be looked at several times.
  const LONG = Array.from({ length: 80 }, (_, n) => `w${String(n).padStart(2, '0')}`).join(' ');

  beforeAll(async () => {
    llm = await startLlmDouble({ charsPerToken: 4 });
    harness = await startHarness('redis', { aiBaseUrl: llm.baseUrl });
    llm.setScript((request) => {
      const question = String(request.messages.at(-1)?.content);
      if (question.startsWith('long question')) {
        return { answer: LONG, tokensPerSecond: 20 };
      }
      if (question === 'steady?') {
        // The answer, then blank lines that change nothing: the throttled edit shows the
        // whole answer before the stream ends.
        return { answer: `Gold holds steady.${'\n'.repeat(240)}`, tokensPerSecond: 20 };
      }
      const last = [...request.messages].reverse().find((m) => m.role === 'user');
      return { answer: `You said: ${String(last?.content)}` };
    });
  });
  afterAll(async () => {
    await harness.close();
    await llm.close();
  });
  beforeEach(() => harness.clear());

  it("finishes a member's answer while others ask, use commands, press buttons, edit and try /reset", async () => {
    const question = mention('long question', BOB);
    await harness.handler.queue.enqueue(question);
    const answerId = await answerMessageId(harness, question);
    await harness.send(
      mention('what about silver?', CAROL),
      message('/help', CAROL, { chat: GROUP }),
      pressInGroup('status', CAROL, answerId),
      edited('@herald_test_bot what about platinum?', CAROL, answerId, { chat: GROUP }),
      message('/reset', CAROL, { chat: GROUP }),
    );
    expect(shown(harness, answerId)).toBe(LONG);
    expect(groupTexts(harness)).toContainEqual(
      expect.stringContaining('You said: what about silver?'),
    );
    expect(groupTexts(harness)).toContainEqual(expect.stringContaining('What I can do'));
  });

  it("stops a member's answer when that member asks again, and answers the newer question", async () => {
    const question = mention('long question, again', BOB);
    await harness.handler.queue.enqueue(question);
    const answerId = await answerMessageId(harness, question);
    await harness.send(mention('never mind that', BOB));
    const first = shown(harness, answerId);
    expect(first).toContain('(stopped: you sent a new message)');
    expect(first).not.toContain(LONG);
    expect(groupTexts(harness)).toContainEqual(
      expect.stringContaining('You said: never mind that'),
    );
  });

  it("stops a member's answer when an admin resets the group's conversation", async () => {
    const question = mention('long question, once more', BOB);
    await harness.handler.queue.enqueue(question);
    const answerId = await answerMessageId(harness, question);
    await harness.send(message('/reset', ALICE, { chat: GROUP }));
    const first = shown(harness, answerId);
    expect(first).toContain('(stopped: the conversation was reset)');
    expect(first).not.toContain(LONG);
    expect(harness.replies(GROUP.id).at(-1)).toContain('Conversation cleared');
  });

  it('finishes an answer whose last edit already showed the final text, asking the LLM once', async () => {
    const before = await deadLetters(harness);
    const question = mention('steady?', BOB);
    await harness.send(question);
    const answerId = await answerMessageId(harness, question);
    // The scene: a throttled edit carried the whole answer, so the final edit changed nothing.
    expect(harness.telegram.edits).toContainEqual(
      expect.objectContaining({ messageId: answerId, text: 'Gold holds steady.' }),
    );
    expect(harness.telegram.refusals.map((r) => r.description)).toContainEqual(
      expect.stringContaining('message is not modified'),
    );
    expect(shown(harness, answerId)).toBe('Gold holds steady.');
    const asked = llm.requests.filter((r) => r.messages.at(-1)?.content === 'steady?');
    expect(asked).toHaveLength(1);
    expect(await deadLetters(harness)).toBe(before);
    expect(harness.replies(GROUP.id).join('\n')).not.toContain('Sorry, something went wrong');
  });

  it("refuses /reset of the group's conversation to members who are not admins", async () => {
    const { sessions } = harness.handler;
    await sessions.reset(GROUP.id);
    await sessions.appendTurn(GROUP.id, BOB.id, { role: 'user', content: 'keep me' });
    await sessions.appendTurn(GROUP.id, BOB.id, { role: 'assistant', content: 'kept' });
    await harness.send(message('/reset', CAROL, { chat: GROUP }));
    const [refusal, ...more] = harness.replies(GROUP.id);
    expect(more).toEqual([]);
    // Whether Telegram said CAROL is a plain member or could not say, the answer is no.
    expect(refusal).toMatch(/group's admins/);
    expect(refusal).not.toContain('cleared');
    expect(await sessions.recentTurns(GROUP.id)).toHaveLength(2);

    // ALICE runs this Herald (ADMIN_USER_IDS).
    await harness.send(message('/reset', ALICE, { chat: GROUP }));
    expect(harness.replies(GROUP.id).at(-1)).toContain('Conversation cleared');
    expect(await sessions.recentTurns(GROUP.id)).toEqual([]);
  });

  it("lets the group's admins, as Telegram lists them, /reset its conversation", async () => {
    const { sessions } = harness.handler;
    await sessions.reset(GROUP.id);
    await sessions.appendTurn(GROUP.id, BOB.id, { role: 'user', content: 'keep me' });
    await harness.send(message('/reset', CAROL, { chat: GROUP }));
    expect(harness.replies(GROUP.id).at(-1)).toMatch(/group's admins/);
    expect(await sessions.recentTurns(GROUP.id)).toHaveLength(1);

    harness.telegram.setChatMember(GROUP.id, CAROL.id, 'administrator');
    try {
      await harness.send(message('/reset', CAROL, { chat: GROUP }));
      expect(harness.replies(GROUP.id).at(-1)).toContain('Conversation cleared');
      expect(await sessions.recentTurns(GROUP.id)).toEqual([]);
    } finally {
      harness.telegram.setChatMember(GROUP.id, CAROL.id, 'member');
    }
  });

  it("keeps a user's turns out of the group's next question once they /forget", async () => {
    await harness.handler.sessions.reset(GROUP.id);
    await harness.send(mention('my secret plan is to buy gold', BOB));
    await harness.send(mention('hello all', CAROL));
    const sentBefore = JSON.stringify(llm.requests.at(-1)?.messages);
    // The group's conversation holds BOB's turns until he asks to be forgotten.
    expect(sentBefore).toContain('my secret plan');

    await harness.send(message('/forget', BOB));
    await harness.send(mention('what did people say?', CAROL));
    const sent = JSON.stringify(llm.requests.at(-1)?.messages);
    expect(sent).not.toContain('my secret plan');
    expect(sent).toContain('hello all');
    const db = createDatabase(harness.runtime.pool);
    const rows = await db
      .select()
      .from(conversationMessages)
      .where(eq(conversationMessages.userId, BOB.id));
    expect(rows).toEqual([]);
  });
});
