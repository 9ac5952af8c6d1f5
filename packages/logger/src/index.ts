import { pino, type DestinationStream, type Logger, type LoggerOptions } from 'pino';

export type { Logger };

/**
 * A Telegram bot token: the bot id, a colon and a 35-character secret. It also appears
 * inside Bot API URLs (`/bot<token>/sendMessage`), which end up in error messages and
 * stack traces, so it is masked in the serialized line rather than by field name alone.
 */
const BOT_TOKEN = /\d{5,}:[A-Za-z0-9_-]{30,}/g;

/**
 * The password of a URL with credentials (`postgres://user:password@host/db`,
 * `redis://:password@host`). pg and ioredis errors, and any object that holds a connection
 * URL, carry it in their text, so it is masked in the serialized line. The password runs to
 * the last `@` before the host (an unencoded `@` in it is common) and may hold
 * JSON-escaped characters. The scheme's length is bounded so that a long dotted word costs
 * no more than a short one to scan.
 */
const URL_PASSWORD = /\b([a-z][a-z0-9+.-]{0,31}:\/\/[^\s:@/"\\]*):((?:\\.|[^\s/"\\?#])*)@/gi;

/**
 * `text` with the password of every URL in it replaced by `***`, the rest left readable:
 * `postgres://herald:***@db:5432/herald`. For text shown outside the logger (a readiness
 * reply, a CLI's output).
 */
export function maskUrlPasswords(text: string): string {
  return text.replace(URL_PASSWORD, '$1:***@');
}

/**
 * The passwords of connection URLs, decoded and as written, to pass to `createLogger` as
 * `secrets`: a driver's parsed settings hold the password outside any URL.
 */
export function urlPasswords(...urls: readonly (string | undefined)[]): string[] {
  const passwords = new Set<string>();
  for (const url of urls) {
    if (url === undefined) continue;
    let password: string;
    try {
      password = new URL(url).password;
    } catch {
      continue;
    }
    if (password === '') continue;
    passwords.add(password);
    try {
      passwords.add(decodeURIComponent(password));
    } catch {
      // A malformed escape: the written form above is all there is.
    }
  }
  return [...passwords];
}

/** Field paths that hold credentials wherever they appear in a log object. */
export const REDACTED_PATHS = [
  'token',
  'botToken',
  'password',
  'secret',
  'apiKey',
  'authorization',
  '*.token',
  '*.botToken',
  '*.password',
  '*.secret',
  '*.secretToken',
  '*.apiKey',
  '*.authorization',
  '*.headers.authorization',
  '*.headers.cookie',
  '*.headers["x-telegram-bot-api-secret-token"]',
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-telegram-bot-api-secret-token"]',
];

export interface LoggerConfig {
  /** Service name, logged as `service` on every line. */
  service: string;
  level?: string;
  /**
   * Secret values known at boot (bot token, webhook secret, API keys). Any occurrence in a
   * log line is replaced, whatever field or message it hides in.
   */
  secrets?: readonly (string | undefined)[];
  /** Where lines go; stdout by default. */
  destination?: DestinationStream;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Builds the function that masks secrets in one serialized log line. */
export function secretMasker(
  secrets: readonly (string | undefined)[] = [],
): (line: string) => string {
  // Short values would mask ordinary words; real secrets are long. Each is looked for as
  // written and as JSON writes it (a quote or backslash in it is escaped in the line).
  const literal = [
    ...new Set(
      secrets
        .filter((s): s is string => typeof s === 'string' && s.length >= 8)
        .flatMap((s) => [s, JSON.stringify(s).slice(1, -1)]),
    ),
  ];
  const pattern =
    literal.length > 0
      ? new RegExp(
          literal
            .map(escapeRegExp)
            .sort((a, b) => b.length - a.length)
            .join('|'),
          'g',
        )
      : undefined;
  return (line) => {
    let masked = maskUrlPasswords(line.replace(BOT_TOKEN, '[REDACTED]'));
    if (pattern) masked = masked.replace(pattern, '[REDACTED]');
    return masked;
  };
}

/** A pino logger writing JSON lines to stdout, with credentials redacted. */
export function createLogger(config: LoggerConfig): Logger {
  const mask = secretMasker(config.secrets);
  const options: LoggerOptions = {
    level: config.level ?? 'info',
    base: { service: config.service },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
    redact: { paths: REDACTED_PATHS, censor: '[REDACTED]' },
    hooks: { streamWrite: mask },
  };
  return config.destination ? pino(options, config.destination) : pino(options);
}
