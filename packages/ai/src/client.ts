import type { Logger } from '@herald/logger';
import { Counter, Gauge, Histogram, type Registry } from '@herald/ops';
import { Agent, FormData, request } from 'undici';
import { z } from 'zod';
import { CIRCUIT_GAUGE_VALUE, CircuitBreaker, type CircuitPermit } from './breaker.js';
import { ThinkSplitter } from './reasoning.js';
import { DEFAULT_MAX_EVENT_BYTES, SseEventTooLargeError, sseData } from './sse.js';

export type ContentPart =
  { type: 'text'; text: string } | { type: 'image_url'; image_url: { url: string } };

export interface ChatMessage {
  role: 'system' | 'user' | 'assistant';
  content: string | ContentPart[];
}

export interface ChatRequest {
  model: string;
  messages: ChatMessage[];
  maxTokens?: number;
  temperature?: number;
  /** OpenAI's `response_format`, e.g. a JSON schema (structured output). */
  responseFormat?: unknown;
}

export interface Usage {
  promptTokens: number;
  completionTokens: number;
}

export type ChatEvent =
  | { type: 'reasoning'; text: string }
  | { type: 'answer'; text: string }
  | { type: 'done'; usage: Usage | undefined; finishReason: string | undefined };

/**
 * Why a call to the LLM failed, in terms a caller can act on:
 * - `unavailable`: the server cannot be reached, fails, or the circuit is open;
 * - `busy`: the server is saturated (429/503); try again in `retryAfterSeconds`;
 * - `timeout`: no first token, too long a gap between tokens, or too long in total;
 * - `interrupted`: the stream broke after it had started (an error event from the server
 *   after the first token too: what was streamed stands, the rest will not come);
 * - `cancelled`: the caller gave up (a newer message, /reset);
 * - `refused`: the server rejected the request (4xx: unknown model, context too long);
 * - `server_error`: the server accepted the request, then reported an error inside the
 *   stream before any token (vLLM does when generation fails after its 200);
 * - `bad_response`: the server answered something that is not what was asked, or more of
 *   it than any real answer takes.
 */
export class AiError extends Error {
  constructor(
    readonly kind:
      | 'unavailable'
      | 'busy'
      | 'timeout'
      | 'interrupted'
      | 'cancelled'
      | 'refused'
      | 'server_error'
      | 'bad_response',
    message: string,
    readonly retryAfterSeconds?: number,
    readonly status?: number,
  ) {
    super(message);
    this.name = 'AiError';
  }
}

export interface AiTimeouts {
  /** To open the TCP (and TLS) connection. */
  connectMs: number;
  /** From sending the request to the first token, reasoning included. */
  firstTokenMs: number;
  /** Longest silence between two tokens. */
  gapMs: number;
  /** The whole answer. */
  totalMs: number;
}

export const DEFAULT_TIMEOUTS: AiTimeouts = {
  connectMs: 3_000,
  firstTokenMs: 30_000,
  gapMs: 30_000,
  totalMs: 300_000,
};

export interface AiClientOptions {
  /** OpenAI-compatible base URL, e.g. `http://vllm:8000/v1`. */
  baseUrl: string;
  apiKey?: string | undefined;
  logger: Logger;
  registry?: Registry | undefined;
  timeouts?: Partial<AiTimeouts>;
  /** Attempts after the first, only before any token arrived. */
  retries?: number;
  /** Wait before retry n (1-based). */
  retryDelayMs?: (attempt: number) => number;
  /** Failures in a row that open the circuit, and how long it stays open. */
  breaker?: { failureThreshold: number; openMs: number };
  /** See ThinkSplitter: the server's template writes the opening `<think>` itself. */
  untaggedReasoning?: boolean;
  /** Connections kept to the server. */
  connections?: number;
  /** Milliseconds since the epoch, as `Date.now`; the circuit breaker's clock. */
  clock?: () => number;
  /** Largest single event of a stream; see DEFAULT_MAX_EVENT_BYTES. */
  maxEventBytes?: number;
  /** Largest JSON answer read whole (/models, transcriptions); see DEFAULT_MAX_BODY_BYTES. */
  maxBodyBytes?: number;
}

