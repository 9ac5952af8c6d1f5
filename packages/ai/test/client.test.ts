import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { createLogger } from '@herald/logger';
import { Registry } from '@herald/ops';
import { freePort, startLlmDouble, waitFor, type LlmDouble } from '@herald/testing';
import { z } from 'zod';
import { AiError, createAiClient, type ChatEvent } from '../src/client.js';
import { ThinkSplitter } from '../src/reasoning.js';

const logger = createLogger({ service: 'test', level: 'silent' });
const ask = (content: string) => ({
  model: 'deepseek-r1-14b',
  messages: [{ role: 'user' as const, content }],
});

async function collect(events: AsyncIterable<ChatEvent>) {
  let reasoning = '';
  let answer = '';
  let done: ChatEvent | undefined;
  for await (const event of events) {
    if (event.type === 'reasoning') reasoning += event.text;
    else if (event.type === 'answer') answer += event.text;
    else done = event;
  }
  return { reasoning, answer, done };
}

describe.each(['field', 'tags', 'untagged'] as const)(
  'streaming with reasoning sent as %s',
  (style) => {
    let llm: LlmDouble;
    beforeAll(async () => {
      llm = await startLlmDouble({
        reasoningStyle: style,
        charsPerToken: 3,
        script: () => ({
          reasoning: 'Gold rose; the user asks why. <b> is not a tag here.',
          answer: 'Gold **rose** 2% & held.',
        }),
      });
    });
    afterAll(() => llm.close());

    it('keeps the reasoning apart from the answer, whatever the chunking', async () => {
      const client = createAiClient({
        baseUrl: llm.baseUrl,
        logger,
        untaggedReasoning: style === 'untagged',
      });
      const { reasoning, answer, done } = await collect(client.streamChat(ask('why?')));
      expect(reasoning).toBe('Gold rose; the user asks why. <b> is not a tag here.');
      expect(answer).toBe('Gold **rose** 2% & held.');
      expect(done).toMatchObject({
        type: 'done',
        finishReason: 'stop',
        usage: { promptTokens: 10 },
      });
      await client.close();
    });
  },
);

describe('ThinkSplitter', () => {
  it('splits tags cut at every possible point', () => {
    const text = '<think>step one</think>\n\nThe answer.';
    for (let cut = 1; cut < text.length; cut += 1) {
      const splitter = new ThinkSplitter();
      const parts = [
        ...splitter.push(text.slice(0, cut)),
        ...splitter.push(text.slice(cut)),
        ...splitter.end(),
      ];
      const join = (kind: string) =>
        parts
          .filter((p) => p.kind === kind)
          .map((p) => p.text)
          .join('');
      expect({ cut, reasoning: join('reasoning'), answer: join('answer') }).toEqual({
        cut,
        reasoning: 'step one',
        answer: 'The answer.',
      });
    }
  });
});

describe('failures', () => {
  let llm: LlmDouble;
  beforeAll(async () => {
    llm = await startLlmDouble();
  });
  afterAll(() => llm.close());

  it('retries a busy server before the first token, then answers', async () => {
    let calls = 0;
    llm.setScript(() => (++calls === 1 ? { status: 503, answer: '' } : { answer: 'ok now' }));
    const client = createAiClient({ baseUrl: llm.baseUrl, logger, retryDelayMs: () => 10 });
    expect((await collect(client.streamChat(ask('hi')))).answer).toBe('ok now');
    expect(calls).toBe(2);
    await client.close();
  });

  it('reports a stream cut mid-answer as interrupted, without retrying', async () => {
    let calls = 0;
    llm.setScript(
      () => (calls++, { answer: 'a long answer that breaks', disconnectAfterTokens: 3 }),
    );
    const client = createAiClient({ baseUrl: llm.baseUrl, logger, retryDelayMs: () => 10 });
    const seen: string[] = [];
    const run = async () => {
      for await (const event of client.streamChat(ask('hi')))
        if (event.type === 'answer') seen.push(event.text);
    };
    await expect(run()).rejects.toMatchObject({ kind: 'interrupted' });
    // What arrived before the cut was passed on as it came.
    expect(seen.length).toBeGreaterThan(0);
    expect('a long answer that breaks'.startsWith(seen.join(''))).toBe(true);
    expect(calls).toBe(1);
    await client.close();
  });

  it('times out when the first token does not come, and when tokens stop', async () => {
    llm.setScript(() => ({ answer: 'slow', timeToFirstTokenMs: 2_000 }));
    const client = createAiClient({
      baseUrl: llm.baseUrl,
      logger,
      retries: 0,
      timeouts: { firstTokenMs: 200, gapMs: 200 },
    });
    await expect(collect(client.streamChat(ask('hi')))).rejects.toMatchObject({
      kind: 'timeout',
      message: expect.stringMatching(/first token/),
    });
    llm.setScript(() => ({ answer: 'one two three four', tokensPerSecond: 2 }));
    await expect(collect(client.streamChat(ask('hi')))).rejects.toMatchObject({
      kind: 'timeout',
      message: expect.stringMatching(/no token for/),
    });
    await client.close();
  });

  it('stops at once when the caller cancels', async () => {
    llm.setScript(() => ({ answer: 'x'.repeat(400), tokensPerSecond: 20 }));
    const client = createAiClient({ baseUrl: llm.baseUrl, logger });
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 150);
    const started = Date.now();
    await expect(
      collect(client.streamChat(ask('hi'), { signal: controller.signal })),
    ).rejects.toMatchObject({ kind: 'cancelled' });
    expect(Date.now() - started).toBeLessThan(2_000);
    await new Promise((r) => setTimeout(r, 100));
    expect(llm.active).toBe(0);
    await client.close();
  });

  it('opens the circuit after repeated failures and fails fast while open', async () => {
    const port = await freePort(); // nothing listens there: the LLM is down
    const registry = new Registry();
    const client = createAiClient({
      baseUrl: `http://127.0.0.1:${port}/v1`,
      logger,
      registry,
      retries: 0,
      breaker: { failureThreshold: 2, openMs: 60_000 },
    });
    for (let n = 0; n < 2; n += 1) {
      await expect(collect(client.streamChat(ask('hi')))).rejects.toMatchObject({
        kind: 'unavailable',
      });
    }
    const started = Date.now();
    const error = (await collect(client.streamChat(ask('hi'))).catch((e: unknown) => e)) as AiError;
    expect(error).toBeInstanceOf(AiError);
    expect(error.message).toMatch(/circuit open/);
    expect(error.retryAfterSeconds).toBeGreaterThan(0);
    expect(Date.now() - started).toBeLessThan(50);
    expect(await registry.getSingleMetricAsString('herald_llm_circuit_open')).toMatch(/ 1$/m);
    await client.close();
  });
});

