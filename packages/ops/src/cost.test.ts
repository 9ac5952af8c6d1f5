import { describe, expect, it } from '@jest/globals';
import { parseHourlyCosts, registerCostMetric } from './cost.js';
import { createRegistry } from './metrics.js';

describe('estimated cost metric', () => {
  it('exports one hourly figure per component the chart set', async () => {
    const { costs, problems } = parseHourlyCosts(' inference=4.20, nodes = 0.35 ,,');
    expect(problems).toEqual([]);
    const registry = createRegistry('test', 'test');
    registerCostMetric(registry, costs);
    const text = await registry.metrics();
    expect(text).toContain(
      'herald_cost_estimated_hourly_usd{component="inference",service="test"} 4.2',
    );
    expect(text).toContain(
      'herald_cost_estimated_hourly_usd{component="nodes",service="test"} 0.35',
    );
  });

  it('exports no cost series when none is configured, so no estimate reads as free', async () => {
    expect(parseHourlyCosts(undefined)).toEqual({ costs: new Map(), problems: [] });
    const registry = createRegistry('test', 'test');
    registerCostMetric(registry, parseHourlyCosts('').costs);
    expect(await registry.metrics()).not.toMatch(/^herald_cost_estimated_hourly_usd\{/m);
  });

  it('names every bad pair at once instead of guessing a price', () => {
    const { problems } = parseHourlyCosts('inference=4.2,GPU=1,nodes=-1,db,inference=3,a=1=2');
    expect(problems).toEqual([
      expect.stringContaining('"GPU=1" is not component=dollars'),
      expect.stringContaining('"nodes=-1" is not component=dollars'),
      expect.stringContaining('"db" is not component=dollars'),
      '"inference" is given twice; give each component once',
      expect.stringContaining('"a=1=2" is not component=dollars'),
    ]);
  });
});
