import { z } from '@herald/config';
import { Gauge, type Registry } from 'prom-client';

/** Estimated cost per hour of each part of an install, in US dollars, by component. */
export type HourlyCosts = ReadonlyMap<string, number>;

const COMPONENT = /^[a-z][a-z0-9_-]{0,62}$/;
const DOLLARS = /^\d+(\.\d+)?$/;

/**
 * Reads `COST_HOURLY_USD`: comma-separated `component=dollars` pairs, as the chart writes
 * them from its values (`inference=4.20,nodes=0.35`: the GPU replicas times their hourly
 * price, plus whatever else the operator pays for by the hour). Returns every problem at
 * once, so the service can list them all with its other configuration errors (exit 78).
 * Unset or empty gives no costs and no problems.
 */
export function parseHourlyCosts(text: string | undefined): {
  costs: HourlyCosts;
  problems: string[];
} {
  const costs = new Map<string, number>();
  const problems: string[] = [];
  for (const pair of (text ?? '').split(',')) {
    const trimmed = pair.trim();
    if (trimmed === '') continue;
    const [component = '', dollars = '', ...rest] = trimmed.split('=').map((part) => part.trim());
    if (rest.length > 0 || !COMPONENT.test(component) || !DOLLARS.test(dollars)) {
      problems.push(
        `"${trimmed}" is not component=dollars (a lower-case name, then a price per hour such as 1.25)`,
      );
    } else if (costs.has(component)) {
      problems.push(`"${component}" is given twice; give each component once`);
    } else {
      costs.set(component, Number(dollars));
    }
  }
  return { costs, problems };
}

/**
 * Registers `herald_cost_estimated_hourly_usd{component}` with one series per component,
 * so the estimated monthly cost alert works without a billing API. Every replica of every
 * service may export the same figures: the rules take the max per component before summing.
 */
export function registerCostMetric(registry: Registry, costs: HourlyCosts): void {
  const gauge = new Gauge({
    name: 'herald_cost_estimated_hourly_usd',
    help: 'Estimated cost per hour in US dollars, by component, from COST_HOURLY_USD (set from the chart values)',
    labelNames: ['component'],
    registers: [registry],
  });
  for (const [component, dollars] of costs) gauge.set({ component }, dollars);
}

/**
 * `COST_HOURLY_USD` for a service's environment schema: parsed into costs, each malformed
 * pair reported with the other configuration errors (exit 78).
 */
export const costEnv = {
  COST_HOURLY_USD: z
    .string()
    .optional()
    .transform((text, ctx): HourlyCosts => {
      const { costs, problems } = parseHourlyCosts(text);
      for (const message of problems) ctx.addIssue({ code: 'custom', message });
      return costs;
    })
    .describe('comma-separated component=dollars pairs, e.g. inference=0.80,nodes=0.10'),
};
