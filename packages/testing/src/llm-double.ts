import Fastify, { type FastifyInstance, type FastifyReply } from 'fastify';

/** What the double answers to one chat request. */
export interface LlmScript {
  /** Reasoning before the answer, sent as `reasoning_content` deltas or inside `<think>`. */
  reasoning?: string;
  answer: string;
  /** Answer with this HTTP status instead (e.g. 429, 500, 503). */
  status?: number;
  retryAfterSeconds?: number;
  /** Close the connection after this many tokens, without finishing. */
  disconnectAfterTokens?: number;
  /** Overrides the double's pacing for this answer. */
  timeToFirstTokenMs?: number;
  tokensPerSecond?: number;
  /**
   * After this many tokens, an error event inside the stream and then `[DONE]`, as vLLM
   * sends when generation fails after the 200 went out. `shape` picks the JSON: `nested`
   * (`{"error":{"message","type","param","code"}}`, vLLM's streaming error) or `flat`
   * (`{"object":"error","message",…}`, vLLM's older ErrorResponse and others).
   */
  streamError?: {
    afterTokens: number;
    message: string;
    type?: string;
    code?: number;
    shape?: 'nested' | 'flat';
  };
  /** One data event of at least this many bytes before the answer (a server gone wrong). */
  oversizedEventBytes?: number;
}

/** What the double answers to one transcription request. */
export interface TranscriptionScript {
  text?: string;
  /** Answer with this HTTP status instead (e.g. 400, 429, 503). */
  status?: number;
  retryAfterSeconds?: number;
  /** Wait this long before answering (ended early when the client goes away). */
  delayMs?: number;
  /** Pads the JSON answer to at least this many bytes. */
  paddedToBytes?: number;
}

export interface LlmRequest {
  model: string;
  messages: { role: string; content: unknown }[];
  stream: boolean;
  response_format?: unknown;
  max_tokens?: number;
}

export interface LlmDoubleOptions {
  models?: string[];
  /** How reasoning is sent: vLLM's reasoning parser (`field`), or inline `<think>` tags. */
  reasoningStyle?: 'field' | 'tags' | 'untagged';
  timeToFirstTokenMs?: number;
  tokensPerSecond?: number;
  /** Characters per streamed token. */
  charsPerToken?: number;
  /** What /audio/transcriptions returns for any audio. */
  transcript?: string;
  /** Decides each transcription answer; overrides `transcript`. */
  transcription?: () => TranscriptionScript;
  /** Pads the /models JSON to at least this many bytes (a server answering far too much). */
  modelsPaddedToBytes?: number;
  /** Decides each answer; by default the last user message, echoed. */
  script?: (request: LlmRequest) => LlmScript;
}

/** When one streamed answer's tokens were written (performance.now() of this process). */
export interface StreamTiming {
  firstTokenAt: number;
  lastTokenAt: number;
  tokens: number;
  /** The last user message, to match the answer to its question. */
  question: string;
}

