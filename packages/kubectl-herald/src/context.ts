import { createInterface } from 'node:readline/promises';
import type { Readable } from 'node:stream';
import { connectAdminApi, type AdminApi, type AdminConnection } from './admin-api.js';
import { Cluster } from './cluster.js';
import { CliError, UsageError } from './errors.js';
import type { Output } from './output.js';

/** The flags every command takes (kubectl's own, plus the admin API's). */
export interface GlobalOptions {
  namespace?: string;
  release?: string;
  context?: string;
  kubeconfig?: string;
  adminUrl?: string;
  token?: string;
  yes: boolean;
}

/** The flags only some commands read. */
export interface CommandOptions {
  limit?: number;
  tailLines?: number;
  follow: boolean;
  dropPendingUpdates: boolean;
}

/** What the process gives the plugin: its streams, environment and clock. */
export interface Host {
  readonly out: NodeJS.WritableStream & { isTTY?: boolean };
  readonly err: NodeJS.WritableStream;
  readonly input: Readable & { isTTY?: boolean };
  /** $HERALD_ADMIN_TOKEN */
  readonly adminToken?: string;
  /** $USER: the actor named in the audit log when the kubeconfig names no user. */
  readonly user?: string;
  readonly nowMs: () => number;
}

/**
 * One run of one command: its arguments, where it writes, and the cluster and admin API
 * connections, opened on first use and closed by {@link CommandContext.close}.
 */
export class CommandContext {
  private clusterInstance: Cluster | undefined;
  private adminConnection: Promise<AdminConnection> | undefined;
  /** Printed if the operator interrupts: what goes on in the cluster without us. */
  interruptNotice: string | undefined;

  constructor(
    /** The command's words, e.g. `dead-letters replay`: names its permissions in errors. */
    readonly command: string,
    /** Positional arguments after the command's words. */
    readonly args: readonly string[],
    readonly options: GlobalOptions & CommandOptions,
    readonly output: Output,
    readonly host: Host,
  ) {}

  /** The cluster, from the kubeconfig and the -n/--context/--kubeconfig/--release flags. */
  cluster(): Cluster {
    this.clusterInstance ??= Cluster.load({
      kubeconfig: this.options.kubeconfig,
      context: this.options.context,
      namespace: this.options.namespace,
      release: this.options.release,
      command: this.permissionsKey(),
    });
    return this.clusterInstance;
  }

  /** The admin API: through --admin-url, or a port forward to a user-handler pod. */
  async admin(): Promise<AdminApi> {
    this.adminConnection ??= connectAdminApi(() => this.cluster(), {
      adminUrl: this.options.adminUrl,
      token: this.options.token ?? this.host.adminToken,
      fallbackActor: this.host.user,
      command: this.permissionsKey(),
    });
    return (await this.adminConnection).api;
  }

  /** Exactly `count` positional arguments, or a usage error naming them. */
  positionals(names: string[]): string[] {
    if (this.args.length !== names.length) {
      throw new UsageError(
        `${this.command} takes ${names.length ? names.map((name) => `<${name}>`).join(' ') : 'no arguments'}` +
          (this.args.length > names.length
            ? `, not ${this.args.slice(names.length).join(' ')}`
            : ''),
        `see \`kubectl herald ${this.command} --help\``,
      );
    }
    return [...this.args];
  }

  /**
   * Asks before an irreversible action; `--yes` answers for scripts. Without a terminal to
   * ask on, refuses rather than guess.
   */
  async confirm(question: string, action: string): Promise<void> {
    if (this.options.yes) return;
    if (!this.host.input.isTTY) {
      throw new UsageError(
        `refusing to ${action} without confirmation: standard input is not a terminal`,
        'pass --yes to confirm',
      );
    }
    const prompt = createInterface({ input: this.host.input, output: this.host.err });
    const cancelled = new CliError(`cancelled: did not ${action}`);
    try {
      const answer = await new Promise<string>((resolve, reject) => {
        // Ctrl-C at the prompt reaches readline, not the process: it means no.
        prompt.once('SIGINT', () => reject(cancelled));
        prompt.question(`${question} [y/N] `).then(resolve, reject);
      });
      if (!['y', 'yes'].includes(answer.trim().toLowerCase())) throw cancelled;
    } finally {
      prompt.close();
    }
  }

  /** Ends the port forward, if one was opened. */
  async close(): Promise<void> {
    const connection = await this.adminConnection?.catch(() => undefined);
    await connection?.close();
  }

  private permissionsKey(): string {
    return ['backup list', 'backup now'].includes(this.command)
      ? this.command
      : (this.command.split(' ')[0] ?? this.command);
  }
}
