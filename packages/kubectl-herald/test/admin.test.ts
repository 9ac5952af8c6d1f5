// kubectl herald against a Kubernetes API double whose port forward leads to the real
// user-handler admin API (services/user-handler/dist/main.js on the test Postgres and Redis).
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { migrateDatabase } from '@herald/db';
import { createLogger } from '@herald/logger';
import {
  createTestDatabase,
  startBotApiDouble,
  testRedisUrl,
  waitFor,
  type BotApiDouble,
  type TestDatabase,
} from '@herald/testing';
import { Redis } from 'ioredis';
import pg from 'pg';
import { startKubeApiDouble, type KubeApiDouble } from './kube-api-double.js';
import { kubectlHerald, startUserHandler, type UserHandlerProcess } from './plugin.js';
import { seedRelease, type SeededRelease } from './release.js';

let database: TestDatabase;
let telegram: BotApiDouble;
let userHandler: UserHandlerProcess;
let kube: KubeApiDouble;
let release: SeededRelease;
let redis: Redis;
let env: Record<string, string>;

beforeAll(async () => {
  database = await createTestDatabase();
  await migrateDatabase(database.url, createLogger({ service: 'test', level: 'silent' }));
  telegram = await startBotApiDouble();
  userHandler = await startUserHandler(database.url, telegram);
  redis = new Redis(testRedisUrl(), { keyPrefix: userHandler.redisKeyPrefix });
  kube = await startKubeApiDouble();
  release = seedRelease(kube, { adminToken: userHandler.adminToken });
  for (const pod of release.userHandlerPods) kube.forwardPod(pod, userHandler.adminPort);
  env = { KUBECONFIG: kube.kubeconfigPath };
});

afterAll(async () => {
  await userHandler?.stop();
  redis?.disconnect();
  await kube?.close();
  await telegram?.close();
  await database?.drop();
});

/** A dead letter as the workers leave one: the update, its chat, why, after how many tries. */
async function deadLetter(update: object, chatId: number): Promise<string> {
  return (await redis.xadd(
    'updates:dead',
    '*',
    'update',
    JSON.stringify(update),
    'chat',
    String(chatId),
    'entry',
    '1700000000000-0',
    'reason',
    'LLM request timed out after 5 attempts',
    'deliveries',
    '5',
  ))!;
}

/** Runs one statement on the user-handler's database, as its own writers would have. */
async function sql(text: string, values: unknown[] = []): Promise<void> {
  const client = new pg.Client({ connectionString: database.url });
  await client.connect();
  try {
    await client.query(text, values);
  } finally {
    await client.end();
  }
}

function startUpdate(updateId: number, chatId: number) {
  return {
    update_id: updateId,
    message: {
      message_id: 1,
      date: 1_700_000_000,
      chat: { id: chatId, type: 'private', first_name: 'Eve' },
      from: { id: chatId, is_bot: false, first_name: 'Eve' },
      text: '/start',
      entities: [{ type: 'bot_command', offset: 0, length: 6 }],
    },
  };
}

