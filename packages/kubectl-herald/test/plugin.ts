// Runs the built plugin (dist/main.js) as kubectl would: a process with arguments, the
// environment (KUBECONFIG), and a standard input that is not a terminal.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  freePort,
  repositoryRoot,
  testRedisUrl,
  uniquePrefix,
  waitFor,
  type BotApiDouble,
} from '@herald/testing';

const MAIN = fileURLToPath(new URL('../dist/main.js', import.meta.url));
// A home without ~/.kube/config, so only what a test passes is used.
const HOME = mkdtempSync(join(tmpdir(), 'kubectl-herald-home-'));

export interface PluginRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `kubectl-herald <args>` to its end. */
export function kubectlHerald(
  args: string[],
  env: Record<string, string | undefined> = {},
): Promise<PluginRun> {
  const child = spawn(process.execPath, [MAIN, ...args], {
    env: { PATH: process.env.PATH ?? '', HOME, USER: 'operator', ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  child.stdin.end();
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })));
}

/** A user-handler process (services/user-handler/dist/main.js) serving its admin API. */
export interface UserHandlerProcess {
  readonly adminPort: number;
  readonly adminToken: string;
  readonly redisKeyPrefix: string;
  output(): string;
  stop(): Promise<void>;
}

/**
 * Starts the real user-handler with ADMIN_API_TOKEN set, on the test Postgres database and
 * Redis given, polling the Telegram double; resolves once it is ready.
 */
export async function startUserHandler(
  databaseUrl: string,
  telegram: BotApiDouble,
): Promise<UserHandlerProcess> {
  const main = join(repositoryRoot(), 'services', 'user-handler', 'dist', 'main.js');
  const port = await freePort();
  const adminPort = await freePort();
  const adminToken = `admin-${uniquePrefix('token').replaceAll(':', '')}-0123456789abcdef0123456789`;
  const redisKeyPrefix = uniquePrefix('kubectl-herald');
  let output = '';
  const child: ChildProcess = spawn(process.execPath, [main], {
    env: {
      PATH: process.env.PATH ?? '',
      TELEGRAM_BOT_TOKEN: telegram.token,
      TELEGRAM_API_ROOT: telegram.apiRoot,
      TELEGRAM_MODE: 'polling',
      DATABASE_URL: databaseUrl,
      REDIS_URL: testRedisUrl(),
      REDIS_KEY_PREFIX: redisKeyPrefix,
      PORT: String(port),
      ADMIN_PORT: String(adminPort),
      ADMIN_API_TOKEN: adminToken,
      LOG_LEVEL: 'info',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  await waitFor(
    async () => {
      if (child.exitCode !== null) throw new Error(`user-handler exited: ${output.slice(-2000)}`);
      return (await fetch(`http://127.0.0.1:${adminPort}/admin/v1/status`)).status === 401;
    },
    { what: 'the user-handler admin API to listen', timeoutMs: 20_000 },
  );
  return {
    adminPort,
    adminToken,
    redisKeyPrefix,
    output: () => output,
    stop: async () => {
      if (child.exitCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
}
