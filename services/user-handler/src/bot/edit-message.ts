import type { Context } from 'telegraf';

/**
 * Edits a message, treating Telegram's "message is not modified" (the same text and
 * buttons again, e.g. a button pressed twice) as done rather than as a failure.
 */
export async function editMessage(
  ctx: Context,
  text: string,
  extra: Parameters<Context['editMessageText']>[1],
): Promise<void> {
  try {
    await ctx.editMessageText(text, extra);
  } catch (error) {
    const description = (error as { response?: { description?: unknown } }).response?.description;
    if (typeof description === 'string' && description.includes('message is not modified')) return;
    throw error;
  }
}
