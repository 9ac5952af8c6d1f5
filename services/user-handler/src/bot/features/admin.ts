import { escapeHtml } from '@herald/telegram';
import { Composer, type Context } from 'telegraf';
import type { NewsAdmin, SourceHealth } from '../../news-admin.js';
import { isAdmin, type AdminStats, type BotDeps } from '../deps.js';
import { replyHtml } from '../reply-html.js';

const USAGE = 'Admin commands: /admin stats, /admin news pause|resume|now|sources';

const ago = (date: Date, now: number) => {
  const minutes = Math.round((now - date.getTime()) / 60_000);
  return minutes < 120 ? `${minutes} min ago` : `${Math.round(minutes / 60)} h ago`;
};

/** One line per source: healthy, failing (and until when it backs off), or never read. */
export function formatSources(list: readonly SourceHealth[], now = Date.now()): string {
  if (list.length === 0)
    return 'No news sources yet: the publisher records them on its first cycle.';
  const lines = list.map((source) => {
    const id = `<code>${escapeHtml(source.id)}</code>`;
    if (!source.enabled) return `⏸ ${id}: no longer in the sources file`;
    if (source.consecutiveFailures > 0) {
      const until =
        source.backoffUntil && source.backoffUntil.getTime() > now
          ? `, next try ${source.backoffUntil.toISOString().slice(11, 16)} UTC`
          : '';
      return `❌ ${id}: ${source.consecutiveFailures} failures${until}; ${escapeHtml(
        (source.lastError ?? 'unknown error').slice(0, 200),
      )}`;
    }
    return source.lastSuccessAt
      ? `✅ ${id}: read ${ago(source.lastSuccessAt, now)}`
      : `… ${id}: not read yet`;
  });
  const failing = list.filter((s) => s.enabled && s.consecutiveFailures > 0).length;
  return [`<b>News sources</b> (${list.length}, ${failing} failing)`, ...lines].join('\n');
}

async function newsCommand(news: NewsAdmin, action: string | undefined, by: string) {
  switch (action) {
    case 'pause':
      await news.pause(by);
      return 'News posting is paused. Fetching and archiving go on; /admin news resume posts again.';
    case 'resume':
      await news.resume();
      return 'News posting resumed: the next cycle posts.';
    case 'now':
      await news.runNow(by);
      return (await news.pausedBy())
        ? 'A news cycle will run within seconds, but posting is paused: it will only fetch and archive.'
        : 'A news cycle will run within seconds.';
    case 'sources':
      return formatSources(await news.sources());
    default: {
      const paused = await news.pausedBy();
      return `${paused ? `News posting is paused (by ${escapeHtml(paused)}).` : 'News posting is on.'}\n${USAGE}`;
    }
  }
}

export function formatAdminStats(stats: AdminStats): string {
  const chats = Object.entries(stats.chats)
    .map(([type, count]) => `${type} ${count}`)
    .join(', ');
  const lines = [
    '<b>Herald stats</b>',
    `Users: ${stats.users} (${stats.activeUsers24h} active in 24 h)`,
    `Chats: ${chats || 'none'}`,
    `Messages in 24 h: ${stats.messages24h}`,
  ];
  lines.push(
    stats.queue
      ? `Queue: ${stats.queue.length} waiting, lag ${stats.queue.lagSeconds.toFixed(1)} s, ` +
          `${stats.queue.deadLetters} dead letters`
      : 'Queue: could not be read',
  );
  return lines.join('\n');
}

/** /admin stats and /admin news, for `ADMIN_USER_IDS` only. */
export function adminFeature(deps: BotDeps): Composer<Context> {
  const feature = new Composer<Context>();
  feature.command('admin', async (ctx) => {
    if (!isAdmin(deps, ctx.from.id)) {
      await ctx.reply("This command is for the bot's operators.");
      return;
    }
    const [sub, action] = ctx.payload.trim().split(/\s+/);
    if (sub === 'stats') {
      await replyHtml(ctx, formatAdminStats(await deps.adminStats()));
      return;
    }
    if (sub === 'news' && deps.news) {
      const by = ctx.from.username ? `@${ctx.from.username}` : String(ctx.from.id);
      deps.logger.info({ user_id: ctx.from.id, action: action ?? 'state' }, '/admin news');
      // The sources list grows with the sources file: past one message it goes out in several.
      await replyHtml(ctx, await newsCommand(deps.news, action, by));
      return;
    }
    await ctx.reply(USAGE);
  });
  return feature;
}
