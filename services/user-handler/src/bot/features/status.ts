import { Composer, type Context } from 'telegraf';
import { isAdmin, type BotDeps, type StatusReport } from '../deps.js';
import { escapeHtml } from '@herald/telegram';
import { replyHtml } from '../reply-html.js';
import { currentModel } from './models.js';

function formatUptime(seconds: number): string {
  const d = Math.floor(seconds / 86_400);
  const h = Math.floor((seconds % 86_400) / 3_600);
  const m = Math.floor((seconds % 3_600) / 60);
  const s = Math.floor(seconds % 60);
  return [d && `${d}d`, (d || h) && `${h}h`, `${m}m`, `${s}s`].filter(Boolean).join(' ');
}

const mark = (ok: boolean): string => (ok ? '✅' : '❌');

/** The /status text; admins also see version and failure details. */
export function formatStatus(report: StatusReport, isAdmin: boolean): string {
  const lines = ['<b>Herald status</b>'];
  lines.push(`Uptime: ${formatUptime(report.uptimeSeconds)}`);
  lines.push(`${mark(report.postgres === 'ok')} Database`);
  const stateName = report.state.kind === 'redis' ? 'Redis' : 'in-process (local mode)';
  lines.push(`${mark(report.state.health === 'ok')} Shared state: ${stateName}`);
  if (report.queue) {
    lines.push(
      `Queue: ${report.queue.length} waiting, oldest ${report.queue.lagSeconds.toFixed(1)} s`,
    );
  }
  if (!report.ai.configured) {
    lines.push('⚪ AI: not configured');
  } else {
    lines.push(
      `${mark(report.ai.reachable)} AI: ${report.ai.reachable ? 'reachable' : 'unreachable'}`,
    );
    if (report.ai.models.length > 0)
      lines.push(`Models: ${escapeHtml(report.ai.models.join(', '))}`);
  }
  if (isAdmin) {
    lines.push('', `<i>Admin</i>: version ${escapeHtml(report.version)}`);
    if (report.postgres !== 'ok') lines.push(`Database: ${escapeHtml(report.postgres)}`);
    if (report.state.health !== 'ok')
      lines.push(`Shared state: ${escapeHtml(report.state.health)}`);
    if (report.ai.configured && report.ai.detail) lines.push(`AI: ${escapeHtml(report.ai.detail)}`);
  }
  return lines.join('\n');
}

/** /status and the Status button. */
export function statusFeature(deps: BotDeps): Composer<Context> {
  const feature = new Composer<Context>();
  const answer = async (ctx: Context): Promise<void> => {
    let text = formatStatus(await deps.status(), isAdmin(deps, ctx.from?.id));
    const picked = ctx.from ? (await deps.sessions.settings(ctx.from.id)).model : undefined;
    const model = currentModel(deps.models, picked);
    if (model) text += `\nYour model: <code>${escapeHtml(model)}</code>`;
    await replyHtml(ctx, text);
  };
  feature.command('status', answer);
  feature.action('status', async (ctx) => {
    await ctx.answerCbQuery();
    await answer(ctx);
  });
  return feature;
}
