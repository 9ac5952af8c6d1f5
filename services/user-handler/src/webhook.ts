import { createHash, timingSafeEqual } from 'node:crypto';
import type { Logger } from '@herald/logger';
import { Counter, Histogram, type Registry } from '@herald/ops';
import type { Redis } from '@herald/redis';
import type { FastifyInstance } from 'fastify';

/** Redis keys of the update queue, under the client's key prefix. */
export const UPDATE_STREAM = 'updates';
const seenKey = (updateId: number): string => `update-seen:${updateId}`;

/** Telegram redelivers an unacknowledged update for up to 24 hours. */
const DEDUPE_TTL_SECONDS = 24 * 60 * 60;

// Dedupe and append in one step: either the update is recorded as seen AND queued, or
// neither, so a failure between the two can never drop or double an update.
const ENQUEUE_SCRIPT = `
if redis.call('SET', KEYS[1], '1', 'NX', 'EX', ARGV[1]) then
  return redis.call('XADD', KEYS[2], '*', 'update', ARGV[2], 'chat', ARGV[3])
end
return false`;

const SECRET_HEADER = 'x-telegram-bot-api-secret-token';

/** The chat an update belongs to, for per-chat ordering; 0 when it has none. */
export function chatIdOf(update: Record<string, unknown>): number {
  for (const value of Object.values(update)) {
    if (typeof value !== 'object' || value === null) continue;
    const record = value as {
      chat?: { id?: unknown };
      message?: { chat?: { id?: unknown } };
      from?: { id?: unknown };
    };
    const id = record.chat?.id ?? record.message?.chat?.id ?? record.from?.id;
    if (typeof id === 'number') return id;
  }
  return 0;
}

/** Compares two secrets in time that does not depend on where they differ. */
export function secretMatches(given: string | undefined, expected: string): boolean {
  const digest = (text: string) => createHash('sha256').update(text).digest();
  // Hashing first gives equal lengths, so the length of the secret does not leak either.
  return given !== undefined && timingSafeEqual(digest(given), digest(expected));
}

export interface WebhookOptions {
  secret: string;
  redis: Redis;
  logger: Logger;
  registry: Registry;
}

/**
 * `POST /telegram/webhook`: answers 200 only once the update is stored in Redis, so
 * Telegram never waits for the bot's work and nothing acknowledged can be lost.
 */
export async function webhookRoutes(app: FastifyInstance, options: WebhookOptions): Promise<void> {
  const received = new Counter({
    name: 'herald_updates_received_total',
    help: 'Webhook deliveries by outcome: accepted, duplicate, unauthorized, invalid, unavailable',
    labelNames: ['outcome'],
    registers: [options.registry],
  });
  const ackSeconds = new Histogram({
    name: 'herald_update_ack_seconds',
    help: 'Time from receiving a webhook delivery to answering it',
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
    registers: [options.registry],
  });
  options.redis.defineCommand('heraldEnqueueUpdate', { numberOfKeys: 2, lua: ENQUEUE_SCRIPT });
  const enqueue = (updateId: number, body: string, chatId: number): Promise<string | null> =>
    (
      options.redis as unknown as {
        heraldEnqueueUpdate(
          k1: string,
          k2: string,
          ttl: number,
          body: string,
          chat: number,
        ): Promise<string | null>;
      }
    ).heraldEnqueueUpdate(seenKey(updateId), UPDATE_STREAM, DEDUPE_TTL_SECONDS, body, chatId);

  app.post('/telegram/webhook', async (request, reply) => {
    const started = process.hrtime.bigint();
    const answer = (code: number, outcome: string, body: object) => {
      received.inc({ outcome });
      ackSeconds.observe(Number(process.hrtime.bigint() - started) / 1e9);
      return reply.code(code).send(body);
    };
    const header = request.headers[SECRET_HEADER];
    if (!secretMatches(typeof header === 'string' ? header : undefined, options.secret)) {
      request.log.warn('webhook call without the right secret token; refused');
      return answer(401, 'unauthorized', { ok: false, error: 'unauthorized' });
    }
    const update = request.body;
    const updateId = (update as { update_id?: unknown } | null)?.update_id;
    if (
      typeof update !== 'object' ||
      update === null ||
      Array.isArray(update) ||
      !Number.isSafeInteger(updateId) ||
      (updateId as number) < 0 ||
      Object.keys(update).length < 2
    ) {
      request.log.warn({ update_id: updateId }, 'webhook body is not a Telegram Update; refused');
      return answer(400, 'invalid', { ok: false, error: 'not an Update object' });
    }
    const chatId = chatIdOf(update as Record<string, unknown>);
    try {
      const entry = await enqueue(updateId as number, JSON.stringify(update), chatId);
      if (entry === null) {
        request.log.debug({ update_id: updateId, chat_id: chatId }, 'duplicate update ignored');
        return answer(200, 'duplicate', { ok: true });
      }
      request.log.debug({ update_id: updateId, chat_id: chatId, entry }, 'update queued');
      return answer(200, 'accepted', { ok: true });
    } catch (error) {
      request.log.error(
        { err: error, update_id: updateId, chat_id: chatId },
        'could not queue the update: Redis is unreachable. Answered 503 so Telegram retries; check Redis',
      );
      return answer(503, 'unavailable', { ok: false, error: 'queue unavailable, retry later' });
    }
  });
}