describe('status', () => {
  it('shows pods, restarts, autoscaler, leader, queue and last backup as a table', async () => {
    const run = await kubectlHerald(['status'], env);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const lines = run.stdout.split('\n');
    expect(lines[0]).toBe('Release herald in namespace herald (context double)');
    expect(lines).toContainEqual(
      expect.stringMatching(/^POD\s+COMPONENT\s+READY\s+STATUS\s+RESTARTS\s+AGE$/),
    );
    expect(lines).toContainEqual(
      expect.stringMatching(
        new RegExp(`^${release.userHandlerPods[1]}\\s+user-handler\\s+1/1\\s+Running\\s+3\\s+3h$`),
      ),
    );
    expect(lines).toContainEqual(
      expect.stringMatching(
        /^herald-user-handler\s+user-handler\s+2\/2\s+2 now, 3 wanted \(min 2, max 10\)$/,
      ),
    );
    expect(lines).toContainEqual(
      expect.stringMatching(/^herald-news-publisher\s+news-publisher\s+2\/2\s+-$/),
    );
    expect(lines).toContainEqual(expect.stringMatching(/^Leader\s+none$/));
    expect(lines).toContainEqual(
      expect.stringMatching(/^Queue\s+\d+ pending, lag [\d.]+ s, \d+ dead letters?$/),
    );
    expect(lines).toContainEqual(expect.stringMatching(/^Postgres\s+ok$/));
    expect(lines).toContainEqual(expect.stringMatching(/^Redis\s+ok$/));
    expect(lines).toContainEqual(
      expect.stringMatching(
        /^Last backup\s+2026-12-01T03:19:12Z \(.+ ago\) \(schedule "17 3 \* \* \*"\)$/,
      ),
    );
  });

  it('prints the same facts as one JSON document with -o json', async () => {
    const run = await kubectlHerald(['status', '-o', 'json'], env);
    expect(run.code).toBe(0);
    const status = JSON.parse(run.stdout) as Record<string, unknown>;
    expect(status).toMatchObject({
      release: 'herald',
      namespace: 'herald',
      context: 'double',
      adminError: null,
      backup: {
        cronJob: 'herald-backup',
        lastSuccessfulTime: '2026-12-01T03:19:12.000Z',
        active: 0,
      },
      admin: { postgres: 'ok', redis: 'ok', news: { paused: false } },
    });
    expect(status.pods).toHaveLength(4);
    expect(status.pods).toContainEqual(
      expect.objectContaining({ name: release.userHandlerPods[1], ready: '1/1', restarts: 3 }),
    );
    expect(status.deployments).toContainEqual(
      expect.objectContaining({
        name: 'herald-user-handler',
        autoscaler: expect.objectContaining({
          currentReplicas: 2,
          desiredReplicas: 3,
          maxReplicas: 10,
        }),
      }),
    );
  });

  it('reaches the admin API through a port forward to a ready user-handler pod, with the token from its Secret', async () => {
    const before = kube.requests.length;
    const run = await kubectlHerald(['status', '-o', 'json'], env);
    expect(run.code).toBe(0);
    const made = kube.requests.slice(before);
    const forwards = made.filter((request) => request.resource === 'pods/portforward');
    expect(forwards.length).toBeGreaterThan(0);
    for (const forward of forwards) {
      expect(forward.websocket).toBe(true);
      expect(forward.path).toBe(
        `/api/v1/namespaces/herald/pods/${release.userHandlerPods[0]}/portforward`,
      );
      expect(forward.query.get('ports')).toBe('8081');
    }
    expect(made).toContainEqual(
      expect.objectContaining({ method: 'GET', resource: 'secrets', name: release.secret }),
    );
    // The audit log names the kubeconfig's user.
    expect(userHandler.output()).toContain('"actor":"alice"');
  });

  it('still shows the cluster side and exits 1 when the admin API and backups are off', async () => {
    const off = await startKubeApiDouble();
    try {
      seedRelease(off, { adminToken: userHandler.adminToken, admin: false, backup: false });
      const run = await kubectlHerald(['status'], { KUBECONFIG: off.kubeconfigPath });
      expect(run.code).toBe(1);
      expect(run.stdout).toMatch(/^herald-user-handler\s+user-handler\s+2\/2/m);
      expect(run.stdout).toMatch(
        /^Admin API\s+unavailable: the admin API is off in release "herald"/m,
      );
      expect(run.stdout).toMatch(/^Last backup\s+no backup CronJob \(backup\.enabled is off\)$/m);
      expect(run.stderr).toContain('admin.enabled=true');
    } finally {
      await off.close();
    }
  });
});

