import type { Logger } from '@herald/logger';
import { MESSAGE_LIMIT } from '@herald/telegram';
import type { Telegram } from 'telegraf';
import { isNotModified } from './edit-message.js';

/** Where an answer goes, and how it may be shown while it grows. */
export interface AnswerTarget {
  chatId: number;
  /** Private chats stream through drafts; elsewhere one message is edited. */
  private: boolean;
  replyTo?: number | undefined;
}

export interface AnswerStreamOptions {
  telegram: Telegram;
  logger: Logger;
  /** Whether this bot's Bot API has sendMessageDraft (shared, turned off on refusal). */
  drafts: { supported: boolean };
  /** Least time between two intermediate edits of a group message. */
  editIntervalMs: number;
  /**
   * Least time between two drafts (the sender's draft spacing): pacing them here too keeps
   * no draft waiting in the sender, so the final message never waits behind one.
   */
  draftIntervalMs: number;
  /** An intermediate update waits for at least this much new text. */
  minGrowthChars: number;
  /** How long to wait for the first token before showing "thinking…". */
  placeholderDelayMs: number;
}

const TYPING_EVERY_MS = 4_500;
const PREVIEW_LIMIT = MESSAGE_LIMIT - 96;

/** The plain-text preview of an answer still being written: its tail when it is long. */
export function previewText(answer: string): string {
  const text = answer.trim();
  return text.length <= PREVIEW_LIMIT ? text : `…${text.slice(text.length - PREVIEW_LIMIT + 1)}`;
}

const isDraftRefusal = (error: unknown): boolean => {
  const response = (error as { response?: { error_code?: number; description?: string } }).response;
  return (
    response?.error_code === 404 ||
    (response?.error_code === 400 && /draft|method/i.test(response.description ?? ''))
  );
};

/**
 * Shows an answer in Telegram while the LLM writes it. Private chats get drafts
 * (sendMessageDraft) that grow as the text does; groups, or a Bot API without drafts, get
 * one message edited at a throttled pace and only when the text grew meaningfully. While
 * the model thinks the user sees a typing action and "thinking…". Intermediate states are
 * plain text, so they can never be refused; the final answer is sent formatted.
 */
export class AnswerStream {
  private readonly draftId = 1 + Math.floor(Math.random() * 2_000_000_000);
  private messageId: number | undefined;
  private shown = '';
  private latest = '';
  private lastPushAt = 0;
  private pushing: Promise<void> = Promise.resolve();
  private flushTimer: NodeJS.Timeout | undefined;
  private typingTimer: NodeJS.Timeout | undefined;
  private placeholderTimer: NodeJS.Timeout | undefined;
  private answering = false;
  private closed = false;
  private readonly startedAt = Date.now();

  constructor(
    private readonly target: AnswerTarget,
    private readonly options: AnswerStreamOptions,
  ) {}

  private get useDrafts(): boolean {
    return this.target.private && this.options.drafts.supported;
  }

  /** Typing action now, "thinking…" if no text comes soon. */
  start(): void {
    const typing = () =>
      void this.options.telegram
        .sendChatAction(this.target.chatId, 'typing')
        .catch(() => undefined);
    typing();
    this.typingTimer = setInterval(() => {
      if (!this.answering && !this.closed) typing();
    }, TYPING_EVERY_MS);
    this.placeholderTimer = setTimeout(() => {
      if (!this.answering) this.show('🤔 thinking…');
    }, this.options.placeholderDelayMs);
  }

  /** The user waits behind others for the LLM. */
  queued(position: number): void {
    this.show(`⏳ Many questions right now: you are number ${position} in line.`);
  }

  /** The model is reasoning; the answer has not started. */
  thinking(): void {
    if (this.answering) return;
    const seconds = Math.floor((Date.now() - this.startedAt) / 1000);
    if (seconds >= 1 && this.shown.startsWith('🤔')) this.show(`🤔 thinking… ${seconds} s`);
  }

  /** The answer so far. */
  answer(text: string): void {
    const preview = previewText(text);
    if (preview === '') return;
    if (!this.answering) {
      // The first words go out at once: that is the moment the user sees the answer start.
      this.answering = true;
      clearTimeout(this.placeholderTimer);
      this.show(preview, true);
      return;
    }
    if (preview.length - this.shown.length < this.options.minGrowthChars) {
      this.latest = preview;
      this.scheduleFlush();
      return;
    }
    this.show(preview);
  }

