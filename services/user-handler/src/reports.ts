import type { AiClient } from '@herald/ai';
import { maskUrlPasswords } from '@herald/logger';
import { chats, conversationMessages, users, type Database } from '@herald/db';
import { packageVersion, type ServiceRuntime } from '@herald/ops';
import { count, gt, sql } from 'drizzle-orm';
import type { AdminStats, StatusReport } from './bot/index.js';
import type { UpdateQueue } from './updates/queue.js';

/** Herald's version, from this package's manifest. */
export const VERSION = packageVersion(import.meta.url);

export interface AiEndpoint {
  baseUrl: string;
  apiKey?: string | undefined;
  models: readonly string[];
}

const reason = (error: unknown): string => (error instanceof Error ? error.message : String(error));

/** Asks the LLM server for the models it serves, within 2 s. */
async function probeAi(ai: {
  client: AiClient;
  models: readonly string[];
}): Promise<StatusReport['ai']> {
  try {
    const served = await ai.client.listModels({ signal: AbortSignal.timeout(2_000) });
    return {
      configured: true,
      reachable: true,
      models: served.length > 0 ? served : [...ai.models],
    };
  } catch (error) {
    return { configured: true, reachable: false, models: [...ai.models], detail: reason(error) };
  }
}

/** What `/readyz` says about the LLM: it never makes the pod unready. */
export type LlmReadiness =
  | { status: 'not-configured' }
  | { status: 'ok'; circuit: string; models: string[] }
  | { status: 'degraded'; circuit: string; detail: string };

/**
 * Builds the `/readyz` report of the LLM: `degraded` while its circuit is open or it does
 * not answer `/models`, `ok` otherwise. A pod stays ready without the LLM (it queues,
 * answers commands and says the AI is unavailable), so this is reported beside the
 * checks, not as one. Probes run at most once per `probeEveryMs`, however often
 * Kubernetes asks.
 */
export function llmReadiness(
  ai: { client: AiClient; models: readonly string[] } | undefined,
  probeEveryMs = 15_000,
): () => Promise<{ llm: LlmReadiness; degraded?: string[] }> {
  let last: { at: number; probe: Promise<StatusReport['ai']> } | undefined;
  return async () => {
    if (!ai) return { llm: { status: 'not-configured' } };
    const now = Date.now();
    if (!last || now - last.at >= probeEveryMs) last = { at: now, probe: probeAi(ai) };
    const probe = await last.probe;
    const circuit = ai.client.circuit.state;
    if (circuit === 'open') {
      return {
        llm: {
          status: 'degraded',
          circuit,
          detail: `circuit open after repeated failures; calls resume in ${ai.client.circuit.retryAfterSeconds()} s`,
        },
        degraded: ['llm'],
      };
    }
    if (probe.configured && !probe.reachable) {
      return {
        llm: {
          status: 'degraded',
          circuit,
          detail: maskUrlPasswords(probe.detail ?? 'unreachable'),
        },
        degraded: ['llm'],
      };
    }
    return { llm: { status: 'ok', circuit, models: probe.configured ? probe.models : [] } };
  };
}

/** Builds the function /status calls to learn the state of every dependency. */
export function statusReporter(deps: {
  runtime: Pick<ServiceRuntime, 'checks' | 'store'>;
  /** The LLM client and `AI_MODELS`, when an AI endpoint is configured. */
  ai?: { client: AiClient; models: readonly string[] } | undefined;
  queue: UpdateQueue;
  startedAt: number;
}): () => Promise<StatusReport> {
  return async () => {
    const [postgres, state, ai, queue] = await Promise.all([
      deps.runtime.checks.postgres().then(() => 'ok', reason),
      deps.runtime.checks.redis().then(() => 'ok', reason),
      deps.ai ? probeAi(deps.ai) : Promise.resolve({ configured: false as const }),
      deps.queue.stats().catch(() => undefined),
    ]);
    return {
      uptimeSeconds: (Date.now() - deps.startedAt) / 1000,
      version: VERSION,
      postgres,
      state: { kind: deps.runtime.store.kind, health: state },
      queue,
      ai,
    };
  };
}

/** Builds the function /admin stats calls: counts from Postgres, the queue's state. */
export function adminStatsReporter(deps: {
  db: Database;
  queue: UpdateQueue;
}): () => Promise<AdminStats> {
  const { db } = deps;
  const dayAgo = sql`now() - interval '24 hours'`;
  return async () => {
    const [[userCounts], chatRows, [messageCount], queue] = await Promise.all([
      db
        .select({
          all: count(),
          active: sql<number>`count(*) filter (where ${users.lastSeenAt} > ${dayAgo})`.mapWith(
            Number,
          ),
        })
        .from(users),
      db.select({ type: chats.type, n: count() }).from(chats).groupBy(chats.type),
      db
        .select({ n: count() })
        .from(conversationMessages)
        .where(gt(conversationMessages.createdAt, dayAgo)),
      deps.queue.stats().catch(() => undefined),
    ]);
    return {
      users: userCounts?.all ?? 0,
      activeUsers24h: userCounts?.active ?? 0,
      chats: Object.fromEntries(chatRows.map((row) => [row.type, row.n])),
      messages24h: messageCount?.n ?? 0,
      queue,
    };
  };
}
