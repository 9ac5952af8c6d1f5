import { spawn, type ChildProcess } from 'node:child_process';
import { freePort, waitForPort } from './net.js';

export interface RedisServer {
  readonly url: string;
  readonly port: number;
  /** Stops the server; its port stays reserved for {@link RedisServer.start}. */
  stop(): Promise<void>;
  /** Starts it again on the same port (after {@link RedisServer.stop}). */
  start(): Promise<void>;
}

const REDIS_BINARIES = ['redis-server', '/usr/bin/redis-server', '/usr/local/bin/redis-server'];

/**
 * Starts a throwaway `redis-server` (Debian's package) on loopback with persistence off.
 * @throws when no redis-server binary is installed, saying how to get one.
 */
export async function startRedisServer(options: { port?: number } = {}): Promise<RedisServer> {
  const port = options.port ?? (await freePort());
  let child: ChildProcess | undefined;

  const launch = async (): Promise<void> => {
    let lastError: unknown;
    for (const binary of REDIS_BINARIES) {
      const started = spawn(
        binary,
        ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
        { stdio: 'ignore' },
      );
      const failed = await new Promise<Error | undefined>((done) => {
        started.once('error', done);
        started.once('spawn', () => done(undefined));
      });
      if (!failed) {
        child = started;
        await waitForPort(port, 10_000);
        return;
      }
      lastError = failed;
    }
    throw new Error(
      `redis-server is not installed (${String(lastError)}). Install it with ` +
        '`apt-get install redis-server`, or set REDIS_URL to a running Redis.',
    );
  };

  await launch();
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    start: launch,
    stop: async () => {
      const running = child;
      child = undefined;
      if (!running || running.exitCode !== null) return;
      await new Promise<void>((done) => {
        running.once('exit', () => done());
        running.kill('SIGKILL');
      });
    },
  };
}
