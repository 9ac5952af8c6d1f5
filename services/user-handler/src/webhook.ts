import { createHash, timingSafeEqual } from 'node:crypto';
import type { Logger } from '@herald/logger';
import { Counter, Histogram, type Registry } from '@herald/ops';
import type { FastifyInstance } from 'fastify';
import type { Update } from 'telegraf/types';
import { chatIdOf, updateIdOf, type UpdateQueue } from './updates/queue.js';

const SECRET_HEADER = 'x-telegram-bot-api-secret-token';

/** Compares two secrets in time that does not depend on where they differ. */
export function secretMatches(given: string | undefined, expected: string): boolean {
  const digest = (text: string) => createHash('sha256').update(text).digest();
  // Hashing first gives equal lengths, so the length of the secret does not leak either.
  return given !== undefined && timingSafeEqual(digest(given), digest(expected));
}

export interface WebhookOptions {
  secret: string;
  queue: UpdateQueue;
  logger: Logger;
  registry: Registry;
}

/**
 * `POST /telegram/webhook`: answers 200 only once the update is stored in the queue, so
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
    const updateId = updateIdOf(update);
    if (updateId === undefined) {
      request.log.warn(
        { update_id: (update as { update_id?: unknown } | null)?.update_id },
        'webhook body is not a Telegram Update; refused',
      );
      return answer(400, 'invalid', { ok: false, error: 'not an Update object' });
    }
    const chatId = chatIdOf(update as object);
    try {
      const outcome = await options.queue.enqueue(update as Update);
      if (outcome === 'duplicate') {
        request.log.debug({ update_id: updateId, chat_id: chatId }, 'duplicate update ignored');
        return answer(200, 'duplicate', { ok: true });
      }
      request.log.debug({ update_id: updateId, chat_id: chatId }, 'update queued');
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
