import { figure, graph, heraldDashboard, NS, row } from '../panels.js';

/** Herald at a glance: the SLO and its budget, traffic, latency, the queue, the pods. */
export function overviewDashboard() {
  return heraldDashboard(
    'herald-overview',
    'Herald / Overview',
    'The updates-answered SLO (99.5% over 30 days), traffic through the webhook and the workers, and the pods.',
  )
    .withRow(row('SLO: 99.5% of updates answered over 30 days'))
    .withPanel(
      figure(
        'Availability, 30 days',
        'Share of updates the workers answered (not dead-lettered) over the last 30 days.',
        'percentunit',
        { expr: `herald:slo_updates_availability:ratio_rate30d{${NS}}` },
        [
          ['red', null],
          ['green', 0.995],
        ],
        { decimals: 3 },
      ),
    )
    .withPanel(
      figure(
        'Error budget left, 30 days',
        'Share of the month’s 0.5% error budget still unspent; below zero the objective is missed.',
        'percentunit',
        { expr: `herald:slo_updates_error_budget_remaining:ratio{${NS}}` },
        [
          ['red', null],
          ['orange', 0],
          ['green', 0.25],
        ],
        { decimals: 1 },
      ),
    )
    .withPanel(
      graph(
        'Error budget burn rate',
        'How many times faster than sustainable the budget burns: 14.4 over 1 h pages, 3 over 1 d opens a ticket.',
        'x',
        [
          { expr: `herald:slo_updates_errors:ratio_rate1h{${NS}} / 0.005`, legend: '1 h' },
          { expr: `herald:slo_updates_errors:ratio_rate6h{${NS}} / 0.005`, legend: '6 h' },
          { expr: `herald:slo_updates_errors:ratio_rate1d{${NS}} / 0.005`, legend: '1 d' },
        ],
        { width: 12 },
      ),
    )
    .withRow(row('Traffic'))
    .withPanel(
      graph(
        'Updates received',
        'Webhook deliveries per second by outcome: accepted, duplicate, unauthorized, invalid, unavailable (503).',
        'reqps',
        [
          {
            expr: `sum by (outcome) (rate(herald_updates_received_total{${NS}}[$__rate_interval]))`,
            legend: '{{outcome}}',
          },
        ],
        { stacked: true },
      ),
    )
    .withPanel(
      graph(
        'Updates answered',
        'Updates the workers finished per second: ok, dropped (the user blocked the bot), dead-lettered; retried attempts apart.',
        'reqps',
        [
          {
            expr: `sum by (outcome) (rate(herald_updates_processed_total{${NS}}[$__rate_interval]))`,
            legend: '{{outcome}}',
          },
        ],
        { stacked: true },
      ),
    )
    .withPanel(
      graph(
        'Webhook ack latency',
        'From receiving a delivery to answering Telegram (the update is stored in Redis by then).',
        's',
        [0.5, 0.99].map((q) => ({
          expr: `histogram_quantile(${q}, sum by (le) (rate(herald_update_ack_seconds_bucket{${NS}}[$__rate_interval])))`,
          legend: `p${q * 100}`,
        })),
      ),
    )
    .withRow(row('Queue'))
    .withPanel(
      graph(
        'Queue lag',
        'Age of the oldest unfinished update; alerts above 30 s for 5 minutes.',
        's',
        [{ expr: `max(herald_update_queue_lag_seconds{${NS}})`, legend: 'lag' }],
      ),
    )
    .withPanel(
      graph(
        'Queue length and dead letters',
        'Updates queued and not yet finished, and updates in the dead-letter stream.',
        'short',
        [
          { expr: `max(herald_update_queue_length{${NS}})`, legend: 'queued' },
          { expr: `max(herald_update_dead_letter_length{${NS}})`, legend: 'dead letters' },
        ],
      ),
    )
    .withPanel(
      graph(
        'Handling time',
        'Time a worker spent on one update (one attempt), LLM answer included.',
        's',
        [0.5, 0.95].map((q) => ({
          expr: `histogram_quantile(${q}, sum by (le) (rate(herald_update_processing_seconds_bucket{${NS}}[$__rate_interval])))`,
          legend: `p${q * 100}`,
        })),
      ),
    )
    .withRow(row('Pods'))
    .withPanel(
      graph('Pods reporting', 'Pods Prometheus scrapes, by service and version.', 'short', [
        {
          expr: `count by (job, version) (herald_build_info{${NS}})`,
          legend: '{{job}} {{version}}',
        },
      ]),
    )
    .withPanel(
      graph(
        'Dependencies up',
        '1 while every pod of the service reaches the dependency (its readiness check).',
        'short',
        [
          {
            expr: `min by (job, dependency) (herald_dependency_up{${NS}})`,
            legend: '{{job}} → {{dependency}}',
          },
        ],
      ),
    )
    .withPanel(
      graph('Container restarts', 'Restarts in the last hour (kube-state-metrics).', 'short', [
        {
          expr: `sum by (container) (increase(kube_pod_container_status_restarts_total{${NS}, container=~"user-handler|news-publisher|vllm|redis"}[1h]))`,
          legend: '{{container}}',
        },
      ]),
    );
}
