import { parseArgs } from 'node:util';
import { HERALD_PROMPTS_DIR } from './prompts.js';

/** EX_USAGE (sysexits.h): the command was used incorrectly. */
export const EXIT_USAGE = 64;

export const USAGE = `Usage: pnpm loadtest:llm [options]

Streams Herald's prompts to an OpenAI-compatible endpoint at rising concurrency and prints
time to first token (reasoning and answer apart), inter-token latency, tokens/s and errors.

Options:
  --base-url URL        endpoint ending in /v1 (default: AI_BASE_URL)
  --api-key KEY         bearer token (default: AI_API_KEY)
  --model ID            model to ask for (default: AI_DEFAULT_MODEL, else the first of /models)
  --concurrency LIST    comma-separated levels (default: 1,10,50)
  --requests N          requests per level (default: twice the level, at least 10)
  --max-tokens N        max_tokens of each request (default: 512)
  --timeout-ms N        per-request limit for headers and for each body read (default: 300000)
  --prompts-dir DIR     Herald's system prompts (default: services/user-handler/prompts)
  --json                print one JSON document instead of the table
  -h, --help            this text`;

export interface LoadTestOptions {
  baseUrl: string;
  apiKey: string | undefined;
  model: string | undefined;
  concurrency: number[];
  /** Requests per level; undefined: twice the level, at least 10. */
  requests: number | undefined;
  maxTokens: number;
  timeoutMs: number;
  promptsDir: string;
  json: boolean;
  help: boolean;
}

/** A flag that cannot be used as given; the CLI prints it with the usage and exits 64. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/**
 * The environment the load test reads its defaults from, by Herald's names: AI_BASE_URL,
 * AI_API_KEY, AI_DEFAULT_MODEL.
 */
export type LoadTestEnv = Readonly<Record<string, string | undefined>>;

function positiveInteger(flag: string, value: string): number {
  if (!/^\d+$/.test(value) || Number(value) < 1) {
    throw new UsageError(`${flag} must be a positive whole number, got "${value}"`);
  }
  return Number(value);
}

/** Parses the command line (and the AI_* defaults); throws UsageError on a bad flag. */
export function parseFlags(argv: readonly string[], env: LoadTestEnv): LoadTestOptions {
  let values;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: false,
      options: {
        'base-url': { type: 'string' },
        'api-key': { type: 'string' },
        model: { type: 'string' },
        concurrency: { type: 'string' },
        requests: { type: 'string' },
        'max-tokens': { type: 'string' },
        'timeout-ms': { type: 'string' },
        'prompts-dir': { type: 'string' },
        json: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error));
  }
  const help = values.help ?? false;
  const baseUrl = values['base-url'] ?? env['AI_BASE_URL'] ?? '';
  if (!help) {
    if (baseUrl === '') throw new UsageError('--base-url is required (or set AI_BASE_URL)');
    let url: URL;
    try {
      url = new URL(baseUrl);
    } catch {
      throw new UsageError(`--base-url must be an http(s) URL, got "${baseUrl}"`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw new UsageError(`--base-url must be an http(s) URL, got "${baseUrl}"`);
    }
  }
  const concurrency = (values.concurrency ?? '1,10,50')
    .split(',')
    .map((level) => positiveInteger('--concurrency', level.trim()));
  return {
    baseUrl,
    apiKey: values['api-key'] ?? env['AI_API_KEY'],
    model: values.model ?? env['AI_DEFAULT_MODEL'],
    concurrency,
    requests:
      values.requests === undefined ? undefined : positiveInteger('--requests', values.requests),
    maxTokens:
      values['max-tokens'] === undefined
        ? 512
        : positiveInteger('--max-tokens', values['max-tokens']),
    timeoutMs:
      values['timeout-ms'] === undefined
        ? 300_000
        : positiveInteger('--timeout-ms', values['timeout-ms']),
    promptsDir: values['prompts-dir'] ?? HERALD_PROMPTS_DIR,
    json: values.json ?? false,
    help,
  };
}
