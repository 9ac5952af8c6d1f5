import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { createLogger } from '@herald/logger';
import { Registry } from '@herald/ops';
import { startLlmDouble, waitFor, type LlmDouble } from '@herald/testing';
import { CircuitBreaker } from '../src/breaker.js';
import { createAiClient, type AiClient, type ChatEvent } from '../src/client.js';

const logger = createLogger({ service: 'test', level: 'silent' });
const ask = (content: string) => ({
  model: 'deepseek-r1-14b',
  messages: [{ role: 'user' as const, content }],
});
const OPEN_MS = 30_000;

async function answerOf(events: AsyncIterable<ChatEvent>): Promise<string> {
  let answer = '';
  for await (const event of events) if (event.type === 'answer') answer += event.text;
  return answer;
}

describe('CircuitBreaker', () => {
  let nowMs = 0;
  const breaker = () =>
    new CircuitBreaker({ failureThreshold: 2, openMs: OPEN_MS, now: () => nowMs });

  it('opens after the threshold of failures in a row, and lets one trial through later', () => {
    const circuit = breaker();
    circuit.tryAcquire()!.failure();
    expect(circuit.state).toBe('closed');
    circuit.tryAcquire()!.failure();
    expect(circuit.state).toBe('open');
    expect(circuit.tryAcquire()).toBeUndefined();
    nowMs += OPEN_MS;
    expect(circuit.state).toBe('half-open');
    const trial = circuit.tryAcquire();
    expect(trial?.trial).toBe(true);
    expect(circuit.tryAcquire()).toBeUndefined();
    trial!.success();
    expect(circuit.state).toBe('closed');
  });

  it('frees the trial slot when the trial ends without a verdict, and stays half-open', () => {
    const circuit = breaker();
    circuit.tryAcquire()!.failure();
    circuit.tryAcquire()!.failure();
    nowMs += OPEN_MS;
    circuit.tryAcquire()!.release();
    expect(circuit.state).toBe('half-open');
    const next = circuit.tryAcquire();
    expect(next?.trial).toBe(true);
    next!.failure();
    expect(circuit.state).toBe('open');
  });

  it('does not let a stale call free the slot of the trial that is running now', () => {
    const circuit = breaker();
    const stale = circuit.tryAcquire()!; // began while the circuit was closed
    circuit.tryAcquire()!.failure();
    circuit.tryAcquire()!.failure();
    nowMs += OPEN_MS;
    const trial = circuit.tryAcquire()!;
    stale.release();
    expect(circuit.tryAcquire()).toBeUndefined();
    trial.release();
    expect(circuit.tryAcquire()?.trial).toBe(true);
  });

  it('counts a call once: a verdict after a release, or a second failure, changes nothing', () => {
    const circuit = breaker();
    const released = circuit.tryAcquire()!;
    released.release();
    released.failure();
    const failed = circuit.tryAcquire()!;
    failed.failure();
    failed.failure();
    expect(circuit.state).toBe('closed');
  });

  it('counts a call that answered and then broke as a failure', () => {
    const circuit = breaker();
    circuit.tryAcquire()!.failure();
    const call = circuit.tryAcquire()!;
    call.success();
    call.failure();
    circuit.tryAcquire()!.failure();
    expect(circuit.state).toBe('open');
  });
});