describe('structured output and models', () => {
  let llm: LlmDouble;
  beforeAll(async () => {
    llm = await startLlmDouble({
      models: ['deepseek-r1-14b', 'qwen2.5-7b'],
      reasoningStyle: 'tags',
    });
  });
  afterAll(() => llm.close());
  const verdict = z.object({
    relevant: z.boolean(),
    score: z.number().min(0).max(1),
    reason: z.string(),
  });

  it('asks for a JSON schema and returns the checked value, reasoning dropped', async () => {
    llm.setScript(() => ({
      reasoning: 'hmm',
      answer: '{"relevant":true,"score":0.9,"reason":"gold"}',
    }));
    const client = createAiClient({ baseUrl: llm.baseUrl, logger });
    const { value } = await client.completeJson(ask('classify'), verdict, { name: 'verdict' });
    expect(value).toEqual({ relevant: true, score: 0.9, reason: 'gold' });
    expect(llm.requests.at(-1)?.response_format).toMatchObject({
      type: 'json_schema',
      json_schema: { name: 'verdict' },
    });
    await client.close();
  });

  it('refuses JSON that does not match the schema', async () => {
    llm.setScript(() => ({ answer: '{"relevant":"very"}' }));
    const client = createAiClient({ baseUrl: llm.baseUrl, logger });
    await expect(client.completeJson(ask('classify'), verdict)).rejects.toMatchObject({
      kind: 'bad_response',
    });
    llm.setScript(() => ({ answer: 'I think it is relevant.' }));
    await expect(client.completeJson(ask('classify'), verdict)).rejects.toMatchObject({
      kind: 'bad_response',
    });
    await client.close();
  });

  it('lists the served models', async () => {
    const client = createAiClient({ baseUrl: llm.baseUrl, logger });
    expect(await client.listModels()).toEqual(['deepseek-r1-14b', 'qwen2.5-7b']);
    await client.close();
  });
});

/** Closes what a test opened even when it fails, so no server outlives its test. */
function closing() {
  const open: { close(): Promise<void> }[] = [];
  afterEach(async () => {
    await Promise.all(open.splice(0).map((thing) => thing.close()));
  });
  return <T extends { close(): Promise<void> }>(thing: T): T => {
    open.push(thing);
    return thing;
  };
}

