import { z } from 'zod';
import { parseAnswer } from './admin-api.js';
import type { CommandContext } from './context.js';
import { formatInstant, printJson, printTable } from './output.js';

const pausedAnswer = z.looseObject({ paused: z.boolean() });
const sourceList = z.object({
  items: z.array(
    z.looseObject({
      id: z.string(),
      name: z.string().nullish(),
      url: z.string().nullish(),
      up: z.boolean().nullish(),
      consecutiveFailures: z.number().nullish(),
      lastError: z.string().nullish(),
      lastFetchedAt: z.string().nullish(),
      backoffUntil: z.string().nullish(),
    }),
  ),
});

async function setPaused(ctx: CommandContext, paused: boolean): Promise<void> {
  ctx.positionals([]);
  const path = `/admin/v1/news/${paused ? 'pause' : 'resume'}`;
  const body = await (await ctx.admin()).post(path);
  if (ctx.output.format === 'json') return printJson(ctx.output, body);
  const answer = parseAnswer(pausedAnswer, body, `POST ${path}`);
  ctx.output.out.write(
    answer.paused
      ? 'news paused: the leader skips its cycles until `kubectl herald news resume`\n'
      : 'news resumed: the leader posts at its next cycle (`kubectl herald news now` for one at once)\n',
  );
}

/** `news pause`: the leader stops posting until resumed (the pause outlives restarts). */
export function pauseNews(ctx: CommandContext): Promise<void> {
  return setPaused(ctx, true);
}

/** `news resume`: undoes `news pause`. */
export function resumeNews(ctx: CommandContext): Promise<void> {
  return setPaused(ctx, false);
}

/** `news now`: asks the leader for a cycle now rather than at the next interval. */
export async function runNewsNow(ctx: CommandContext): Promise<void> {
  ctx.positionals([]);
  const body = await (await ctx.admin()).post('/admin/v1/news/run');
  if (ctx.output.format === 'json') return printJson(ctx.output, body);
  ctx.output.out.write(
    'news cycle requested: the leader runs one now (`kubectl herald logs news-publisher` to watch)\n',
  );
}

/** `news sources`: each source's health: up or failing, since when, and why. */
export async function listNewsSources(ctx: CommandContext): Promise<void> {
  ctx.positionals([]);
  const body = await (await ctx.admin()).get('/admin/v1/news/sources');
  if (ctx.output.format === 'json') return printJson(ctx.output, body);
  const { items } = parseAnswer(sourceList, body, 'GET /admin/v1/news/sources');
  if (items.length === 0) {
    ctx.output.out.write('no sources yet: the leader records them at its first news cycle\n');
    return;
  }
  const nowMs = ctx.host.nowMs();
  printTable(
    ctx.output,
    ['source', 'up', 'failures', 'last fetched', 'backoff until', 'last error'],
    items.map((source) => [
      source.id,
      source.up === false ? 'no' : 'yes',
      String(source.consecutiveFailures ?? 0),
      source.lastFetchedAt ? formatInstant(source.lastFetchedAt, nowMs) : 'never',
      source.backoffUntil ?? '-',
      source.lastError ?? '-',
    ]),
  );
}