/**
 * Largest JSON body read whole. A model list or a transcript is a few KiB; 1 MiB keeps a
 * wrong AI_BASE_URL (a file server, a proxy's page) from filling the memory.
 */
export const DEFAULT_MAX_BODY_BYTES = 1024 * 1024;

export interface AiClient {
  /** Streams a chat completion: reasoning and answer apart, then `done`. */
  streamChat(chat: ChatRequest, options?: { signal?: AbortSignal }): AsyncGenerator<ChatEvent>;
  /** A completion constrained to a JSON schema, parsed and checked. */
  completeJson<T>(
    chat: ChatRequest,
    schema: z.ZodType<T>,
    options?: { name?: string; signal?: AbortSignal },
  ): Promise<{ value: T; usage: Usage | undefined }>;
  /** The model ids the server serves. */
  listModels(options?: { signal?: AbortSignal }): Promise<string[]>;
  /** Speech to text through `/audio/transcriptions` (vLLM serves Whisper models). */
  transcribe(
    audio: Uint8Array,
    options: { filename: string; model: string; signal?: AbortSignal },
  ): Promise<string>;
  readonly circuit: CircuitBreaker;
  close(): Promise<void>;
}

interface Metrics {
  requests: Counter<'outcome'>;
  firstToken: Histogram;
  tokens: Counter<'kind'>;
}

function createMetrics(
  registry: Registry | undefined,
  circuit: CircuitBreaker,
): Metrics | undefined {
  if (!registry) return undefined;
  new Gauge({
    name: 'herald_llm_circuit_open',
    help: 'Circuit to the LLM: 1 open (calls fail at once), 0.5 half-open (one trial call at a time decides), 0 closed',
    registers: [registry],
    collect() {
      this.set(CIRCUIT_GAUGE_VALUE[circuit.state]);
    },
  });
  const requests = new Counter({
    name: 'herald_llm_requests_total',
    help: 'LLM calls by outcome: ok, or the AiError kind',
    labelNames: ['outcome'],
    registers: [registry],
  });
  // Every outcome from zero: rate() and increase() then see the first failure after a start.
  for (const outcome of [
    'ok',
    'unavailable',
    'busy',
    'timeout',
    'interrupted',
    'cancelled',
    'refused',
    'server_error',
    'bad_response',
  ] satisfies ('ok' | AiError['kind'])[]) {
    requests.inc({ outcome }, 0);
  }
  return {
    requests,
    firstToken: new Histogram({
      name: 'herald_llm_time_to_first_token_seconds',
      help: 'From sending a chat request to its first token (reasoning included)',
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30],
      registers: [registry],
    }),
    tokens: new Counter({
      name: 'herald_llm_tokens_total',
      help: 'Tokens the LLM reported, by kind: prompt or completion',
      labelNames: ['kind'],
      registers: [registry],
    }),
  };
}

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => {
      clearTimeout(timer);
      resolve();
    });
  });

const MAX_ERROR_BODY = 4_096;

/** An error body's start, for the message; the rest is not read. */
async function readText(body: AsyncIterable<Uint8Array>, limit = MAX_ERROR_BODY): Promise<string> {
  let text = '';
  const decoder = new TextDecoder();
  for await (const chunk of body) {
    text += decoder.decode(chunk, { stream: true });
    if (text.length >= limit) break;
  }
  return text.slice(0, limit);
}

/**
 * Reads and parses a JSON body of at most `maxBytes`; a body over that, or one that is not
 * JSON, is a `bad_response` (and the rest of it is not read).
 */
async function readJson(
  body: AsyncIterable<Uint8Array>,
  maxBytes: number,
  what: string,
): Promise<unknown> {
  const chunks: Uint8Array[] = [];
  let bytes = 0;
  for await (const chunk of body) {
    bytes += chunk.length;
    if (bytes > maxBytes) {
      throw new AiError(
        'bad_response',
        `the LLM server's ${what} is over ${maxBytes} bytes; is AI_BASE_URL an OpenAI-compatible API?`,
      );
    }
    chunks.push(chunk);
  }
  const text = Buffer.concat(chunks, bytes).toString('utf8');
  try {
    return JSON.parse(text);
  } catch {
    throw new AiError(
      'bad_response',
      `the LLM server's ${what} is not JSON: ${text.replace(/\s+/g, ' ').slice(0, 200)}`,
    );
  }
}

