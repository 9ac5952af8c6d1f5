import { figure, graph, heraldDashboard, NS, row } from '../panels.js';

const BOT = `job="user-handler", ${NS}`;

/** The bot: its LLM calls as users feel them, and its Bot API calls under Telegram's limits. */
export function botDashboard() {
  return heraldDashboard(
    'herald-bot',
    'Herald / Bot',
    'The user-handler: time to the first token and token rates, the circuit breaker, Bot API calls by outcome, 429s and the waits the shared sender imposes.',
  )
    .withRow(row('LLM'))
    .withPanel(
      graph(
        'Time to first token',
        'From sending a chat request to its first token, reasoning included; alerts when p95 is over 2 s.',
        's',
        [0.5, 0.95].map((q) => ({
          expr: `histogram_quantile(${q}, sum by (le) (rate(herald_llm_time_to_first_token_seconds_bucket{${BOT}}[$__rate_interval])))`,
          legend: `p${q * 100}`,
        })),
      ),
    )
    .withPanel(
      graph(
        'Tokens per second',
        'Tokens the LLM reported, by kind (prompt, completion), over all pods.',
        'short',
        [
          {
            expr: `sum by (kind) (rate(herald_llm_tokens_total{${BOT}}[$__rate_interval]))`,
            legend: '{{kind}}',
          },
        ],
      ),
    )
    .withPanel(
      graph(
        'LLM calls by outcome',
        'ok, or why a call failed (unavailable, busy, timeout, interrupted, refused, server_error, bad_response); cancelled is a user’s newer message.',
        'reqps',
        [
          {
            expr: `sum by (outcome) (rate(herald_llm_requests_total{${BOT}}[$__rate_interval]))`,
            legend: '{{outcome}}',
          },
        ],
        { stacked: true },
      ),
    )
    .withPanel(
      figure(
        'Circuit breaker',
        '0 closed, 0.5 half-open (a trial call decides), 1 open: calls fail at once and users get the fallback.',
        'short',
        { expr: `max(herald_llm_circuit_open{${BOT}})` },
        [
          ['green', null],
          ['orange', 0.5],
          ['red', 1],
        ],
      ),
    )
    .withRow(row('Telegram'))
    .withPanel(
      graph(
        'Bot API calls by outcome',
        'ok, rate_limited (429), retried, plain_fallback (HTML refused, sent as plain text), failed.',
        'reqps',
        [
          {
            expr: `sum by (outcome) (rate(herald_telegram_requests_total{${BOT}}[$__rate_interval]))`,
            legend: '{{outcome}}',
          },
        ],
        { stacked: true },
      ),
    )
    .withPanel(
      graph(
        '429s by method',
        'Calls Telegram answered 429 (retry_after honoured for every pod).',
        'reqps',
        [
          {
            expr: `sum by (method) (rate(herald_telegram_requests_total{${BOT}, outcome="rate_limited"}[$__rate_interval]))`,
            legend: '{{method}}',
          },
        ],
      ),
    )
    .withPanel(
      graph(
        'Waits for a send slot',
        'Time a call waited under the cluster-wide limits (30/s per bot, 1/s per chat, 20/min per group).',
        's',
        [0.5, 0.99].map((q) => ({
          expr: `histogram_quantile(${q}, sum by (le) (rate(herald_telegram_wait_seconds_bucket{${BOT}}[$__rate_interval])))`,
          legend: `p${q * 100}`,
        })),
      ),
    )
    .withPanel(
      graph(
        'Users rate-limited',
        'Updates refused by Herald’s own limits, by scope: one user, or everyone.',
        'reqps',
        [
          {
            expr: `sum by (scope) (rate(herald_rate_limited_total{${BOT}}[$__rate_interval]))`,
            legend: '{{scope}}',
          },
        ],
      ),
    );
}
