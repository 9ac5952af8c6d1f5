// What the fault tests share: a repeatable mix of updates from many private chats, an LLM
// double whose answers name their question, the Telegram-like delivery of the updates to
// the webhook, and the count of what each chat received against what it sent.
import { expect } from '@jest/globals';
import {
  deliverUpdates,
  seededRandom,
  startLlmDouble,
  waitFor,
  type DeliveredMessage,
  type LlmDouble,
  type LlmRequest,
  type LlmScript,
  type WebhookDelivery,
} from '@herald/testing';
import type { Update } from 'telegraf/types';
import { startHarness, type Harness } from '../harness.js';

export const SECRET = 'fault-suite-webhook-secret';
export const MODELS = ['deepseek-r1-14b', 'qwen2.5-7b'] as const;
/** Private chats of the workload are this plus 1, 2, … (their users have the same ids). */
const CHAT_BASE = 880_000;

const TOPICS = [
  'what moves the gold price this week?',
  'explain tokenized treasury bills in two sentences',
  'is silver more volatile than gold?',
  'what is a real-world asset on chain?',
  'summarize the risks of a stablecoin depeg',
];

/**
 * What a chat expects in reply to one update: `q<c>_<n>` (an answer naming the question's
 * marker), `help`, or `switch:<model>`.
 */
export type ReplyKind = string;

export interface Workload {
  updates: Update[];
  /** Per chat id, the reply kinds of the updates it sent, in order. */
  expected: Map<number, ReplyKind[]>;
}

/** A private chat of the workload, by its number 1, 2, … */
export const workloadChatId = (c: number): number => CHAT_BASE + c;

/** A message from the user of workload chat `c`, in that private chat. */
export function privateMessage(c: number, text: string, updateId: number): Update {
  const chatId = workloadChatId(c);
  const command = /^\/\w+/.exec(text)?.[0];
  return {
    update_id: updateId,
    message: {
      message_id: updateId,
      date: Math.floor(Date.now() / 1000),
      chat: { id: chatId, type: 'private', first_name: `User ${c}` },
      from: { id: chatId, is_bot: false, first_name: `User ${c}` },
      text,
      ...(command
        ? { entities: [{ type: 'bot_command', offset: 0, length: command.length }] }
        : {}),
    },
  };
}

/**
 * `total` updates over `chats` private chats in turn, so that at 25 updates/s each user
 * writes every few seconds, as people do: about 70 % AI questions (AI question n of chat c
 * reads `q<c>_<n> …`), 15 % `/switch <model>` and 15 % `/help`, picked by a seeded
 * generator. The same seed gives the same updates.
 */
export function buildWorkload({
  total = 300,
  chats = 100,
  seed = 42,
  firstUpdateId = 1,
}: {
  total?: number;
  chats?: number;
  seed?: number;
  firstUpdateId?: number;
} = {}): Workload {
  const random = seededRandom(seed);
  const updates: Update[] = [];
  const expected = new Map<number, ReplyKind[]>();
  for (let i = 0; i < total; i += 1) {
    const c = 1 + (i % chats);
    const chatId = workloadChatId(c);
    const sent = expected.get(chatId) ?? [];
    expected.set(chatId, sent);
    const n = sent.length;
    const roll = random();
    const kind = roll < 0.7 ? 'question' : roll < 0.85 ? 'switch' : 'help';
    let text: string;
    if (kind === 'question') {
      text = `q${c}_${n} ${TOPICS[Math.floor(random() * TOPICS.length)]}`;
      sent.push(`q${c}_${n}`);
    } else if (kind === 'switch') {
      const model = MODELS[Math.floor(random() * MODELS.length)]!;
      text = `/switch ${model}`;
      sent.push(`switch:${model}`);
    } else {
      text = '/help';
      sent.push('help');
    }
    updates.push(privateMessage(c, text, firstUpdateId + i));
  }
  return { updates, expected };
}

/**
 * The LLM's answers: each names the marker of its question. A `varying` LLM also numbers
 * its calls, as a sampling model never writes the same answer twice: a question asked
 * again gets a text the call journal cannot recognise as already sent.
 */
export function answerScript(varying: boolean): (request: LlmRequest) => LlmScript {
  let calls = 0;
  return (request) => {
    calls += 1;
    const last = [...request.messages].reverse().find((m) => m.role === 'user');
    const question = typeof last?.content === 'string' ? last.content : '';
    const marker = /\bq\d+_\d+\b/.exec(question)?.[0] ?? 'unmarked';
    const named = varying ? `Answer ${marker} call ${calls}.` : `Answer ${marker}.`;
    return {
      answer:
        `${named} Gold and tokenized assets both answer to real rates and to risk. ` +
        'When real yields fall, gold tends to rise; tokenized bills follow the policy rate. ' +
        'Watch the dollar, central bank buying and on-chain flows for the next move. ' +
        'None of this is advice: size positions to what you can afford to lose.',
    };
  };
}

