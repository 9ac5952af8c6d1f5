import { hostname } from 'node:os';
import swagger from '@fastify/swagger';
import { conversationMessages, leaderEpochs, sources, users, type Database } from '@herald/db';
import type { Logger } from '@herald/logger';
import { maskUrlPasswords } from '@herald/logger';
import type { ReadinessCheck } from '@herald/ops';
import { count, desc, eq, ilike, max, sql } from 'drizzle-orm';
import Fastify, {
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
} from 'fastify';
import { forgetUser } from '../bot/features/forget.js';
import { secretChecker } from '../ingress/webhook.js';
import type { NewsAdmin } from '../news-admin.js';
import type { RateLimiter } from '../rate-limit.js';
import type { LlmReadiness } from '../reports.js';
import type { SessionStore } from '../sessions.js';
import type { DeadLetter, UpdateQueue } from '../updates/queue.js';

/** A backup as the admin API lists it. */
export interface BackupEntry {
  name: string;
  bytes: number;
  sha256?: string | undefined;
  createdAt: string;
  encrypted: boolean;
  /** False when the run that wrote it did not finish (no manifest). */
  complete?: boolean | undefined;
}

/** Backups, when the deployment has them: the store's list, and a run on demand. */
export interface BackupAdmin {
  /** Undefined when no backup store is configured. */
  list?: (() => Promise<BackupEntry[]>) | undefined;
  /** Starts a backup now and names the Job; undefined outside a cluster. */
  runNow?: (() => Promise<string>) | undefined;
}

export interface AdminApiDeps {
  /** `ADMIN_API_TOKEN`. */
  token: string;
  logger: Logger;
  version: string;
  db: Database;
  queue: UpdateQueue;
  sessions: SessionStore;
  limiter: RateLimiter;
  news: NewsAdmin;
  /** The same checks as /readyz. */
  checks: Record<string, ReadinessCheck>;
  llm: () => Promise<{ llm: LlmReadiness }>;
  backups?: BackupAdmin | undefined;
}

/** The role the news publisher leads under (its lock and epochs). */
const NEWS_ROLE = 'news';

const errorBody = {
  type: 'object',
  properties: { error: { type: 'string' }, message: { type: 'string' } },
  required: ['error', 'message'],
} as const;

const deadLetterItem = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    updateId: { type: ['integer', 'null'] },
    chatId: { type: 'integer' },
    reason: { type: 'string' },
    deliveries: { type: 'integer' },
    failedAt: { type: 'string', format: 'date-time' },
    kind: { type: 'string' },
  },
  required: ['id', 'chatId', 'reason', 'deliveries', 'failedAt', 'kind'],
} as const;

const userItem = {
  type: 'object',
  properties: {
    id: { type: 'integer' },
    username: { type: ['string', 'null'] },
    firstName: { type: ['string', 'null'] },
    language: { type: ['string', 'null'] },
    blocked: { type: 'boolean' },
    firstSeenAt: { type: 'string', format: 'date-time' },
    lastSeenAt: { type: 'string', format: 'date-time' },
    messages: { type: 'integer' },
  },
  required: ['id', 'blocked', 'firstSeenAt', 'lastSeenAt', 'messages'],
} as const;

const idParam = (pattern: string) =>
  ({
    type: 'object',
    properties: { id: { type: 'string', pattern } },
    required: ['id'],
  }) as const;
const STREAM_ID = '^[0-9]+-[0-9]+$';
const USER_ID = '^[0-9]{1,19}$';

const reason = (error: unknown) =>
  maskUrlPasswords(error instanceof Error ? error.message : String(error));

const shownLetter = (letter: DeadLetter) => ({
  id: letter.id,
  updateId: letter.updateId ?? null,
  chatId: letter.chatId,
  reason: letter.reason,
  deliveries: letter.deliveries,
  failedAt: letter.failedAt.toISOString(),
  kind: letter.kind,
});

function fail(reply: FastifyReply, code: number, error: string, message: string) {
  return reply.code(code).send({ error, message });
}

