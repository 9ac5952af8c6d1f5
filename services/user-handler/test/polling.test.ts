import { afterEach, describe, expect, it } from '@jest/globals';
import { waitFor } from '@herald/testing';
import { startPolling, type Poller } from '../src/polling.js';
import { ALICE, BOB, message, startHarness, type Harness } from './harness.js';

describe.each(['redis', 'in-process'] as const)('long polling into the %s queue', (kind) => {
  let harness: Harness;
  let poller: Poller;
  afterEach(async () => {
    await poller.stop();
    await harness.close();
  });

  it('answers polled updates through the queue, each once and in order', async () => {
    harness = await startHarness(kind);
    poller = startPolling(harness.handler.bot.telegram, harness.handler.queue, harness.logger);
    const updates = [message('/help'), message('/frobnicate'), message('/help', BOB)];
    harness.telegram.pushUpdates(...updates);
    await waitFor(() => harness.replies().length === 3, { what: 'three answers' });
    expect(harness.replies(ALICE.id)[0]).toContain('What I can do');
    expect(harness.replies(ALICE.id)[1]).toContain("I don't know /frobnicate");
    // The next getUpdates confirms all three, so Telegram will not send them again.
    await waitFor(() =>
      harness.telegram
        .callsOf('getUpdates')
        .some((call) => call.payload.offset === updates[2]!.update_id + 1),
    );
    expect(harness.replies()).toHaveLength(3);
  });
});
