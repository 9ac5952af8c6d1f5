import { createServer, type Server } from 'node:http';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createFetcher, FetchError, isBlockedAddress } from '../src/fetch.js';

const FEED = '<?xml version="1.0"?><rss version="2.0"><channel><title>t</title></channel></rss>';

describe('the news fetcher', () => {
  let server: Server;
  let port: number;
  let bigBytesWritten = 0;
  /** What the server did for /slow and /stall, in order: "start <id>", "end <id>". */
  const served: string[] = [];
  /** Called when the server receives /hold-redirect; it answers once `releaseRedirect` is called. */
  let onHeldRedirect: () => void = () => undefined;
  let releaseRedirect: () => void = () => undefined;
  const names: Record<string, string[]> = {
    'feeds.test': ['127.0.0.1'],
    'other.test': ['127.0.0.1'],
    'internal.test': ['10.0.0.5'],
    'mixed.test': ['93.184.216.34', '10.0.0.1'],
  };
  const fetcher = (extra: object = {}) =>
    createFetcher({
      allow: ['feeds.test'],
      lookup: async (host) => {
        const addresses = names[host];
        if (!addresses) throw new Error(`ENOTFOUND ${host}`);
        return addresses.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
      },
      maxBytes: 1024 * 1024,
      ...extra,
    });
  const at = (path: string) => `http://feeds.test:${port}${path}`;

  beforeAll(async () => {
    server = createServer((request, response) => {
      const url = request.url ?? '/';
      const redirect = (location: string) => response.writeHead(302, { location }).end();
      if (url === '/feed') {
        if (request.headers['if-none-match'] === '"v1"') return response.writeHead(304).end();
        return response
          .writeHead(200, { 'content-type': 'application/rss+xml', etag: '"v1"' })
          .end(FEED);
      }
      if (url === '/gzip')
        return response.writeHead(200, { 'content-encoding': 'gzip' }).end(gzipSync(FEED));
      if (url === '/to-loopback') return redirect(`http://127.0.0.1:${port}/feed`);
      if (url === '/to-ipv6-loopback') return redirect(`http://[::1]:${port}/feed`);
      if (url === '/to-metadata') return redirect('http://169.254.169.254/latest/meta-data/');
      if (url === '/to-private-name') return redirect(`http://internal.test:${port}/feed`);
      if (url === '/to-mapped') return redirect(`http://[::ffff:127.0.0.1]:${port}/feed`);
      if (url === '/to-feed') return redirect('/feed');
      const hop = /^\/hop(\d)$/.exec(url);
      if (hop) return redirect(`/hop${Number(hop[1]) + 1}`);
      const slow = /^\/(slow|stall)\?id=(\w+)$/.exec(url);
      if (slow) {
        // Headers at once, then the body a piece at a time: /slow in 5 pieces 20 ms apart,
        // /stall in pieces 50 ms apart for 10 s.
        const [, kind, id] = slow;
        served.push(`start ${id}`);
        response.writeHead(200, { 'content-type': 'application/rss+xml' });
        response.flushHeaders();
        let pieces = kind === 'slow' ? 5 : 200;
        const timer = setInterval(
          () => {
            pieces -= 1;
            if (pieces > 0) return void response.write('<!-- more -->');
            clearInterval(timer);
            // Logged before the last bytes leave, so before the client can have read them.
            served.push(`end ${id}`);
            response.end(FEED);
          },
          kind === 'slow' ? 20 : 50,
        );
        response.on('close', () => clearInterval(timer));
        return;
      }
      const cross = /^\/cross-to-(\w+)\?id=(\w+)$/.exec(url);
      if (cross) {
        // Answers after a pause, so two fetches hold their first hosts' slots at once.
        const [, host, id] = cross;
        return void setTimeout(() => redirect(`http://${host}.test:${port}/slow?id=${id}`), 100);
      }
      if (url === '/hold-redirect') {
        releaseRedirect = () => redirect(`http://other.test:${port}/feed`);
        return onHeldRedirect();
      }
      if (url === '/big') {
        // 50 MB, written as fast as the client reads it.
        response.writeHead(200, { 'content-type': 'application/rss+xml' });
        const chunk = Buffer.alloc(64 * 1024, 'a');
        const write = () => {
          while (bigBytesWritten < 50 * 1024 * 1024) {
            bigBytesWritten += chunk.length;
            if (!response.write(chunk)) return void response.once('drain', write);
          }
          response.end();
        };
        response.on('close', () => undefined);
        return write();
      }
      if (url === '/bomb') {
        return response
          .writeHead(200, { 'content-encoding': 'gzip' })
          .end(gzipSync(Buffer.alloc(50 * 1024 * 1024)));
      }
      response.writeHead(404).end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as { port: number }).port;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('fetches an allowed host, follows a redirect there, and makes conditional GETs', async () => {
    const fetch = fetcher();
    const first = await fetch(at('/to-feed'));
    expect(first).toMatchObject({ status: 200, url: at('/feed'), etag: '"v1"' });
    expect(first.body.toString()).toBe(FEED);
    expect((await fetch(at('/feed'), { etag: '"v1"' })).status).toBe(304);
    expect((await fetch(at('/gzip'))).body.toString()).toBe(FEED);
  });

  it.each([
    ['127.0.0.1', '/to-loopback'],
    ['[::1]', '/to-ipv6-loopback'],
    ['169.254.169.254 (cloud metadata)', '/to-metadata'],
    ['a name that resolves to a private address', '/to-private-name'],
    ['an IPv4-mapped IPv6 address', '/to-mapped'],
  ])('refuses a redirect to %s', async (_what, path) => {
    await expect(fetcher()(at(path))).rejects.toMatchObject({ reason: 'blocked_address' });
  });

  it('refuses names with any private address, and private hosts named directly', async () => {
    await expect(fetcher()(`http://mixed.test:${port}/feed`)).rejects.toMatchObject({
      reason: 'blocked_address',
    });
    await expect(fetcher()(`http://127.0.0.1:${port}/feed`)).rejects.toMatchObject({
      reason: 'blocked_address',
    });
    // Allowed by CIDR, the same address passes.
    const allowed = await fetcher({ allow: ['127.0.0.0/8'] })(`http://127.0.0.1:${port}/feed`);
    expect(allowed.status).toBe(200);
  });

  it('stops after 3 redirects', async () => {
    await expect(fetcher()(at('/hop1'))).rejects.toMatchObject({ reason: 'too_many_redirects' });
  });

  it('refuses a 50 MB feed without reading it all', async () => {
    const before = process.memoryUsage().rss;
    await expect(fetcher()(at('/big'))).rejects.toMatchObject({ reason: 'too_large' });
    await new Promise((r) => setTimeout(r, 100));
    // The server got to write little more than the cap before the connection closed.
    expect(bigBytesWritten).toBeLessThan(10 * 1024 * 1024);
    expect(process.memoryUsage().rss - before).toBeLessThan(40 * 1024 * 1024);
  });

  it('holds a host’s slot until the body is read, so slow bodies from one host never overlap', async () => {
    served.length = 0;
    const fetch = fetcher({ perHostConcurrency: 1 });
    const bodies = await Promise.all([fetch(at('/slow?id=a')), fetch(at('/slow?id=b'))]);
    expect(bodies.map((b) => b.body.toString().endsWith(FEED))).toEqual([true, true]);
    const [first, second] = [served[0]?.split(' ')[1], served[2]?.split(' ')[1]];
    expect([first, second].sort()).toEqual(['a', 'b']);
    expect(served).toEqual([`start ${first}`, `end ${first}`, `start ${second}`, `end ${second}`]);
  });

  it('counts the time reading the body against the fetch timeout', async () => {
    // The body would take 10 s; headers come at once.
    await expect(fetcher({ timeoutMs: 300 })(at('/stall?id=alone'))).rejects.toMatchObject({
      reason: 'timeout',
    });
  });

  it('takes each redirect hop’s slot on its own, so chains crossing two hosts cannot deadlock', async () => {
    served.length = 0;
    const fetch = fetcher({ allow: ['feeds.test', 'other.test'], perHostConcurrency: 1 });
    const [a, b] = await Promise.all([
      fetch(at('/cross-to-other?id=a')),
      fetch(`http://other.test:${port}/cross-to-feeds?id=b`),
    ]);
    expect([a.url, b.url]).toEqual([
      `http://other.test:${port}/slow?id=a`,
      `http://feeds.test:${port}/slow?id=b`,
    ]);
  });

  it('gives up at its own deadline while waiting for a busy host’s slot', async () => {
    const fetch = fetcher({
      allow: ['feeds.test', 'other.test'],
      perHostConcurrency: 1,
      timeoutMs: 500,
    });
    const heldRedirectArrived = new Promise<void>((resolve) => (onHeldRedirect = resolve));
    // Redirected to other.test once the stalled fetch below holds other.test's one slot.
    const redirected = fetch(at('/hold-redirect'));
    redirected.catch(() => undefined);
    await heldRedirectArrived;
    // Started 200 ms later, so its deadline comes 200 ms after the redirected fetch's.
    await new Promise((resolve) => setTimeout(resolve, 200));
    let stalledSettled = false;
    const stalled = fetch(`http://other.test:${port}/stall?id=holder`).finally(
      () => (stalledSettled = true),
    );
    stalled.catch(() => undefined);
    while (!served.includes('start holder')) await new Promise((r) => setTimeout(r, 5));
    releaseRedirect();
    await expect(redirected).rejects.toMatchObject({ reason: 'timeout' });
    expect(stalledSettled).toBe(false);
    await expect(stalled).rejects.toMatchObject({ reason: 'timeout' });
  });

  it('refuses a gzip bomb by its decompressed size', async () => {
    await expect(fetcher()(at('/bomb'))).rejects.toBeInstanceOf(FetchError);
    await expect(fetcher()(at('/bomb'))).rejects.toMatchObject({ reason: 'too_large' });
  });
});

describe('isBlockedAddress', () => {
  it.each([
    '127.0.0.1',
    '10.1.2.3',
    '172.16.0.1',
    '192.168.1.1',
    '169.254.169.254',
    '::1',
    'fd00::1',
    'fe80::1',
    '::ffff:10.0.0.1',
    '0.0.0.0',
    '100.64.0.1',
  ])('blocks %s', (address) => expect(isBlockedAddress(address)).toBe(true));
  it.each(['93.184.216.34', '1.1.1.1', '2606:4700:4700::1111'])('lets %s through', (address) =>
    expect(isBlockedAddress(address)).toBe(false),
  );
});
