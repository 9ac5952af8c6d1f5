import { createHttpApp, type HttpAppOptions } from '@herald/ops';
import type { FastifyInstance } from 'fastify';

export type AppDeps = Omit<HttpAppOptions, 'bodyLimitBytes'>;

/** The news-publisher's HTTP app (health, readiness, metrics), not yet listening. */
export async function buildApp(deps: AppDeps): Promise<FastifyInstance> {
  // It takes no request bodies.
  return createHttpApp({ ...deps, bodyLimitBytes: 16_384 });
}
