import { sseData, ThinkSplitter } from '@herald/ai';
import { Agent, request } from 'undici';
import type { LoadPrompt } from './prompts.js';
import { percentiles, type Percentiles } from './stats.js';

/** What one streamed request did, timed with performance.now(). */
export interface RequestOutcome {
  ok: boolean;
  /** HTTP status, or 0 when no response came. */
  status: number;
  /** Why it failed, for the error summary. */
  error?: string;
  startedAt: number;
  firstReasoningAt?: number;
  firstAnswerAt?: number;
  /** When each token-carrying event arrived, reasoning and answer alike. */
  tokenTimes: number[];
  /** usage.completion_tokens when the server sent it, else the events counted. */
  completionTokens: number;
}

export interface Endpoint {
  /** OpenAI-compatible base URL, ending in /v1. */
  baseUrl: string;
  apiKey: string | undefined;
  model: string;
  maxTokens: number;
  timeoutMs: number;
}

/** One concurrency level's figures, as `--json` prints them. */
export interface LevelReport {
  concurrency: number;
  requests: number;
  succeeded: number;
  errors: number;
  /** Of the errors, answers with HTTP 429 (the server or a gateway shedding load). */
  rate_limited: number;
  /** To the first token of any kind: what "starts" means to the server. */
  ttft_ms: Percentiles;
  /** To the first reasoning token (requests that reasoned). */
  reasoning_ttft_ms: Percentiles;
  /** To the first answer token: what a user of a reasoning model waits for. */
  answer_ttft_ms: Percentiles;
  /** Gaps between consecutive tokens of a request, all requests pooled. */
  itl_ms: Percentiles;
  tokens_per_s: {
    /** Decode speed of each request: tokens after the first over the time they took. */
    per_request: Percentiles;
    /** All completion tokens of the level over its wall time. */
    total: number;
  };
  wall_s: number;
  /** The distinct error messages, with counts. */
  error_kinds: Record<string, number>;
}

interface Delta {
  content?: string | null;
  reasoning_content?: string | null;
  reasoning?: string | null;
}
interface Chunk {
  choices?: { delta?: Delta }[];
  usage?: { completion_tokens?: number } | null;
  error?: { message?: string } | string;
  object?: string;
  message?: string;
}

/** Streams one chat completion and times its tokens. */
export async function streamOnce(
  dispatcher: Agent,
  endpoint: Endpoint,
  prompt: LoadPrompt,
): Promise<RequestOutcome> {
  const startedAt = performance.now();
  const outcome: RequestOutcome = {
    ok: false,
    status: 0,
    startedAt,
    tokenTimes: [],
    completionTokens: 0,
  };
  try {
    const response = await request(`${endpoint.baseUrl.replace(/\/$/, '')}/chat/completions`, {
      method: 'POST',
      dispatcher,
      headersTimeout: endpoint.timeoutMs,
      bodyTimeout: endpoint.timeoutMs,
      headers: {
        'content-type': 'application/json',
        accept: 'text/event-stream',
        ...(endpoint.apiKey ? { authorization: `Bearer ${endpoint.apiKey}` } : {}),
      },
      body: JSON.stringify({
        model: endpoint.model,
        messages: prompt.messages,
        stream: true,
        max_tokens: endpoint.maxTokens,
        stream_options: { include_usage: true },
      }),
    });
    outcome.status = response.statusCode;
    if (response.statusCode !== 200) {
      const text = (await response.body.text()).slice(0, 200).replace(/\s+/g, ' ');
      outcome.error = `HTTP ${response.statusCode}${text ? `: ${text}` : ''}`;
      return outcome;
    }
    const splitter = new ThinkSplitter();
    let events = 0;
    let usageTokens: number | undefined;
    const take = (kind: 'reasoning' | 'answer', text: string, at: number) => {
      if (text === '') return;
      if (kind === 'reasoning') outcome.firstReasoningAt ??= at;
      else outcome.firstAnswerAt ??= at;
    };
    for await (const data of sseData(response.body)) {
      if (data.trim() === '[DONE]') break;
      const chunk = JSON.parse(data) as Chunk;
      if (chunk.error !== undefined || chunk.object === 'error') {
        const error = chunk.error;
        outcome.error = `stream error: ${typeof error === 'string' ? error : (error?.message ?? chunk.message ?? 'unknown')}`;
        return outcome;
      }
      if (typeof chunk.usage?.completion_tokens === 'number')
        usageTokens = chunk.usage.completion_tokens;
      const delta = chunk.choices?.[0]?.delta;
      if (!delta) continue;
      const at = performance.now();
      const reasoning = delta.reasoning_content ?? delta.reasoning ?? '';
      const content = delta.content ?? '';
      if (reasoning === '' && content === '') continue;
      events += 1;
      outcome.tokenTimes.push(at);
      take('reasoning', reasoning, at);
      // Servers without a reasoning parser send the thinking inline, in <think> tags.
      for (const part of splitter.push(content)) take(part.kind, part.text, at);
    }
    for (const part of splitter.end()) take(part.kind, part.text, performance.now());
    outcome.completionTokens = usageTokens ?? events;
    outcome.ok = true;
    return outcome;
  } catch (error) {
    outcome.error = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    return outcome;
  }
}

