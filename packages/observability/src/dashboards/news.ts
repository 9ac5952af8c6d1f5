import { figure, graph, heraldDashboard, NS, row } from '../panels.js';

const NEWS = `job="news-publisher", ${NS}`;
/** Keeps only the leader's series: a replica that led before keeps reporting its last figures. */
const LEADER_ONLY = `* on (namespace, instance) group_left () (herald_leader{role="news", ${NS}} == 1)`;

/** The news channel: cycles, each source's health, articles, verdicts, posts, the leader. */
export function newsDashboard() {
  return heraldDashboard(
    'herald-news',
    'Herald / News',
    'The news-publisher: cycles, per-source health, articles by outcome, relevance verdicts, channel posts, leadership and epoch.',
  )
    .withRow(row('Leader and cycles'))
    .withPanel(
      figure(
        'Leader',
        'Replicas leading the news cycle: exactly 1 is right.',
        'short',
        { expr: `sum(herald_leader{role="news", ${NS}})` },
        [
          ['red', null],
          ['green', 1],
          ['red', 2],
        ],
      ),
    )
    .withPanel(
      figure(
        'Epoch',
        'The fencing epoch of the current leadership: it grows by one at each takeover.',
        'none',
        { expr: `max(herald_leader_epoch{role="news", ${NS}} ${LEADER_ONLY})` },
        [['blue', null]],
      ),
    )
    .withPanel(
      figure(
        'Since the last good cycle',
        'Alerts past three intervals (90 minutes at the default NEWS_INTERVAL).',
        's',
        { expr: `time() - max(herald_news_last_cycle_timestamp_seconds{${NEWS}})` },
        [
          ['green', null],
          ['orange', 1800],
          ['red', 5400],
        ],
      ),
    )
    .withPanel(
      figure(
        'Since the last channel post',
        'Alerts after 2 hours while relevant stories wait.',
        's',
        { expr: `time() - max(herald_news_last_post_timestamp_seconds{${NEWS}})` },
        [
          ['green', null],
          ['orange', 3600],
          ['red', 7200],
        ],
      ),
    )
    .withPanel(
      graph(
        'Cycles by outcome',
        'ok, failed, lease_lost (the replica found it no longer leads).',
        'short',
        [
          {
            expr: `sum by (outcome) (increase(herald_news_cycles_total{${NEWS}}[1h]))`,
            legend: '{{outcome}}',
          },
        ],
      ),
    )
    .withPanel(
      graph(
        'Cycle duration',
        'Wall time of one cycle, fetch to last post.',
        's',
        [0.5, 0.95].map((q) => ({
          expr: `histogram_quantile(${q}, sum by (le) (rate(herald_news_cycle_duration_seconds_bucket{${NEWS}}[1h])))`,
          legend: `p${q * 100}`,
        })),
      ),
    )
    .withPanel(
      graph(
        'Stories waiting and posting paused',
        'Relevant stories young enough to post that the channel has not got; 1 while an operator paused posting.',
        'short',
        [
          {
            expr: `max(herald_news_stories_waiting{${NEWS}} ${LEADER_ONLY})`,
            legend: 'waiting',
          },
          {
            expr: `max(herald_news_posting_paused{${NEWS}} ${LEADER_ONLY})`,
            legend: 'paused',
          },
        ],
      ),
    )
    .withRow(row('Sources'))
    .withPanel(
      graph(
        'Source up',
        '1 when the source was fetched and parsed on its last try (the leader’s view).',
        'short',
        [
          {
            expr: `max by (source) (herald_news_source_up{${NEWS}} ${LEADER_ONLY})`,
            legend: '{{source}}',
          },
        ],
      ),
    )
    .withPanel(
      graph(
        'Failures in a row',
        'Each failure backs the source off longer (0, 1, 3, 7 … cycles); alerts at 5.',
        'short',
        [
          {
            expr: `max by (source) (herald_news_source_consecutive_failures{${NEWS}} ${LEADER_ONLY})`,
            legend: '{{source}}',
          },
        ],
      ),
    )
    .withPanel(
      graph(
        'Fetches by outcome',
        'ok, not_modified (304), backing_off, or the reason a fetch failed.',
        'short',
        [
          {
            expr: `sum by (outcome) (increase(herald_news_fetch_total{${NEWS}}[1h]))`,
            legend: '{{outcome}}',
          },
        ],
      ),
    )
    .withRow(row('Articles and posts'))
    .withPanel(
      graph(
        'Articles by outcome',
        'new, duplicate, near_duplicate, stale, irrelevant, relevant, posted, archive_failed.',
        'short',
        [
          {
            expr: `sum by (outcome) (increase(herald_news_articles_total{${NEWS}}[1h]))`,
            legend: '{{outcome}}',
          },
        ],
      ),
    )
    .withPanel(
      graph(
        'Relevance verdicts',
        'By stage (llm, checklist_first_pass, checklist_fallback when the LLM could not judge) and result.',
        'short',
        [
          {
            expr: `sum by (stage, relevant) (increase(herald_news_verdicts_total{${NEWS}}[1h]))`,
            legend: '{{stage}} relevant={{relevant}}',
          },
        ],
      ),
    )
    .withPanel(
      graph(
        'Channel posts by outcome',
        'posted, reposted, taken, failed (Telegram refused); late-link edits: edited, edit_refused, edit_failed.',
        'short',
        [
          {
            expr: `sum by (outcome) (increase(herald_news_posts_total{${NEWS}}[1h]))`,
            legend: '{{outcome}}',
          },
        ],
      ),
    );
}
