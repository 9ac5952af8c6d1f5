/**
 * `pnpm loadtest:llm`: streams Herald's prompts to an OpenAI-compatible endpoint at each
 * concurrency level and prints the latency and throughput table (or `--json`).
 */
import { request } from 'undici';
import { EXIT_USAGE, parseFlags, USAGE, UsageError, type LoadTestOptions } from './flags.js';
import { runLevel, type Endpoint } from './load.js';
import { loadPrompts } from './prompts.js';
import { renderTable, type LoadTestReport } from './report.js';

/** EX_UNAVAILABLE (sysexits.h): no request of the whole run got an answer. */
const EXIT_UNAVAILABLE = 69;

/** The model to load-test when none was named: the first the endpoint serves. */
async function firstServedModel(options: LoadTestOptions): Promise<string> {
  const response = await request(`${options.baseUrl.replace(/\/$/, '')}/models`, {
    headers: options.apiKey ? { authorization: `Bearer ${options.apiKey}` } : {},
    headersTimeout: options.timeoutMs,
    bodyTimeout: options.timeoutMs,
  });
  const body = (await response.body.json()) as { data?: { id?: unknown }[] };
  const id = body.data?.[0]?.id;
  if (response.statusCode !== 200 || typeof id !== 'string') {
    throw new Error(
      `GET ${options.baseUrl}/models answered ${response.statusCode} without a model id; pass --model`,
    );
  }
  return id;
}

async function main(): Promise<number> {
  let options: LoadTestOptions;
  try {
    // eslint-disable-next-line no-restricted-properties -- the CLI's one read of its environment
    options = parseFlags(process.argv.slice(2), process.env);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    process.stderr.write(`loadtest: ${error.message}\n\n${USAGE}\n`);
    return EXIT_USAGE;
  }
  if (options.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const prompts = loadPrompts(options.promptsDir);
  const model = options.model ?? (await firstServedModel(options));
  const endpoint: Endpoint = {
    baseUrl: options.baseUrl,
    apiKey: options.apiKey,
    model,
    maxTokens: options.maxTokens,
    timeoutMs: options.timeoutMs,
  };
  const report: LoadTestReport = {
    base_url: options.baseUrl,
    model,
    max_tokens: options.maxTokens,
    levels: [],
  };
  const live = process.stderr.isTTY;
  for (const concurrency of options.concurrency) {
    const requests = options.requests ?? Math.max(10, 2 * concurrency);
    let lastDrawn = 0;
    const level = await runLevel({
      endpoint,
      concurrency,
      requests,
      prompts,
      onProgress: live
        ? (done, errors) => {
            const now = performance.now();
            if (done < requests && now - lastDrawn < 100) return;
            lastDrawn = now;
            process.stderr.write(
              `\rconcurrency ${concurrency}: ${done}/${requests} done, ${errors} errors`,
            );
          }
        : undefined,
    });
    if (live) process.stderr.write('\n');
    report.levels.push(level);
  }
  process.stdout.write(
    options.json ? `${JSON.stringify(report, null, 2)}\n` : `${renderTable(report)}\n`,
  );
  const answered = report.levels.reduce((sum, level) => sum + level.succeeded, 0);
  if (answered === 0) {
    process.stderr.write(
      `loadtest: no request to ${options.baseUrl} succeeded; check the URL, the key and the model\n`,
    );
    return EXIT_UNAVAILABLE;
  }
  return 0;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`loadtest: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  },
);
