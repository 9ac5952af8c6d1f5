import { spawn, type ChildProcess } from 'node:child_process';
import { freePort, waitForPort } from './net.js';

export interface RedisServer {
  readonly url: string;
  readonly port: number;
  /**
   * Stops the server; its port stays reserved for {@link RedisServer.start}. Without
   * `appendOnly` this is a kill (nothing to save); with it, a graceful shutdown.
   */
  stop(): Promise<void>;
  /** Starts it again on the same port (after a stop, shutdown or kill). */
  start(): Promise<void>;
  /**
   * Graceful shutdown, as an operator's `SHUTDOWN` or a pod's SIGTERM: Redis closes its
   * clients, flushes the append-only file and exits.
   */
  shutdown(): Promise<void>;
  /** SIGKILL: Redis dies at once, as in an OOM kill or a lost node. */
  kill(): Promise<void>;
}

export interface RedisServerOptions {
  port?: number;
  /**
   * Persist every write to an append-only file (fsynced every second) in `dir`, so the data
   * outlives a restart, as a production Redis with AOF does. Off by default: a throwaway
   * server keeps everything in memory.
   */
  appendOnly?: boolean;
  /** Where the append-only file lives; required with `appendOnly`. */
  dir?: string;
}

const REDIS_BINARIES = ['redis-server', '/usr/bin/redis-server', '/usr/local/bin/redis-server'];

/**
 * Starts a throwaway `redis-server` (Debian's package) on loopback, with persistence off
 * unless `appendOnly` is set.
 * @throws when no redis-server binary is installed, saying how to get one.
 */
export async function startRedisServer(options: RedisServerOptions = {}): Promise<RedisServer> {
  if (options.appendOnly && !options.dir) {
    throw new Error('startRedisServer: appendOnly needs a dir for the append-only file');
  }
  const port = options.port ?? (await freePort());
  const persistence = options.appendOnly
    ? ['--appendonly', 'yes', '--appendfsync', 'everysec', '--dir', options.dir!]
    : ['--appendonly', 'no'];
  let child: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();
  // Should whoever started it exit without stopping it, Redis must not outlive it holding
  // the port.
  const killOnExit = (): void => void child?.kill('SIGKILL');

  const launch = async (): Promise<void> => {
    if (child) throw new Error(`redis-server on port ${port} is already running`);
    let lastError: unknown;
    for (const binary of REDIS_BINARIES) {
      const started = spawn(
        binary,
        ['--port', String(port), '--bind', '127.0.0.1', '--save', '', ...persistence],
        { stdio: 'ignore' },
      );
      const failed = await new Promise<Error | undefined>((done) => {
        started.once('error', done);
        started.once('spawn', () => done(undefined));
      });
      if (!failed) {
        child = started;
        exited = new Promise<void>((done) => started.once('exit', () => done()));
        process.once('exit', killOnExit);
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

  const end = async (signal: NodeJS.Signals): Promise<void> => {
    const running = child;
    child = undefined;
    if (!running) return;
    process.off('exit', killOnExit);
    if (running.exitCode === null && running.signalCode === null) running.kill(signal);
    await exited;
  };

  await launch();
  const kill = () => end('SIGKILL');
  // SIGTERM makes Redis run the same graceful path as SHUTDOWN (save, flush, exit).
  const shutdown = () => end('SIGTERM');
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    start: launch,
    stop: options.appendOnly ? shutdown : kill,
    shutdown,
    kill,
  };
}
