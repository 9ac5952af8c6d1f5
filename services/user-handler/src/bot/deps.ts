import type { AiClient } from '@herald/ai';
import type { Logger } from '@herald/logger';
import type { Registry } from '@herald/ops';
import type { Update } from 'telegraf/types';
import type { AiSlots } from '../ai-slots.js';
import type { Archive } from '../archive.js';
import type { NewsAdmin } from '../news-admin.js';
import type { Prompts } from '../prompts.js';
import type { RateLimiter } from '../rate-limit.js';
import type { SessionStore } from '../sessions.js';

/** What /status reports, gathered fresh for each request. */
export interface StatusReport {
  uptimeSeconds: number;
  version: string;
  /** 'ok', or why Postgres did not answer. */
  postgres: string;
  /** health: 'ok', or why the state store did not answer. */
  state: { kind: 'redis' | 'in-process'; health: string };
  /** The update queue; absent when it could not be read. */
  queue?: { length: number; lagSeconds: number } | undefined;
  ai:
    | { configured: false }
    | { configured: true; reachable: boolean; models: string[]; detail?: string };
}

/** What /admin stats reports. */
export interface AdminStats {
  users: number;
  activeUsers24h: number;
  chats: Record<string, number>;
  messages24h: number;
  queue: { length: number; lagSeconds: number; deadLetters: number } | undefined;
}

/** The models users may pick (`AI_MODELS`) and the one they get by default. */
export interface ModelChoice {
  available: readonly string[];
  default?: string | undefined;
}

/** The LLM side of the bot, present when an AI endpoint is configured. */
export interface ChatAi {
  client: AiClient;
  prompts: Prompts;
  slots: AiSlots;
  /** Tokens of conversation history sent with a question. */
  historyTokens: number;
  /** Most tokens one answer may take (reasoning included). */
  maxTokens: number;
  stream: {
    drafts: { supported: boolean };
    editIntervalMs: number;
    draftIntervalMs: number;
    minGrowthChars: number;
    placeholderDelayMs: number;
  };
  /**
   * The updates of a chat queued behind the one being answered, oldest first. An answer
   * stops when its asker has moved on, which in a group only they can do: a newer update
   * from someone else must not stop it (see `supersededCheck`). Without it, answers
   * always finish.
   */
  waitingInChat?: (chatId: number) => Promise<readonly Update[]>;
}

/** Everything the bot's features need from the outside world. */
export interface BotDeps {
  logger: Logger;
  adminUserIds: readonly number[];
  /** When set, only these users get answers; others are told the bot is private. */
  allowedUserIds?: readonly number[] | undefined;
  status: () => Promise<StatusReport>;
  adminStats: () => Promise<AdminStats>;
  sessions: SessionStore;
  limiter: RateLimiter;
  models: ModelChoice;
  ai?: ChatAi | undefined;
  /** Files: size limit, the models for images and voice, where PDF reads are counted. */
  files?:
    | {
        maxBytes: number;
        visionModel?: string | undefined;
        transcribeModel?: string | undefined;
        registry?: Registry | undefined;
      }
    | undefined;
  /** The news archive, for the market commands. */
  archive?: Archive | undefined;
  /** /admin news: the publisher's controls and its sources' health. */
  news?: NewsAdmin | undefined;
  /** Where the bot's own counters go (updates ignored…). */
  registry?: Registry | undefined;
}

export const isAdmin = (deps: Pick<BotDeps, 'adminUserIds'>, userId: number | undefined): boolean =>
  userId !== undefined && deps.adminUserIds.includes(userId);
