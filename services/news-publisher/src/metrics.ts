import { Counter, Gauge, Histogram, type Registry } from '@herald/ops';

// Outcomes reported from zero: a counter series born at 1 hides its first increase from
// increase() and rate(), so the first failed cycle or refused post after a start would not alert.
const CYCLE_OUTCOMES = ['ok', 'failed', 'lease_lost'];
const POST_OUTCOMES = [
  'posted',
  'reposted',
  'taken',
  'failed',
  'edited',
  'edit_refused',
  'edit_failed',
];

/** The news publisher's own metrics (the sender and LLM client add theirs). */
export function createNewsMetrics(registry: Registry) {
  const metrics = {
    cycleSeconds: new Histogram({
      name: 'herald_news_cycle_duration_seconds',
      help: 'Wall time of one news cycle, fetch to last post',
      buckets: [0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300, 600],
      registers: [registry],
    }),
    cycles: new Counter({
      name: 'herald_news_cycles_total',
      help: 'News cycles by outcome: ok, failed, lease_lost',
      labelNames: ['outcome'],
      registers: [registry],
    }),
    lastCycle: new Gauge({
      name: 'herald_news_last_cycle_timestamp_seconds',
      help: 'When the last news cycle finished without failing (Unix time)',
      registers: [registry],
    }),
    fetches: new Counter({
      name: 'herald_news_fetch_total',
      help: 'Source fetches by source and outcome: ok, not_modified, backing_off, or the failure reason',
      labelNames: ['source', 'outcome'],
      registers: [registry],
    }),
    sourceUp: new Gauge({
      name: 'herald_news_source_up',
      help: '1 when the source was fetched and parsed on its last try, 0 while it fails',
      labelNames: ['source'],
      registers: [registry],
    }),
    sourceFailures: new Gauge({
      name: 'herald_news_source_consecutive_failures',
      help: 'Failed fetches of the source in a row (it backs off as this grows)',
      labelNames: ['source'],
      registers: [registry],
    }),
    articles: new Counter({
      name: 'herald_news_articles_total',
      help: 'Articles by source and outcome: new, duplicate, near_duplicate, stale, irrelevant, relevant, posted, archive_failed',
      labelNames: ['source', 'outcome'],
      registers: [registry],
    }),
    itemsSkipped: new Counter({
      name: 'herald_news_items_skipped_total',
      help: 'Feed items left out by source and reason: no_title, no_link, not_http, private_address, local_name, link_too_long, malformed',
      labelNames: ['source', 'reason'],
      registers: [registry],
    }),
    itemsRepaired: new Counter({
      name: 'herald_news_items_repaired_total',
      help: 'Feed items kept after a repair, by source and repair: bad_date, title_from_lead, clipped, control_characters, boilerplate_lead, bad_image',
      labelNames: ['source', 'repair'],
      registers: [registry],
    }),
    verdicts: new Counter({
      name: 'herald_news_verdicts_total',
      help: 'Relevance verdicts by stage (llm, checklist_first_pass, checklist_fallback) and result',
      labelNames: ['stage', 'relevant'],
      registers: [registry],
    }),
    posts: new Counter({
      name: 'herald_news_posts_total',
      help: 'Channel posts by outcome: posted, reposted (an older leader left it unrecorded), taken, failed; late-link edits: edited, edit_refused, edit_failed',
      labelNames: ['outcome'],
      registers: [registry],
    }),
    // Read from the archive after each cycle, so a new leader reports the truth at once.
    // Left unset until the channel got its first post: a zero would read as "silent for
    // decades" and page on a fresh install.
    lastPost: new Gauge({
      name: 'herald_news_last_post_timestamp_seconds',
      help: 'When the channel last got a post (Unix time), from the archive, after each cycle',
      labelNames: ['channel'],
      registers: [registry],
    }),
    storiesWaiting: new Gauge({
      name: 'herald_news_stories_waiting',
      help: 'Relevant stories, young enough to post (NEWS_MAX_AGE), that the channel has not got yet',
      labelNames: ['channel'],
      registers: [registry],
    }),
    postingPaused: new Gauge({
      name: 'herald_news_posting_paused',
      help: '1 while an operator has paused channel posting (/admin news pause), else 0',
      registers: [registry],
    }),
    leader: new Gauge({
      name: 'herald_leader',
      help: '1 while this replica leads its role, else 0',
      labelNames: ['role'],
      registers: [registry],
    }),
    epoch: new Gauge({
      name: 'herald_leader_epoch',
      help: 'The fencing epoch of the leadership this replica holds or last held',
      labelNames: ['role'],
      registers: [registry],
    }),
  };
  for (const outcome of CYCLE_OUTCOMES) metrics.cycles.inc({ outcome }, 0);
  for (const outcome of POST_OUTCOMES) metrics.posts.inc({ outcome }, 0);
  return metrics;
}

export type NewsMetrics = ReturnType<typeof createNewsMetrics>;
