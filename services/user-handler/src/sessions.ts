import { chats, conversationMessages, users, type Database, type UserSettings } from '@herald/db';
import type { StateStore } from '@herald/redis';
import { and, desc, eq, sql } from 'drizzle-orm';
import type { Chat, User } from 'telegraf/types';

export type { UserSettings };

/** One turn of a conversation, as the LLM sees it. */
export interface Turn {
  role: 'user' | 'assistant';
  content: string;
}

/** Turns kept in the fast cache per chat; older ones stay in Postgres only. */
export const CACHED_TURNS = 20;
/** A session untouched this long leaves the cache (it is reloaded from Postgres). */
const CACHE_TTL_SECONDS = 24 * 60 * 60;
/** Users and chats are written to Postgres at most this often per pod. */
const RECORD_EVERY_MS = 10 * 60_000;

/**
 * Sessions: each user's settings and each chat's recent turns. Postgres holds the truth
 * (it survives restarts and every pod sees it); Redis holds the hot copy, so answering
 * does not wait on Postgres. In local mode the hot copy lives in this process.
 */
export interface SessionStore {
  settings(userId: number): Promise<UserSettings>;
  updateSettings(userId: number, patch: Partial<UserSettings>): Promise<UserSettings>;
  /** Records who wrote and where (throttled); the user row must exist before settings. */
  recordSeen(user: User, chat?: Chat): Promise<void>;
  /** Adds turns to a chat's conversation, all or none (a question and its answer). */
  appendTurn(chatId: number, userId: number | undefined, ...turns: Turn[]): Promise<void>;
  recentTurns(chatId: number): Promise<Turn[]>;
  /** Clears a chat's conversation: its context and its stored history. */
  reset(chatId: number): Promise<void>;
  /** Deletes everything stored about a user; returns how many messages went. */
  forget(userId: number): Promise<{ messages: number }>;
  /** Whether an operator blocked the user (read on every update, so cached). */
  isBlocked(userId: number): Promise<boolean>;
  /** Blocks or unblocks a user Herald has seen; false when it has not seen them. */
  setBlocked(userId: number, blocked: boolean): Promise<boolean>;
}

/** The hot copy: Redis, or this process's memory. */
interface SessionCache {
  getSettings(userId: number): Promise<UserSettings | undefined>;
  setSettings(userId: number, settings: UserSettings): Promise<void>;
  getTurns(chatId: number): Promise<Turn[] | undefined>;
  setTurns(chatId: number, turns: Turn[]): Promise<void>;
  pushTurns(chatId: number, turns: readonly Turn[]): Promise<void>;
  /** Drops a user's settings and chats' turns, all in one step. */
  drop(keys: { userId?: number; chatIds?: readonly number[] }): Promise<void>;
  getBlocked(userId: number): Promise<boolean | undefined>;
  setBlocked(userId: number, blocked: boolean): Promise<void>;
}

const settingsKey = (userId: number) => `session:settings:${userId}`;
const turnsKey = (chatId: number) => `session:turns:${chatId}`;
const blockedKey = (userId: number) => `session:blocked:${userId}`;
/** How long a user's blocked flag is trusted from the cache before Postgres is asked again. */
const BLOCKED_TTL_SECONDS = 60 * 60;

