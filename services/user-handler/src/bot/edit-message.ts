import type { Context } from 'telegraf';

/**
 * Whether Telegram refused an edit because it would change nothing: the message already
 * shows this text, entities and buttons (a button pressed twice, or an answer whose last
 * preview already carried its final text). The edit's goal is met, so it is not a failure.
 */
export function isNotModified(error: unknown): boolean {
  const description = (error as { response?: { description?: unknown } } | null)?.response
    ?.description;
  return typeof description === 'string' && description.includes('message is not modified');
}

/** Edits a message, treating Telegram's "message is not modified" as done. */
export async function editMessage(
  ctx: Context,
  text: string,
  extra: Parameters<Context['editMessageText']>[1],
): Promise<void> {
  try {
    await ctx.editMessageText(text, extra);
  } catch (error) {
    if (!isNotModified(error)) throw error;
  }
}
