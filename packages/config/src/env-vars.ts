import { z } from 'zod';

const DURATION = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)$/;
const UNITLESS = /^\d+(?:\.\d+)?$/;
const UNIT_MS = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/** What to say about a bare number: the unit it lacks is exactly what is ambiguous. */
const addUnit = (amount: unknown) =>
  `no unit; add a unit: ${String(amount)}ms, ${String(amount)}s, ${String(amount)}m`;

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

  /** A whole number between `min` and `max`. */
  count: (min: number, max: number) =>
    z.coerce.number().int().min(min).max(max).describe(`a whole number from ${min} to ${max}`),

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

  /**
   * A duration with its unit (ms, s, m, h, d) such as 30m, 45s, 1h or 500ms, in
   * milliseconds. A bare number is refused rather than guessed: `34` meant as 34 ms and
   * read as 34 s would slow a sender a thousandfold without a word. YAML gives a bare
   * number as a number, which gets the same advice.
   */
  durationMs: () =>
    z
      .string({
        error: (issue) => (typeof issue.input === 'number' ? addUnit(issue.input) : undefined),
      })
      .refine((value) => !UNITLESS.test(value), {
        error: (issue) => addUnit(issue.input),
        abort: true,
      })
      .regex(DURATION, 'not a duration')
      .transform((value) => {
        const [, amount, unit] = DURATION.exec(value) ?? [];
        return Math.round(Number(amount) * UNIT_MS[unit as keyof typeof UNIT_MS]);
      })
      .refine((ms) => ms > 0, 'must be longer than zero')
      .describe('a duration with a unit (ms, s, m, h, d) such as 30m, 45s, 1h or 500ms'),

  /** A pino log level. */
  logLevel: () =>
    z
      .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
      .describe('one of: fatal, error, warn, info, debug, trace, silent'),
};
