import { Composer, type Context, type Telegram } from 'telegraf';
import type { Message } from 'telegraf/types';
import { isAdmin, type BotDeps } from '../deps.js';

/** Whether a /reset may clear its chat's conversation, or why not. */
export type ResetPermission = 'allowed' | 'not-an-admin' | 'unchecked';

/**
 * Who may clear a chat's conversation with /reset: anyone in their private chat; in a
 * group, which everyone there shares, only its admins (creator and administrators, as
 * Telegram's getChatMember says), anonymous admins writing as the group, and this
 * Herald's operators (`ADMIN_USER_IDS`). When Telegram cannot tell, the answer is no.
 */
export async function resetPermission(
  deps: Pick<BotDeps, 'adminUserIds' | 'logger'>,
  telegram: Telegram,
  message: Message,
  updateId: number,
): Promise<ResetPermission> {
  const { chat, from } = message;
  if (chat.type === 'private' || isAdmin(deps, from?.id)) return 'allowed';
  if (message.sender_chat?.id === chat.id) return 'allowed';
  if (!from) return 'not-an-admin';
  try {
    const member = await telegram.getChatMember(chat.id, from.id);
    return member.status === 'creator' || member.status === 'administrator'
      ? 'allowed'
      : 'not-an-admin';
  } catch (error) {
    deps.logger.warn(
      { err: error, update_id: updateId, chat_id: chat.id, user_id: from.id },
      "could not ask Telegram whether a member is one of the group's admins (getChatMember); " +
        'their /reset is refused. Check that the bot is still in the group and that the Bot API answers getChatMember',
    );
    return 'unchecked';
  }
}

/** /reset: the next message starts a new conversation. */
export function conversationFeature(deps: BotDeps): Composer<Context> {
  const feature = new Composer<Context>();
  feature.command('reset', async (ctx) => {
    const permission = await resetPermission(deps, ctx.telegram, ctx.message, ctx.update.update_id);
    if (permission !== 'allowed') {
      deps.logger.info(
        { update_id: ctx.update.update_id, chat_id: ctx.chat.id, user_id: ctx.from.id, permission },
        '/reset refused in a group',
      );
      await ctx.reply(
        permission === 'not-an-admin'
          ? "Only the group's admins can reset its conversation."
          : "I could not check with Telegram whether you are one of the group's admins, so the conversation stays. Please try again later.",
      );
      return;
    }
    await deps.sessions.reset(ctx.chat.id);
    await ctx.reply('Conversation cleared. Your next message starts a new one.');
  });
  return feature;
}
