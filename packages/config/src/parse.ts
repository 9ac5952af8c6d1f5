import type { z } from 'zod';

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

/** The raw environment: variable names to string values. */
export type Env = Record<string, string | undefined>;

/**
 * A check across variables (say, WEBHOOK_SECRET is required when TELEGRAM_MODE is
 * webhook). It sees the environment as given, with blanks removed, and reports a problem
 * or nothing.
 */
export type EnvRule = (env: Env) => ConfigProblem | undefined;

/** A rule: `variable` must be set when `when(env)` holds. */
export function requiredWhen(
  variable: string,
  when: (env: Env) => boolean,
  expected: string,
): EnvRule {
  return (env) =>
    when(env) && env[variable] === undefined
      ? { variable, problem: 'missing', expected }
      : undefined;
}

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
  rules: readonly EnvRule[] = [],
): z.infer<z.ZodObject<Shape>> {
  const cleaned: Env = {};
  for (const key of Object.keys(schema.shape)) {
    const value = env[key];
    if (value !== undefined && value.trim() !== '') cleaned[key] = value.trim();
  }
  const result = schema.safeParse(cleaned);
  const problems = new Map<string, ConfigProblem>();
  for (const rule of rules) {
    const problem = rule(cleaned);
    if (problem) problems.set(problem.variable, problem);
  }
  if (result.success && problems.size === 0) return result.data;

  for (const issue of result.success ? [] : result.error.issues) {
    const variable = String(issue.path[0] ?? '(environment)');
    if (problems.has(variable)) continue;
    const field = (schema.shape as unknown as Record<string, z.ZodType | undefined>)[variable];
    const expected = (field && descriptionOf(field)) ?? 'a valid value';
    const raw = cleaned[variable];
    const problem =
      raw === undefined
        ? 'missing'
        : `${describeValue(variable, raw)} is invalid (${issue.message})`;
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
  { env = process.env, rules = [] }: { env?: Env; rules?: readonly EnvRule[] } = {},
): z.infer<z.ZodObject<Shape>> {
  try {
    return parseEnv(schema, env, rules);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(
      `${service}: ${error.message}\nSet these variables (see README "Configuration") and start again.\n`,
    );
    process.exit(78);
  }
}
