// `pnpm bench:stream`: how streamed answers reach Telegram, each figure beside its baseline
// measured in the same run:
// 1. time from an update to the first visible answer text in Telegram, beside the time
//    the LLM took to its first token (Herald's own delay is the difference);
// 2. the token rate users see (drafts) beside the rate the LLM wrote;
// 3. three processes sending for one bot through the shared sender: their aggregate
//    message rate beside the configured cap, and the 429s Telegram answered.
import { fork } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { migrateDatabase } from '@herald/db';
import { startPostgres } from '@herald/embedded';
import { createLogger } from '@herald/logger';
import { openRuntime } from '@herald/ops';
import { createRedis } from '@herald/redis';
import { createSender, DEFAULT_SEND_LIMITS } from '@herald/telegram';
import { startBotApiDouble, startLlmDouble, startRedisServer } from '@herald/testing';
import { createUserHandler } from '@herald/user-handler';
import { Telegram } from 'telegraf';
import type { Update } from 'telegraf/types';

const QUESTIONS = Number(process.env.BENCH_QUESTIONS ?? 30);
const TTFT_MS = 400;
const TOKENS_PER_SECOND = 50; // a 14B model on one GPU, per stream
const SEND_SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const logger = createLogger({ service: 'bench', level: 'error' });

const percentile = (values: number[], p: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN;
};

function question(n: number): Update {
  const chatId = 10_000 + n;
  return {
    update_id: 500_000 + n,
    message: {
      message_id: n + 1,
      date: Math.floor(Date.now() / 1000),
      chat: { id: chatId, type: 'private', first_name: `User ${n}` },
      from: { id: chatId, is_bot: false, first_name: `User ${n}` },
      text: `question ${n}: what moves gold today?`,
    },
  };
}

async function streaming(redisUrl: string): Promise<void> {
  const home = await mkdtemp(join(tmpdir(), 'herald-bench-'));
  const postgres = await startPostgres({
    dataDir: join(home, 'pg'),
    persistent: false,
    fast: true,
  });
  await migrateDatabase(postgres.url, logger);
  const llm = await startLlmDouble({
    charsPerToken: 4,
    timeToFirstTokenMs: TTFT_MS,
    tokensPerSecond: TOKENS_PER_SECOND,
    script: () => ({
      answer: 'Gold is supported by central-bank buying and ETF inflows. '.repeat(14),
    }),
  });
  const telegram = await startBotApiDouble({ enforceLimits: true });
  const runtime = openRuntime({
    service: 'bench',
    version: 'bench',
    logger,
    databaseUrl: postgres.url,
    redisUrl,
    redisKeyPrefix: 'bench-stream:',
  });
  const handler = createUserHandler({
    logger,
    runtime,
    telegram: { token: telegram.token, apiRoot: telegram.apiRoot },
    adminUserIds: [],
    models: { available: ['deepseek-r1-14b'] },
    limits: { perUserPerMinute: 1_000, globalPerMinute: 100_000 },
    workers: { concurrency: 64, claimIdleMs: 30_000 },
    ai: {
      baseUrl: llm.baseUrl,
      models: ['deepseek-r1-14b'],
      timeouts: { firstTokenMs: 30_000, gapMs: 30_000, totalMs: 300_000 },
      untaggedReasoning: false,
      maxConcurrency: 64,
      historyTokens: 2_000,
      maxTokens: 4_096,
    },
  });
  handler.start({ polling: false });
  try {
    const sentAt = new Map<number, number>();
    // Questions 300 ms apart, several streams at once, as a busy bot sees them.
    for (let n = 0; n < QUESTIONS; n += 1) {
      const update = question(n);
      sentAt.set(10_000 + n, performance.now());
      await handler.queue.enqueue(update);
      await new Promise((r) => setTimeout(r, 300));
    }
    const deadline = Date.now() + 120_000;
    while ((await handler.queue.stats()).length > 0 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100));
    }
    const firstVisible: number[] = [];
    const ttft: number[] = [];
    const overhead: number[] = [];
    const relayedRate: number[] = [];
    const llmRate: number[] = [];
    const finalLag: number[] = [];
    for (let n = 0; n < QUESTIONS; n += 1) {
      const chatId = 10_000 + n;
      const timing = llm.streams.find((s) => s.question.startsWith(`question ${n}:`));
      const drafts = telegram.drafts.filter(
        (d) => d.chatId === chatId && d.text.startsWith('Gold'),
      );
      if (!timing || drafts.length === 0) continue;
      const asked = sentAt.get(chatId)!;
      firstVisible.push(drafts[0]!.at - asked);
      ttft.push(timing.firstTokenAt - asked);
      overhead.push(drafts[0]!.at - timing.firstTokenAt);
      // Text shown per second, in tokens (4 characters each), from the first draft to the
      // final message that shows the whole answer.
      const final = telegram.callsOf('sendMessage').find((c) => c.payload.chat_id === chatId);
      if (!final) continue;
      const shownTokens = (timing.tokens * 4 - drafts[0]!.text.length) / 4;
      relayedRate.push(shownTokens / ((final.at - drafts[0]!.at) / 1000));
      finalLag.push(final.at - timing.lastTokenAt);
      llmRate.push((timing.tokens - 1) / ((timing.lastTokenAt - timing.firstTokenAt) / 1000));
    }
    const ms = (v: number) => `${v.toFixed(0)} ms`;
    console.log(
      `\n1. Update to first visible answer text (${firstVisible.length} answers, private chats, drafts)`,
    );
    console.log(
      `   LLM double's time to first token:   p50 ${ms(percentile(ttft, 50))}  p95 ${ms(percentile(ttft, 95))}`,
    );
    console.log(
      `   first visible text in Telegram:     p50 ${ms(percentile(firstVisible, 50))}  p95 ${ms(percentile(firstVisible, 95))}`,
    );
    console.log(
      `   Herald's own delay (difference):    p50 ${ms(percentile(overhead, 50))}  p95 ${ms(percentile(overhead, 95))}  (aim: ≤ 50 ms at p95)`,
    );
    const mean = (values: number[]) => values.reduce((a, b) => a + b, 0) / values.length;
    console.log(`\n2. Token rate`);
    console.log(`   LLM double wrote:   ${mean(llmRate).toFixed(1)} tokens/s per stream`);
    console.log(`   users saw (drafts): ${mean(relayedRate).toFixed(1)} tokens/s per stream`);
    console.log(`   ratio: ${((mean(relayedRate) / mean(llmRate)) * 100).toFixed(1)}% (aim ≥ 95%)`);
    console.log(
      `   final message after the LLM's last token: p50 ${ms(percentile(finalLag, 50))}  p95 ${ms(percentile(finalLag, 95))}`,
    );
    console.log(`   Bot API refusals during the run: ${telegram.refusals.length}`);
  } finally {
    await handler.stop();
    await runtime.close();
    await llm.close();
    await telegram.close();
    await postgres.stop();
    await rm(home, { recursive: true, force: true });
  }
}