/** Maps a non-200 answer to an AiError. */
function statusError(status: number, body: string, retryAfter: string | undefined): AiError {
  const detail = body.replace(/\s+/g, ' ').slice(0, 300);
  const after = retryAfter && /^\d+$/.test(retryAfter) ? Number(retryAfter) : undefined;
  if (status === 429 || status === 503) {
    return new AiError(
      'busy',
      `the LLM server is busy (HTTP ${status}): ${detail}`,
      after ?? 5,
      status,
    );
  }
  if (status >= 500)
    return new AiError(
      'unavailable',
      `the LLM server failed (HTTP ${status}): ${detail}`,
      after,
      status,
    );
  return new AiError(
    'refused',
    `the LLM server refused the request (HTTP ${status}): ${detail}`,
    undefined,
    status,
  );
}

const chunkSchema = z.object({
  choices: z
    .array(
      z.object({
        delta: z
          .object({
            content: z.string().nullish(),
            reasoning_content: z.string().nullish(),
            reasoning: z.string().nullish(),
          })
          .nullish(),
        finish_reason: z.string().nullish(),
      }),
    )
    .nullish(),
  usage: z.object({ prompt_tokens: z.number(), completion_tokens: z.number() }).nullish(),
});

const modelListSchema = z.object({
  data: z.array(z.object({ id: z.unknown() })).nullish(),
});

const transcriptionSchema = z.object({ text: z.string() });

const errorDetail = z.object({
  message: z.string().nullish(),
  type: z.string().nullish(),
  code: z.union([z.number(), z.string()]).nullish(),
});

/**
 * An error sent as a stream event: vLLM's `{"error": {message, type, code}}` (older vLLM
 * nests `"object": "error"` in it), the flat `{"object": "error", message, …}` of older
 * vLLM and others, or a bare `{"error": "…"}`.
 */
const errorEventSchema = z.union([
  z.object({ error: z.union([errorDetail, z.string()]) }),
  errorDetail.extend({ object: z.literal('error') }),
]);

/** The AiError for an error event; undefined when the event is no error. */
function streamError(event: unknown, gotFirst: boolean): AiError | undefined {
  const parsed = errorEventSchema.safeParse(event);
  if (!parsed.success) return undefined;
  const raw = 'error' in parsed.data ? parsed.data.error : parsed.data;
  const detail = typeof raw === 'string' ? { message: raw, type: undefined, code: undefined } : raw;
  const code = typeof detail.code === 'number' ? detail.code : undefined;
  const what = [detail.type, detail.code].filter((part) => part != null).join(' ');
  const message = `${detail.message ?? 'no message'}${what ? ` (${what})` : ''}`.slice(0, 500);
  return gotFirst
    ? new AiError('interrupted', `the LLM server failed mid-answer: ${message}`, undefined, code)
    : new AiError('server_error', `the LLM server failed the answer: ${message}`, undefined, code);
}

/**
 * An OpenAI-compatible client (vLLM, Ollama, llama.cpp's server, hosted endpoints) over an
 * undici keep-alive pool. Streams answers over SSE with the reasoning kept apart, bounds
 * every wait, retries only before the first token (a retry after that would show the user
 * a second, different answer), and stops calling a failing server through a circuit breaker.
 */
