// Postgres goes away while answers are being written, as in a failover or a database
// restart, and comes back with its data. Users must still get every update answered once,
// in order: no apology for what a short outage interrupted, no answer sent twice.
import { afterAll, afterEach, beforeAll, describe, it } from '@jest/globals';
import { startOwnPostgres, waitFor, type OwnPostgres } from '@herald/testing';
import { expectUsersServed, runScenario } from './workload.js';

const UPDATES = 300;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('Postgres down under 25 updates/s', () => {
  // One server for the file; each test has a database of its own on it.
  let postgres: OwnPostgres | undefined;

  beforeAll(async () => {
    postgres = await startOwnPostgres();
  });
  afterEach(async () => {
    // A test that failed during its outage leaves the server stopped.
    if (postgres && !postgres.running) await postgres.start();
  });
  afterAll(async () => {
    await postgres?.close();
  });

  it('stopped for 7.5 s while answers stream: every update answered once, in order', async () => {
    const server = postgres!;
    const result = await runScenario({
      name: 'Postgres stopped for 7.5 s',
      harness: { postgresAdminUrl: server.url },
      async fault({ llm }) {
        await waitFor(() => llm.active > 0, { what: 'an answer being written', intervalMs: 5 });
        await server.stop();
        await sleep(7_500);
        await server.start();
      },
    });
    expectUsersServed(result, UPDATES);
  }, 150_000);

  it('restarted (fast stop and start) under an LLM whose answers vary: every update answered once', async () => {
    const server = postgres!;
    const result = await runScenario({
      name: 'Postgres restarted, answers vary per call',
      harness: { postgresAdminUrl: server.url },
      varyingAnswers: true,
      async fault({ llm }) {
        await waitFor(() => llm.active > 0, { what: 'an answer being written', intervalMs: 5 });
        await server.stop();
        await server.start();
      },
    });
    expectUsersServed(result, UPDATES);
  }, 150_000);
});
