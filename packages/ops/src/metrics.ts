import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

export { Counter, Gauge, Histogram, Registry };

/** A service's metrics registry, with Node's process metrics and `herald_build_info`. */
export function createRegistry(service: string, version: string): Registry {
  const registry = new Registry();
  registry.setDefaultLabels({ service });
  collectDefaultMetrics({ register: registry });
  new Gauge({
    name: 'herald_build_info',
    help: 'Always 1; labels say which Herald version runs',
    labelNames: ['version'],
    registers: [registry],
  }).set({ version }, 1);
  return registry;
}

/** Metrics every service exposes about its own dependencies and HTTP traffic. */
export interface CoreMetrics {
  dependencyUp: Gauge<'dependency'>;
  dependencyErrors: Counter<'dependency'>;
  httpRequestSeconds: Histogram<'method' | 'route' | 'status'>;
}

export function createCoreMetrics(registry: Registry): CoreMetrics {
  return {
    dependencyUp: new Gauge({
      name: 'herald_dependency_up',
      help: '1 when the dependency answered the last readiness check, else 0',
      labelNames: ['dependency'],
      registers: [registry],
    }),
    dependencyErrors: new Counter({
      name: 'herald_dependency_errors_total',
      help: 'Connection errors reported by a dependency client (Postgres idle errors, Redis errors)',
      labelNames: ['dependency'],
      registers: [registry],
    }),
    httpRequestSeconds: new Histogram({
      name: 'herald_http_request_duration_seconds',
      help: 'HTTP request duration by route and status',
      labelNames: ['method', 'route', 'status'],
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [registry],
    }),
  };
}
