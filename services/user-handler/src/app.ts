import { createHttpApp, type HttpAppOptions } from '@herald/ops';
import type { FastifyInstance } from 'fastify';
import { webhookRoutes, type WebhookOptions } from './ingress/webhook.js';

export interface AppDeps extends Omit<HttpAppOptions, 'bodyLimitBytes'> {
  /** Serve `POST /telegram/webhook` (webhook mode). */
  webhook?: Omit<WebhookOptions, 'registry' | 'logger'>;
}

/** The user-handler's HTTP app, not yet listening: tests call `inject` on it. */
export async function buildApp(deps: AppDeps): Promise<FastifyInstance> {
  const { webhook, ...http } = deps;
  // Telegram updates are small; 1 MiB leaves room for long captions and entities.
  const app = await createHttpApp({ ...http, bodyLimitBytes: 1_048_576 });
  if (webhook) {
    await app.register(webhookRoutes, { ...webhook, registry: deps.registry, logger: deps.logger });
  }
  return app;
}
