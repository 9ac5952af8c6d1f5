/* eslint-disable @typescript-eslint/no-explicit-any, @typescript-eslint/no-unsafe-member-access, @typescript-eslint/no-unsafe-argument -- the API's JSON answers, checked by the assertions */
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { conversationMessages, createDatabase, users } from '@herald/db';
import { createLogger } from '@herald/logger';
import { startLlmDouble, waitFor, type LlmDouble } from '@herald/testing';
import { eq, or } from 'drizzle-orm';
import type { FastifyInstance } from 'fastify';
import { buildAdminApi } from '../src/admin/api.js';
import { llmReadiness } from '../src/reports.js';
import {
  ALICE,
  BOB,
  CAROL,
  GROUP,
  mention,
  message,
  startHarness,
  type Harness,
} from './harness.js';

const TOKEN = 'admin-token-0123456789abcdef0123456789';

describe('the admin API', () => {
  let llm: LlmDouble;
  let harness: Harness;
  let admin: FastifyInstance;
  let base: string;
  const auditLines: Record<string, unknown>[] = [];

  const call = async (
    method: string,
    path: string,
    options: { token?: string | null; actor?: string } = {},
  ) => {
    const token = options.token === undefined ? TOKEN : options.token;
    const response = await fetch(`${base}${path}`, {
      method,
      headers: {
        ...(token === null ? {} : { authorization: `Bearer ${token}` }),
        ...(options.actor ? { 'x-herald-actor': options.actor } : {}),
      },
    });
    return { status: response.status, body: (await response.json()) as Record<string, any> };
  };

  /** Telegram refuses every attempt's answer: the workers give up and dead-letter the update. */
  const refuseAnswersTo = (chatId: number) => {
    for (let attempt = 0; attempt < 3; attempt++) {
      harness.telegram.failOnce((c) => c.method === 'sendMessage' && c.payload.chat_id === chatId, {
        code: 400,
        description: 'Bad Request: chat not found',
      });
    }
  };

  beforeAll(async () => {
    llm = await startLlmDouble();
    harness = await startHarness('redis', { aiBaseUrl: llm.baseUrl });
    const { handler, runtime } = harness;
    // The audit trail goes to the logs: keep the admin API's lines to check them.
    const logger = createLogger({
      service: 'test',
      level: 'info',
      secrets: [TOKEN],
      destination: new Writable({
        write(chunk: Buffer, _encoding, done) {
          for (const line of chunk.toString().split('\n').filter(Boolean)) {
            auditLines.push(JSON.parse(line) as Record<string, unknown>);
          }
          done();
        },
      }),
    });
    admin = await buildAdminApi({
      token: TOKEN,
      logger,
      version: '0.0.0-test',
      db: handler.db,
      queue: handler.queue,
      sessions: handler.sessions,
      limiter: handler.limiter,
      news: handler.news,
      checks: runtime.checks,
      llm: llmReadiness({ client: handler.ai!, models: ['deepseek-r1-14b'] }, 0),
    });
    await admin.listen({ port: 0, host: '127.0.0.1' });
    const address = admin.server.address();
    base = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  });
  afterAll(async () => {
    await admin.close();
    await harness.close();
    await llm.close();
  });

  it('refuses calls without the token or with a wrong one, and logs each refusal', async () => {
    expect(await call('GET', '/admin/v1/status', { token: null })).toMatchObject({
      status: 401,
      body: { error: 'unauthorized' },
    });
    const wrong = await call('GET', '/admin/v1/status', { token: `${TOKEN}x` });
    expect(wrong.status).toBe(401);
    expect((await call('GET', '/admin/openapi.json', { token: 'nope' })).status).toBe(401);
    expect(auditLines).toContainEqual(
      expect.objectContaining({ audit: true, status: 401, route: '/admin/v1/status' }),
    );
  });

  it('serves its OpenAPI document, generated from the routes', async () => {
    const { status, body } = await call('GET', '/admin/openapi.json');
    expect(status).toBe(200);
    expect(body.openapi).toMatch(/^3\./);
    expect(Object.keys(body.paths)).toEqual(
      expect.arrayContaining([
        '/admin/v1/status',
        '/admin/v1/dead-letters',
        '/admin/v1/dead-letters/{id}',
        '/admin/v1/dead-letters/{id}/replay',
        '/admin/v1/users',
        '/admin/v1/users/{id}/block',
        '/admin/v1/news/pause',
        '/admin/v1/news/sources',
        '/admin/v1/backups',
      ]),
    );
    expect(body.components.securitySchemes.bearer).toMatchObject({ scheme: 'bearer' });
  });

  it('reports the status of every part', async () => {
    const { status, body } = await call('GET', '/admin/v1/status');
    expect(status).toBe(200);
    expect(body).toMatchObject({
      version: '0.0.0-test',
      postgres: 'ok',
      redis: 'ok',
      queue: { length: 0, deadLetters: 0 },
      llm: { status: 'ok', models: ['deepseek-r1-14b'] },
      news: { paused: false, leader: null, sources: { total: 0, failing: 0 } },
    });
  });

  it('lists a dead letter, shows it, and replays it so that it is answered once', async () => {
    refuseAnswersTo(BOB.id);
    await harness.send(message('/help', BOB));
    const listed = await call('GET', '/admin/v1/dead-letters');
    expect(listed.body.items).toHaveLength(1);
    const [letter] = listed.body.items as { id: string }[];
    expect(letter).toMatchObject({
      chatId: BOB.id,
      kind: 'message',
      reason: expect.stringContaining('chat not found'),
    });

    const shown = await call('GET', `/admin/v1/dead-letters/${letter!.id}`);
    expect(shown.body.update.message.text).toBe('/help');

    harness.clear();
    const replayed = await call('POST', `/admin/v1/dead-letters/${letter!.id}/replay`, {
      actor: 'ops@example.com',
    });
    expect(replayed).toMatchObject({ status: 200, body: { replayed: true } });
    await waitFor(async () => (await harness.handler.queue.stats()).length === 0);
    expect(harness.replies(BOB.id).filter((text) => text.includes('/status'))).toHaveLength(1);
    expect((await call('GET', '/admin/v1/dead-letters')).body.items).toEqual([]);
    // Replayed once: a second replay finds nothing.
    expect((await call('POST', `/admin/v1/dead-letters/${letter!.id}/replay`)).status).toBe(404);
    expect(auditLines).toContainEqual(
      expect.objectContaining({
        audit: true,
        actor: 'ops@example.com',
        method: 'POST',
        route: '/admin/v1/dead-letters/:id/replay',
        status: 200,
      }),
    );
    expect(JSON.stringify(auditLines)).not.toContain(TOKEN);
  });

  it('drops a dead letter', async () => {
    refuseAnswersTo(BOB.id);
    await harness.send(message('/help', BOB));
    const [letter] = (await call('GET', '/admin/v1/dead-letters')).body.items as { id: string }[];
    expect((await call('DELETE', `/admin/v1/dead-letters/${letter!.id}`)).body).toEqual({
      dropped: true,
    });
    expect((await call('DELETE', `/admin/v1/dead-letters/${letter!.id}`)).status).toBe(404);
    expect((await call('GET', '/admin/v1/dead-letters/1-0')).status).toBe(404);
    expect((await call('GET', '/admin/v1/dead-letters/not-an-id')).status).toBe(400);
  });

  it('finds users by id and @username, and blocks and unblocks them', async () => {
    await harness.send(message('/start', ALICE), message('/start', CAROL));
    const byName = await call('GET', '/admin/v1/users?query=@alice');
    expect(byName.body.items).toEqual([
      expect.objectContaining({ id: ALICE.id, username: 'alice', blocked: false }),
    ]);
    const byId = await call('GET', `/admin/v1/users?query=${CAROL.id}`);
    expect(byId.body.items).toEqual([expect.objectContaining({ id: CAROL.id })]);

    expect((await call('POST', `/admin/v1/users/${CAROL.id}/block`)).body).toEqual({
      id: CAROL.id,
      blocked: true,
    });
    harness.clear();
    await harness.send(message('/help', CAROL));
    expect(harness.replies(CAROL.id)).toEqual([]);
    const metrics = await harness.runtime.registry.getSingleMetricAsString(
      'herald_updates_ignored_total',
    );
    expect(metrics).toMatch(/reason="blocked"[^\n]* 1/);

    await call('POST', `/admin/v1/users/${CAROL.id}/unblock`);
    await harness.send(message('/help', CAROL));
    expect(harness.replies(CAROL.id)).toHaveLength(1);
    expect((await call('POST', '/admin/v1/users/999999/block')).status).toBe(404);
  });

  it("forgets a user everywhere: Postgres, the session caches and the groups' history", async () => {
    await harness.send(mention('my secret plan is to buy gold', BOB));
    await harness.send(message('remember my plan', BOB));
    expect(JSON.stringify(await harness.handler.sessions.recentTurns(GROUP.id))).toContain(
      'secret plan',
    );

    const forgotten = await call('DELETE', `/admin/v1/users/${BOB.id}`);
    expect(forgotten).toMatchObject({ status: 200, body: { forgotten: true } });
    expect(forgotten.body.messages).toBeGreaterThanOrEqual(4);

    const db = createDatabase(harness.runtime.pool);
    expect(await db.select().from(users).where(eq(users.id, BOB.id))).toEqual([]);
    const rows = await db
      .select()
      .from(conversationMessages)
      .where(or(eq(conversationMessages.userId, BOB.id), eq(conversationMessages.chatId, BOB.id)));
    expect(rows).toEqual([]);
    expect(JSON.stringify(await harness.handler.sessions.recentTurns(GROUP.id))).not.toContain(
      'secret plan',
    );
    expect(await harness.handler.sessions.recentTurns(BOB.id)).toEqual([]);
  });

  it('pauses, resumes and runs the news channel, and lists its sources', async () => {
    expect((await call('POST', '/admin/v1/news/pause', { actor: 'ops' })).body).toEqual({
      paused: true,
    });
    expect(await harness.handler.news.pausedBy()).toContain('ops');
    expect((await call('GET', '/admin/v1/status')).body.news.paused).toBe(true);
    expect((await call('POST', '/admin/v1/news/resume')).body).toEqual({ paused: false });
    expect(await harness.handler.news.pausedBy()).toBeUndefined();
    expect((await call('POST', '/admin/v1/news/run')).body).toEqual({ requested: true });
    expect((await call('GET', '/admin/v1/news/sources')).body).toEqual({ items: [] });
  });

  it('says how to configure backups when no backup store is set', async () => {
    expect(await call('GET', '/admin/v1/backups')).toMatchObject({
      status: 503,
      body: { error: 'backups_not_configured', message: expect.stringContaining('BACKUP_S3_URL') },
    });
    expect(await call('POST', '/admin/v1/backups')).toMatchObject({
      status: 503,
      body: { error: 'not_in_cluster' },
    });
  });
});
