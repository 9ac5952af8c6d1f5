import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from '@jest/globals';
import { startLlmDouble, type LlmDouble, type LlmScript } from '@herald/testing';
import type { LevelReport } from '../src/load.js';
import type { LoadTestReport } from '../src/report.js';

const MAIN = fileURLToPath(new URL('../dist/loadtest.js', import.meta.url));
const PROMPTS = fileURLToPath(new URL('../../services/user-handler/prompts/', import.meta.url));

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `pnpm loadtest:llm`'s entry point as its own process, as an operator would. */
function loadtest(args: string[], env: Record<string, string> = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [MAIN, ...args], {
      env: { PATH: process.env.PATH ?? '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

async function json(args: string[]): Promise<LoadTestReport> {
  const run = await loadtest([...args, '--json']);
  expect(run.stderr).toBe('');
  expect(run.code).toBe(0);
  return JSON.parse(run.stdout) as LoadTestReport;
}

/** `measured` within `tolerance` (a fraction) of what the double was told. */
function near(measured: number | null, expected: number, tolerance = 0.1) {
  expect(measured).not.toBeNull();
  expect(Math.abs((measured as number) - expected)).toBeLessThanOrEqual(expected * tolerance);
}

const tokens = (n: number) => 'x'.repeat(4 * n); // the double streams 4 characters a token

let double: LlmDouble | undefined;
afterEach(async () => {
  await double?.close();
  double = undefined;
});

describe('pnpm loadtest:llm against the LLM double', () => {
  it('measures back the time to first token and the token rate the server streams at', async () => {
    const ttftMs = 200;
    const tokensPerSecond = 50;
    double = await startLlmDouble({
      timeToFirstTokenMs: ttftMs,
      tokensPerSecond,
      script: () => ({ reasoning: tokens(25), answer: tokens(25) }),
    });
    const report = await json([
      '--base-url',
      double.baseUrl,
      '--concurrency',
      '1,3',
      '--requests',
      '3',
    ]);

    expect(report.levels.map((l) => [l.concurrency, l.requests, l.errors])).toEqual([
      [1, 3, 0],
      [3, 3, 0],
    ]);
    for (const level of report.levels) {
      near(level.ttft_ms.p50, ttftMs);
      near(level.reasoning_ttft_ms.p50, ttftMs);
      // The answer starts once the 25 reasoning tokens are out.
      near(level.answer_ttft_ms.p50, ttftMs + (25 / tokensPerSecond) * 1000);
      near(level.itl_ms.p50, 1000 / tokensPerSecond);
      near(level.tokens_per_s.per_request.p50, tokensPerSecond);
    }
    const single = report.levels[0] as LevelReport;
    const parallel = report.levels[1] as LevelReport;
    // Three streams at once deliver about three times the tokens per second of one.
    expect(parallel.tokens_per_s.total).toBeGreaterThan(2 * single.tokens_per_s.total);
  });

  it("sends Herald's own system prompts, streamed, with the flags' model and max_tokens", async () => {
    double = await startLlmDouble({ models: ['served-a', 'served-b'] });
    await json([
      '--base-url',
      double.baseUrl,
      '--concurrency',
      '2',
      '--requests',
      '4',
      '--max-tokens',
      '64',
    ]);

    const chat = readFileSync(`${PROMPTS}chat.md`, 'utf8').trim();
    const market = readFileSync(`${PROMPTS}market.md`, 'utf8').trim();
    expect(double.requests).toHaveLength(4);
    for (const request of double.requests) {
      expect(request).toMatchObject({ model: 'served-a', stream: true, max_tokens: 64 });
      expect([chat, market]).toContain(request.messages[0]?.content);
      expect(request.messages[1]?.role).toBe('user');
    }
    // Short chat questions and long market questions alternate.
    const lengths = double.requests.map((r) => String(r.messages[1]?.content).length);
    expect(Math.max(...lengths)).toBeGreaterThan(5 * Math.min(...lengths));
  });

  it('shows the answer starting later as the model reasons longer, while the first token does not move', async () => {
    const tokensPerSecond = 50;
    let reasoningTokens = 10;
    double = await startLlmDouble({
      timeToFirstTokenMs: 100,
      tokensPerSecond,
      script: () => ({ reasoning: tokens(reasoningTokens), answer: tokens(5) }),
    });
    const args = ['--base-url', double.baseUrl, '--concurrency', '2', '--requests', '2'];
    const brief = (await json(args)).levels[0] as LevelReport;
    reasoningTokens = 60;
    const long = (await json(args)).levels[0] as LevelReport;

    // The first token does not move with the reasoning's length: it differs by far less
    // than the answer's shift below (a loaded machine adds a few milliseconds either way).
    expect(Math.abs((long.ttft_ms.p50 as number) - (brief.ttft_ms.p50 as number))).toBeLessThan(
      250,
    );
    // 50 more reasoning tokens at 50 tokens/s: the answer starts a second later.
    near((long.answer_ttft_ms.p50 as number) - (brief.answer_ttft_ms.p50 as number), 1000);
  });

  it('counts refused and rate-limited requests without stopping the run', async () => {
    let served = 0;
    double = await startLlmDouble({
      tokensPerSecond: 1000,
      script: (): LlmScript => {
        served += 1;
        if (served % 3 === 1) return { answer: '', status: 429, retryAfterSeconds: 1 };
        if (served % 3 === 2) return { answer: '', status: 500 };
        return { answer: tokens(5) };
      },
    });
    const level = (
      await json(['--base-url', double.baseUrl, '--concurrency', '1', '--requests', '6'])
    ).levels[0] as LevelReport;

    expect(level).toMatchObject({ requests: 6, succeeded: 2, errors: 4, rate_limited: 2 });
    expect(Object.keys(level.error_kinds).sort()).toEqual([
      expect.stringMatching(/^HTTP 429/),
      expect.stringMatching(/^HTTP 500/),
    ]);
  });

  it('exits 69 with the reason when no request gets an answer', async () => {
    double = await startLlmDouble({ script: () => ({ answer: '', status: 503 }) });
    const run = await loadtest([
      '--base-url',
      double.baseUrl,
      '--concurrency',
      '1',
      '--requests',
      '2',
    ]);

    expect(run.code).toBe(69);
    expect(run.stderr).toMatch(/no request to .* succeeded; check the URL, the key and the model/);
    expect(run.stdout).toMatch(/HTTP 503/);
  });

  it('prints one table row per concurrency level, taking the endpoint from AI_BASE_URL', async () => {
    double = await startLlmDouble({ tokensPerSecond: 1000 });
    const run = await loadtest(['--concurrency', '1,2', '--requests', '2'], {
      AI_BASE_URL: double.baseUrl,
      AI_DEFAULT_MODEL: 'deepseek-r1-14b',
    });

    expect(run.code).toBe(0);
    // Not a terminal: no progress line, only the table on stdout.
    expect(run.stderr).toBe('');
    const lines = run.stdout.trim().split('\n');
    expect(lines[1]).toMatch(/conc\s+reqs\s+ok\s+err\s+429\s+TTFT ms p50\/95\/99\s+answer TTFT/);
    expect(lines.slice(2).map((line) => line.trim().split(/\s+/).slice(0, 4))).toEqual([
      ['1', '2', '2', '0'],
      ['2', '2', '2', '0'],
    ]);
  });

  it.each([
    [
      ['--concurrency', '1,0', '--base-url', 'http://127.0.0.1:9/v1'],
      /--concurrency must be a positive whole number, got "0"/,
    ],
    [
      ['--requests', 'ten', '--base-url', 'http://127.0.0.1:9/v1'],
      /--requests must be a positive whole number/,
    ],
    [['--base-url', 'http://127.0.0.1:9/v1', '--bogus'], /Unknown option '--bogus'/],
    [[], /--base-url is required \(or set AI_BASE_URL\)/],
    [['--base-url', 'vllm:8000'], /--base-url must be an http\(s\) URL/],
  ])('refuses bad flags %j with a clear message and exit 64', async (args, message) => {
    const run = await loadtest(args);

    expect(run.code).toBe(64);
    expect(run.stderr).toMatch(message);
    expect(run.stderr).toMatch(/Usage: pnpm loadtest:llm/);
    expect(run.stdout).toBe('');
  });
});
