// A TCP relay in front of the test run's Redis that can freeze a worker's traffic both
// ways. To Redis, a frozen worker looks like a pod that stalled (a long synchronous task,
// CPU throttling, a stop-the-world pause): nothing arrives from it, its entries age, and
// whatever it sent meanwhile arrives all at once when it thaws.
import { createServer, connect, type AddressInfo, type Socket } from 'node:net';
import { testRedisUrl } from '@herald/testing';

export interface StallableRedis {
  /** redis:// URL of the relay; clients made from it stall together. */
  url: string;
  /** Holds every byte in both directions until `thaw`. */
  freeze(): void;
  /** Delivers what was held, in order, and relays freely again. */
  thaw(): void;
  close(): Promise<void>;
}

/** Starts a relay to the run's Redis on a free loopback port. */
export async function startStallableRedis(): Promise<StallableRedis> {
  const target = new URL(testRedisUrl());
  let frozen = false;
  const held: { to: Socket; data: Buffer }[] = [];
  const sockets = new Set<Socket>();
  const relay = (from: Socket, to: Socket) => {
    from.on('data', (data: Buffer) => {
      if (frozen) held.push({ to, data });
      else to.write(data);
    });
    from.on('close', () => to.destroy());
    from.on('error', () => to.destroy());
  };
  const server = createServer((client) => {
    const upstream = connect(Number(target.port || 6379), target.hostname);
    sockets.add(client).add(upstream);
    client.on('close', () => sockets.delete(client));
    upstream.on('close', () => sockets.delete(upstream));
    relay(client, upstream);
    relay(upstream, client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = new URL(target);
  url.hostname = '127.0.0.1';
  url.port = String((server.address() as AddressInfo).port);
  return {
    url: url.toString(),
    freeze: () => {
      frozen = true;
    },
    thaw: () => {
      frozen = false;
      for (const { to, data } of held.splice(0)) if (!to.destroyed) to.write(data);
    },
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
