#!/usr/bin/env node
// `herald-backup run | list | restore`: parses the command line and the environment,
// builds the S3 client and logger, and hands over to the command. Exit status: 0 done,
// 1 failed, 64 bad usage, 78 bad environment.
import { parseArgs } from 'node:util';
import { loadEnv } from '@herald/config';
import { createLogger, maskUrlPasswords, urlPasswords } from '@herald/logger';
import { createS3Client } from './catalog.js';
import { EXIT, listCommand, restoreCommand, runCommand, type CommandDeps } from './commands.js';
import { runSchema, storeSchema, type StoreEnv } from './env.js';
import { postgresTools } from './postgres-tools.js';
import type { RestoreMode } from './restore.js';

const USAGE = `usage: herald-backup run
       herald-backup list [--json]
       herald-backup restore <name|latest> --to <postgres://user:password@host/database> [--clean | --force]

  run      dump DATABASE_URL to BACKUP_S3_URL, then prune by BACKUP_KEEP_DAILY_DAYS / BACKUP_KEEP_MONTHLY_MONTHS
  list     the stored backups, oldest first
  restore  restore one backup into an empty database, then run the migrations;
           --clean drops and recreates what the backup holds, --force restores on top of existing tables
`;

function usageError(problem: string): never {
  process.stderr.write(`herald-backup: ${problem}\n${USAGE}`);
  process.exit(EXIT.usage);
}

const OPTIONS = {
  to: { type: 'string' },
  clean: { type: 'boolean' },
  force: { type: 'boolean' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

function readCommandLine() {
  try {
    return parseArgs({ args: process.argv.slice(2), allowPositionals: true, options: OPTIONS });
  } catch (error) {
    return usageError((error as Error).message);
  }
}

const { values: flags, positionals } = readCommandLine();
const [command, ...operands] = positionals;
if (flags.help || command === 'help') {
  process.stdout.write(USAGE);
  process.exit(EXIT.ok);
}

if (command === undefined) usageError('no command given');
let restoreTarget: { name: string; url: string; mode: RestoreMode } | undefined;
switch (command) {
  case 'run':
    if (operands.length > 0 || flags.to || flags.clean || flags.force || flags.json) {
      usageError('run takes no arguments');
    }
    break;
  case 'list':
    if (operands.length > 0 || flags.to || flags.clean || flags.force) {
      usageError('list takes only --json');
    }
    break;
  case 'restore': {
    if (operands.length !== 1) usageError('restore needs one backup name (or latest)');
    if (!flags.to) usageError('restore needs --to <postgres://…>: the database to restore into');
    if (!/^postgres(ql)?:\/\//.test(flags.to) || !URL.canParse(flags.to)) {
      usageError('--to must be a postgres:// URL');
    }
    if (flags.clean && flags.force) usageError('choose one of --clean and --force');
    restoreTarget = {
      name: operands[0]!,
      url: flags.to,
      mode: flags.clean ? 'clean' : flags.force ? 'force' : 'empty-only',
    };
    break;
  }
  default:
    usageError(`unknown command ${JSON.stringify(command)}`);
}

const runEnv = command === 'run' ? loadEnv('herald-backup', runSchema) : undefined;
const env: StoreEnv = runEnv ?? loadEnv('herald-backup', storeSchema);
const keyForms = env.BACKUP_ENCRYPTION_KEY
  ? [env.BACKUP_ENCRYPTION_KEY.toString('base64'), env.BACKUP_ENCRYPTION_KEY.toString('hex')]
  : [];
const logger = createLogger({
  service: 'herald-backup',
  level: env.LOG_LEVEL,
  secrets: [
    ...urlPasswords(runEnv?.DATABASE_URL, restoreTarget?.url),
    env.AWS_SECRET_ACCESS_KEY,
    env.AWS_SESSION_TOKEN,
    ...keyForms,
  ],
  // `run` logs only; `list` and `restore` print their result on stdout, so logs go aside.
  ...(command === 'run' ? {} : { destination: process.stderr }),
});
const s3 = createS3Client({
  region: env.AWS_REGION,
  endpoint: env.BACKUP_S3_ENDPOINT,
  accessKeyId: env.AWS_ACCESS_KEY_ID,
  secretAccessKey: env.AWS_SECRET_ACCESS_KEY,
  sessionToken: env.AWS_SESSION_TOKEN,
});
const deps: CommandDeps = {
  s3,
  location: env.BACKUP_S3_URL,
  tools: postgresTools(env.BACKUP_PG_BIN_DIR),
  encryptionKey: env.BACKUP_ENCRYPTION_KEY,
  logger,
  out: (text) => process.stdout.write(text),
};

try {
  if (runEnv) {
    process.exitCode = await runCommand({
      ...deps,
      databaseUrl: runEnv.DATABASE_URL,
      policy: {
        dailyDays: runEnv.BACKUP_KEEP_DAILY_DAYS,
        monthlyMonths: runEnv.BACKUP_KEEP_MONTHLY_MONTHS,
      },
      pushgatewayUrl: runEnv.BACKUP_PUSHGATEWAY_URL,
      partBytes: runEnv.BACKUP_UPLOAD_PART_MIB * 1024 * 1024,
    });
  } else if (command === 'list') {
    process.exitCode = await listCommand(deps, { json: flags.json ?? false });
  } else if (restoreTarget) {
    process.exitCode = await restoreCommand(deps, {
      name: restoreTarget.name,
      targetUrl: restoreTarget.url,
      mode: restoreTarget.mode,
      targetLabel: maskUrlPasswords(restoreTarget.url),
    });
  }
} catch (error) {
  logger.error(
    { err: error },
    `${command} failed: ${(error as Error).message}. Check BACKUP_S3_URL, BACKUP_S3_ENDPOINT, AWS_REGION and the credentials`,
  );
  process.exitCode = EXIT.failure;
} finally {
  s3.destroy();
}
