import { z } from 'zod';
import { parseAnswer } from './admin-api.js';
import type { CommandContext } from './context.js';
import { UsageError } from './errors.js';
import { formatInstant, printFields, printJson, printTable } from './output.js';

const deadLetter = z.looseObject({
  id: z.string(),
  updateId: z.number().nullish(),
  chatId: z.number().nullish(),
  reason: z.string().nullish(),
  deliveries: z.number().nullish(),
  failedAt: z.string().nullish(),
  kind: z.string().nullish(),
});
const deadLetterList = z.object({ items: z.array(deadLetter) });
const deadLetterDetail = deadLetter.extend({ update: z.unknown().optional() });
const replayAnswer = z.looseObject({ replayed: z.boolean(), queueId: z.string().nullish() });

/** Redis stream ids, as the admin API names dead letters: `<ms>-<seq>`. */
function deadLetterId(ctx: CommandContext): string {
  const [id = ''] = ctx.positionals(['id']);
  if (!/^\d+-\d+$/.test(id)) {
    throw new UsageError(
      `"${id}" is not a dead letter id (they look like 1764556800000-0)`,
      '`kubectl herald dead-letters list` shows them',
    );
  }
  return id;
}

function cell(value: string | number | null | undefined): string {
  return value === null || value === undefined ? '-' : String(value);
}

/** `dead-letters list [--limit N]`: the updates the workers gave up on, newest first. */
export async function listDeadLetters(ctx: CommandContext): Promise<void> {
  ctx.positionals([]);
  const limit = ctx.options.limit ?? 50;
  const body = await (await ctx.admin()).get(`/admin/v1/dead-letters?limit=${limit}`);
  if (ctx.output.format === 'json') return printJson(ctx.output, body);
  const { items } = parseAnswer(deadLetterList, body, 'GET /admin/v1/dead-letters');
  if (items.length === 0) {
    ctx.output.out.write('no dead letters\n');
    return;
  }
  const nowMs = ctx.host.nowMs();
  printTable(
    ctx.output,
    ['id', 'update', 'chat', 'kind', 'deliveries', 'failed', 'reason'],
    items.map((item) => [
      item.id,
      cell(item.updateId),
      cell(item.chatId),
      cell(item.kind),
      cell(item.deliveries),
      item.failedAt ? formatInstant(item.failedAt, nowMs) : '-',
      cell(item.reason),
    ]),
  );
}

/** `dead-letters show <id>`: one dead letter with the Telegram update it holds. */
export async function showDeadLetter(ctx: CommandContext): Promise<void> {
  const id = deadLetterId(ctx);
  const body = await (await ctx.admin()).get(`/admin/v1/dead-letters/${id}`);
  if (ctx.output.format === 'json') return printJson(ctx.output, body);
  const item = parseAnswer(deadLetterDetail, body, `GET /admin/v1/dead-letters/${id}`);
  printFields(ctx.output, [
    ['Id', item.id],
    ['Update', cell(item.updateId)],
    ['Chat', cell(item.chatId)],
    ['Kind', cell(item.kind)],
    ['Deliveries', cell(item.deliveries)],
    ['Failed', item.failedAt ? formatInstant(item.failedAt, ctx.host.nowMs()) : '-'],
    ['Reason', cell(item.reason)],
  ]);
  ctx.output.out.write(`Update:\n${JSON.stringify(item.update ?? null, null, 2)}\n`);
}

/** `dead-letters replay <id>`: puts the update back on the queue, past the duplicate check. */
export async function replayDeadLetter(ctx: CommandContext): Promise<void> {
  const id = deadLetterId(ctx);
  const body = await (await ctx.admin()).post(`/admin/v1/dead-letters/${id}/replay`);
  if (ctx.output.format === 'json') return printJson(ctx.output, body);
  const answer = parseAnswer(replayAnswer, body, `POST /admin/v1/dead-letters/${id}/replay`);
  ctx.output.out.write(
    `replayed dead letter ${id}: back on the queue${answer.queueId ? ` as ${answer.queueId}` : ''}\n`,
  );
}

/** `dead-letters drop <id>`: deletes it for good (asks first). */
export async function dropDeadLetter(ctx: CommandContext): Promise<void> {
  const id = deadLetterId(ctx);
  await ctx.confirm(`Drop dead letter ${id} for good? Its update is never answered.`, 'drop it');
  const body = await (await ctx.admin()).delete(`/admin/v1/dead-letters/${id}`);
  if (ctx.output.format === 'json') return printJson(ctx.output, body);
  ctx.output.out.write(`dropped dead letter ${id}\n`);
}
