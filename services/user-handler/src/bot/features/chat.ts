import { AiError } from '@herald/ai';
import { formatAnswer } from '@herald/telegram';
import { Composer, type Context } from 'telegraf';
import { buildMessages } from '../../prompts.js';
import { AnswerStream } from '../answer-stream.js';
import { splitHtmlLines } from '../reply-html.js';
import { supersededCheck, type Superseded } from '../superseded.js';
import { currentUpdateSignal, recall, remember } from '../../updates/journal.js';
import type { Turn } from '../../sessions.js';
import type { BotDeps, ChatAi } from '../deps.js';
import { currentModel } from './models.js';

/** What the user reads when the LLM cannot answer, by the reason it could not. */
export function unavailableText(error: AiError): string {
  const wait = error.retryAfterSeconds
    ? ` Please try again in ${error.retryAfterSeconds} s.`
    : ' Please try again in a minute.';
  switch (error.kind) {
    case 'busy':
      return `The AI is busy with other questions right now.${wait}`;
    case 'timeout':
      return `The AI is taking too long to answer right now.${wait}`;
    case 'refused':
      return 'The AI could not take this question (it may be too long for the model). Try a shorter one, or /reset to start over.';
    case 'server_error':
      return `The AI failed while working on the answer.${wait}`;
    default:
      return `The AI is offline right now.${wait} Commands such as /help and /status still work.`;
  }
}

/** What an update's answer came to, remembered before it is shown (see `remember`). */
interface WrittenAnswer {
  /** The final HTML messages. */
  messages: string[];
  /** The group message the answer was streamed into, which the first message replaces. */
  messageId: number | undefined;
  /** Turns to add to the conversation once it is shown. */
  turns: Turn[];
}

const ANSWER_STEP = 'answer';
const SAVED_STEP = 'answer-saved';

/**
 * Adds an answer's turns to the conversation, once per update: an attempt that shows the
 * remembered answer again does not store it twice.
 */
async function saveTurns(
  deps: BotDeps,
  chatId: number,
  userId: number,
  written: WrittenAnswer,
): Promise<void> {
  if (written.turns.length === 0 || recall<boolean>(SAVED_STEP)) return;
  await deps.sessions.appendTurn(chatId, userId, ...written.turns);
  await remember(SAVED_STEP, true);
}

/** The note that ends an answer stopped before its end (Markdown). */
const stoppedNote = (reason: Superseded | undefined): string =>
  reason === 'reset'
    ? '_(stopped: the conversation was reset)_'
    : '_(stopped: you sent a new message)_';

/**
 * Answers a question with the LLM, streamed into Telegram as it is written, then saved to
 * the conversation. The asker moving on (a newer question, a /reset) stops it: see
 * `supersededCheck` for what counts in a group.
 */
