import type { Logger } from '@herald/logger';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { opsRoutes, type OpsRoutesOptions } from './routes.js';

export interface HttpAppOptions extends OpsRoutesOptions {
  logger: Logger;
  /** Largest request body accepted, in bytes; larger ones get 413. */
  bodyLimitBytes?: number;
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
  });
  await app.register(opsRoutes, ops);
  return app;
}