function redisCache(redis: Extract<StateStore, { kind: 'redis' }>['redis']): SessionCache {
  return {
    async getSettings(userId) {
      const json = await redis.get(settingsKey(userId));
      return json === null ? undefined : (JSON.parse(json) as UserSettings);
    },
    async setSettings(userId, settings) {
      await redis.set(settingsKey(userId), JSON.stringify(settings), 'EX', CACHE_TTL_SECONDS);
    },
    async getTurns(chatId) {
      // An empty list is "not cached": the read goes to Postgres, which is cheap for a
      // chat with no turns, and keeps this cache free of markers.
      const items = await redis.lrange(turnsKey(chatId), 0, -1);
      return items.length === 0 ? undefined : items.map((json) => JSON.parse(json) as Turn);
    },
    async setTurns(chatId, turns) {
      const multi = redis.multi().del(turnsKey(chatId));
      if (turns.length > 0) {
        multi
          .rpush(turnsKey(chatId), ...turns.map((t) => JSON.stringify(t)))
          .expire(turnsKey(chatId), CACHE_TTL_SECONDS);
      }
      await multi.exec();
    },
    async pushTurns(chatId, turns) {
      // Only extends a cached list; a missing one is rebuilt from Postgres when read.
      await redis
        .multi()
        .rpushx(turnsKey(chatId), ...turns.map((turn) => JSON.stringify(turn)))
        .ltrim(turnsKey(chatId), -CACHED_TURNS, -1)
        .exec();
    },
    async drop({ userId, chatIds = [] }) {
      const keys = [
        ...(userId === undefined ? [] : [settingsKey(userId)]),
        ...chatIds.map(turnsKey),
      ];
      if (keys.length > 0) await redis.del(...keys);
    },
    async getBlocked(userId) {
      const flag = await redis.get(blockedKey(userId));
      return flag === null ? undefined : flag === '1';
    },
    async setBlocked(userId, blocked) {
      await redis.set(blockedKey(userId), blocked ? '1' : '0', 'EX', BLOCKED_TTL_SECONDS);
    },
  };
}

function memoryCache(): SessionCache {
  const settings = new Map<number, UserSettings>();
  const turns = new Map<number, Turn[]>();
  const blocked = new Map<number, boolean>();
  return {
    getBlocked: (userId) => Promise.resolve(blocked.get(userId)),
    setBlocked: (userId, value) => Promise.resolve(void blocked.set(userId, value)),
    getSettings: (userId) => Promise.resolve(settings.get(userId)),
    setSettings: (userId, value) => Promise.resolve(void settings.set(userId, value)),
    getTurns: (chatId) => Promise.resolve(turns.get(chatId)?.slice()),
    setTurns: (chatId, value) => Promise.resolve(void turns.set(chatId, value.slice())),
    pushTurns: (chatId, added) => {
      const list = turns.get(chatId);
      if (list) {
        list.push(...added);
        if (list.length > CACHED_TURNS) list.splice(0, list.length - CACHED_TURNS);
      }
      return Promise.resolve();
    },
    drop: ({ userId, chatIds = [] }) => {
      if (userId !== undefined) settings.delete(userId);
      for (const chatId of chatIds) turns.delete(chatId);
      return Promise.resolve();
    },
  };
}

