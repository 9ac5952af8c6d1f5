import { createHash, timingSafeEqual } from 'node:crypto';
import type { Logger } from '@herald/logger';
import { Counter, Histogram, type Registry } from '@herald/ops';
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { Update } from 'telegraf/types';
import { chatIdOf, updateIdOf, type UpdateQueue } from '../updates/queue.js';
import { WEBHOOK_PATH } from './webhook-setup.js';

const SECRET_HEADER = 'x-telegram-bot-api-secret-token';

const digest = (text: string) => createHash('sha256').update(text).digest();

/** A check of the secret in time that does not depend on where a wrong one differs. */
export function secretChecker(expected: string): (given: string | undefined) => boolean {
  // Hashing first gives equal lengths, so the length of the secret does not leak either.
  const expectedDigest = digest(expected);
  return (given) => given !== undefined && timingSafeEqual(digest(given), expectedDigest);
}

/** Compares two secrets in constant time (see `secretChecker`). */
export function secretMatches(given: string | undefined, expected: string): boolean {
  return secretChecker(expected)(given);
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
  // Every outcome from zero: rate() and increase() then see the first one after a start.
  for (const outcome of ['accepted', 'duplicate', 'unauthorized', 'invalid', 'unavailable']) {
    received.inc({ outcome }, 0);
  }
  const ackSeconds = new Histogram({
    name: 'herald_update_ack_seconds',
    help: 'Time from receiving a webhook delivery to answering it',
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
    registers: [options.registry],
  });
  const secretOk = secretChecker(options.secret);
  // The body is stored as Telegram sent it: parsed once to check it, never serialized again.
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_request, body, done) => {
    let update: unknown;
    try {
      update = JSON.parse(body as string);
    } catch {
      update = undefined; // answered 400 below, and counted
    }
    done(null, { raw: body as string, update });
  });

  const answer = (reply: FastifyReply, code: number, outcome: string, body: object) => {
    received.inc({ outcome });
    ackSeconds.observe(reply.elapsedTime / 1000);
    return reply.code(code).send(body);
  };

  // Checked before the body is read: a caller without the secret costs no parsing.
  app.addHook('onRequest', async (request, reply) => {
    const header = request.headers[SECRET_HEADER];
    if (!secretOk(typeof header === 'string' ? header : undefined)) {
      request.log.warn('webhook call without the right secret token; refused');
      return answer(reply, 401, 'unauthorized', { ok: false, error: 'unauthorized' });
    }
  });

  // Updates refused since the queue became unreachable: one error line per outage, then a
  // line when it takes updates again, however many requests came in between.
  let refusedInOutage = 0;

  app.post<{ Body: { raw: string; update: unknown } }>(WEBHOOK_PATH, async (request, reply) => {
    const { raw, update } = request.body;
    const updateId = updateIdOf(update);
    if (updateId === undefined) {
      request.log.warn(
        { update_id: (update as { update_id?: unknown } | null)?.update_id },
        'webhook body is not a Telegram Update; refused',
      );
      return answer(reply, 400, 'invalid', { ok: false, error: 'not an Update object' });
    }
    const chatId = chatIdOf(update as object);
    try {
      const outcome = await options.queue.enqueue(update as Update, raw);
      if (refusedInOutage > 0) {
        request.log.info(
          { refused: refusedInOutage },
          'the update queue is reachable again; Telegram delivers the refused updates again',
        );
        refusedInOutage = 0;
      }
      if (outcome === 'duplicate') {
        request.log.debug({ update_id: updateId, chat_id: chatId }, 'duplicate update ignored');
        return answer(reply, 200, 'duplicate', { ok: true });
      }
      request.log.debug({ update_id: updateId, chat_id: chatId }, 'update queued');
      return answer(reply, 200, 'accepted', { ok: true });
    } catch (error) {
      const context = {
        update_id: updateId,
        chat_id: chatId,
        reason: error instanceof Error ? error.message : String(error),
      };
      if (refusedInOutage === 0) {
        request.log.error(
          context,
          'could not queue the update: Redis is unreachable. Answering 503 so Telegram delivers ' +
            'it again later, until Redis is back; check Redis',
        );
      } else {
        request.log.debug(context, 'could not queue the update (Redis unreachable); answered 503');
      }
      refusedInOutage += 1;
      return answer(reply, 503, 'unavailable', {
        ok: false,
        error: 'queue unavailable, retry later',
      });
    }
  });
}