describe('dead letters', () => {
  it('lists a dead letter and replays it: the update goes back to the queue and gets its answer', async () => {
    const id = await deadLetter(startUpdate(9001, 4201), 4201);

    const list = await kubectlHerald(['dead-letters', 'list', '-o', 'json'], env);
    expect(list.code).toBe(0);
    expect((JSON.parse(list.stdout) as { items: unknown[] }).items).toContainEqual(
      expect.objectContaining({ id, updateId: 9001, chatId: 4201, deliveries: 5, kind: 'message' }),
    );
    const table = await kubectlHerald(['dead-letters', 'list'], env);
    expect(table.stdout).toMatch(
      new RegExp(
        `^${id}\\s+9001\\s+4201\\s+message\\s+5\\s+.+LLM request timed out after 5 attempts$`,
        'm',
      ),
    );

    const show = await kubectlHerald(['dead-letters', 'show', id], env);
    expect(show.code).toBe(0);
    expect(show.stdout).toMatch(/^Reason\s+LLM request timed out after 5 attempts$/m);
    expect(show.stdout).toContain('Update:\n{\n  "update_id": 9001,');

    const replay = await kubectlHerald(['dead-letters', 'replay', id], env);
    expect(replay.stderr).toBe('');
    expect(replay.code).toBe(0);
    expect(replay.stdout).toMatch(
      new RegExp(`^replayed dead letter ${id}: back on the queue as \\d+-\\d+\\n$`),
    );
    expect(await redis.xlen('updates:dead')).toBe(0);
    await waitFor(
      () => telegram.callsOf('sendMessage').some((call) => call.payload.chat_id === 4201),
      { what: 'the replayed /start to be answered' },
    );
  });

  it('says the dead letter is gone (exit 1) when replaying an id that is not there', async () => {
    const run = await kubectlHerald(['dead-letters', 'replay', '1-0'], env);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('no such dead letter');
    expect(run.stderr).toContain('HTTP 404');
  });

  it('refuses a dead letter id that is not a stream id with exit 64', async () => {
    const run = await kubectlHerald(['dead-letters', 'show', 'abc'], env);
    expect(run.code).toBe(64);
    expect(run.stderr).toContain('"abc" is not a dead letter id');
  });
});

describe('news', () => {
  it('pauses the news channel, which status then reports, and resumes it', async () => {
    const pause = await kubectlHerald(['news', 'pause'], env);
    expect(pause.code).toBe(0);
    expect(pause.stdout).toContain('news paused');
    const paused = JSON.parse((await kubectlHerald(['status', '-o', 'json'], env)).stdout) as {
      admin: { news: { paused: boolean } };
    };
    expect(paused.admin.news.paused).toBe(true);
    expect((await kubectlHerald(['status'], env)).stdout).toMatch(
      /^News\s+paused by admin API \(alice\), last cycle never/m,
    );

    const resume = await kubectlHerald(['news', 'resume', '-o', 'json'], env);
    expect(JSON.parse(resume.stdout)).toEqual({ paused: false });
  });

  it('asks the leader for a news cycle now', async () => {
    const run = await kubectlHerald(['news', 'now'], env);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('news cycle requested');
  });
});