/** What a run measured, from the users' side. */
export interface Figures {
  /** Updates whose reply arrived (at least once). */
  answered: number;
  /** Updates without their reply: never answered, apologised for, or something else sent. */
  missing: number;
  /** Updates whose reply arrived more than once. */
  twice: number;
  /** Replies that arrived after a reply to a later update of the same chat. */
  outOfOrder: number;
  /** "Sorry, something went wrong" messages. */
  apologies: number;
  /** Messages that are no reply the workload expects (an error text, a wrongly stopped answer). */
  other: number;
  /**
   * Questions whose answer stopped because the user asked a newer question meanwhile, as
   * Herald is meant to do: counted as answered (the user was told), and shown apart.
   */
  superseded: number;
}

/** The note that ends an answer its asker's newer question stopped. */
const STOPPED_BY_NEWER = /\(stopped: you sent a new message\)/;

/**
 * The reply kind a delivered message is, or `apology` (the bot gave the update up) or
 * `other` (no reply the workload expects: an error text, a stopped answer's bare note).
 */
export function replyKindOf(text: string): ReplyKind {
  // What the bot's apologize() sends when it gives an update up.
  if (/^Sorry, something went wrong/.test(text)) return 'apology';
  const marker = /\bq\d+_\d+\b/.exec(text)?.[0];
  if (marker) return marker;
  if (text.includes('What I can do')) return 'help';
  const switched = /^Switched to <code>([^<]+)<\/code>/.exec(text)?.[1];
  if (switched) return `switch:${switched}`;
  return 'other';
}

/**
 * Counts the accepted messages of each chat against the updates it sent: each message is
 * the reply of the earliest update of its kind not yet replied to; a message with no such
 * update left is a second reply. Drafts are previews and do not count: only messages sent.
 */
export function countReplies(
  messages: readonly DeliveredMessage[],
  workload: Workload,
  /** Filled with one line per thing that went wrong, to tell what happened to whom. */
  problems: string[] = [],
): Figures {
  const figures: Figures = {
    answered: 0,
    missing: 0,
    twice: 0,
    outOfOrder: 0,
    apologies: 0,
    other: 0,
    superseded: 0,
  };
  const byChat = new Map<number, DeliveredMessage[]>();
  for (const message of messages) {
    byChat.set(message.chatId, [...(byChat.get(message.chatId) ?? []), message]);
  }
  for (const [chatId, expected] of workload.expected) {
    const replied = expected.map(() => 0);
    let latest = -1;
    for (const message of byChat.get(chatId) ?? []) {
      const kind = replyKindOf(message.text);
      if (kind === 'other' && STOPPED_BY_NEWER.test(message.text)) {
        // The reply to the earliest question still unanswered, when a newer question of
        // the same chat followed it: only a newer question may stop an answer.
        const at = expected.findIndex((want, i) => want.startsWith('q') && replied[i] === 0);
        if (at !== -1 && expected.slice(at + 1).some((want) => want.startsWith('q'))) {
          replied[at] = 1;
          figures.superseded += 1;
          if (at < latest) {
            figures.outOfOrder += 1;
            problems.push(`chat ${chatId}: ${expected[at]} stopped after a later reply`);
          }
          latest = Math.max(latest, at);
          continue;
        }
      }
      if (kind === 'apology' || kind === 'other') {
        figures[kind === 'apology' ? 'apologies' : 'other'] += 1;
        problems.push(`chat ${chatId}: ${kind}: ${message.text.slice(0, 80)}`);
        continue;
      }
      const first = expected.findIndex((want, at) => want === kind && replied[at] === 0);
      if (first === -1) {
        // Every update of this kind has its reply: this one is a repeat. A marker names one
        // update, so that update's count grows; /help and /switch count for the chat.
        const at = expected.findIndex((want) => want === kind);
        if (at !== -1) replied[at]! += 1;
        else figures.other += 1;
        problems.push(`chat ${chatId}: ${kind} again: ${message.text.slice(0, 80)}`);
        continue;
      }
      replied[first] = 1;
      if (first < latest) {
        figures.outOfOrder += 1;
        problems.push(`chat ${chatId}: ${kind} after a reply to a later update`);
      }
      latest = Math.max(latest, first);
    }
    for (const [at, count] of replied.entries()) {
      if (count === 0) {
        figures.missing += 1;
        problems.push(`chat ${chatId}: no reply to ${expected[at]}`);
      } else figures.answered += 1;
      if (count > 1) figures.twice += 1;
    }
  }
  // Messages to chats that sent nothing cannot be a reply.
  for (const [chatId, list] of byChat) {
    if (workload.expected.has(chatId)) continue;
    figures.other += list.length;
    problems.push(`chat ${chatId}, which sent nothing: ${list.length} messages`);
  }
  return figures;
}

export interface ScenarioResult {
  figures: Figures;
  delivery: WebhookDelivery;
  /** Whether the queue held no unfinished update at the end. */
  drained: boolean;
  seconds: number;
}