/** Child: sends as fast as the shared sender allows, to many chats, for SEND_SECONDS. */
async function sendAsPod(
  redisUrl: string,
  apiRoot: string,
  token: string,
  pod: number,
): Promise<void> {
  const redis = createRedis({ url: redisUrl, logger, keyPrefix: 'bench-send:' });
  const sender = createSender({ store: { kind: 'redis', redis, url: redisUrl }, logger });
  const api = new Telegram(token, { apiRoot });
  const raw = (method: string, payload: Record<string, unknown>) =>
    api.callApi(method as never, payload as never);
  const until = Date.now() + SEND_SECONDS * 1000;
  let sent = 0;
  // 40 concurrent conversations per pod, each to its own chats.
  await Promise.all(
    Array.from({ length: 40 }, async (_, lane) => {
      for (let n = 0; Date.now() < until; n += 1) {
        const chatId = 1_000_000 + pod * 100_000 + lane * 1_000 + (n % 1_000);
        await sender.call('sendMessage', { chat_id: chatId, text: `pod ${pod} message ${n}` }, raw);
        sent += 1;
      }
    }),
  );
  process.send?.({ sent });
  redis.disconnect();
}

async function sharedSending(redisUrl: string): Promise<void> {
  const telegram = await startBotApiDouble({ enforceLimits: true });
  const cap = 1000 / DEFAULT_SEND_LIMITS.botIntervalMs;
  const pods = [0, 1, 2].map(
    (pod) =>
      new Promise<number>((resolve) => {
        const child = fork(fileURLToPath(import.meta.url), [
          '--pod',
          redisUrl,
          telegram.apiRoot,
          telegram.token,
          String(pod),
        ]);
        child.once('message', (m) => resolve((m as { sent: number }).sent));
      }),
  );
  const sent = await Promise.all(pods);
  const calls = telegram.callsOf('sendMessage');
  const delivered = calls.length;
  // Over the time the pods were sending (their start-up is not the sender's doing).
  const seconds = (calls.at(-1)!.at - calls[0]!.at) / 1000;
  console.log(
    `\n3. Three processes sending for one bot through the shared sender (${SEND_SECONDS} s)`,
  );
  console.log(
    `   configured cap:  ${cap.toFixed(1)} messages/s (TELEGRAM_BOT_INTERVAL ${DEFAULT_SEND_LIMITS.botIntervalMs} ms)`,
  );
  console.log(
    `   delivered:       ${(delivered / seconds).toFixed(1)} messages/s (${sent.join(' + ')} = ${delivered} messages)`,
  );
  console.log(
    `   ratio: ${((delivered / seconds / cap) * 100).toFixed(1)}% of the cap (aim 90-100%)`,
  );
  console.log(`   429 answers from Telegram: ${telegram.tooManyRequests} (aim 0)`);
  await telegram.close();
}

if (process.argv[2] === '--pod') {
  const [, , , redisUrl = '', apiRoot = '', token = '', pod = '0'] = process.argv;
  await sendAsPod(redisUrl, apiRoot, token, Number(pod));
  process.exit(0);
} else {
  const redis = await startRedisServer();
  try {
    console.log(
      `stream bench: ${QUESTIONS} questions, LLM double at ${TTFT_MS} ms to first token and ${TOKENS_PER_SECOND} tokens/s`,
    );
    await streaming(redis.url);
    await sharedSending(redis.url);
  } finally {
    await redis.stop();
  }
  process.exit(0);
}
