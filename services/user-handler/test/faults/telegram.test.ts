// Telegram's flood control answers 429 with retry_after to most of the bot's messages for a
// while, as it does when a bot sends faster than Telegram allows. Telegram asks to wait,
// not to give up: users must still get every update answered once, in order.
import { describe, it } from '@jest/globals';
import { expectUsersServed, runScenario } from './workload.js';

const UPDATES = 300;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('Telegram flood control under 25 updates/s', () => {
  it('answering 429 to most sends for a while: every update answered once, in order', async () => {
    const result = await runScenario({
      name: 'Telegram 429 storm',
      // A production pod's LLM slots (AI_MAX_CONCURRENCY): while Telegram makes the final
      // messages wait, the next questions must still get the LLM.
      harness: { aiConcurrency: 16 },
      async fault({ harness }) {
        harness.telegram.storm({ share: 0.9, retryAfterSeconds: [1, 1], seed: 7 });
        // Shorter than the minute storms can last, long enough that many sends are refused
        // fifteen or more times in a row (0.9^15 ≈ 1 in 5): more than any fixed count of
        // retries of the call and of its update would wait for.
        await sleep(20_000);
        harness.telegram.calm();
      },
    });
    expectUsersServed(result, UPDATES);
  }, 150_000);
});