describe('errors the server sends inside the stream', () => {
  let llm: LlmDouble;
  beforeAll(async () => {
    llm = await startLlmDouble({ charsPerToken: 4 });
  });
  afterAll(() => llm.close());
  const track = closing();
  const requestsWith = async (registry: Registry, outcome: string) => {
    const text = await registry.getSingleMetricAsString('herald_llm_requests_total');
    const line = text.split('\n').find((l) => l.includes(`outcome="${outcome}"`));
    return line ? Number(line.split(' ').at(-1)) : 0;
  };

  it('exports every outcome from zero, so alerts see the first failure after a start', async () => {
    const registry = new Registry();
    track(createAiClient({ baseUrl: llm.baseUrl, logger, registry }));
    const text = await registry.getSingleMetricAsString('herald_llm_requests_total');
    for (const outcome of ['ok', 'unavailable', 'busy', 'timeout', 'server_error', 'refused']) {
      expect(text).toContain(`herald_llm_requests_total{outcome="${outcome}"} 0`);
    }
  });

  it.each(['nested', 'flat'] as const)(
    'fails with the server message, not an empty answer, when the stream carries an error (%s)',
    async (shape) => {
      llm.setScript(() => ({
        answer: 'never sent',
        streamError: {
          afterTokens: 0,
          message: 'CUDA out of memory',
          type: 'InternalServerError',
          code: 500,
          shape,
        },
      }));
      const registry = new Registry();
      const client = track(
        createAiClient({
          baseUrl: llm.baseUrl,
          logger,
          registry,
          breaker: { failureThreshold: 1, openMs: 60_000 },
        }),
      );
      const requests = llm.requests.length;
      await expect(collect(client.streamChat(ask('hi')))).rejects.toMatchObject({
        name: 'AiError',
        kind: 'server_error',
        status: 500,
        message: expect.stringContaining('CUDA out of memory'),
      });
      expect(await requestsWith(registry, 'server_error')).toBe(1);
      expect(await requestsWith(registry, 'ok')).toBe(0);
      // A server failing its answers is a failure for the circuit, and not retried.
      expect(client.circuit.state).toBe('open');
      expect(llm.requests.length).toBe(requests + 1);
    },
  );

  it('keeps what was streamed and reports the rest as cut off when the error comes mid-answer', async () => {
    llm.setScript(() => ({
      answer: 'Gold rose two percent today.',
      streamError: { afterTokens: 3, message: 'engine died', code: 500 },
    }));
    const registry = new Registry();
    const client = track(createAiClient({ baseUrl: llm.baseUrl, logger, registry }));
    const seen: string[] = [];
    const run = async () => {
      for await (const event of client.streamChat(ask('hi')))
        if (event.type === 'answer') seen.push(event.text);
    };
    await expect(run()).rejects.toMatchObject({
      kind: 'interrupted',
      message: expect.stringContaining('engine died'),
    });
    expect(seen.join('')).toBe('Gold rose tw');
    expect(await requestsWith(registry, 'interrupted')).toBe(1);
  });

  it('fails structured output with the server error, not as unparsable JSON', async () => {
    llm.setScript(() => ({
      answer: '{}',
      streamError: { afterTokens: 0, message: 'guided decoding failed', code: 400 },
    }));
    const client = track(createAiClient({ baseUrl: llm.baseUrl, logger }));
    await expect(
      client.completeJson(ask('classify'), z.object({ relevant: z.boolean() })),
    ).rejects.toMatchObject({
      kind: 'server_error',
      message: expect.stringContaining('guided decoding failed'),
    });
  });
});

describe('size caps on what the server sends', () => {
  const MIB = 1024 * 1024;
  const track = closing();

  it('fails a stream whose event is over the cap, and closes it', async () => {
    const llm = track(await startLlmDouble());
    llm.setScript(() => ({ answer: 'fine', oversizedEventBytes: 2 * MIB }));
    const client = track(createAiClient({ baseUrl: llm.baseUrl, logger, retries: 0 }));
    const answered = collect(client.streamChat(ask('hi'))).then((r) => r.answer.length);
    await expect(answered).rejects.toMatchObject({
      kind: 'bad_response',
      message: expect.stringMatching(/over 1048576 bytes/),
    });
    await waitFor(() => llm.active === 0, { what: 'the stream to be closed' });
  });

  it('takes an event under the cap', async () => {
    const llm = track(await startLlmDouble());
    llm.setScript(() => ({ answer: '', oversizedEventBytes: 1_000 }));
    const client = track(createAiClient({ baseUrl: llm.baseUrl, logger, maxEventBytes: 2_000 }));
    expect((await collect(client.streamChat(ask('hi')))).answer).toBe('x'.repeat(1_000));
  });

  it('fails a model list over the cap', async () => {
    const llm = track(await startLlmDouble({ modelsPaddedToBytes: 2 * MIB }));
    const client = track(createAiClient({ baseUrl: llm.baseUrl, logger }));
    await expect(client.listModels().then((models) => models.length)).rejects.toMatchObject({
      kind: 'bad_response',
      message: expect.stringMatching(/over 1048576 bytes/),
    });
  });

  it('fails a transcription answer over the cap', async () => {
    const llm = track(
      await startLlmDouble({ transcription: () => ({ text: 'hello', paddedToBytes: 2 * MIB }) }),
    );
    const client = track(createAiClient({ baseUrl: llm.baseUrl, logger }));
    const transcript = client
      .transcribe(new Uint8Array([1]), { filename: 'voice.ogg', model: 'whisper' })
      .then((text) => text.length);
    await expect(transcript).rejects.toMatchObject({
      kind: 'bad_response',
      message: expect.stringMatching(/over 1048576 bytes/),
    });
  });
});
