import { Writable } from 'node:stream';
import { describe, expect, it } from '@jest/globals';
import { createLogger, urlPasswords } from './index.js';

const BOT_TOKEN = '1234567890:AAEhBP0av28tHkVx9-LyFqM0hPz1GzA1b2c';
const WEBHOOK_SECRET = 'wh-secret-4f7d9a0c2b1e';

function capture(): { lines: () => string; destination: Writable } {
  const chunks: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      chunks.push(chunk.toString());
      done();
    },
  });
  return { lines: () => chunks.join(''), destination };
}

describe('createLogger', () => {
  it('never writes the bot token or known secrets, wherever they appear', () => {
    const out = capture();
    const logger = createLogger({
      service: 'test',
      secrets: [BOT_TOKEN, WEBHOOK_SECRET],
      destination: out.destination,
    });
    const apiError = new Error(
      `request to https://api.telegram.org/bot${BOT_TOKEN}/sendMessage failed`,
    );
    logger.error({ err: apiError }, 'Bot API call failed');
    logger.info({ url: `https://api.telegram.org/bot${BOT_TOKEN}/getMe` }, 'calling');
    logger.info({ config: { token: 'x', botToken: BOT_TOKEN } }, 'config');
    logger.info(
      {
        req: {
          headers: {
            authorization: 'Bearer sk-live-abcdef',
            'x-telegram-bot-api-secret-token': WEBHOOK_SECRET,
          },
        },
      },
      'request',
    );
    logger.warn(`secret in a message: ${WEBHOOK_SECRET}`);
    // A token the logger was not told about is still caught by its shape.
    logger.info(`other bot 987654321:ZZEhBP0av28tHkVx9-LyFqM0hPz1GzA1zzz`);

    const written = out.lines();
    expect(written).not.toContain(BOT_TOKEN);
    expect(written).not.toContain(WEBHOOK_SECRET);
    expect(written).not.toContain('sk-live-abcdef');
    expect(written).not.toContain('ZZEhBP0av28tHkVx9');
    // What is not secret stays readable.
    expect(written).toContain('Bot API call failed');
    expect(written).toContain('/sendMessage failed');
    expect(written.match(/\[REDACTED\]/g)?.length).toBeGreaterThanOrEqual(7);
  });

  it('never writes a database or Redis password, wherever a connection URL appears', () => {
    const out = capture();
    const logger = createLogger({ service: 'test', destination: out.destination });
    const databaseUrl = 'postgres://herald:pg-pass-7f3k2q@db.internal:5432/herald';
    const redisUrl = 'redis://:redis-pass-9x8c7v@redis:6379/0';
    logger.info({ databaseUrl, redisUrl }, 'connecting');
    logger.info(
      { config: { storage: { url: 'rediss://default:deep-pass-1a2b@cache:6380' } } },
      'x',
    );
    // As pg and ioredis errors do: the URL inside the message (and so the stack).
    logger.error(
      { err: new Error(`connect to ${databaseUrl} failed: ECONNREFUSED`) },
      'Postgres unreachable',
    );
    logger.warn(`retrying ${redisUrl} in 2 s`);
    // Short passwords, and passwords holding an escaped quote or an unencoded @.
    logger.info({ url: 'redis://:pw@127.0.0.1:6379', other: 'postgres://u:a"b@h/d' }, 'short');
    logger.info({ url: 'postgres://u:p@ss-4u2k@db/herald' }, 'at sign');

    const written = out.lines();
    for (const password of [
      'pg-pass-7f3k2q',
      'redis-pass-9x8c7v',
      'deep-pass-1a2b',
      ':pw@',
      'a\\"b',
      'ss-4u2k',
    ]) {
      expect(written).not.toContain(password);
    }
    // Where it connects stays readable.
    expect(written).toContain('postgres://herald:***@db.internal:5432/herald');
    expect(written).toContain('redis://:***@redis:6379/0');
    expect(written).toContain('redis://:***@127.0.0.1:6379');
    expect(written).toContain('postgres://u:***@db/herald');
    expect(written).toContain('ECONNREFUSED');
  });

  it('masks the decoded passwords of the connection URLs it is given, wherever they appear', () => {
    const out = capture();
    const databaseUrl = 'postgres://herald:s%40fe-pass-42@db/herald';
    const logger = createLogger({
      service: 'test',
      secrets: urlPasswords(databaseUrl, 'redis://redis:6379', undefined),
      destination: out.destination,
    });
    // A driver's parsed settings hold the password decoded and outside any URL.
    logger.info({ pool: { options: { user: 'herald', password: 's@fe-pass-42' } } }, 'pool');
    expect(out.lines()).not.toContain('s@fe-pass-42');
    expect(out.lines()).toContain('"user":"herald"');
  });

  it('writes one JSON object per line with level, time and service', () => {
    const out = capture();
    const logger = createLogger({ service: 'user-handler', destination: out.destination });
    logger.info({ update_id: 42 }, 'update stored');
    const entry = JSON.parse(out.lines().trim()) as Record<string, unknown>;
    expect(entry).toMatchObject({
      level: 'info',
      service: 'user-handler',
      update_id: 42,
      msg: 'update stored',
    });
    expect(typeof entry.time).toBe('string');
  });
});
