import { parseArgs } from 'node:util';
import { backupNow, listBackups, restoreBackup } from './backups.js';
import { CommandContext, type Host } from './context.js';
import {
  dropDeadLetter,
  listDeadLetters,
  replayDeadLetter,
  showDeadLetter,
} from './dead-letters.js';
import { CliError, EXIT_FAILURE, EXIT_OK, UsageError } from './errors.js';
import { COMPONENTS, followComponentLogs } from './logs.js';
import { listNewsSources, pauseNews, resumeNews, runNewsNow } from './news.js';
import { roleManifest } from './permissions.js';
import { showStatus } from './status.js';
import { blockUser, findUsers, forgetUser, unblockUser } from './users.js';
import { runWebhookAdmin } from './webhook.js';

interface Command {
  /** The command's words: `dead-letters replay`. */
  readonly words: string;
  /** Its arguments and flags, for the usage text. */
  readonly synopsis: string;
  readonly summary: string;
  readonly run: (ctx: CommandContext) => Promise<void>;
}

const COMMANDS: readonly Command[] = [
  {
    words: 'status',
    synopsis: '',
    summary: 'pods, ready, restarts, autoscaler, leader, queue, last news cycle, last backup',
    run: showStatus,
  },
  {
    words: 'dead-letters list',
    synopsis: '[--limit N]',
    summary: 'updates the workers gave up on',
    run: listDeadLetters,
  },
  {
    words: 'dead-letters show',
    synopsis: '<id>',
    summary: 'one dead letter and its update',
    run: showDeadLetter,
  },
  {
    words: 'dead-letters replay',
    synopsis: '<id>',
    summary: 'put it back on the queue',
    run: replayDeadLetter,
  },
  {
    words: 'dead-letters drop',
    synopsis: '<id> [--yes]',
    summary: 'delete it for good',
    run: dropDeadLetter,
  },
  { words: 'news pause', synopsis: '', summary: 'stop posting to the channel', run: pauseNews },
  { words: 'news resume', synopsis: '', summary: 'post again', run: resumeNews },
  { words: 'news now', synopsis: '', summary: 'run a news cycle now', run: runNewsNow },
  {
    words: 'news sources',
    synopsis: '',
    summary: "each source's health",
    run: listNewsSources,
  },
  {
    words: 'users find',
    synopsis: '<id|@username>',
    summary: 'look a user up',
    run: findUsers,
  },
  { words: 'users block', synopsis: '<id>', summary: 'stop answering a user', run: blockUser },
  { words: 'users unblock', synopsis: '<id>', summary: 'answer them again', run: unblockUser },
  {
    words: 'users forget',
    synopsis: '<id> [--yes]',
    summary: 'delete a user and their history',
    run: forgetUser,
  },
  {
    words: 'webhook info',
    synopsis: '',
    summary: "Telegram's view of the webhook (runs webhook-admin in a pod)",
    run: (ctx) => runWebhookAdmin(ctx, 'info'),
  },
  {
    words: 'webhook set',
    synopsis: '[--drop-pending-updates]',
    summary: 'register the webhook at PUBLIC_URL again',
    run: (ctx) => runWebhookAdmin(ctx, 'set'),
  },
  {
    words: 'backup now',
    synopsis: '[--no-follow]',
    summary: "run the backup CronJob's Job now and follow it",
    run: backupNow,
  },
  { words: 'backup list', synopsis: '', summary: 'the backups in the store', run: listBackups },
  {
    words: 'restore',
    synopsis: '<backup> [--yes]',
    summary: 'replace the database with a backup, in a Job; follows its log',
    run: restoreBackup,
  },
  {
    words: 'logs',
    synopsis: '<component> [--tail N] [--no-follow]',
    summary: `follow a component's pods' logs (${COMPONENTS.join(', ')})`,
    run: followComponentLogs,
  },
  {
    words: 'rbac',
    synopsis: '[-n namespace]',
    summary: 'print a Role and RoleBinding with the permissions these commands need',
    run: async (ctx) => {
      ctx.positionals([]);
      ctx.output.out.write(roleManifest(ctx.options.namespace ?? 'default'));
    },
  },
];

