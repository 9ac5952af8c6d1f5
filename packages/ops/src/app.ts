import type { Logger } from '@herald/logger';
import Fastify, {
  LogController,
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
} from 'fastify';
import { opsRoutes, type OpsRoutesOptions } from './routes.js';

export interface HttpAppOptions extends OpsRoutesOptions {
  logger: Logger;
  /** Largest request body accepted, in bytes; larger ones get 413. */
  bodyLimitBytes?: number;
}

/**
 * Logs a request only when it failed on our side. Two lines for every request would cost
 * more than the webhook's own work and flood the logs at Telegram's rates;
 * herald_http_request_duration_seconds counts every request instead.
 */
class QuietRequestLog extends LogController {
  override incomingRequest(): void {}
  override requestCompleted(
    error: Error | null | undefined,
    request: FastifyRequest,
    reply: FastifyReply,
    metadata?: Record<string, unknown>,
  ): void {
    if (error || reply.statusCode >= 500) super.requestCompleted(error, request, reply, metadata);
  }
}

/**
 * A service's Fastify app with /healthz, /readyz and /metrics, not yet listening; each
 * service adds its own routes. Tests call `inject` on it.
 */
export async function createHttpApp(options: HttpAppOptions): Promise<FastifyInstance> {
  const { logger, bodyLimitBytes, ...ops } = options;
  const app = Fastify({
    // pino's Logger type is generic over its options; Fastify's routes expect the base type.
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-assertion
    loggerInstance: logger as FastifyBaseLogger,
    bodyLimit: bodyLimitBytes ?? 1_048_576,
    logController: new QuietRequestLog(),
  });
  await app.register(opsRoutes, ops);
  return app;
}