/**
 * Herald's admin API: one authenticated HTTP API for what operators do (status, dead
 * letters, users, the news channel, backups), served on its own port so that no Ingress
 * route can reach it. Every call needs `Authorization: Bearer <ADMIN_API_TOKEN>`, compared
 * in constant time, and leaves an audit line (who, what, result; never the token). The
 * OpenAPI document at `/admin/openapi.json` is generated from the routes' schemas.
 */
export async function buildAdminApi(deps: AdminApiDeps): Promise<FastifyInstance> {
  const { db, queue, sessions, news, logger } = deps;
  const app = Fastify({
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-assertion
    loggerInstance: logger.child({ component: 'admin-api' }) as FastifyBaseLogger,
    disableRequestLogging: true,
    bodyLimit: 65_536,
  });
  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: {
        title: 'Herald admin API',
        version: deps.version,
        description:
          "Operate a Herald deployment: status, dead letters, users, the news channel and backups. Reach it through a port forward (`kubectl herald` does); it is never exposed by the chart's Ingress.",
      },
      components: {
        securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } },
      },
      security: [{ bearer: [] }],
    },
  });

  /** Who makes the call (`X-Herald-Actor`), for the audit line and the news controls. */
  const actorOf = (request: FastifyRequest) => {
    const actor = request.headers['x-herald-actor'];
    return typeof actor === 'string' ? actor.slice(0, 200) : 'unknown';
  };
  const tokenOk = secretChecker(deps.token);
  app.addHook('onRequest', async (request, reply) => {
    const header = request.headers.authorization;
    const given = header?.startsWith('Bearer ') ? header.slice(7) : undefined;
    if (!tokenOk(given)) {
      return fail(
        reply,
        401,
        'unauthorized',
        'send Authorization: Bearer <ADMIN_API_TOKEN> (kubectl herald reads it from the Secret)',
      );
    }
  });
  // The audit trail: one line per call, whatever its outcome.
  app.addHook('onResponse', async (request, reply) => {
    logger.info(
      {
        audit: true,
        actor: actorOf(request),
        method: request.method,
        route: request.routeOptions.url ?? request.url.split('?')[0],
        params: request.params,
        status: reply.statusCode,
        remote: request.ip,
      },
      reply.statusCode === 401
        ? 'admin API call refused: wrong or missing token'
        : 'admin API call',
    );
  });
  app.setErrorHandler(
    (error: Error & { statusCode?: number; validation?: unknown }, request, reply) => {
      if (error.validation) return fail(reply, 400, 'invalid_request', error.message);
      request.log.error({ err: error }, 'admin API call failed; see the error, then retry');
      return fail(reply, 503, 'unavailable', reason(error));
    },
  );

  app.get('/admin/openapi.json', { schema: { hide: true } }, async () => app.swagger());

  app.get(
    '/admin/v1/status',
    { schema: { summary: 'Services, queue, LLM, news leader and sources', tags: ['status'] } },
    async () => {
      const check = (name: string) =>
        deps.checks[name]?.().then(
          () => 'ok',
          (error: unknown) => reason(error),
        ) ?? Promise.resolve('not used');
      const [postgres, redis, queueStats, llm, paused, leader, lastCycle, sourceCounts] =
        await Promise.all([
          check('postgres'),
          check('redis'),
          queue.stats().catch(() => null),
          deps.llm().then((report) => report.llm),
          news.pausedBy().catch(() => undefined),
          db
            .select({ epoch: leaderEpochs.epoch, holder: leaderEpochs.holder })
            .from(leaderEpochs)
            .where(eq(leaderEpochs.role, NEWS_ROLE))
            .orderBy(desc(leaderEpochs.epoch))
            .limit(1)
            .catch(() => []),
          db
            .select({ at: max(sources.lastFetchedAt) })
            .from(sources)
            .catch(() => []),
          db
            .select({
              total: count(),
              failing:
                sql<number>`count(*) filter (where ${sources.consecutiveFailures} > 0)`.mapWith(
                  Number,
                ),
            })
            .from(sources)
            .catch(() => []),
        ]);
      return {
        version: deps.version,
        pod: hostname(),
        postgres,
        redis,
        queue: queueStats,
        llm,
        news: {
          paused: paused !== undefined,
          pausedBy: paused ?? null,
          leader: leader[0] ?? null,
          lastCycleAt: lastCycle[0]?.at?.toISOString() ?? null,
          sources: sourceCounts[0] ?? { total: 0, failing: 0 },
        },
      };
    },
  );

  app.get<{ Querystring: { limit: number } }>(
    '/admin/v1/dead-letters',
    {
      schema: {
        summary: 'Updates the workers gave up on, newest first',
        tags: ['dead letters'],
        querystring: {
          type: 'object',
          properties: { limit: { type: 'integer', minimum: 1, maximum: 1000, default: 50 } },
        },
        response: {
          200: { type: 'object', properties: { items: { type: 'array', items: deadLetterItem } } },
        },
      },
    },
    async (request) => ({
      items: (await queue.deadLetterQueue.list(request.query.limit)).map(shownLetter),
    }),
  );

  app.get<{ Params: { id: string } }>(
    '/admin/v1/dead-letters/:id',
    {
      schema: {
        summary: 'One dead letter, with the update as Telegram sent it',
        tags: ['dead letters'],
        params: idParam(STREAM_ID),
        response: {
          200: {
            type: 'object',
            properties: { ...deadLetterItem.properties, update: {} },
          },
          404: errorBody,
        },
      },
    },
    async (request, reply) => {
      const letter = await queue.deadLetterQueue.get(request.params.id);
      if (!letter) return fail(reply, 404, 'not_found', 'no such dead letter: list them first');
      return { ...shownLetter(letter), update: letter.update };
    },
  );

  app.post<{ Params: { id: string } }>(
    '/admin/v1/dead-letters/:id/replay',
    {
      schema: {
        summary: 'Puts a dead letter back in the queue, to be answered once',
        tags: ['dead letters'],
        params: idParam(STREAM_ID),
        response: {
          200: {
            type: 'object',
            properties: { replayed: { type: 'boolean' }, queueId: { type: 'string' } },
          },
          404: errorBody,
        },
      },
    },
    async (request, reply) => {
      const queueId = await queue.deadLetterQueue.replay(request.params.id);
      if (!queueId) {
        return fail(
          reply,
          404,
          'not_found',
          'no such dead letter, or it holds no readable update (drop it instead)',
        );
      }
      return { replayed: true, queueId };
    },
  );

  app.delete<{ Params: { id: string } }>(
    '/admin/v1/dead-letters/:id',
    {
      schema: {
        summary: 'Drops a dead letter for good',
        tags: ['dead letters'],
        params: idParam(STREAM_ID),
        response: {
          200: { type: 'object', properties: { dropped: { type: 'boolean' } } },
          404: errorBody,
        },
      },
    },
    async (request, reply) => {
      if (!(await queue.deadLetterQueue.drop(request.params.id))) {
        return fail(reply, 404, 'not_found', 'no such dead letter');
      }
      return { dropped: true };
    },
  );

  app.get<{ Querystring: { query: string } }>(
    '/admin/v1/users',
    {
      schema: {
        summary: 'Finds users by Telegram id or @username',
        tags: ['users'],
        querystring: {
          type: 'object',
          properties: { query: { type: 'string', minLength: 1, maxLength: 64 } },
          required: ['query'],
        },
        response: {
          200: { type: 'object', properties: { items: { type: 'array', items: userItem } } },
        },
      },
    },
    async (request) => {
      const query = request.query.query.trim();
      const byId = /^[0-9]{1,19}$/.test(query);
      const pattern = query.replace(/^@/, '').replace(/[\\%_]/g, (c) => `\\${c}`);
      const found = await db
        .select({
          id: users.id,
          username: users.username,
          firstName: users.firstName,
          language: users.languageCode,
          blockedAt: users.blockedAt,
          firstSeenAt: users.createdAt,
          lastSeenAt: users.lastSeenAt,
          messages:
            sql<number>`(select count(*) from ${conversationMessages} where ${conversationMessages.userId} = ${users.id})`.mapWith(
              Number,
            ),
        })
        .from(users)
        .where(byId ? eq(users.id, Number(query)) : ilike(users.username, pattern))
        .limit(20);
      return {
        items: found.map(({ blockedAt, firstSeenAt, lastSeenAt, ...user }) => ({
          ...user,
          blocked: blockedAt !== null,
          firstSeenAt: firstSeenAt.toISOString(),
          lastSeenAt: lastSeenAt.toISOString(),
        })),
      };
    },
  );

  const blockRoute = (blocked: boolean) =>
    app.post<{ Params: { id: string } }>(
      `/admin/v1/users/:id/${blocked ? 'block' : 'unblock'}`,
      {
        schema: {
          summary: blocked ? 'Blocks a user: the bot ignores their updates' : 'Unblocks a user',
          tags: ['users'],
          params: idParam(USER_ID),
          response: {
            200: {
              type: 'object',
              properties: { id: { type: 'integer' }, blocked: { type: 'boolean' } },
            },
            404: errorBody,
          },
        },
      },
      async (request, reply) => {
        const id = Number(request.params.id);
        if (!(await sessions.setBlocked(id, blocked))) {
          return fail(reply, 404, 'not_found', 'Herald has not seen this user');
        }
        return { id, blocked };
      },
    );
  blockRoute(true);
  blockRoute(false);

  app.delete<{ Params: { id: string } }>(
    '/admin/v1/users/:id',
    {
      schema: {
        summary: 'Forgets a user: the same deletion as their own /forget',
        tags: ['users'],
        params: idParam(USER_ID),
        response: {
          200: {
            type: 'object',
            properties: { forgotten: { type: 'boolean' }, messages: { type: 'integer' } },
          },
        },
      },
    },
    async (request) => {
      const id = Number(request.params.id);
      const { messages } = await forgetUser(deps, id);
      return { forgotten: true, messages };
    },
  );

  const pausedSchema = {
    type: 'object',
    properties: { paused: { type: 'boolean' } },
  } as const;
  app.post(
    '/admin/v1/news/pause',
    {
      schema: {
        summary: 'Stops posting to the channel',
        tags: ['news'],
        response: { 200: pausedSchema },
      },
    },
    async (request) => {
      await news.pause(`admin API (${actorOf(request)})`);
      return { paused: true };
    },
  );
  app.post(
    '/admin/v1/news/resume',
    { schema: { summary: 'Resumes posting', tags: ['news'], response: { 200: pausedSchema } } },
    async () => {
      await news.resume();
      return { paused: false };
    },
  );
  app.post(
    '/admin/v1/news/run',
    {
      schema: {
        summary: 'Asks the news leader for a cycle now',
        tags: ['news'],
        response: { 200: { type: 'object', properties: { requested: { type: 'boolean' } } } },
      },
    },
    async (request) => {
      await news.runNow(`admin API (${actorOf(request)})`);
      return { requested: true };
    },
  );
  app.get(
    '/admin/v1/news/sources',
    { schema: { summary: "Each source's health", tags: ['news'] } },
    async () => {
      const rows = await news.sources();
      const iso = (date: Date | null) => date?.toISOString() ?? null;
      return {
        items: rows.map((row) => ({
          ...row,
          up: row.consecutiveFailures === 0,
          lastError: row.lastError && maskUrlPasswords(row.lastError),
          lastFetchedAt: iso(row.lastFetchedAt),
          lastSuccessAt: iso(row.lastSuccessAt),
          backoffUntil: iso(row.backoffUntil),
        })),
      };
    },
  );

  app.get(
    '/admin/v1/backups',
    { schema: { summary: 'Backups in the store, newest first', tags: ['backups'] } },
    async (_request, reply) => {
      const list = deps.backups?.list;
      if (!list) {
        return fail(
          reply,
          503,
          'backups_not_configured',
          'set BACKUP_S3_URL (and its credentials) on the user-handler to list backups',
        );
      }
      return { items: await list() };
    },
  );
  app.post(
    '/admin/v1/backups',
    {
      schema: { summary: 'Starts a backup now (a Job from the backup CronJob)', tags: ['backups'] },
    },
    async (_request, reply) => {
      const runNow = deps.backups?.runNow;
      if (!runNow) {
        return fail(
          reply,
          503,
          'not_in_cluster',
          "backups run as a Kubernetes Job from the chart's CronJob; run `pnpm backup run` outside a cluster",
        );
      }
      return { job: await runNow() };
    },
  );

  return app;
}