export interface LlmDouble {
  /** Base URL to use as AI_BASE_URL (ends in /v1). */
  readonly baseUrl: string;
  readonly requests: LlmRequest[];
  readonly streams: StreamTiming[];
  /** Audio transcriptions served. */
  readonly transcriptions: number;
  /** Transcription requests received, answered or not. */
  readonly transcriptionRequests: number;
  /** Requests whose stream is still open. */
  readonly active: number;
  /** Replaces the script. */
  setScript(script: (request: LlmRequest) => LlmScript): void;
  /** Replaces the transcription script. */
  setTranscription(script: () => TranscriptionScript): void;
  close(): Promise<void>;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** `body` with a filler field that makes its JSON at least `bytes` long. */
function padded(body: object, bytes: number | undefined): object {
  if (bytes === undefined) return body;
  return { ...body, padding: 'x'.repeat(Math.max(0, bytes - JSON.stringify(body).length)) };
}

function tokens(text: string, size: number): string[] {
  const out: string[] = [];
  for (let i = 0; i < text.length; i += size) out.push(text.slice(i, i + size));
  return out;
}

/**
 * An OpenAI-compatible server on loopback standing in for vLLM: real SSE streaming at a
 * chosen time to first token and token rate, reasoning sent the way vLLM's reasoning
 * parser sends it or inline in `<think>` tags, errors with their status codes, error
 * events inside the stream, oversized events and bodies, and connections dropped mid-answer.
 */
export async function startLlmDouble(options: LlmDoubleOptions = {}): Promise<LlmDouble> {
  /** An error answer as OpenAI-compatible servers send one, with `retry-after` if given. */
  const refuse = (reply: FastifyReply, status: number, retryAfterSeconds?: number) => {
    if (retryAfterSeconds !== undefined) reply.header('retry-after', String(retryAfterSeconds));
    return reply
      .code(status)
      .send({ error: { message: `test double answered ${status}`, code: status } });
  };
  const app: FastifyInstance = Fastify({ logger: false, bodyLimit: 20 * 1024 * 1024 });
  const requests: LlmRequest[] = [];
  const streams: StreamTiming[] = [];
  const models = options.models ?? ['deepseek-r1-14b'];
  const charsPerToken = options.charsPerToken ?? 4;
  let active = 0;
  let transcriptions = 0;
  let transcriptionRequests = 0;
  let transcription =
    options.transcription ?? ((): TranscriptionScript => ({ text: options.transcript }));
  let script =
    options.script ??
    ((request: LlmRequest): LlmScript => {
      const last = [...request.messages].reverse().find((m) => m.role === 'user');
      return { answer: `You said: ${typeof last?.content === 'string' ? last.content : '…'}` };
    });

  app.get('/v1/models', async () =>
    padded(
      {
        object: 'list',
        data: models.map((id) => ({ id, object: 'model', owned_by: 'herald-test' })),
      },
      options.modelsPaddedToBytes,
    ),
  );

  // Whisper as vLLM serves it: multipart in, {"text": …} out.
  app.addContentTypeParser(/^multipart\/form-data/, (_request, payload, done) => {
    const chunks: Buffer[] = [];
    payload.on('data', (chunk: Buffer) => chunks.push(chunk));
    payload.on('end', () => done(null, Buffer.concat(chunks)));
  });
  app.post<{ Body: Buffer }>('/v1/audio/transcriptions', async (request, reply) => {
    const body = request.body.toString('latin1');
    if (!/name="file"/.test(body) || !/name="model"/.test(body)) {
      return reply.code(400).send({ error: { message: 'file and model are required' } });
    }
    transcriptionRequests += 1;
    const plan = transcription();
    if (plan.delayMs) {
      await Promise.race([
        sleep(plan.delayMs),
        new Promise((resolve) => reply.raw.on('close', resolve)),
      ]);
      if (reply.raw.destroyed) {
        reply.hijack();
        return;
      }
    }
    if (plan.status && plan.status !== 200)
      return refuse(reply, plan.status, plan.retryAfterSeconds);
    transcriptions += 1;
    return padded({ text: plan.text ?? 'a transcript' }, plan.paddedToBytes);
  });

  app.post<{ Body: LlmRequest }>('/v1/chat/completions', async (request, reply) => {
    const body = request.body;
    requests.push(body);
    const plan = script(body);
    if (plan.status && plan.status !== 200)
      return refuse(reply, plan.status, plan.retryAfterSeconds);
    const id = `chatcmpl-${requests.length}`;
    const style = options.reasoningStyle ?? 'field';
    const ttft = plan.timeToFirstTokenMs ?? options.timeToFirstTokenMs ?? 0;
    const rate = plan.tokensPerSecond ?? options.tokensPerSecond ?? 1_000;
    const chunk = (delta: object, finish: string | null = null) =>
      `data: ${JSON.stringify({ id, object: 'chat.completion.chunk', model: body.model, choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`;

    const deltas: object[] = [];
    const reasoning = plan.reasoning ?? '';
    if (reasoning !== '') {
      if (style === 'field')
        for (const t of tokens(reasoning, charsPerToken)) deltas.push({ reasoning_content: t });
      else {
        const tagged =
          style === 'tags' ? `<think>${reasoning}</think>\n\n` : `${reasoning}</think>\n\n`;
        for (const t of tokens(tagged, charsPerToken)) deltas.push({ content: t });
      }
    }
    for (const t of tokens(plan.answer, charsPerToken)) deltas.push({ content: t });

    if (!body.stream) {
      await sleep(ttft + (deltas.length / rate) * 1000);
      const content =
        style === 'field'
          ? plan.answer
          : deltas.map((d) => (d as { content?: string }).content ?? '').join('');
      return {
        id,
        object: 'chat.completion',
        model: body.model,
        choices: [
          {
            index: 0,
            message: {
              role: 'assistant',
              content,
              ...(style === 'field' && reasoning ? { reasoning_content: reasoning } : {}),
            },
            finish_reason: 'stop',
          },
        ],
        usage: {
          prompt_tokens: 10,
          completion_tokens: deltas.length,
          total_tokens: 10 + deltas.length,
        },
      };
    }

    reply.hijack();
    const raw = reply.raw;
    raw.writeHead(200, {
      'content-type': 'text/event-stream',
      'cache-control': 'no-cache',
      connection: 'keep-alive',
    });
    active += 1;
    let closed = false;
    const gone = new Promise<void>((resolve) =>
      raw.on('close', () => {
        closed = true;
        resolve();
      }),
    );
    const pause = (ms: number) => Promise.race([sleep(ms), gone]);
    try {
      raw.write(chunk({ role: 'assistant', content: '' }));
      if (plan.oversizedEventBytes !== undefined)
        raw.write(chunk({ content: 'x'.repeat(plan.oversizedEventBytes) }));
      await pause(ttft);
      const started = performance.now();
      const last = [...body.messages].reverse().find((m) => m.role === 'user');
      const timing: StreamTiming = {
        firstTokenAt: 0,
        lastTokenAt: 0,
        tokens: 0,
        question: typeof last?.content === 'string' ? last.content : '',
      };
      streams.push(timing);
      for (let n = 0; n < deltas.length && !closed; n += 1) {
        if (plan.disconnectAfterTokens !== undefined && n >= plan.disconnectAfterTokens) {
          raw.destroy();
          return;
        }
        if (plan.streamError && n >= plan.streamError.afterTokens) break;
        // Paced against the clock, so the rate holds however long each write takes.
        const due = started + (n / rate) * 1000;
        const wait = due - performance.now();
        if (wait > 1) await pause(wait);
        raw.write(chunk(deltas[n]!));
        timing.lastTokenAt = performance.now();
        if (n === 0) timing.firstTokenAt = timing.lastTokenAt;
        timing.tokens = n + 1;
      }
      if (closed) return;
      if (plan.streamError) {
        const { message, type = 'BadRequestError', code = 400, shape } = plan.streamError;
        const error = { message, type, param: null, code };
        const event = shape === 'flat' ? { object: 'error', ...error } : { error };
        raw.write(`data: ${JSON.stringify(event)}\n\n`);
        raw.write('data: [DONE]\n\n');
        raw.end();
        return;
      }
      raw.write(chunk({}, 'stop'));
      raw.write(
        `data: ${JSON.stringify({ id, object: 'chat.completion.chunk', model: body.model, choices: [], usage: { prompt_tokens: 10, completion_tokens: deltas.length, total_tokens: 10 + deltas.length } })}\n\n`,
      );
      raw.write('data: [DONE]\n\n');
      raw.end();
    } finally {
      active -= 1;
    }
  });

  await app.listen({ port: 0, host: '127.0.0.1' });
  const address = app.server.address();
  if (!address || typeof address === 'string') throw new Error('the LLM double has no port');
  return {
    baseUrl: `http://127.0.0.1:${address.port}/v1`,
    requests,
    streams,
    get active() {
      return active;
    },
    get transcriptions() {
      return transcriptions;
    },
    get transcriptionRequests() {
      return transcriptionRequests;
    },
    setScript: (next) => {
      script = next;
    },
    setTranscription: (next) => {
      transcription = next;
    },
    close: async () => {
      await app.close();
    },
  };
}