const GLOBAL_FLAGS = `Flags:
  -n, --namespace NAME   Herald's namespace (default: the context's)
      --release NAME     the Helm release (default: the only one in the namespace)
      --context NAME     kubeconfig context (default: the current one)
      --kubeconfig PATH  kubeconfig file (default: $KUBECONFIG, then ~/.kube/config)
      --admin-url URL    reach the admin API here instead of through a port forward
      --token TOKEN      admin API token (default: $HERALD_ADMIN_TOKEN, then the release's Secret)
  -o, --output FORMAT    table (default) or json
  -y, --yes              answer yes to confirmations (restore, users forget, dead-letters drop)
  -h, --help             this help
Exit codes: 0 ok, 1 failure, 64 usage.
`;

/** The help text: every command with its arguments, or only `only`. */
export function usage(only?: Command): string {
  const shown = only ? [only] : COMMANDS;
  const width = Math.max(...shown.map((command) => `${command.words} ${command.synopsis}`.length));
  const lines = shown.map(
    (command) => `  ${`${command.words} ${command.synopsis}`.padEnd(width)}  ${command.summary}`,
  );
  return `Usage: kubectl herald <command> [flags]\n\nCommands:\n${lines.join('\n')}\n\n${GLOBAL_FLAGS}`;
}

function parseCount(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value)) throw new UsageError(`${flag} takes a whole number, not "${value}"`);
  return Number(value);
}

/** Finds the command whose words start the positionals (the longest match). */
function findCommand(positionals: string[]): { command: Command; args: string[] } | undefined {
  for (const length of [2, 1]) {
    const words = positionals.slice(0, length).join(' ');
    const command = COMMANDS.find((candidate) => candidate.words === words);
    if (command) return { command, args: positionals.slice(length) };
  }
  return undefined;
}

function parse(argv: string[]) {
  try {
    return parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: {
        namespace: { type: 'string', short: 'n' },
        release: { type: 'string' },
        context: { type: 'string' },
        kubeconfig: { type: 'string' },
        'admin-url': { type: 'string' },
        token: { type: 'string' },
        output: { type: 'string', short: 'o' },
        yes: { type: 'boolean', short: 'y' },
        help: { type: 'boolean', short: 'h' },
        limit: { type: 'string' },
        tail: { type: 'string' },
        'no-follow': { type: 'boolean' },
        'drop-pending-updates': { type: 'boolean' },
      },
    });
  } catch (error) {
    throw new UsageError(
      error instanceof Error ? error.message : String(error),
      'see `kubectl herald --help`',
    );
  }
}

function printError(host: Host, error: CliError): void {
  host.err.write(`error: ${error.message}\n`);
  if (error.hint) host.err.write(`  ${error.hint}\n`);
}

/**
 * Runs `kubectl herald` with `argv` (the arguments after the plugin's name) and returns its
 * exit code: 0 ok, 1 failure, 64 usage.
 */
export async function runCli(
  argv: string[],
  host: Host,
  onContext?: (ctx: CommandContext) => void,
): Promise<number> {
  let ctx: CommandContext | undefined;
  try {
    const { values, positionals } = parse(argv);
    const found = findCommand(positionals);
    if (values.help || positionals.length === 0) {
      host.out.write(usage(found?.command));
      return positionals.length === 0 && !values.help ? 64 : EXIT_OK;
    }
    if (!found) {
      throw new UsageError(
        `unknown command "${positionals.slice(0, 2).join(' ')}"`,
        'see `kubectl herald --help`',
      );
    }
    const format = values.output ?? 'table';
    if (format !== 'table' && format !== 'json') {
      throw new UsageError(`-o takes table or json, not "${format}"`);
    }
    if (values['admin-url'] !== undefined && !/^https?:\/\//.test(values['admin-url'])) {
      throw new UsageError(`--admin-url must be an http(s) URL, not "${values['admin-url']}"`);
    }
    ctx = new CommandContext(
      found.command.words,
      found.args,
      {
        namespace: values.namespace,
        release: values.release,
        context: values.context,
        kubeconfig: values.kubeconfig,
        adminUrl: values['admin-url'],
        token: values.token,
        yes: values.yes ?? false,
        limit: parseCount(values.limit, '--limit'),
        tailLines: parseCount(values.tail, '--tail'),
        follow: !values['no-follow'],
        dropPendingUpdates: values['drop-pending-updates'] ?? false,
      },
      { format, out: host.out, err: host.err } as const,
      host,
    );
    onContext?.(ctx);
    await found.command.run(ctx);
    return EXIT_OK;
  } catch (error) {
    if (error instanceof CliError) {
      printError(host, error);
      return error.exitCode;
    }
    host.err.write(
      `error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    return EXIT_FAILURE;
  } finally {
    await ctx?.close();
  }
}
