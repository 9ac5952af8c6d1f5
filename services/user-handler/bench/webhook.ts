// `pnpm bench:webhook`: ack throughput and latency of Herald's webhook beside a bare
// Fastify route that reads and echoes the same body, measured in the same run; and the
// webhook's p99 with workers whose handler takes 30 s beside one that takes 0 s.
//
// Each server runs in a child process of its own, so the load generator (autocannon, in
// this process) does not share its event loop. BENCH_SECONDS sets each run's length.
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createLogger } from '@herald/logger';
import { createCoreMetrics, createRegistry } from '@herald/ops';
import { createRedis } from '@herald/redis';
import { startRedisServer } from '@herald/testing';
import { buildApp, createRedisQueue } from '@herald/user-handler';
import autocannon from 'autocannon';
import Fastify from 'fastify';

const SECRET = 'bench-secret-0123456789';
const CONNECTIONS = 40;
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);

/** A realistic group message of about 1.5 KB: a reply with entities, as Telegram sends it. */
function updateBody(updateId: number): string {
  const chatId = -1_001_234_567_000 - (updateId % 500);
  const user = (id: number, name: string) => ({
    id,
    is_bot: false,
    first_name: name,
    last_name: 'Tester',
    username: `${name.toLowerCase()}_trader`,
    language_code: 'en',
  });
  const chat = { id: chatId, title: 'Gold & RWA traders', type: 'supergroup', is_forum: false };
  const text =
    '@herald_bot what do you make of the latest tokenized treasury inflows? BlackRock BUIDL ' +
    'crossed another milestone this week and gold is testing resistance near the highs again; ' +
    'is the correlation between on-chain RWA growth and bullion demand real or a coincidence? ' +
    'https://example.com/markets/rwa-weekly-report #gold #rwa $PAXG $XAUT ' +
    'Also, would you weigh physical bars, ETFs or tokenized gold for a five-year horizon, given ' +
    'custody costs, redemption terms and how each traded through the last drawdown? Thanks!';
  return JSON.stringify({
    update_id: updateId,
    message: {
      message_id: 100_000 + updateId,
      from: user(500_000 + (updateId % 5_000), 'Alice'),
      chat,
      date: 1_763_700_000 + updateId,
      reply_to_message: {
        message_id: 99_000 + updateId,
        from: { id: 7_000_000_001, is_bot: true, first_name: 'Herald', username: 'herald_bot' },
        chat,
        date: 1_763_699_000,
        text: 'Gold is up 0.8% today at $2,415/oz, with ETF inflows for a third week running.',
      },
      text,
      entities: [
        { type: 'mention', offset: 0, length: 11 },
        { type: 'url', offset: text.indexOf('https'), length: 44 },
        { type: 'hashtag', offset: text.indexOf('#gold'), length: 5 },
        { type: 'hashtag', offset: text.indexOf('#rwa'), length: 4 },
        { type: 'cashtag', offset: text.indexOf('$PAXG'), length: 5 },
        { type: 'cashtag', offset: text.indexOf('$XAUT'), length: 5 },
      ],
    },
  });
}

type Role = 'bare' | 'herald-ingest' | 'herald-0s' | 'herald-30s';

/** Child process: serve one variant on a free port and print it. */
async function serve(role: Role, redisUrl: string): Promise<void> {
  const logger = createLogger({ service: 'bench', level: 'error' });
  let app;
  if (role === 'bare') {
    app = Fastify({ logger: false, bodyLimit: 1_048_576 });
    app.post('/telegram/webhook', async (request) => request.body);
  } else {
    const registry = createRegistry('user-handler', 'bench');
    const redis = createRedis({ url: redisUrl, logger, keyPrefix: `bench:${role}:` });
    const queue = createRedisQueue({ redis, logger, registry });
    // 'herald-ingest' runs no workers in the process: the webhook's own cost.
    if (role !== 'herald-ingest') {
      const handlerMs = role === 'herald-30s' ? 30_000 : 0;
      queue.consume({ handler: () => new Promise((r) => setTimeout(r, handlerMs)) });
    }
    app = await buildApp({
      logger,
      registry,
      metrics: createCoreMetrics(registry),
      checks: {},
      webhook: { secret: SECRET, queue },
    });
  }
  process.on('SIGINT', () => process.exit(0));
  await app.listen({ port: 0, host: '127.0.0.1' });
  const address = app.server.address();
  process.send?.({ port: typeof address === 'object' && address ? address.port : 0 });
}

interface Figures {
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  non2xx: number;
  errors: number;
}

async function measure(role: Role, redisUrl: string): Promise<Figures> {
  const child: ChildProcess = fork(fileURLToPath(import.meta.url), ['--serve', role, redisUrl], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const port = await new Promise<number>((resolve) =>
    child.once('message', (m) => resolve((m as { port: number }).port)),
  );
  let updateId = {
    bare: 1,
    'herald-ingest': 10_000_000,
    'herald-0s': 20_000_000,
    'herald-30s': 30_000_000,
  }[role];
  const run = (seconds: number) =>
    autocannon({
      url: `http://127.0.0.1:${port}/telegram/webhook`,
      connections: CONNECTIONS,
      duration: seconds,
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-telegram-bot-api-secret-token': SECRET },
      requests: [
        {
          // Every delivery is a new update, as in production (no dedupe shortcut).
          setupRequest: (request) => ({ ...request, body: updateBody(updateId++) }),
        },
      ],
    });
  await run(2); // warm-up: JIT, connections, Redis scripts
  const result = await run(SECONDS);
  child.kill('SIGKILL');
  return {
    requestsPerSecond: result.requests.average,
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    non2xx: result.non2xx,
    errors: result.errors,
  };
}

async function main(): Promise<void> {
  const redis = await startRedisServer();
  try {
    const body = updateBody(1);
    console.log(
      `webhook bench: ${CONNECTIONS} connections, ${SECONDS} s per run, update of ${body.length} bytes`,
    );
    const bare = await measure('bare', redis.url);
    const ingest = await measure('herald-ingest', redis.url);
    const fast = await measure('herald-0s', redis.url);
    const slow = await measure('herald-30s', redis.url);
    const row = (name: string, f: Figures) =>
      `${name.padEnd(36)} ${f.requestsPerSecond.toFixed(0).padStart(8)} req/s  p50 ${f.p50Ms
        .toFixed(1)
        .padStart(
          6,
        )} ms  p99 ${f.p99Ms.toFixed(1).padStart(6)} ms  non-2xx ${f.non2xx}  errors ${f.errors}`;
    console.log(row('bare Fastify (read + echo)', bare));
    console.log(row('Herald webhook alone (no workers)', ingest));
    console.log(row('Herald webhook + workers, handler 0 s', fast));
    console.log(row('Herald webhook + workers, handler 30 s', slow));
    const percent = (f: Figures) =>
      ((f.requestsPerSecond / bare.requestsPerSecond) * 100).toFixed(1);
    console.log(`throughput, Herald webhook alone / bare: ${percent(ingest)}% (aim ≥ 60%)`);
    console.log(
      `throughput, Herald webhook with 0 s workers in the same process / bare: ${percent(fast)}%`,
    );
    console.log(
      `p99 ack, 30 s handler / 0 s handler: ${(slow.p99Ms / fast.p99Ms).toFixed(2)}x (aim ≈ 1: ack independent of handler time)`,
    );
  } finally {
    await redis.stop();
  }
}

if (process.argv[2] === '--serve') {
  await serve(process.argv[3] as Role, process.argv[4] ?? '');
} else {
  await main();
  process.exit(0);
}