export interface Scenario {
  /** Printed with the figures. */
  name: string;
  /** The harness's servers and settings (its webhook and LLM are added here). */
  harness?: Parameters<typeof startHarness>[1];
  /** A sampling LLM (see {@link answerScript}); default: one text per question. */
  varyingAnswers?: boolean;
  /** The LLM's pace, when not the default (about 0.7 s an answer). */
  llmPace?: { timeToFirstTokenMs: number; tokensPerSecond: number };
  workload?: Parameters<typeof buildWorkload>[0];
  /** First deliveries per second (default 25). */
  updatesPerSecond?: number;
  /** The fault starts once this many updates were acknowledged (default 100). */
  faultAfter?: number;
  /** Injects the fault; the delivery goes on meanwhile. */
  fault(run: { harness: Harness; llm: LlmDouble; delivery: WebhookDelivery }): Promise<void>;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Runs one scenario: a user-handler served over loopback gets the workload as Telegram
 * delivers it, the fault strikes a third of the way in, and once every update is
 * acknowledged and the queue is empty the messages the chats got are counted. Prints the
 * figures; everything it started is closed, whatever happens.
 */
export async function runScenario(scenario: Scenario): Promise<ScenarioResult> {
  const started = performance.now();
  const workload = buildWorkload(scenario.workload);
  const llm = await startLlmDouble({
    models: [...MODELS],
    // Each answer streams for about 0.7 s, far less than a user of the workload waits before
    // writing again (4 s): while nothing goes wrong, no answer is cut short by its chat's
    // next update.
    timeToFirstTokenMs: 150,
    tokensPerSecond: 150,
    ...scenario.llmPace,
    script: answerScript(scenario.varyingAnswers ?? false),
  });
  let harness: Harness | undefined;
  let delivery: WebhookDelivery | undefined;
  try {
    harness = await startHarness('redis', {
      // A production pod's workers (WORKER_CONCURRENCY); LLM slots enough that no question
      // waits for one, so that only the fault under test shows; Telegram's round trip as
      // seen from a cloud region.
      workers: { concurrency: 64, claimIdleMs: 30_000 },
      aiConcurrency: 64,
      telegram: { latencyMs: 100 },
      ...scenario.harness,
      aiBaseUrl: llm.baseUrl,
      webhook: { secret: SECRET },
    });
    const running = harness;
    delivery = deliverUpdates(workload.updates, {
      url: running.webhookUrl!,
      secret: SECRET,
      updatesPerSecond: scenario.updatesPerSecond ?? 25,
    });
    const live = delivery;
    const faultAfter = scenario.faultAfter ?? 100;
    await waitFor(() => live.acknowledged >= faultAfter, {
      what: `${faultAfter} updates acknowledged before the fault`,
      timeoutMs: 90_000,
      intervalMs: 10,
    });
    await scenario.fault({ harness: running, llm, delivery: live });
    // Bounded: a webhook that never recovers fails the figures, not the test's timeout.
    let giveUp: NodeJS.Timeout | undefined;
    await Promise.race([
      live.done,
      new Promise((resolve) => (giveUp = setTimeout(resolve, 90_000))),
    ]).finally(() => clearTimeout(giveUp));
    const drained = await waitFor(async () => (await running.handler.queue.stats()).length === 0, {
      what: 'the queue to drain',
      timeoutMs: 60_000,
      intervalMs: 100,
    }).then(
      () => true,
      () => false,
    );
    // A late second reply, if there is one, shows up meanwhile.
    await sleep(1_500);
    const problems: string[] = [];
    const figures = countReplies(running.telegram.messages, workload, problems);
    const seconds = (performance.now() - started) / 1000;
    console.log(
      `[faults] ${scenario.name}: answered ${figures.answered}/${workload.updates.length}, ` +
        `missing ${figures.missing}, twice ${figures.twice}, out of order ${figures.outOfOrder}, ` +
        `apologies ${figures.apologies}, other ${figures.other}, stopped by a newer question ` +
        `${figures.superseded} | webhook: ` +
        `${live.acknowledged} acknowledged, ${live.attempts} posts, ${live.refused} non-200, ` +
        `${live.connectionErrors} connection errors | Telegram 429s ${running.telegram.tooManyRequests}` +
        ` | queue drained: ${drained} | ${seconds.toFixed(1)} s` +
        problems
          .slice(0, 8)
          .map((problem) => `\n  ${problem}`)
          .join('') +
        (problems.length > 8 ? `\n  … and ${problems.length - 8} more` : ''),
    );
    return { figures, delivery: live, drained, seconds };
  } finally {
    await delivery?.stop();
    await harness?.close();
    await llm.close();
  }
}

/** The assertions every fault scenario makes: what a user relies on. */
export function expectUsersServed(result: ScenarioResult, total: number): void {
  expect({
    acknowledged: result.delivery.acknowledged,
    drained: result.drained,
    ...result.figures,
  }).toEqual({
    acknowledged: total,
    drained: true,
    answered: total,
    missing: 0,
    twice: 0,
    outOfOrder: 0,
    apologies: 0,
    other: 0,
    // Any number: the users' own newer questions, which Herald answers instead.
    superseded: result.figures.superseded,
  });
}
