import type { Logger } from '@herald/logger';

/** What /status reports, gathered fresh for each request. */
export interface StatusReport {
  uptimeSeconds: number;
  version: string;
  /** 'ok', or why Postgres did not answer. */
  postgres: string;
  /** health: 'ok', or why the state store did not answer. */
  state: { kind: 'redis' | 'in-process'; health: string };
  ai:
    | { configured: false }
    | { configured: true; reachable: boolean; models: string[]; detail?: string };
}

/** Everything the bot's features need from the outside world. */
export interface BotDeps {
  logger: Logger;
  adminUserIds: readonly number[];
  /** When set, only these users get answers; others are told the bot is private. */
  allowedUserIds?: readonly number[] | undefined;
  status: () => Promise<StatusReport>;
}