export async function answerWithAi(
  ctx: Context,
  deps: BotDeps & { ai: ChatAi },
  input: {
    question: string;
    system: string;
    context?: string;
    save: boolean;
    /**
     * HTML answer that needs no LLM, sent when it cannot answer (curated fallback); each of
     * its lines balanced, so that it can be split into messages between lines.
     */
    fallback?: () => string;
    /** Another model than the user's (the vision model for images). */
    model?: string;
    /** An image for the question, as a data URL. */
    image?: string;
  },
): Promise<void> {
  const chat = ctx.chat!;
  const from = ctx.from!;
  const { ai } = deps;
  const target = {
    chatId: chat.id,
    private: chat.type === 'private',
    replyTo: chat.type === 'private' ? undefined : ctx.message?.message_id,
  };
  const streamOptions = { telegram: ctx.telegram, logger: deps.logger, ...ai.stream };
  // An earlier attempt of this update got as far as the answer: show that same answer, as
  // the LLM would write a different one if asked again.
  const earlier = recall<WrittenAnswer>(ANSWER_STEP);
  if (earlier) {
    const view = new AnswerStream(target, streamOptions);
    view.resume(earlier.messageId);
    await view.finish(earlier.messages);
    await saveTurns(deps, chat.id, from.id, earlier);
    return;
  }
  const settings = await deps.sessions.settings(from.id);
  const model = input.model ?? currentModel(deps.models, settings.model);
  if (!model) {
    await ctx.reply('No AI model is configured on this instance (AI_MODELS).');
    return;
  }
  const history = input.save ? await deps.sessions.recentTurns(chat.id) : [];
  const messages = buildMessages({
    system: input.system,
    settings,
    history,
    question: input.question,
    historyTokens: ai.historyTokens,
    ...(input.context ? { context: input.context } : {}),
  });
  if (input.image) {
    messages[messages.length - 1] = {
      role: 'user',
      content: [
        { type: 'text', text: input.question },
        { type: 'image_url', image_url: { url: input.image } },
      ],
    };
  }
  const view = new AnswerStream(target, streamOptions);
  /**
   * Shows the final messages, remembered first for any later attempt of this update (see
   * `recall` above), then saves the conversation's new turns if there are any.
   */
  const finish = async (messages: string[], turns?: Turn[]) => {
    // The LLM is done with this answer: its slot goes to the next question now, not once
    // Telegram has taken the final message (which may wait out a flood limit).
    release?.();
    release = undefined;
    clearInterval(watch);
    // Previews still on their way may yet create the group message the answer replaces.
    await view.close();
    const written: WrittenAnswer = {
      messages,
      messageId: view.streamedMessageId,
      turns: turns ?? [],
    };
    await remember(ANSWER_STEP, written);
    await view.finish(messages);
    await saveTurns(deps, chat.id, from.id, written);
  };
  view.start();
  const controller = new AbortController();
  // Another worker took the update over: it answers now, so this answer stops at once.
  const takenOver = currentUpdateSignal();
  const signal = takenOver ? AbortSignal.any([controller.signal, takenOver]) : controller.signal;
  const superseded = supersededCheck(ctx, deps);
  let stoppedBy: Superseded | undefined;
  let checking = false;
  const watch = setInterval(() => {
    if (checking) return;
    checking = true;
    superseded()
      .then(
        (reason) => {
          if (!reason || stoppedBy) return;
          stoppedBy = reason;
          controller.abort(new AiError('cancelled', `the answer was superseded: ${reason}`));
        },
        (error: unknown) =>
          // The answer goes on; the next check, a second later, may well succeed.
          deps.logger.debug(
            { update_id: ctx.update.update_id, chat_id: chat.id, err: error },
            'could not look at the updates waiting behind an answer',
          ),
      )
      .finally(() => (checking = false));
  }, 1_000);
  let reasoning = '';
  let answer = '';
  let release: (() => void) | undefined;
  const context = { update_id: ctx.update.update_id, chat_id: chat.id, model };
  try {
    release = await ai.slots.acquire((position) => view.queued(position), signal);
    for await (const event of ai.client.streamChat(
      { model, messages, maxTokens: ai.maxTokens },
      { signal },
    )) {
      if (event.type === 'reasoning') {
        reasoning += event.text;
        view.thinking();
      } else if (event.type === 'answer') {
        answer += event.text;
        view.answer(answer);
      } else {
        deps.logger.info(
          { ...context, usage: event.usage, finish: event.finishReason },
          'answered with the LLM',
        );
      }
    }
    if (answer.trim() === '')
      answer = '_(The model finished without an answer. Try asking differently.)_';
    await finish(
      formatAnswer(answer, { reasoning: settings.showReasoning ? reasoning : undefined }),
      input.save
        ? [
            { role: 'user', content: input.question },
            { role: 'assistant', content: answer },
          ]
        : [],
    );
  } catch (error) {
    if (takenOver?.aborted) throw takenOver.reason;
    if (!(error instanceof AiError)) throw error;
    deps.logger.warn(
      { ...context, err: error, kind: error.kind },
      'the LLM could not answer; the user was told',
    );
    if (
      answer.trim() !== '' &&
      (error.kind === 'cancelled' || error.kind === 'interrupted' || error.kind === 'timeout')
    ) {
      const note =
        error.kind === 'cancelled'
          ? stoppedNote(stoppedBy)
          : '_(the answer was cut off: the AI stopped responding)_';
      await finish(formatAnswer(`${answer}\n\n${note}`));
      return;
    }
    if (error.kind === 'cancelled') {
      await finish(formatAnswer(stoppedNote(stoppedBy)));
      return;
    }
    if (input.fallback) {
      await finish(splitHtmlLines(input.fallback()));
      return;
    }
    await finish(formatAnswer(unavailableText(error)));
  } finally {
    clearInterval(watch);
    release?.();
    await view.close();
  }
}

/** Plain messages (not commands) in private chats, and messages meant for the bot in groups. */
export function chatFeature(deps: BotDeps): Composer<Context> {
  const feature = new Composer<Context>();
  feature.on('message', async (ctx, next) => {
    const ai = deps.ai;
    if (!ai || !('text' in ctx.message) || ctx.message.text.startsWith('/')) return next();
    const me = ctx.botInfo.username;
    const question = ctx.message.text.replace(new RegExp(`@${me}\\b`, 'gi'), '').trim();
    if (question === '') return next();
    await answerWithAi(ctx, { ...deps, ai }, { question, system: ai.prompts.chat, save: true });
  });
  return feature;
}
