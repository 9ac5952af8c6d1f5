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
        harness.telegram.storm({ share: 0.8, retryAfterSeconds: [1, 3], seed: 7 });
        // Shorter than the minute storms can last, long enough that many sends are refused
        // five or more times in a row (0.8^5 ≈ 1 in 3): more than a fixed retry count allows.
        await sleep(20_000);
        harness.telegram.calm();
      },
    });
    expectUsersServed(result, UPDATES);
  }, 150_000);
});