describe('users', () => {
  const addUser = (id: number, username: string) =>
    sql('INSERT INTO users (id, username, first_name, language_code) VALUES ($1, $2, $3, $4)', [
      id,
      username,
      'Alice',
      'en',
    ]);

  it('finds a user by @username', async () => {
    await addUser(7101, 'alice_h');
    const run = await kubectlHerald(['users', 'find', '@alice_h'], env);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^ID\s+USERNAME\s+NAME\s+LANGUAGE\s+BLOCKED\s+MESSAGES/m);
    expect(run.stdout).toMatch(/^7101\s+@alice_h\s+Alice\s+en\s+no\s+0\s+/m);
  });

  it('blocks and unblocks a user, which find then shows', async () => {
    await addUser(7104, 'dave_h');
    const block = await kubectlHerald(['users', 'block', '7104'], env);
    expect(block.code).toBe(0);
    expect(block.stdout).toBe('user 7104 blocked: Herald ignores their messages\n');
    expect((await kubectlHerald(['users', 'find', '7104'], env)).stdout).toMatch(
      /^7104\s+@dave_h\s+Alice\s+en\s+yes\s+/m,
    );
    const unblock = await kubectlHerald(['users', 'unblock', '7104', '-o', 'json'], env);
    expect(JSON.parse(unblock.stdout)).toEqual({ id: 7104, blocked: false });
  });

  it('forgets a user with --yes, and finds nothing afterwards', async () => {
    await addUser(7102, 'bob_h');
    const run = await kubectlHerald(['users', 'forget', '7102', '--yes'], env);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toBe('forgot user 7102: 0 messages deleted\n');
    const find = await kubectlHerald(['users', 'find', '7102', '-o', 'json'], env);
    expect(JSON.parse(find.stdout)).toEqual({ items: [] });
  });

  it('refuses to forget a user without --yes when nobody can answer the question', async () => {
    await addUser(7103, 'carol_h');
    const run = await kubectlHerald(['users', 'forget', '7103'], env);
    expect(run.code).toBe(64);
    expect(run.stderr).toContain('refusing to forget user 7103 without confirmation');
    expect(run.stderr).toContain('pass --yes');
    const find = await kubectlHerald(['users', 'find', '7103', '-o', 'json'], env);
    expect((JSON.parse(find.stdout) as { items: unknown[] }).items).toHaveLength(1);
  });
});

describe('backups', () => {
  it("passes on the admin API's advice when the user-handler has no backup store", async () => {
    const run = await kubectlHerald(['backup', 'list'], env);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('set BACKUP_S3_URL');
    expect(run.stderr).toContain('(backups_not_configured, HTTP 503)');
  });
});

describe('reaching the admin API', () => {
  it('skips the port forward with --admin-url and --token', async () => {
    await sql(
      `INSERT INTO sources (id, url, kind, consecutive_failures, last_error, last_fetched_at)
       VALUES ('kitco', 'https://www.kitco.com/rss', 'rss', 3, 'HTTP 503', now())`,
    );
    const before = kube.requests.length;
    const run = await kubectlHerald(
      [
        'news',
        'sources',
        '--admin-url',
        `http://127.0.0.1:${userHandler.adminPort}`,
        '--token',
        userHandler.adminToken,
      ],
      { KUBECONFIG: '/nonexistent/kubeconfig' },
    );
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(
      /^SOURCE\s+UP\s+FAILURES\s+LAST FETCHED\s+BACKOFF UNTIL\s+LAST ERROR$/m,
    );
    expect(run.stdout).toMatch(/^kitco\s+no\s+3\s+.+ ago\)\s+-\s+HTTP 503$/m);
    expect(kube.requests.length).toBe(before);
  });

  it('says the token was refused, and where to get the right one, on a wrong HERALD_ADMIN_TOKEN', async () => {
    const run = await kubectlHerald(['news', 'sources'], {
      ...env,
      HERALD_ADMIN_TOKEN: 'wrong-token',
    });
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('the admin API refused the token (401');
    expect(run.stderr).toContain('--token');
  });

  it('names the port-forward permission when RBAC denies it', async () => {
    const denied = await startKubeApiDouble();
    try {
      const seeded = seedRelease(denied, { adminToken: userHandler.adminToken });
      for (const pod of seeded.userHandlerPods) denied.forwardPod(pod, userHandler.adminPort);
      denied.forbid('create', 'pods/portforward');
      const run = await kubectlHerald(['dead-letters', 'list'], {
        KUBECONFIG: denied.kubeconfigPath,
      });
      expect(run.code).toBe(1);
      expect(run.stderr).toContain(
        `forbidden: the API server refused the port forward to pod ${seeded.userHandlerPods[0]}`,
      );
      expect(run.stderr).toContain('get/create pods/portforward');
    } finally {
      await denied.close();
    }
  });
});
