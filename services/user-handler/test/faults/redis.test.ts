// Redis goes away under a steady flow of updates, as in a Redis restart or a lost node,
// and comes back with its data (append-only file). Telegram keeps re-posting what the
// webhook refused meanwhile. Users must still get every update answered once, in order.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from '@jest/globals';
import { startRedisServer, type RedisServer } from '@herald/testing';
import { expectUsersServed, runScenario } from './workload.js';

const UPDATES = 300;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('Redis down under 25 updates/s', () => {
  let dir: string;
  let redis: RedisServer | undefined;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'herald-faults-redis-'));
    redis = await startRedisServer({ appendOnly: true, dir });
  });
  afterEach(async () => {
    await redis?.kill();
    redis = undefined;
    await rm(dir, { recursive: true, force: true });
  });

  it('shut down for 3 s (SHUTDOWN, data kept): every update answered once, in order', async () => {
    const server = redis!;
    const result = await runScenario({
      name: 'Redis shut down for 3 s',
      harness: { redisUrl: server.url },
      async fault() {
        await server.shutdown();
        await sleep(3_000);
        await server.start();
      },
    });
    expectUsersServed(result, UPDATES);
  }, 150_000);

  it('killed (SIGKILL) and restarted: every update answered once, in order', async () => {
    const server = redis!;
    const result = await runScenario({
      name: 'Redis killed and restarted',
      harness: { redisUrl: server.url },
      async fault() {
        await server.kill();
        // A killed Redis container is back after about a second (the kubelet's restart).
        await sleep(1_000);
        await server.start();
      },
    });
    expectUsersServed(result, UPDATES);
  }, 150_000);
});
