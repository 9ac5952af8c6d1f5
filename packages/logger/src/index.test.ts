import { Writable } from 'node:stream';
import { describe, expect, it } from '@jest/globals';
import { createLogger } from './index.js';

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