export function createSessionStore(deps: { db: Database; store: StateStore }): SessionStore {
  const { db } = deps;
  const cache = deps.store.kind === 'redis' ? redisCache(deps.store.redis) : memoryCache();
  const recorded = new Map<string, number>();

  const loadTurns = async (chatId: number): Promise<Turn[]> => {
    const rows = await db
      .select({ role: conversationMessages.role, content: conversationMessages.content })
      .from(conversationMessages)
      .where(eq(conversationMessages.chatId, chatId))
      .orderBy(desc(conversationMessages.createdAt), desc(conversationMessages.id))
      .limit(CACHED_TURNS);
    return rows
      .reverse()
      .filter((row): row is Turn => row.role === 'user' || row.role === 'assistant');
  };

  const store: SessionStore = {
    async settings(userId) {
      const cached = await cache.getSettings(userId);
      if (cached) return cached;
      const [row] = await db
        .select({ settings: users.settings })
        .from(users)
        .where(eq(users.id, userId));
      const settings = row?.settings ?? {};
      await cache.setSettings(userId, settings);
      return settings;
    },

    async updateSettings(userId, patch) {
      // jsonb || merges in one statement, so two pods changing different settings of the
      // same user at once both win.
      const [row] = await db
        .update(users)
        .set({ settings: sql`${users.settings} || ${JSON.stringify(patch)}::jsonb` })
        .where(eq(users.id, userId))
        .returning({ settings: users.settings });
      const settings = row?.settings ?? patch;
      await cache.setSettings(userId, settings);
      return settings;
    },

    async recordSeen(user, chat) {
      const now = Date.now();
      const userKey = `u${user.id}`;
      const chatKey = chat ? `c${chat.id}` : undefined;
      const due = (key: string | undefined) =>
        key !== undefined && now - (recorded.get(key) ?? 0) > RECORD_EVERY_MS;
      if (!due(userKey) && !due(chatKey)) return;
      if (recorded.size > 50_000) recorded.clear();
      await db
        .insert(users)
        .values({
          id: user.id,
          username: user.username ?? null,
          firstName: user.first_name,
          languageCode: user.language_code ?? null,
          isBot: user.is_bot,
        })
        .onConflictDoUpdate({
          target: users.id,
          set: {
            username: user.username ?? null,
            firstName: user.first_name,
            languageCode: user.language_code ?? null,
            lastSeenAt: sql`now()`,
          },
        });
      recorded.set(userKey, now);
      if (chat && chatKey) {
        const title = 'title' in chat ? chat.title : null;
        const username = 'username' in chat ? (chat.username ?? null) : null;
        await db
          .insert(chats)
          .values({ id: chat.id, type: chat.type, title, username })
          .onConflictDoUpdate({
            target: chats.id,
            set: { type: chat.type, title, username, lastSeenAt: sql`now()` },
          });
        recorded.set(chatKey, now);
      }
    },

    async appendTurn(chatId, userId, ...turns) {
      if (turns.length === 0) return;
      // One statement: a question is never stored without its answer.
      await db.insert(conversationMessages).values(
        turns.map((turn) => ({
          chatId,
          userId: userId ?? null,
          role: turn.role,
          content: turn.content,
        })),
      );
      await cache.pushTurns(chatId, turns);
    },

    async recentTurns(chatId) {
      const cached = await cache.getTurns(chatId);
      if (cached) return cached;
      const turns = await loadTurns(chatId);
      await cache.setTurns(chatId, turns);
      return turns;
    },

    async reset(chatId) {
      await db.delete(conversationMessages).where(eq(conversationMessages.chatId, chatId));
      await cache.setTurns(chatId, []);
    },

    async forget(userId) {
      // A user's private chat has the user's id; its messages go with it, and so do the
      // user's turns in groups (their questions and the answers to them).
      const theirs = sql`${conversationMessages.userId} = ${userId} or ${conversationMessages.chatId} = ${userId}`;
      // Every chat the user wrote in may hold their turns in its cached history, which
      // would go on reaching the LLM until it expired. Those lists are dropped before the
      // rows (if that fails, nothing is deleted yet and a retry does it all) and again
      // after (a history reloaded meanwhile from rows about to go goes too); the next
      // question in each chat reloads its history from Postgres, without the user.
      const written = await db
        .selectDistinct({ chatId: conversationMessages.chatId })
        .from(conversationMessages)
        .where(theirs);
      const chatIds = new Set([userId, ...written.map((row) => row.chatId)]);
      await cache.drop({ userId, chatIds: [...chatIds] });
      const deleted = await db.transaction(async (tx) => {
        const messages = await tx
          .delete(conversationMessages)
          .where(theirs)
          .returning({ chatId: conversationMessages.chatId });
        await tx.delete(chats).where(and(eq(chats.id, userId), eq(chats.type, 'private')));
        await tx.delete(users).where(eq(users.id, userId));
        return messages;
      });
      for (const row of deleted) chatIds.add(row.chatId);
      await cache.drop({ userId, chatIds: [...chatIds] });
      recorded.delete(`u${userId}`);
      recorded.delete(`c${userId}`);
      return { messages: deleted.length };
    },

    async isBlocked(userId) {
      const cached = await cache.getBlocked(userId);
      if (cached !== undefined) return cached;
      const [row] = await db
        .select({ blockedAt: users.blockedAt })
        .from(users)
        .where(eq(users.id, userId));
      const blocked = row?.blockedAt != null;
      await cache.setBlocked(userId, blocked);
      return blocked;
    },

    async setBlocked(userId, blocked) {
      const rows = await db
        .update(users)
        .set({ blockedAt: blocked ? sql`now()` : null })
        .where(eq(users.id, userId))
        .returning({ id: users.id });
      await cache.setBlocked(userId, blocked);
      return rows.length > 0;
    },
  };
  return store;
}
