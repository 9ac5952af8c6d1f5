export { buildApp, type AppDeps } from './app.js';
export { createBot, formatStatus, type BotDeps, type StatusReport } from './bot/index.js';
export * from './env.js';
export { startPolling, type Poller } from './polling.js';
export { statusReporter, VERSION, type AiEndpoint } from './status.js';
export {
  chatIdOf,
  secretMatches,
  UPDATE_STREAM,
  webhookRoutes,
  type WebhookOptions,
} from './webhook.js';
