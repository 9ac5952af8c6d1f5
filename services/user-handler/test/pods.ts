// User-handler processes run as a pod runs them (node dist/main.js with an environment),
// for tests that kill one mid-work.
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { freePort, waitFor } from '@herald/testing';

const MAIN = fileURLToPath(new URL('../dist/main.js', import.meta.url));

export interface Pod {
  child: ChildProcess;
  port: number;
  exited: Promise<unknown>;
}

/**
 * Starts a user-handler process with `env` (and a free PORT) and resolves once its
 * /readyz says ready. It is added to `pods`, so the test can kill every one it started.
 */
export async function startPod(env: Record<string, string>, pods: Pod[]): Promise<Pod> {
  const port = await freePort();
  const child = spawn(process.execPath, [MAIN], {
    env: { PATH: process.env.PATH ?? '', ...env, PORT: String(port) },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const pod = { child, port, exited: new Promise((resolve) => child.on('exit', resolve)) };
  pods.push(pod);
  await waitFor(async () => (await fetch(`http://127.0.0.1:${port}/readyz`)).status === 200, {
    what: 'the pod to be ready',
    timeoutMs: 20_000,
  });
  return pod;
}

/** Kills every pod started (SIGKILL) and waits for them to exit. */
export async function killPods(pods: Pod[]): Promise<void> {
  for (const pod of pods) pod.child.kill('SIGKILL');
  await Promise.all(pods.map((pod) => pod.exited));
}