  private scheduleFlush(): void {
    if (this.flushTimer || this.closed) return;
    this.flushTimer = setTimeout(() => {
      this.flushTimer = undefined;
      if (this.latest !== '' && this.latest !== this.shown) this.show(this.latest, true);
    }, this.interval());
  }

  private interval(): number {
    return this.useDrafts ? this.options.draftIntervalMs : this.options.editIntervalMs;
  }

  /** Shows `text` now, or as soon as the previous update is done and the pace allows. */
  private show(text: string, force = false): void {
    if (this.closed) return;
    this.latest = text;
    const due = this.lastPushAt + this.interval() - Date.now();
    if (!force && due > 0) {
      this.scheduleFlush();
      return;
    }
    this.pushing = this.pushing.then(() => this.push());
  }

  private async push(): Promise<void> {
    const text = this.latest;
    if (this.closed || text === this.shown || text === '') return;
    this.lastPushAt = Date.now();
    try {
      if (this.useDrafts) {
        await this.options.telegram.callApi(
          'sendMessageDraft' as never,
          {
            chat_id: this.target.chatId,
            draft_id: this.draftId,
            text,
          } as never,
        );
      } else if (this.messageId === undefined) {
        const sent = await this.options.telegram.sendMessage(
          this.target.chatId,
          text,
          this.replyExtra(),
        );
        this.messageId = sent.message_id;
      } else {
        await this.options.telegram.editMessageText(
          this.target.chatId,
          this.messageId,
          undefined,
          text,
        );
      }
      this.shown = text;
    } catch (error) {
      if (this.useDrafts && isDraftRefusal(error)) {
        this.options.drafts.supported = false;
        this.options.logger.warn(
          { err: error, chat_id: this.target.chatId },
          'the Bot API refused sendMessageDraft; streaming by editing a message instead. Use a Bot API server of version 9.5 or newer for drafts',
        );
        this.shown = '';
        await this.push();
        return;
      }
      // A preview that did not go out is not worth failing the answer for.
      this.options.logger.debug(
        { err: error, chat_id: this.target.chatId },
        'an intermediate update failed',
      );
    }
  }

  private replyExtra() {
    return this.target.replyTo === undefined
      ? {}
      : {
          reply_parameters: { message_id: this.target.replyTo, allow_sending_without_reply: true },
        };
  }

  /** The group message the answer is being written into, once there is one. */
  get streamedMessageId(): number | undefined {
    return this.messageId;
  }

  /**
   * Continues an answer an earlier attempt of the update streamed into `messageId`: the
   * final answer then replaces that message rather than arriving as a new one.
   */
  resume(messageId: number | undefined): void {
    this.messageId = messageId;
  }

  /** Stops every timer without sending anything more (idempotent). */
  async close(): Promise<void> {
    await this.stop();
  }

  private async stop(): Promise<void> {
    this.closed = true;
    clearTimeout(this.flushTimer);
    clearTimeout(this.placeholderTimer);
    clearInterval(this.typingTimer);
    await this.pushing;
  }

  /**
   * Sends the final answer (HTML messages, each under the limit): the group message
   * being edited becomes the first part; the rest follow as new messages.
   */
  async finish(messages: readonly string[]): Promise<number[]> {
    await this.stop();
    const ids: number[] = [];
    for (const [index, html] of messages.entries()) {
      if (index === 0 && this.messageId !== undefined) {
        try {
          await this.options.telegram.editMessageText(
            this.target.chatId,
            this.messageId,
            undefined,
            html,
            {
              parse_mode: 'HTML',
              link_preview_options: { is_disabled: true },
            },
          );
        } catch (error) {
          // The last throttled edit may already show exactly this text: nothing to change.
          if (!isNotModified(error)) throw error;
        }
        ids.push(this.messageId);
        continue;
      }
      const sent = await this.options.telegram.sendMessage(this.target.chatId, html, {
        parse_mode: 'HTML',
        link_preview_options: { is_disabled: true },
        ...(index === 0 ? this.replyExtra() : {}),
      });
      ids.push(sent.message_id);
    }
    return ids;
  }
}
