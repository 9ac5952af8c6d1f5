import type { Context } from 'telegraf';
import type { BotDeps, ChatAi } from './deps.js';
import { resetPermission } from './features/conversation.js';
import { commandOf, isAddressedToBot } from './guards.js';
import { MARKET_COMMANDS } from './market-commands.js';

/** Why an answer stops: its asker sent something newer, or the conversation was reset. */
export type Superseded = 'newer-message' | 'reset';

/**
 * The check an answer runs while it is being written: whether whoever asked has moved on,
 * so that the answer stops. That is a newer question from the asker (a message for the
 * bot that is not a command, or a market command) or a /reset: in a private chat the
 * user's own, in a group one by someone allowed to clear the group's conversation. Other
 * commands (/help, /switch, /settings…), button presses and edits wait their turn and
 * leave the answer whole, and in a group so do other members' questions.
 */
export function supersededCheck(
  ctx: Context,
  deps: Pick<BotDeps, 'adminUserIds' | 'logger'> & { ai: ChatAi },
): () => Promise<Superseded | undefined> {
  const chat = ctx.chat!;
  const askerId = ctx.from?.id;
  const { waitingInChat } = deps.ai;
  // Without the waiting updates there is no telling whether anyone moved on: the answer
  // then always finishes.
  if (!waitingInChat) return () => Promise.resolve(undefined);
  const me = ctx.botInfo;
  if (chat.type === 'private') {
    return async () => {
      for (const update of await waitingInChat(chat.id)) {
        if (!('message' in update)) continue;
        const command = commandOf(update.message, me);
        if (command === 'reset') return 'reset';
        if (command === undefined || command in MARKET_COMMANDS) return 'newer-message';
      }
      return undefined;
    };
  }
  // Asked once per waiting /reset: the check runs every second while the answer grows.
  const resets = new Map<number, Promise<boolean>>();
  return async () => {
    for (const update of await waitingInChat(chat.id)) {
      if (!('message' in update) || !isAddressedToBot(update.message, me)) continue;
      const message = update.message;
      const command = commandOf(message, me);
      if (command === 'reset') {
        let allowed = resets.get(update.update_id);
        if (!allowed) {
          allowed = resetPermission(deps, ctx.telegram, message, update.update_id).then(
            (permission) => permission === 'allowed',
          );
          resets.set(update.update_id, allowed);
        }
        if (await allowed) return 'reset';
        continue;
      }
      if (message.from?.id !== askerId) continue;
      if (command === undefined || command in MARKET_COMMANDS) return 'newer-message';
    }
    return undefined;
  };
}