export interface LevelOptions {
  endpoint: Endpoint;
  concurrency: number;
  requests: number;
  prompts: readonly LoadPrompt[];
  /** Called after each request finishes, for a progress line. */
  onProgress?: (done: number, errors: number) => void;
}

/** Runs `requests` requests, `concurrency` at a time, and summarises them. */
export async function runLevel(options: LevelOptions): Promise<LevelReport> {
  const { endpoint, concurrency, requests, prompts } = options;
  const dispatcher = new Agent({ connections: concurrency, keepAliveTimeout: 30_000 });
  const outcomes: RequestOutcome[] = [];
  let next = 0;
  let errors = 0;
  const started = performance.now();
  try {
    const worker = async () => {
      while (next < requests) {
        const index = next;
        next += 1;
        const outcome = await streamOnce(dispatcher, endpoint, prompts[index % prompts.length]!);
        if (!outcome.ok) errors += 1;
        outcomes.push(outcome);
        options.onProgress?.(outcomes.length, errors);
      }
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, requests) }, worker));
  } finally {
    await dispatcher.close();
  }
  const wallSeconds = (performance.now() - started) / 1000;
  return summarise(concurrency, outcomes, wallSeconds);
}

/** The level's percentiles and totals from its requests. */
export function summarise(
  concurrency: number,
  outcomes: readonly RequestOutcome[],
  wallSeconds: number,
): LevelReport {
  const ok = outcomes.filter((o) => o.ok);
  const ttft: number[] = [];
  const reasoningTtft: number[] = [];
  const answerTtft: number[] = [];
  const itl: number[] = [];
  const perRequest: number[] = [];
  let tokens = 0;
  for (const o of ok) {
    tokens += o.completionTokens;
    const first = o.tokenTimes[0];
    const last = o.tokenTimes[o.tokenTimes.length - 1];
    if (first !== undefined) ttft.push(first - o.startedAt);
    if (o.firstReasoningAt !== undefined) reasoningTtft.push(o.firstReasoningAt - o.startedAt);
    if (o.firstAnswerAt !== undefined) answerTtft.push(o.firstAnswerAt - o.startedAt);
    for (let i = 1; i < o.tokenTimes.length; i += 1)
      itl.push(o.tokenTimes[i]! - o.tokenTimes[i - 1]!);
    if (first !== undefined && last !== undefined && last > first && o.completionTokens > 1) {
      perRequest.push((o.completionTokens - 1) / ((last - first) / 1000));
    }
  }
  const errorKinds: Record<string, number> = {};
  for (const o of outcomes) {
    if (o.ok) continue;
    const kind = o.error ?? 'unknown';
    errorKinds[kind] = (errorKinds[kind] ?? 0) + 1;
  }
  return {
    concurrency,
    requests: outcomes.length,
    succeeded: ok.length,
    errors: outcomes.length - ok.length,
    rate_limited: outcomes.filter((o) => o.status === 429).length,
    ttft_ms: percentiles(ttft),
    reasoning_ttft_ms: percentiles(reasoningTtft),
    answer_ttft_ms: percentiles(answerTtft),
    itl_ms: percentiles(itl),
    tokens_per_s: {
      per_request: percentiles(perRequest),
      total: wallSeconds > 0 ? Math.round((tokens / wallSeconds) * 10) / 10 : 0,
    },
    wall_s: Math.round(wallSeconds * 100) / 100,
    error_kinds: errorKinds,
  };
}
