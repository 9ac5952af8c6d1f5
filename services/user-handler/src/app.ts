import { createHttpApp, type HttpAppOptions } from '@herald/ops';
import type { FastifyInstance } from 'fastify';

export type AppDeps = Omit<HttpAppOptions, 'bodyLimitBytes'>;

/** The user-handler's HTTP app, not yet listening: tests call `inject` on it. */
export async function buildApp(deps: AppDeps): Promise<FastifyInstance> {
  // Telegram updates are small; 1 MiB leaves room for long captions and entities.
  return createHttpApp({ ...deps, bodyLimitBytes: 1_048_576 });
}
