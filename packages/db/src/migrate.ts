// Entry point of `pnpm migrate` and of the Kubernetes migration Job: applies the pending
// migrations to DATABASE_URL, then exits 0, or 1 on any failure.
import { envVar, loadEnv, z } from '@herald/config';
import { createLogger, urlPasswords } from '@herald/logger';
import { migrateDatabase } from './migrations.js';

const env = loadEnv(
  'herald-migrate',
  z.object({
    DATABASE_URL: envVar.url(['postgres', 'postgresql']),
    LOG_LEVEL: envVar.logLevel().default('info'),
  }),
);
const logger = createLogger({
  service: 'herald-migrate',
  level: env.LOG_LEVEL,
  secrets: urlPasswords(env.DATABASE_URL),
});

try {
  await migrateDatabase(env.DATABASE_URL, logger);
  process.exitCode = 0;
} catch (error) {
  logger.error(
    { err: error },
    'migration failed; the database was left at the last migration that completed. Fix the cause and run it again',
  );
  process.exitCode = 1;
}
