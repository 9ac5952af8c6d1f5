import { pino, type DestinationStream, type Logger, type LoggerOptions } from 'pino';

export type { Logger };

/**
 * A Telegram bot token: the bot id, a colon and a 35-character secret. It also appears
 * inside Bot API URLs (`/bot<token>/sendMessage`), which end up in error messages and
 * stack traces, so it is masked in the serialized line rather than by field name alone.
 */
const BOT_TOKEN = /\d{5,}:[A-Za-z0-9_-]{30,}/g;

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
  // Short values would mask ordinary words; real secrets are long.
  const literal = secrets.filter((s): s is string => typeof s === 'string' && s.length >= 8);
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
    let masked = line.replace(BOT_TOKEN, '[REDACTED]');
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
