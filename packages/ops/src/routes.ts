import { maskUrlPasswords } from '@herald/logger';
import type { FastifyInstance } from 'fastify';
import type { Registry } from 'prom-client';
import type { CoreMetrics } from './metrics.js';

/** A readiness check: resolves when the dependency is usable, rejects saying why not. */
export type ReadinessCheck = () => Promise<void>;

export interface OpsRoutesOptions {
  registry: Registry;
  metrics: CoreMetrics;
  /** Checks that must all pass for the service to be ready (postgres, redis…). */
  checks: Record<string, ReadinessCheck>;
  /** Reported in /readyz without affecting readiness (the LLM's state, say). */
  report?: () => Promise<Record<string, unknown>>;
  /** True once shutdown began: /readyz turns 503 so no new traffic is routed here. */
  isShuttingDown?: () => boolean;
}

/**
 * `GET /healthz` (the process is alive), `GET /readyz` (its dependencies answer; 503
 * naming the failing ones otherwise) and `GET /metrics` (Prometheus text format).
 */
const SEVERITY = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;
type Level = (typeof SEVERITY)[number];

export async function opsRoutes(app: FastifyInstance, options: OpsRoutesOptions): Promise<void> {
  // Probes and scrapes arrive every few seconds: log them at warn, unless the service's
  // own level is already quieter.
  const current = SEVERITY.find((level) => level === app.log.level) ?? 'info';
  const logLevel: Level = SEVERITY.indexOf(current) > SEVERITY.indexOf('warn') ? current : 'warn';

  app.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url ?? 'unmatched';
    options.metrics.httpRequestSeconds.observe(
      { method: request.method, route, status: String(reply.statusCode) },
      reply.elapsedTime / 1000,
    );
  });

  app.get('/healthz', { logLevel }, async () => ({ status: 'ok' }));

  app.get('/readyz', { logLevel }, async (request, reply) => {
    if (options.isShuttingDown?.()) {
      return reply.code(503).send({ status: 'shutting-down', failing: [] });
    }
    const names = Object.keys(options.checks);
    const outcomes = await Promise.allSettled(names.map((name) => options.checks[name]!()));
    const checks: Record<string, string> = {};
    const failing: string[] = [];
    outcomes.forEach((outcome, i) => {
      const name = names[i]!;
      const up = outcome.status === 'fulfilled';
      options.metrics.dependencyUp.set({ dependency: name }, up ? 1 : 0);
      if (up) {
        checks[name] = 'ok';
      } else {
        failing.push(name);
        const reason: unknown = outcome.reason;
        // A driver's error may quote its connection string; /readyz is read by anyone
        // who can reach the pod.
        checks[name] = maskUrlPasswords(reason instanceof Error ? reason.message : String(reason));
      }
    });
    const report = options.report ? await options.report().catch(() => ({})) : {};
    if (failing.length > 0) {
      request.log.warn({ failing, checks }, `not ready: ${failing.join(', ')} unreachable`);
      return reply.code(503).send({ status: 'unavailable', failing, checks, ...report });
    }
    return { status: 'ready', checks, ...report };
  });

  app.get('/metrics', { logLevel }, async (_request, reply) => {
    reply.header('content-type', options.registry.contentType);
    return options.registry.metrics();
  });
}
