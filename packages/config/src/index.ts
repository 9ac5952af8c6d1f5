import { z } from 'zod';

export { z };

/** One thing wrong with the environment: which variable, and what it should have been. */
export interface ConfigProblem {
  variable: string;
  problem: string;
  expected: string;
}

/**
 * Thrown by {@link parseEnv} with every problem found at once, so an operator fixes the
 * whole environment in one go instead of one variable per restart.
 */
export class ConfigError extends Error {
  readonly problems: readonly ConfigProblem[];

  constructor(problems: readonly ConfigProblem[]) {
    const lines = problems.map((p) => `  - ${p.variable}: ${p.problem}; expected ${p.expected}`);
    super(
      `Invalid configuration: ${problems.length} problem${problems.length === 1 ? '' : 's'}\n${lines.join('\n')}`,
    );
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

type Env = Record<string, string | undefined>;

// Names whose values must never be echoed back, even in an error message.
const SECRET_NAME = /TOKEN|SECRET|PASSWORD|KEY|DATABASE_URL|REDIS_URL/i;

function describeValue(variable: string, value: string): string {
  if (SECRET_NAME.test(variable)) return 'a value that was not accepted';
  const shown = value.length > 60 ? `${value.slice(0, 57)}...` : value;
  return JSON.stringify(shown);
}

// `.optional()` and `.default()` wrap a field; its description sits on the inner schema.
function descriptionOf(field: z.ZodType): string | undefined {
  let current: z.ZodType | undefined = field;
  while (current) {
    if (current.description) return current.description;
    const def = current.def as { innerType?: z.ZodType; in?: z.ZodType };
    current = def.innerType ?? def.in;
  }
  return undefined;
}

/**
 * Parses `env` against `schema`. Empty strings count as unset, because `FOO=` in a
 * Kubernetes manifest or a .env file almost always means "not configured".
 * @throws ConfigError listing every missing or invalid variable.
 */
export function parseEnv<Shape extends z.ZodRawShape>(
  schema: z.ZodObject<Shape>,
  env: Env = process.env,
): z.infer<z.ZodObject<Shape>> {
  const cleaned: Env = {};
  for (const key of Object.keys(schema.shape)) {
    const value = env[key];
    if (value !== undefined && value.trim() !== '') cleaned[key] = value.trim();
  }
  const result = schema.safeParse(cleaned);
  if (result.success) return result.data;

  const problems = new Map<string, ConfigProblem>();
  for (const issue of result.error.issues) {
    const variable = String(issue.path[0] ?? '(environment)');
    if (problems.has(variable)) continue;
    const field = (schema.shape as unknown as Record<string, z.ZodType | undefined>)[variable];
    const expected = (field && descriptionOf(field)) ?? 'a valid value';
    const raw = cleaned[variable];
    const problem =
      raw === undefined ? 'missing' : `${describeValue(variable, raw)} is invalid (${issue.message})`;
    problems.set(variable, { variable, problem, expected });
  }
  throw new ConfigError([...problems.values()]);
}

/**
 * Parses the process environment at boot. On failure prints every problem to stderr and
 * exits with status 78 (EX_CONFIG), which Kubernetes shows as the container's exit code.
 */
export function loadEnv<Shape extends z.ZodRawShape>(
  service: string,
  schema: z.ZodObject<Shape>,
  env: Env = process.env,
): z.infer<z.ZodObject<Shape>> {
  try {
    return parseEnv(schema, env);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(
      `${service}: ${error.message}\nSet these variables (see README "Configuration") and start again.\n`,
    );
    process.exit(78);
  }
}

const DURATION = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?$/;
const UNIT_MS = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/** Schema builders for environment variables; each carries what it expects as its description. */
export const envVar = {
  /** A TCP port, 1..65535. */
  port: () =>
    z.coerce.number().int().min(1).max(65535).describe('a TCP port number between 1 and 65535'),

  /** A URL with one of the given protocols. */
  url: (protocols: readonly string[] = ['http', 'https']) =>
    z
      .string()
      .refine((value) => {
        try {
          return protocols.includes(new URL(value).protocol.replace(/:$/, ''));
        } catch {
          return false;
        }
      }, 'not a URL with an accepted scheme')
      .describe(`a URL starting with ${protocols.map((p) => `${p}://`).join(' or ')}`),

  /** One of a fixed set of words. */
  oneOf: <const Values extends readonly [string, ...string[]]>(values: Values) =>
    z.enum(values).describe(`one of: ${values.join(', ')}`),

  /** A non-empty secret; its value is never printed. */
  secret: (what: string) => z.string().min(1).describe(what),

  /** true/false, also 1/0 and yes/no. */
  boolean: () =>
    z
      .string()
      .regex(/^(true|false|1|0|yes|no)$/i, 'not a boolean')
      .transform((value) => /^(true|1|yes)$/i.test(value))
      .describe('true or false'),

  /** Comma-separated words, blanks dropped. */
  list: (what = 'comma-separated values') =>
    z
      .string()
      .transform((value) =>
        value
          .split(',')
          .map((item) => item.trim())
          .filter((item) => item !== ''),
      )
      .describe(what),

  /** Comma-separated Telegram user or chat ids (chat ids may be negative). */
  idList: () =>
    z
      .string()
      .regex(/^\s*-?\d+\s*(,\s*-?\d+\s*)*,?\s*$/, 'not a list of numeric ids')
      .transform((value) =>
        value
          .split(',')
          .map((item) => item.trim())
          .filter((item) => item !== '')
          .map(Number),
      )
      .describe('comma-separated numeric Telegram ids, e.g. 12345,67890'),

  /** A duration such as 30m, 45s, 1h or 500ms (a bare number means seconds), in milliseconds. */
  durationMs: () =>
    z
      .string()
      .regex(DURATION, 'not a duration')
      .transform((value) => {
        const [, amount, unit] = DURATION.exec(value) ?? [];
        return Math.round(Number(amount) * UNIT_MS[(unit ?? 's') as keyof typeof UNIT_MS]);
      })
      .refine((ms) => ms > 0, 'must be longer than zero')
      .describe('a duration such as 30m, 45s, 1h or 500ms'),

  /** A pino log level. */
  logLevel: () =>
    z
      .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
      .describe('one of: fatal, error, warn, info, debug, trace, silent'),
};
