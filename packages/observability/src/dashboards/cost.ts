import { figure, graph, heraldDashboard, NS, row } from '../panels.js';

/** What Herald costs, from the hourly prices the chart's values give it (no billing API). */
export function costDashboard() {
  return heraldDashboard(
    'herald-cost',
    'Herald / Cost',
    'Estimated cost from herald_cost_estimated_hourly_usd (GPU replicas times their hourly price, plus the chart’s other hourly costs); alerts over 400 USD a month.',
  )
    .withRow(row('Estimate'))
    .withPanel(
      figure(
        'Estimated monthly cost',
        'Hourly estimate times 730 hours; the budget is 400 USD.',
        'currencyUSD',
        { expr: `sum(herald:cost_estimated_monthly_usd:sum{${NS}})` },
        [
          ['green', null],
          ['orange', 320],
          ['red', 400],
        ],
        { width: 8 },
      ),
    )
    .withPanel(
      graph(
        'Monthly estimate by component',
        'Each component counted once, however many pods report it.',
        'currencyUSD',
        [
          {
            expr: `max by (component) (herald_cost_estimated_hourly_usd{${NS}}) * 730`,
            legend: '{{component}}',
          },
        ],
        { width: 16, stacked: true },
      ),
    )
    .withRow(row('What the money buys'))
    .withPanel(
      graph(
        'LLM tokens per dollar',
        'Tokens Herald got from the LLM in the last hour, per dollar the inference component costs an hour.',
        'short',
        [
          {
            expr: `sum(rate(herald_llm_tokens_total{${NS}}[1h])) * 3600 / sum(max by (component) (herald_cost_estimated_hourly_usd{component="inference", ${NS}}))`,
            legend: 'tokens/USD',
          },
        ],
        { width: 12 },
      ),
    )
    .withPanel(
      graph(
        'vLLM pods serving',
        'The GPU replicas that drive the inference cost.',
        'short',
        [{ expr: `count(vllm:num_requests_running{${NS}})`, legend: 'pods' }],
        { width: 12 },
      ),
    );
}
