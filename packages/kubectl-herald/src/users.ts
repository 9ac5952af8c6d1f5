import { z } from 'zod';
import { parseAnswer } from './admin-api.js';
import type { CommandContext } from './context.js';
import { UsageError } from './errors.js';
import { formatInstant, printJson, printTable } from './output.js';

const userList = z.object({
  items: z.array(
    z.looseObject({
      id: z.number(),
      username: z.string().nullish(),
      firstName: z.string().nullish(),
      language: z.string().nullish(),
      blocked: z.boolean().nullish(),
      firstSeenAt: z.string().nullish(),
      lastSeenAt: z.string().nullish(),
      messages: z.number().nullish(),
    }),
  ),
});
const blockAnswer = z.looseObject({ id: z.number(), blocked: z.boolean() });
const forgetAnswer = z.looseObject({ forgotten: z.boolean(), messages: z.number().nullish() });

/** A Telegram user id: a positive integer. */
function userId(ctx: CommandContext): string {
  const [id = ''] = ctx.positionals(['user-id']);
  if (!/^\d+$/.test(id)) {
    throw new UsageError(
      `"${id}" is not a Telegram user id (a number)`,
      "`kubectl herald users find @username` shows a user's id",
    );
  }
  return id;
}

/** `users find <id|@username>`: who they are, whether blocked, how much they wrote. */
export async function findUsers(ctx: CommandContext): Promise<void> {
  const [query = ''] = ctx.positionals(['id|@username']);
  if (!/^(\d+|@?[A-Za-z0-9_]{1,64})$/.test(query)) {
    throw new UsageError(`"${query}" is neither a user id nor a @username`);
  }
  const body = await (await ctx.admin()).get(`/admin/v1/users?query=${encodeURIComponent(query)}`);
  if (ctx.output.format === 'json') return printJson(ctx.output, body);
  const { items } = parseAnswer(userList, body, 'GET /admin/v1/users');
  if (items.length === 0) {
    ctx.output.out.write(`no user matches ${query}\n`);
    return;
  }
  const nowMs = ctx.host.nowMs();
  printTable(
    ctx.output,
    ['id', 'username', 'name', 'language', 'blocked', 'messages', 'first seen', 'last seen'],
    items.map((user) => [
      String(user.id),
      user.username ? `@${user.username}` : '-',
      user.firstName ?? '-',
      user.language ?? '-',
      user.blocked ? 'yes' : 'no',
      String(user.messages ?? 0),
      user.firstSeenAt ? formatInstant(user.firstSeenAt, nowMs) : '-',
      user.lastSeenAt ? formatInstant(user.lastSeenAt, nowMs) : '-',
    ]),
  );
}

async function setBlocked(ctx: CommandContext, blocked: boolean): Promise<void> {
  const id = userId(ctx);
  const path = `/admin/v1/users/${id}/${blocked ? 'block' : 'unblock'}`;
  const body = await (await ctx.admin()).post(path);
  if (ctx.output.format === 'json') return printJson(ctx.output, body);
  const answer = parseAnswer(blockAnswer, body, `POST ${path}`);
  ctx.output.out.write(
    answer.blocked
      ? `user ${id} blocked: Herald ignores their messages\n`
      : `user ${id} unblocked\n`,
  );
}

/** `users block <id>`: Herald stops answering them. */
export function blockUser(ctx: CommandContext): Promise<void> {
  return setBlocked(ctx, true);
}

/** `users unblock <id>`: undoes `users block`. */
export function unblockUser(ctx: CommandContext): Promise<void> {
  return setBlocked(ctx, false);
}

/** `users forget <id>`: deletes the user and their history, as their own /forget does (asks first). */
export async function forgetUser(ctx: CommandContext): Promise<void> {
  const id = userId(ctx);
  await ctx.confirm(`Delete user ${id} and all their messages for good?`, `forget user ${id}`);
  const body = await (await ctx.admin()).delete(`/admin/v1/users/${id}`);
  if (ctx.output.format === 'json') return printJson(ctx.output, body);
  const answer = parseAnswer(forgetAnswer, body, `DELETE /admin/v1/users/${id}`);
  ctx.output.out.write(`forgot user ${id}: ${answer.messages ?? 0} messages deleted\n`);
}
