import { afterEach, describe, expect, it } from '@jest/globals';
import { waitFor } from '@herald/testing';
import { startPolling, type Poller } from '../src/ingress/polling.js';
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

describe('stopping long polling', () => {
  let harness: Harness;
  let poller: Poller;
  afterEach(async () => {
    await poller.stop();
    await harness.close();
  });

  /** Records `label` in `events` after `ms`, to tell a prompt stop from one that waited. */
  const markAfter = (events: string[], label: string, ms: number) =>
    new Promise<void>((resolve) =>
      setTimeout(() => {
        events.push(label);
        resolve();
      }, ms),
    );
  const getUpdatesReceived = () =>
    harness.telegram.callsOf('getUpdates').length +
    harness.telegram.refusals.filter((r) => r.method === 'getUpdates').length;

  it('stops at once while waiting to ask again after a refused getUpdates', async () => {
    harness = await startHarness('in-process');
    harness.telegram.failOnce((call) => call.method === 'getUpdates', {
      code: 409,
      description: 'Conflict: terminated by other getUpdates request',
    });
    poller = startPolling(harness.handler.bot.telegram, harness.handler.queue, harness.logger);
    // A refusal makes the poller wait 2 s before it asks again.
    await waitFor(() => harness.telegram.refusals.some((r) => r.method === 'getUpdates'));
    const events: string[] = [];
    const stopped = poller.stop().then(() => events.push('stopped'));
    await markAfter(events, 'half the wait over', 1_000);
    await stopped;
    const asked = getUpdatesReceived();
    await markAfter(events, 'wait over', 1_200);
    expect(events).toEqual(['stopped', 'half the wait over', 'wait over']);
    expect(getUpdatesReceived()).toBe(asked);
  });

  it('stops at once while the sender backs off a failed getUpdates', async () => {
    harness = await startHarness('in-process');
    for (let n = 0; n < 3; n += 1) {
      harness.telegram.failOnce((call) => call.method === 'getUpdates', {
        code: 502,
        description: 'Bad Gateway',
      });
    }
    poller = startPolling(harness.handler.bot.telegram, harness.handler.queue, harness.logger);
    // After the third 502 the sender backs off for 1 s before it asks again.
    await waitFor(
      () => harness.telegram.refusals.filter((r) => r.method === 'getUpdates').length === 3,
    );
    const events: string[] = [];
    const stopped = poller.stop().then(() => events.push('stopped'));
    await markAfter(events, 'half the backoff over', 500);
    await stopped;
    const asked = getUpdatesReceived();
    await markAfter(events, 'backoff over', 700);
    expect(events).toEqual(['stopped', 'half the backoff over', 'backoff over']);
    expect(getUpdatesReceived()).toBe(asked);
  });
});
