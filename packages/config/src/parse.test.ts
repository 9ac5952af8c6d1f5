import { describe, expect, it } from '@jest/globals';
import { ConfigError, envVar, parseEnv, requiredWhen, z } from './index.js';

const schema = z.object({
  PORT: envVar.port().default(8080),
  TELEGRAM_MODE: envVar.oneOf(['webhook', 'polling']).default('webhook'),
  DATABASE_URL: envVar.url(['postgres', 'postgresql']),
  REDIS_URL: envVar.url(['redis']),
  AI_API_KEY: envVar.secret('the API key').optional(),
  NEWS_INTERVAL: envVar.durationMs().default(1_800_000),
  ADMIN_USER_IDS: envVar.idList().default([]),
  DEBUG_SQL: envVar.boolean().optional(),
});

function problemsOf(run: () => unknown): ConfigError {
  try {
    run();
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

describe('parseEnv', () => {
  it('lists every missing and invalid variable at once', () => {
    const error = problemsOf(() =>
      parseEnv(schema, { PORT: 'eighty', TELEGRAM_MODE: 'hook', REDIS_URL: 'http://x' }),
    );
    expect(error.problems.map((p) => p.variable).sort()).toEqual([
      'DATABASE_URL',
      'PORT',
      'REDIS_URL',
      'TELEGRAM_MODE',
    ]);
    expect(error.message).toContain('4 problems');
    expect(error.message).toMatch(
      /DATABASE_URL: missing; expected a URL starting with postgres:\/\//,
    );
    expect(error.message).toMatch(/PORT: "eighty" is invalid .*expected a TCP port/);
    expect(error.message).toMatch(/TELEGRAM_MODE: .*expected one of: webhook, polling/);
  });

  it('never echoes the value of a secret or a connection URL', () => {
    const error = problemsOf(() =>
      parseEnv(schema, {
        DATABASE_URL: 'mysql://root:hunter2-secret@db/x',
        REDIS_URL: 'redis://r',
        AI_API_KEY: '',
      }),
    );
    expect(error.message).toContain('DATABASE_URL');
    expect(error.message).not.toContain('hunter2-secret');
  });

  it('treats empty values as unset and applies defaults', () => {
    const env = parseEnv(schema, {
      PORT: '',
      DATABASE_URL: 'postgres://u:p@db:5432/herald',
      REDIS_URL: 'redis://redis:6379',
      ADMIN_USER_IDS: ' 12, -100345 ,',
      NEWS_INTERVAL: '45m',
      DEBUG_SQL: 'yes',
    });
    expect(env).toMatchObject({
      PORT: 8080,
      TELEGRAM_MODE: 'webhook',
      NEWS_INTERVAL: 2_700_000,
      ADMIN_USER_IDS: [12, -100345],
      DEBUG_SQL: true,
    });
  });

  it('reports cross-variable rules together with schema problems', () => {
    const rule = requiredWhen('AI_API_KEY', (env) => env.TELEGRAM_MODE === 'polling', 'a key');
    const error = problemsOf(() =>
      parseEnv(schema, { TELEGRAM_MODE: 'polling', REDIS_URL: 'redis://r' }, [rule]),
    );
    expect(error.problems.map((p) => p.variable).sort()).toEqual(['AI_API_KEY', 'DATABASE_URL']);
  });

  it.each([
    ['500ms', 500],
    ['45s', 45_000],
    ['90m', 5_400_000],
    ['1.5h', 5_400_000],
    ['2d', 172_800_000],
  ])('reads the duration %s as %d ms', (text, ms) => {
    expect(envVar.durationMs().parse(text)).toBe(ms);
  });

  it.each(['0s', '-5m', '10 minutes', '', '90', '0'])('rejects the duration %j', (text) => {
    expect(envVar.durationMs().safeParse(text).success).toBe(false);
  });

  it('refuses a duration without a unit, naming the variable and the units to add', () => {
    // 34 meant as milliseconds would otherwise be read as 34 s: a bot 1,000 times slower.
    const error = problemsOf(() =>
      parseEnv(z.object({ TELEGRAM_BOT_INTERVAL: envVar.durationMs().default(34) }), {
        TELEGRAM_BOT_INTERVAL: '34',
      }),
    );
    expect(error.problems.map((p) => p.variable)).toEqual(['TELEGRAM_BOT_INTERVAL']);
    expect(error.message).toContain('TELEGRAM_BOT_INTERVAL: "34" is invalid');
    expect(error.message).toContain('add a unit: 34ms, 34s, 34m');
  });

  it('asks for a unit when a YAML file gives a duration as a bare number', () => {
    const result = envVar.durationMs().safeParse(30);
    expect(result.success).toBe(false);
    expect(result.error?.issues.map((issue) => issue.message)).toEqual([
      'no unit; add a unit: 30ms, 30s, 30m',
    ]);
  });
});
