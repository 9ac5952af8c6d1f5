import { Composer, type Context } from 'telegraf';
import { isAdmin, type AdminStats, type BotDeps } from '../context.js';

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

/** /admin stats, for `ADMIN_USER_IDS` only. */
export function adminFeature(deps: BotDeps): Composer<Context> {
  const feature = new Composer<Context>();
  feature.command('admin', async (ctx) => {
    if (!isAdmin(deps, ctx.from.id)) {
      await ctx.reply("This command is for the bot's operators.");
      return;
    }
    const [sub] = ctx.payload.trim().split(/\s+/);
    if (sub !== 'stats') {
      await ctx.reply('Admin commands: /admin stats');
      return;
    }
    await ctx.reply(formatAdminStats(await deps.adminStats()), { parse_mode: 'HTML' });
  });
  return feature;
}