describe('the half-open trial through the client', () => {
  let llm: LlmDouble;
  let client: AiClient;
  let registry: Registry;
  let nowMs: number;

  beforeAll(async () => {
    llm = await startLlmDouble();
  });
  afterAll(() => llm.close());
  beforeEach(() => {
    nowMs = 1_700_000_000_000;
    registry = new Registry();
    client = createAiClient({
      baseUrl: llm.baseUrl,
      logger,
      registry,
      retries: 0,
      breaker: { failureThreshold: 1, openMs: OPEN_MS },
      clock: () => nowMs,
    });
  });
  afterEach(() => client.close());

  const gauge = async () => {
    const text = await registry.getSingleMetricAsString('herald_llm_circuit_open');
    return Number(text.trim().split(/\s+/).at(-1));
  };

  /** Opens the circuit with a failing call, then lets its open time pass. */
  async function halfOpen() {
    llm.setScript(() => ({ status: 500, answer: '' }));
    await expect(answerOf(client.streamChat(ask('hi')))).rejects.toMatchObject({
      kind: 'unavailable',
    });
    expect(client.circuit.state).toBe('open');
    expect(await gauge()).toBe(1);
    nowMs += OPEN_MS;
    expect(client.circuit.state).toBe('half-open');
  }

  /** A call the open circuit refuses at once, without reaching the server. */
  async function expectRefusedByCircuit() {
    const requests = llm.requests.length;
    await expect(answerOf(client.streamChat(ask('meanwhile')))).rejects.toMatchObject({
      kind: 'unavailable',
      message: expect.stringMatching(/circuit open/),
    });
    expect(llm.requests.length).toBe(requests);
  }

  it('reports a half-open circuit on the gauge, apart from open and closed', async () => {
    expect(await gauge()).toBe(0);
    await halfOpen();
    expect(await gauge()).toBe(0.5);
  });

  it('closes the circuit when the half-open trial answers', async () => {
    await halfOpen();
    llm.setScript(() => ({ answer: 'back' }));
    expect(await answerOf(client.streamChat(ask('hi')))).toBe('back');
    expect(client.circuit.state).toBe('closed');
    expect(await gauge()).toBe(0);
  });

  it('opens the circuit again when the half-open trial fails', async () => {
    await halfOpen();
    await expect(answerOf(client.streamChat(ask('hi')))).rejects.toMatchObject({
      kind: 'unavailable',
    });
    expect(client.circuit.state).toBe('open');
    expect(await gauge()).toBe(1);
    await expectRefusedByCircuit();
  });

  it('lets the next call try when the user cancels the half-open trial before its first token', async () => {
    await halfOpen();
    llm.setScript(() => ({ answer: 'late', timeToFirstTokenMs: 60_000 }));
    const controller = new AbortController();
    const requests = llm.requests.length;
    const trial = answerOf(client.streamChat(ask('first'), { signal: controller.signal }));
    trial.catch(() => undefined);
    await waitFor(() => llm.requests.length === requests + 1, {
      what: 'the trial to reach the LLM',
    });
    // One trial at a time: the others are refused while it runs.
    await expectRefusedByCircuit();
    controller.abort(); // a newer message from the user
    await expect(trial).rejects.toMatchObject({ kind: 'cancelled' });
    // Not a verdict on the server: still half-open, and not counted as a failure.
    expect(client.circuit.state).toBe('half-open');
    expect(await gauge()).toBe(0.5);
    llm.setScript(() => ({ answer: 'now' }));
    expect(await answerOf(client.streamChat(ask('second')))).toBe('now');
    expect(client.circuit.state).toBe('closed');
  });

  it.each([
    [400, 'refused'],
    [429, 'busy'],
    [503, 'busy'],
  ] as const)(
    'lets the next call go through after a half-open transcription answered %i',
    async (status, kind) => {
      await halfOpen();
      llm.setTranscription(() => ({ status }));
      await expect(
        client.transcribe(new Uint8Array([1, 2, 3]), { filename: 'voice.ogg', model: 'whisper' }),
      ).rejects.toMatchObject({ kind });
      llm.setScript(() => ({ answer: 'answered' }));
      expect(await answerOf(client.streamChat(ask('hi')))).toBe('answered');
    },
  );

  it('lets the next call try when a half-open transcription is cancelled', async () => {
    await halfOpen();
    llm.setTranscription(() => ({ text: 'too late', delayMs: 60_000 }));
    const received = llm.transcriptionRequests;
    const controller = new AbortController();
    const trial = client.transcribe(new Uint8Array([1, 2, 3]), {
      filename: 'voice.ogg',
      model: 'whisper',
      signal: controller.signal,
    });
    trial.catch(() => undefined);
    await waitFor(() => llm.transcriptionRequests === received + 1, {
      what: 'the transcription to reach the server',
    });
    await expectRefusedByCircuit();
    controller.abort();
    await expect(trial).rejects.toMatchObject({ kind: 'cancelled' });
    expect(client.circuit.state).toBe('half-open');
    llm.setTranscription(() => ({ text: 'hello' }));
    expect(
      await client.transcribe(new Uint8Array([1]), { filename: 'voice.ogg', model: 'whisper' }),
    ).toBe('hello');
    expect(client.circuit.state).toBe('closed');
  });
});
