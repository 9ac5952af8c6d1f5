import ipaddr from 'ipaddr.js';
import { allowedByPolicy, isBlockedAddress } from './fetch.js';

// Names that only resolve inside a network: RFC 6761/6762 and RFC 8375, and the
// `.internal` suffix clouds give their private hosts.
const LOCAL_SUFFIX = /(^|\.)(localhost|local|internal|intranet|lan|home\.arpa)$/i;

/**
 * Why a channel reader could not open `link`, or undefined when it is a public http(s)
 * URL: another scheme, a literal private, loopback or link-local address, a name that
 * only resolves inside a network, or a single-label host. Hosts and CIDRs of `allow`
 * (NEWS_FETCH_ALLOW) pass, as they do for fetching. Names are not resolved: a public feed
 * linking to a public name that resolves privately is the reader's DNS, not Herald's.
 */
export function unreachableLinkReason(
  link: string,
  allow: readonly string[] = [],
): 'not_http' | 'private_address' | 'local_name' | undefined {
  let url: URL;
  try {
    url = new URL(link);
  } catch {
    return 'not_http';
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return 'not_http';
  const host = url.hostname.replace(/^\[|\]$/g, '');
  if (ipaddr.isValid(host)) {
    if (!isBlockedAddress(host) || allowedByPolicy(host, host, allow)) return undefined;
    return 'private_address';
  }
  if (LOCAL_SUFFIX.test(host) || !host.includes('.')) {
    return allow.some((entry) => entry.toLowerCase() === host.toLowerCase())
      ? undefined
      : 'local_name';
  }
  return undefined;
}