export function createAiClient(options: AiClientOptions): AiClient {
  const base = options.baseUrl.replace(/\/+$/, '');
  const timeouts = { ...DEFAULT_TIMEOUTS, ...options.timeouts };
  const retries = options.retries ?? 2;
  const retryDelayMs = options.retryDelayMs ?? ((n: number) => 200 * 2 ** (n - 1));
  const circuit = new CircuitBreaker({
    ...(options.breaker ?? { failureThreshold: 5, openMs: 30_000 }),
    ...(options.clock ? { now: options.clock } : {}),
  });
  const metrics = createMetrics(options.registry, circuit);
  const maxEventBytes = options.maxEventBytes ?? DEFAULT_MAX_EVENT_BYTES;
  const maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  const agent = new Agent({
    connect: { timeout: timeouts.connectMs },
    connections: options.connections ?? 64,
    keepAliveTimeout: 30_000,
  });
  const headers = {
    'content-type': 'application/json',
    accept: 'text/event-stream, application/json',
    ...(options.apiKey ? { authorization: `Bearer ${options.apiKey}` } : {}),
  };

  /** Turns whatever a call threw into an AiError. */
  const classify = (error: unknown, reason: unknown, callerSignal?: AbortSignal): AiError => {
    if (reason instanceof AiError) return reason;
    if (error instanceof AiError) return error;
    if (callerSignal?.aborted) return new AiError('cancelled', 'the caller cancelled the request');
    if (error instanceof SseEventTooLargeError) {
      return new AiError(
        'bad_response',
        `the LLM server sent a stream event over ${error.limitBytes} bytes; is AI_BASE_URL an OpenAI-compatible API?`,
      );
    }
    const code = (error as { code?: string } | null)?.code ?? '';
    const message = error instanceof Error ? error.message : String(error);
    if (code === 'UND_ERR_CONNECT_TIMEOUT') {
      return new AiError(
        'unavailable',
        `could not connect to the LLM server within ${timeouts.connectMs} ms`,
      );
    }
    return new AiError('unavailable', `the LLM server is unreachable: ${code || message}`);
  };

  const countsAgainstCircuit = (error: AiError) =>
    error.kind === 'unavailable' ||
    error.kind === 'timeout' ||
    error.kind === 'interrupted' ||
    error.kind === 'server_error';

  /**
   * Settles a call's circuit permit by how it failed: a cancel says nothing about the
   * server (a half-open trial's place goes to the next call); an answer the server gave
   * (busy, refused, not what was asked) shows it is up; the rest are failures.
   */
  const settle = (permit: CircuitPermit, failure: AiError) => {
    if (failure.kind === 'cancelled') permit.release();
    else if (countsAgainstCircuit(failure)) permit.failure();
    else permit.success();
  };

  /** A permit to call the server, or the circuit-open error (counted) while it is open. */
  const admit = () => {
    const permit = circuit.tryAcquire();
    if (permit) return permit;
    metrics?.requests.inc({ outcome: 'unavailable' });
    throw new AiError(
      'unavailable',
      'the LLM server failed repeatedly; not calling it for a while (circuit open)',
      circuit.retryAfterSeconds(),
    );
  };

  async function* streamChat(
    chat: ChatRequest,
    callOptions: { signal?: AbortSignal } = {},
  ): AsyncGenerator<ChatEvent> {
    const callerSignal = callOptions.signal;
    for (let attempt = 0; ; attempt += 1) {
      if (callerSignal?.aborted) throw new AiError('cancelled', 'the caller cancelled the request');
      const permit = admit();
      const controller = new AbortController();
      const abort = (error: AiError) => controller.abort(error);
      const onCallerAbort = () =>
        abort(new AiError('cancelled', 'the caller cancelled the request'));
      callerSignal?.addEventListener('abort', onCallerAbort);
      const started = performance.now();
      const total = setTimeout(
        () => abort(new AiError('timeout', `the answer took longer than ${timeouts.totalMs} ms`)),
        timeouts.totalMs,
      );
      let gap = setTimeout(
        () => abort(new AiError('timeout', `no first token within ${timeouts.firstTokenMs} ms`)),
        timeouts.firstTokenMs,
      );
      let gotFirst = false;
      let finished = false;
      try {
        const response = await request(`${base}/chat/completions`, {
          dispatcher: agent,
          method: 'POST',
          headers,
          signal: controller.signal,
          headersTimeout: timeouts.firstTokenMs,
          bodyTimeout: 0,
          body: JSON.stringify({
            model: chat.model,
            messages: chat.messages,
            stream: true,
            stream_options: { include_usage: true },
            ...(chat.maxTokens ? { max_tokens: chat.maxTokens } : {}),
            ...(chat.temperature === undefined ? {} : { temperature: chat.temperature }),
            ...(chat.responseFormat === undefined ? {} : { response_format: chat.responseFormat }),
          }),
        });
        if (response.statusCode !== 200) {
          const retryAfter = response.headers['retry-after'];
          throw statusError(
            response.statusCode,
            await readText(response.body),
            typeof retryAfter === 'string' ? retryAfter : undefined,
          );
        }
        const splitter = new ThinkSplitter(options.untaggedReasoning ?? false);
        let usage: Usage | undefined;
        let finishReason: string | undefined;
        let sawReasoningField = false;
        for await (const data of sseData(response.body, { maxEventBytes })) {
          if (data.trim() === '[DONE]') {
            finished = true;
            break;
          }
          let parsed;
          try {
            const event: unknown = JSON.parse(data);
            const failure = streamError(event, gotFirst);
            if (failure) {
              options.logger.warn(
                { err: failure, model: chat.model },
                'the LLM server reported an error inside the stream; see its log for the request',
              );
              throw failure;
            }
            parsed = chunkSchema.parse(event);
          } catch (error) {
            if (error instanceof AiError) throw error;
            options.logger.warn(
              { data: data.slice(0, 200) },
              'the LLM server sent a chunk that is not a chat completion chunk; skipped',
            );
            continue;
          }
          if (parsed.usage) {
            usage = {
              promptTokens: parsed.usage.prompt_tokens,
              completionTokens: parsed.usage.completion_tokens,
            };
          }
          const choice = parsed.choices?.[0];
          if (choice?.finish_reason) finishReason = choice.finish_reason;
          const reasoning = choice?.delta?.reasoning_content ?? choice?.delta?.reasoning ?? '';
          const content = choice?.delta?.content ?? '';
          if (reasoning === '' && content === '') continue;
          if (!gotFirst) {
            gotFirst = true;
            permit.success();
            metrics?.firstToken.observe((performance.now() - started) / 1000);
          }
          clearTimeout(gap);
          gap = setTimeout(
            () => abort(new AiError('timeout', `no token for ${timeouts.gapMs} ms`)),
            timeouts.gapMs,
          );
          if (reasoning !== '') {
            sawReasoningField = true;
            yield { type: 'reasoning', text: reasoning };
          }
          if (content !== '') {
            // A server that sends reasoning apart never tags it inside the content.
            const parts = sawReasoningField
              ? [{ kind: 'answer' as const, text: content }]
              : splitter.push(content);
            for (const part of parts) yield { type: part.kind, text: part.text };
          }
        }
        if (!finished && finishReason === undefined) {
          throw new AiError(
            gotFirst ? 'interrupted' : 'unavailable',
            'the LLM server closed the stream before the end of the answer',
          );
        }
        finished = true;
        for (const part of splitter.end()) yield { type: part.kind, text: part.text };
        if (usage) {
          metrics?.tokens.inc({ kind: 'prompt' }, usage.promptTokens);
          metrics?.tokens.inc({ kind: 'completion' }, usage.completionTokens);
        }
        permit.success();
        metrics?.requests.inc({ outcome: 'ok' });
        yield { type: 'done', usage, finishReason };
        return;
      } catch (error) {
        let failure = classify(error, controller.signal.reason, callerSignal);
        if (gotFirst && failure.kind === 'unavailable') {
          failure = new AiError('interrupted', `the answer broke off: ${failure.message}`);
        }
        settle(permit, failure);
        if (failure.kind === 'cancelled') {
          metrics?.requests.inc({ outcome: 'cancelled' });
          throw failure;
        }
        const retryable =
          failure.kind === 'unavailable' || failure.kind === 'busy' || failure.kind === 'timeout';
        if (!gotFirst && retryable && attempt < retries) {
          options.logger.warn(
            { err: failure, attempt: attempt + 1, model: chat.model },
            'LLM call failed before its first token; retrying',
          );
          await sleep(retryDelayMs(attempt + 1), callerSignal);
          continue;
        }
        metrics?.requests.inc({ outcome: failure.kind });
        throw failure;
      } finally {
        // Whatever ended the call (a consumer that stopped reading too), a half-open trial
        // must not keep its place: the circuit would refuse every call after it.
        permit.release();
        clearTimeout(total);
        clearTimeout(gap);
        callerSignal?.removeEventListener('abort', onCallerAbort);
        // A consumer that stopped early leaves the body unread: close the connection.
        if (!finished) controller.abort(new AiError('cancelled', 'stream no longer read'));
      }
    }
  }

  async function completeJson<T>(
    chat: ChatRequest,
    schema: z.ZodType<T>,
    callOptions: { name?: string; signal?: AbortSignal } = {},
  ): Promise<{ value: T; usage: Usage | undefined }> {
    const jsonSchema = z.toJSONSchema(schema);
    const body: ChatRequest = {
      ...chat,
      responseFormat: {
        type: 'json_schema',
        json_schema: { name: callOptions.name ?? 'result', schema: jsonSchema, strict: true },
      },
    };
    let answer = '';
    let usage: Usage | undefined;
    // Streaming gives the same timeouts, retries and circuit as chat; the reasoning (if
    // any) is dropped and only the answer must be the JSON.
    for await (const event of streamChat(body, callOptions)) {
      if (event.type === 'answer') answer += event.text;
      if (event.type === 'done') usage = event.usage;
    }
    const text = answer.trim().replace(/^```(?:json)?\s*|\s*```$/g, '');
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      throw new AiError(
        'bad_response',
        `the LLM answered something that is not JSON: ${text.slice(0, 200)}`,
      );
    }
    const checked = schema.safeParse(value);
    if (!checked.success) {
      throw new AiError(
        'bad_response',
        `the LLM's JSON does not match the schema: ${checked.error.message.slice(0, 300)}`,
      );
    }
    return { value: checked.data, usage };
  }

  async function listModels(callOptions: { signal?: AbortSignal } = {}): Promise<string[]> {
    try {
      const response = await request(`${base}/models`, {
        dispatcher: agent,
        headers,
        signal: callOptions.signal ?? AbortSignal.timeout(timeouts.connectMs + 2_000),
      });
      if (response.statusCode !== 200) {
        throw statusError(response.statusCode, await readText(response.body), undefined);
      }
      const body = modelListSchema.safeParse(
        await readJson(response.body, maxBodyBytes, 'model list'),
      );
      if (!body.success) {
        throw new AiError('bad_response', 'the LLM server answered /models without a model list');
      }
      return (body.data.data ?? [])
        .map((m) => m.id)
        .filter((id): id is string => typeof id === 'string');
    } catch (error) {
      throw classify(error, undefined, callOptions.signal);
    }
  }

  async function transcribe(
    audio: Uint8Array,
    callOptions: { filename: string; model: string; signal?: AbortSignal },
  ): Promise<string> {
    const callerSignal = callOptions.signal;
    if (callerSignal?.aborted) throw new AiError('cancelled', 'the caller cancelled the request');
    const permit = admit();
    const controller = new AbortController();
    const onCallerAbort = () =>
      controller.abort(new AiError('cancelled', 'the caller cancelled the request'));
    callerSignal?.addEventListener('abort', onCallerAbort);
    const total = setTimeout(
      () =>
        controller.abort(
          new AiError('timeout', `the transcription took longer than ${timeouts.totalMs} ms`),
        ),
      timeouts.totalMs,
    );
    const form = new FormData();
    form.append('model', callOptions.model);
    form.append('file', new Blob([audio]), callOptions.filename);
    try {
      const response = await request(`${base}/audio/transcriptions`, {
        dispatcher: agent,
        method: 'POST',
        headers: options.apiKey ? { authorization: `Bearer ${options.apiKey}` } : {},
        body: form,
        signal: controller.signal,
      });
      if (response.statusCode !== 200) {
        const retryAfter = response.headers['retry-after'];
        throw statusError(
          response.statusCode,
          await readText(response.body),
          typeof retryAfter === 'string' ? retryAfter : undefined,
        );
      }
      const body = transcriptionSchema.safeParse(
        await readJson(response.body, maxBodyBytes, 'transcription'),
      );
      if (!body.success) throw new AiError('bad_response', 'the transcription has no text');
      permit.success();
      metrics?.requests.inc({ outcome: 'ok' });
      return body.data.text;
    } catch (error) {
      const failure = classify(error, controller.signal.reason, callerSignal);
      settle(permit, failure);
      metrics?.requests.inc({ outcome: failure.kind });
      throw failure;
    } finally {
      permit.release();
      clearTimeout(total);
      callerSignal?.removeEventListener('abort', onCallerAbort);
    }
  }

  return {
    streamChat,
    completeJson,
    listModels,
    transcribe,
    circuit,
    close: () => agent.close(),
  };
}
