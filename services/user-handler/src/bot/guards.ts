import { Counter, type Registry } from '@herald/ops';
import type { Context, Middleware } from 'telegraf';
import type { Message, UserFromGetMe } from 'telegraf/types';
import type { RateDecision } from '../rate-limit.js';
import { recall, remember } from '../updates/journal.js';
import { isAdmin, type BotDeps } from './deps.js';

const logContext = (ctx: Context) => ({ update_id: ctx.update.update_id, chat_id: ctx.chat?.id });

/** Records every user and chat the bot meets; a database hiccup never blocks an answer. */
export function recordSeen(deps: BotDeps): Middleware<Context> {
  return async (ctx, next) => {
    if (ctx.from) {
      await deps.sessions
        .recordSeen(ctx.from, ctx.chat)
        .catch((error: unknown) =>
          deps.logger.warn(
            { ...logContext(ctx), err: error },
            'could not record the user and chat in Postgres; answering anyway',
          ),
        );
    }
    return next();
  };
}

/** A message's text, or a media message's caption. */
export function textOf(message: Message): string | undefined {
  if ('text' in message) return message.text;
  if ('caption' in message) return message.caption;
  return undefined;
}

/**
 * The command a message starts with, lower-cased and without `/` or `@bot`, when it is one
 * of this bot's (`/help`, `/help@this_bot`); undefined for another bot's command or for a
 * message that is no command.
 */
export function commandOf(message: Message, me: UserFromGetMe): string | undefined {
  const text = textOf(message) ?? '';
  if (!text.startsWith('/')) return undefined;
  const word = text.split(/\s/, 1)[0] ?? '';
  const at = word.indexOf('@');
  if (at !== -1 && word.slice(at + 1).toLowerCase() !== me.username.toLowerCase()) return undefined;
  return word.slice(1, at === -1 ? undefined : at).toLowerCase();
}

/**
 * Whether a group message is meant for the bot: one of its commands, a message that
 * mentions it, or a reply to one of its messages.
 */
export function isAddressedToBot(message: Message, me: UserFromGetMe): boolean {
  const text = textOf(message) ?? '';
  if (text.startsWith('/')) return commandOf(message, me) !== undefined;
  if ('reply_to_message' in message && message.reply_to_message?.from?.id === me.id) return true;
  const entities =
    'entities' in message
      ? message.entities
      : 'caption_entities' in message
        ? message.caption_entities
        : undefined;
  return (entities ?? []).some(
    (entity) =>
      (entity.type === 'mention' &&
        text.slice(entity.offset + 1, entity.offset + entity.length).toLowerCase() ===
          me.username.toLowerCase()) ||
      (entity.type === 'text_mention' && entity.user.id === me.id),
  );
}

/**
 * In groups the bot answers only what is meant for it: its commands, messages that
 * mention it, and replies to its messages. Everything else there is ignored.
 */
export function addressedOnly(): Middleware<Context> {
  return (ctx, next) => {
    const chat = ctx.chat;
    if (!chat || chat.type === 'private' || ctx.callbackQuery) return next();
    const message = ctx.message;
    if (message && isAddressedToBot(message, ctx.botInfo)) return next();
  };
}

/** The optional allowlist (`ALLOWED_USER_IDS`); admins always pass. */
export function allowlist(deps: BotDeps): Middleware<Context> {
  return async (ctx, next) => {
    const allowed = deps.allowedUserIds;
    if (!allowed || allowed.length === 0) return next();
    const userId = ctx.from?.id;
    if (userId !== undefined && (allowed.includes(userId) || isAdmin(deps, userId))) return next();
    if (ctx.chat?.type === 'private') {
      await ctx.reply('This bot is private. Ask its operator to add your user id.');
    }
  };
}

const ignoredByRegistry = new WeakMap<Registry, Counter<'reason'>>();

/** `herald_updates_ignored_total{reason}`: updates the bot drops on purpose. */
function ignoredUpdates(registry: Registry): Counter<'reason'> {
  let counter = ignoredByRegistry.get(registry);
  if (!counter) {
    counter = new Counter({
      name: 'herald_updates_ignored_total',
      help: 'Updates the bot dropped on purpose, by reason: blocked (an operator blocked the user)',
      labelNames: ['reason'],
      registers: [registry],
    });
    ignoredByRegistry.set(registry, counter);
  }
  return counter;
}

/**
 * Users an operator blocked (admin API) get no answer and cost nothing more: their
 * updates are dropped here, counted, before any feature or the LLM sees them.
 */
export function blockedUsers(deps: BotDeps): Middleware<Context> {
  return async (ctx, next) => {
    const userId = ctx.from?.id;
    if (userId === undefined || isAdmin(deps, userId) || !(await deps.sessions.isBlocked(userId))) {
      return next();
    }
    if (deps.registry) ignoredUpdates(deps.registry).inc({ reason: 'blocked' });
    deps.logger.debug(
      { update_id: ctx.update.update_id, user_id: userId },
      'update from a blocked user ignored',
    );
  };
}

const RATE_LIMIT_STEP = 'rate-limit';

/**
 * Per-user and global rate limits. The user is told once when they may write again; the
 * repeats meanwhile are dropped quietly. Admins (`ADMIN_USER_IDS`) are not limited.
 */
export function rateLimit(deps: BotDeps): Middleware<Context> {
  return async (ctx, next) => {
    const userId = ctx.from?.id;
    if (userId === undefined || isAdmin(deps, userId) || !(ctx.message || ctx.callbackQuery)) {
      return next();
    }
    // A retry of the update (after a fault) was already counted: its first decision stands.
    let decision = recall<RateDecision>(RATE_LIMIT_STEP);
    try {
      if (!decision) {
        decision = await deps.limiter.take(userId);
        await remember(RATE_LIMIT_STEP, decision).catch(() => undefined);
      }
    } catch (error) {
      // Limits protect the service; losing them for a moment is better than going silent.
      deps.logger.warn(
        { ...logContext(ctx), err: error },
        'rate limit check failed (is Redis up?); letting the update through',
      );
      return next();
    }
    if (decision.allowed) return next();
    deps.logger.info(
      {
        ...logContext(ctx),
        user_id: userId,
        scope: decision.scope,
        retry_after_s: decision.retryAfterSeconds,
      },
      'update refused by a rate limit',
    );
    const wait = decision.retryAfterSeconds;
    const text =
      decision.scope === 'user'
        ? `You're sending messages faster than I can answer. Please try again in ${wait} s.`
        : `I'm very busy right now. Please try again in ${wait} s.`;
    if (ctx.callbackQuery) {
      await ctx.answerCbQuery(text);
    } else if (decision.notify) {
      await ctx.reply(text);
    }
  };
}
