import { lookup as dnsLookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { createBrotliDecompress, createGunzip, createInflate } from 'node:zlib';
import ipaddr from 'ipaddr.js';
import { Agent, request } from 'undici';

/** Why a fetch was refused or failed; `reason` is the metric label. */
export class FetchError extends Error {
  constructor(
    readonly reason:
      | 'bad_url'
      | 'blocked_address'
      | 'dns'
      | 'too_many_redirects'
      | 'too_large'
      | 'timeout'
      | 'http_status'
      | 'network',
    message: string,
    readonly status?: number,
  ) {
    super(message);
    this.name = 'FetchError';
  }
}

export interface FetchPolicy {
  /** Hosts (exact names) or CIDRs the fetcher may reach although private (NEWS_FETCH_ALLOW). */
  allow: readonly string[];
  /** Largest body, compressed or not. */
  maxBytes: number;
  /** For the whole fetch, redirects included. */
  timeoutMs: number;
  maxRedirects: number;
  /** Fetches to one host at once. */
  perHostConcurrency: number;
  userAgent: string;
  /** Name resolution; the default is the system's (tests map names to addresses). */
  lookup?: (hostname: string) => Promise<{ address: string; family: number }[]>;
}

export const DEFAULT_FETCH_POLICY: FetchPolicy = {
  allow: [],
  maxBytes: 5 * 1024 * 1024,
  timeoutMs: 20_000,
  maxRedirects: 3,
  perHostConcurrency: 2,
  userAgent: 'HeraldNewsBot/1.0 (+https://github.com/herald)',
};

export interface FetchResult {
  status: 200 | 304;
  /** Where the body came from, after redirects. */
  url: string;
  body: Buffer;
  contentType: string | undefined;
  etag: string | undefined;
  lastModified: string | undefined;
}

/** Ranges no fetch may reach unless allowed: everything but public unicast. */
const BLOCKED_RANGES = new Set([
  'unspecified',
  'broadcast',
  'multicast',
  'linkLocal',
  'loopback',
  'private',
  'reserved',
  'carrierGradeNat',
  'uniqueLocal',
  'ipv4Mapped',
  'rfc6145',
  'rfc6052',
  '6to4',
  'teredo',
  'benchmarking',
  'amt',
  'as112',
  'deprecated',
  'orchid2',
  'droneRemoteIdProtocolEntityTags',
]);

/** Whether an address is private, loopback, link-local (cloud metadata), and the like. */
export function isBlockedAddress(address: string): boolean {
  let parsed = ipaddr.parse(address);
  if (parsed.kind() === 'ipv6' && (parsed as ipaddr.IPv6).isIPv4MappedAddress()) {
    parsed = (parsed as ipaddr.IPv6).toIPv4Address();
  }
  return BLOCKED_RANGES.has(parsed.range());
}

/** Whether `allow` (NEWS_FETCH_ALLOW) lets `host`, at `address`, through although private. */
export function allowedByPolicy(host: string, address: string, allow: readonly string[]): boolean {
  for (const entry of allow) {
    if (entry.includes('/')) {
      try {
        const [range, bits] = ipaddr.parseCIDR(entry);
        const parsed = ipaddr.parse(address);
        if (parsed.kind() === range.kind() && parsed.match([range, bits] as never)) return true;
      } catch {
        // A malformed entry is reported by the config check; it allows nothing.
      }
    } else if (entry.toLowerCase() === host.toLowerCase()) {
      return true;
    }
  }
  return false;
}

/** Per-host limit on fetches at once. */
class HostLimiter {
  private readonly running = new Map<string, number>();
  private readonly waiting = new Map<string, (() => void)[]>();
  constructor(private readonly limit: number) {}

  /**
   * Runs `work` in one of `host`'s slots, queueing for one first; a fetch whose deadline
   * passes in the queue leaves it then, not when the slot ahead of it frees up.
   */
  async run<T>(host: string, signal: AbortSignal, work: () => Promise<T>): Promise<T> {
    signal.throwIfAborted();
    if ((this.running.get(host) ?? 0) >= this.limit) {
      await new Promise<void>((resolve, reject) => {
        const queue = this.waiting.get(host) ?? [];
        const leave = () => {
          queue.splice(queue.indexOf(grant), 1);
          reject(signal.reason as Error);
        };
        const grant = () => {
          signal.removeEventListener('abort', leave);
          resolve();
        };
        queue.push(grant);
        this.waiting.set(host, queue);
        signal.addEventListener('abort', leave, { once: true });
      });
    } else {
      this.running.set(host, (this.running.get(host) ?? 0) + 1);
    }
    try {
      return await work();
    } finally {
      // The slot passes straight to the next in the queue, so the count stays.
      const next = this.waiting.get(host)?.shift();
      if (next) next();
      else if ((this.running.get(host) ?? 1) <= 1) this.running.delete(host);
      else this.running.set(host, (this.running.get(host) ?? 1) - 1);
      if (this.waiting.get(host)?.length === 0) this.waiting.delete(host);
    }
  }
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);

/**
 * Fetches news over HTTP without letting a feed reach inside the network: every hop's
 * address is resolved, checked (loopback, private, link-local and metadata, unique-local
 * IPv6 and IPv4-mapped addresses are refused unless allowed) and pinned for the
 * connection, so DNS cannot change between the check and the connect. Redirects are
 * followed by hand (each hop checked), bodies are capped compressed and decompressed, and
 * validators make conditional GETs.
 */
export function createFetcher(overrides: Partial<FetchPolicy> = {}) {
  const policy = { ...DEFAULT_FETCH_POLICY, ...overrides };
  const limiter = new HostLimiter(policy.perHostConcurrency);
  const resolve =
    policy.lookup ?? ((hostname: string) => dnsLookup(hostname, { all: true, verbatim: true }));

  async function pin(url: URL): Promise<{ address: string; family: number }> {
    const host = url.hostname.replace(/^\[|\]$/g, '');
    let addresses: { address: string; family: number }[];
    if (isIP(host)) {
      addresses = [{ address: host, family: isIP(host) }];
    } else {
      try {
        addresses = await resolve(host);
      } catch (error) {
        throw new FetchError('dns', `cannot resolve ${host}: ${(error as Error).message}`);
      }
    }
    if (addresses.length === 0) throw new FetchError('dns', `${host} has no address`);
    // Every address the name has must pass: a name with one public and one private address
    // could otherwise be steered to the private one.
    for (const { address } of addresses) {
      if (isBlockedAddress(address) && !allowedByPolicy(host, address, policy.allow)) {
        throw new FetchError(
          'blocked_address',
          `${host} resolves to ${address}, a private or internal address; refused (allow it with NEWS_FETCH_ALLOW if intended)`,
        );
      }
    }
    return addresses[0]!;
  }

  async function readCapped(
    body: AsyncIterable<Buffer | Uint8Array>,
    encoding: string | undefined,
  ): Promise<Buffer> {
    const tooLarge = () =>
      new FetchError('too_large', `the response is larger than ${policy.maxBytes} bytes; refused`);
    const decoder =
      encoding === 'gzip' || encoding === 'x-gzip'
        ? createGunzip()
        : encoding === 'deflate'
          ? createInflate()
          : encoding === 'br'
            ? createBrotliDecompress()
            : undefined;
    const chunks: Buffer[] = [];
    let size = 0;
    if (!decoder) {
      for await (const chunk of body) {
        size += chunk.length;
        if (size > policy.maxBytes) throw tooLarge();
        chunks.push(Buffer.from(chunk));
      }
      return Buffer.concat(chunks);
    }
    let compressed = 0;
    const state: { failure?: Error } = {};
    const check = (): void => {
      if (state.failure) throw state.failure;
    };
    decoder.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > policy.maxBytes) {
        state.failure ??= tooLarge();
        decoder.destroy();
      } else {
        chunks.push(chunk);
      }
    });
    const done = new Promise<void>((resolveDone, reject) => {
      decoder.on('end', resolveDone);
      decoder.on('close', resolveDone);
      decoder.on('error', (error) =>
        reject(
          state.failure ?? new FetchError('network', `bad ${encoding} body: ${error.message}`),
        ),
      );
    });
    // Awaited after the loop; a rejection meanwhile must not go unhandled.
    done.catch(() => undefined);
    for await (const chunk of body) {
      compressed += chunk.length;
      if (compressed > policy.maxBytes) throw tooLarge();
      check();
      if (!decoder.write(chunk)) {
        // Wait for room, or for the decoder to be destroyed by the size cap.
        await new Promise((resume) => {
          decoder.once('drain', resume);
          decoder.once('close', resume);
        });
      }
      check();
    }
    decoder.end();
    await done;
    check();
    return Buffer.concat(chunks);
  }

  /**
   * One request and its whole answer, body included: a redirect's next URL, or the result.
   * Every exit reads or destroys the body, so the connection is done when it returns.
   */
  async function exchange(
    url: URL,
    first: boolean,
    validators: { etag?: string | null | undefined; lastModified?: string | null | undefined },
    signal: AbortSignal,
  ): Promise<FetchResult | { redirectTo: URL }> {
    const pinned = await pin(url);
    const agent = new Agent({
      connect: {
        // The checked address, whatever DNS answers now.
        lookup: (_hostname, _options, callback) =>
          callback(null, [{ address: pinned.address, family: pinned.family }] as never, undefined),
        timeout: Math.min(10_000, policy.timeoutMs),
      },
    });
    try {
      const response = await request(url, {
        dispatcher: agent,
        method: 'GET',
        signal,
        headers: {
          'user-agent': policy.userAgent,
          accept:
            'application/rss+xml, application/atom+xml, application/xml, text/xml, text/html;q=0.9, */*;q=0.5',
          'accept-encoding': 'gzip, deflate, br',
          ...(first && validators.etag ? { 'if-none-match': validators.etag } : {}),
          ...(first && validators.lastModified
            ? { 'if-modified-since': validators.lastModified }
            : {}),
        },
      });
      const header = (name: string) => {
        const value = response.headers[name];
        return Array.isArray(value) ? value[0] : value;
      };
      if (REDIRECTS.has(response.statusCode)) {
        await response.body.dump();
        const location = header('location');
        if (!location)
          throw new FetchError(
            'http_status',
            `redirect ${response.statusCode} without a Location`,
            response.statusCode,
          );
        return { redirectTo: new URL(location, url) };
      }
      if (response.statusCode === 304) {
        await response.body.dump();
        return {
          status: 304,
          url: url.toString(),
          body: Buffer.alloc(0),
          contentType: undefined,
          etag: header('etag'),
          lastModified: header('last-modified'),
        };
      }
      if (response.statusCode !== 200) {
        await response.body.dump();
        throw new FetchError(
          'http_status',
          `HTTP ${response.statusCode} from ${url.host}`,
          response.statusCode,
        );
      }
      const declared = Number(header('content-length') ?? 0);
      if (declared > policy.maxBytes) {
        response.body.destroy();
        throw new FetchError(
          'too_large',
          `the response declares ${declared} bytes, more than ${policy.maxBytes}; refused`,
        );
      }
      const body = await readCapped(response.body, header('content-encoding')?.toLowerCase()).catch(
        (error: unknown) => {
          response.body.destroy();
          throw error;
        },
      );
      return {
        status: 200,
        url: url.toString(),
        body,
        contentType: header('content-type'),
        etag: header('etag'),
        lastModified: header('last-modified'),
      };
    } finally {
      await agent.close().catch(() => undefined);
    }
  }

  return async function fetchNews(
    target: string,
    validators: { etag?: string | null | undefined; lastModified?: string | null | undefined } = {},
  ): Promise<FetchResult> {
    let url: URL;
    try {
      url = new URL(target);
    } catch {
      throw new FetchError('bad_url', `not a URL: ${target}`);
    }
    const signal = AbortSignal.timeout(policy.timeoutMs);
    try {
      for (let hop = 0; ; hop += 1) {
        if (url.protocol !== 'http:' && url.protocol !== 'https:') {
          throw new FetchError('bad_url', `only http and https are fetched, not ${url.protocol}`);
        }
        // The slot covers the body too: a host that sends headers at once and then dribbles
        // its body would otherwise have every source on it reading at the same time. Each
        // hop takes its own host's slot and frees it before the next: holding the first
        // host's slot while queueing for the second's would let two redirect chains that
        // cross the same hosts wait on each other until both time out, and the first host
        // is not being loaded meanwhile.
        const answer = await limiter.run(url.host, signal, () =>
          exchange(url, hop === 0, validators, signal),
        );
        if (!('redirectTo' in answer)) return answer;
        if (hop >= policy.maxRedirects) {
          throw new FetchError('too_many_redirects', `more than ${policy.maxRedirects} redirects`);
        }
        url = answer.redirectTo;
      }
    } catch (error) {
      if (error instanceof FetchError) throw error;
      if (signal.aborted)
        throw new FetchError('timeout', `no complete answer within ${policy.timeoutMs} ms`);
      throw new FetchError('network', `${url.host}: ${(error as Error).message}`);
    }
  };
}

export type NewsFetcher = ReturnType<typeof createFetcher>;
