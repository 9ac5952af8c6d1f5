import { createInterface } from 'node:readline';
import type { Telegraf } from 'telegraf';
import type { Update } from 'telegraf/types';
import { CONSOLE_BOT, CONSOLE_USER } from './console-bot-api.js';

export interface ConsoleChat {
  /** Resolves when the user quit (Ctrl+D or Ctrl+C, or the end of piped input). */
  readonly closed: Promise<void>;
  close(): void;
}

/**
 * Reads lines from stdin and sends each through the bot as a Telegram update from a
 * private chat. A line in brackets, like `[Help]`, presses the inline button of that label.
 */
export function startConsoleChat(
  bot: Telegraf,
  buttons: () => ReadonlyMap<string, string>,
  onError: (error: unknown) => void,
): ConsoleChat {
  const rl = createInterface({
    input: process.stdin,
    output: process.stdout,
    terminal: process.stdin.isTTY,
  });
  let updateId = 0;
  let messageId = 0;
  const chat = {
    id: CONSOLE_USER.id,
    type: 'private' as const,
    first_name: CONSOLE_USER.first_name,
  };
  const date = () => Math.floor(Date.now() / 1000);

  const toUpdate = (line: string): Update | undefined => {
    const pressed = /^\[(.+)\]$/.exec(line)?.[1];
    if (pressed !== undefined) {
      const data = buttons().get(pressed);
      if (data === undefined) return undefined;
      return {
        update_id: ++updateId,
        callback_query: {
          id: String(updateId),
          from: CONSOLE_USER,
          chat_instance: '1',
          data,
          message: { message_id: messageId, date: date(), chat, from: CONSOLE_BOT, text: '' },
        },
      };
    }
    const command = /^\/\w+/.exec(line)?.[0];
    return {
      update_id: ++updateId,
      message: {
        message_id: ++messageId,
        date: date(),
        chat,
        from: CONSOLE_USER,
        text: line,
        ...(command
          ? { entities: [{ type: 'bot_command', offset: 0, length: command.length }] }
          : {}),
      },
    };
  };

  // One update at a time, in order, as the queue does for one chat.
  let queue = Promise.resolve();
  const closed = new Promise<void>((resolve) => {
    rl.on('close', () => void queue.then(resolve));
  });
  // In a terminal, readline takes Ctrl+C itself (no SIGINT reaches the process): quit as
  // Ctrl+D does, through the same shutdown.
  rl.on('SIGINT', () => rl.close());
  rl.on('line', (raw) => {
    const line = raw.trim();
    if (line === '') return;
    // Built in turn, so a button press sees the buttons of the reply before it.
    queue = queue
      .then(async () => {
        const update = toUpdate(line);
        if (update) await bot.handleUpdate(update);
        else process.stdout.write(`No button labelled ${line} on the last message.\n`);
      })
      .catch(onError);
  });
  return { closed, close: () => rl.close() };
}
