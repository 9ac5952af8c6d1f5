import { createServer, type Server, type Socket } from 'node:net';
import { Writable } from 'node:stream';
import { PortForward, type KubeConfig } from '@kubernetes/client-node';

/** A local port that leads to one port of one pod, like `kubectl port-forward`. */
export interface Forwarded {
  /** http://127.0.0.1:<local port> */
  readonly url: string;
  /** Why the last connection through the forward failed, if one did (for the caller's error). */
  lastError(): string | undefined;
  close(): Promise<void>;
}

/**
 * Listens on a free loopback port; each connection to it opens its own websocket to the
 * API server's `pods/<pod>/portforward` (client-node's PortForward), as kubectl does with
 * one stream pair per connection.
 */
export async function forwardPort(
  kubeConfig: KubeConfig,
  namespace: string,
  pod: string,
  podPort: number,
): Promise<Forwarded> {
  // Errors fail the connection they belong to; nothing retries on its own.
  const forward = new PortForward(kubeConfig, true);
  const sockets = new Set<Socket>();
  const closers = new Set<() => void>();
  let lastError: string | undefined;

  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    // The error stream carries the kubelet's text ("error forwarding port 8081 …").
    const errors = new Writable({
      write(chunk: Buffer, _encoding, done) {
        // The stream opens with its port number, which PortForward strips, leaving nothing.
        const text = chunk.toString('utf8').trim();
        if (text) {
          lastError = text;
          socket.destroy();
        }
        done();
      },
    });
    forward
      .portForward(namespace, pod, [podPort], socket, errors, socket)
      .then((connection) => {
        if (typeof connection === 'function') return;
        const close = () => connection.close();
        closers.add(close);
        connection.on('close', () => {
          closers.delete(close);
          socket.end();
        });
        socket.on('close', close);
      })
      .catch((error: unknown) => {
        lastError = error instanceof Error ? error.message : describeEvent(error);
        socket.destroy();
      });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const address = server.address();
  const localPort = typeof address === 'object' && address ? address.port : 0;
  return {
    url: `http://127.0.0.1:${localPort}`,
    lastError: () => lastError,
    close: async () => {
      for (const close of closers) close();
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** A websocket ErrorEvent is not an Error; its message is still what went wrong. */
function describeEvent(event: unknown): string {
  if (typeof event === 'object' && event !== null && 'message' in event) {
    return String(event.message);
  }
  return String(event);
}
