import { BlockList, isIP } from 'node:net';
import { MAX_URI_LENGTH, isLoopbackRedirectUri, pathTrickProblem } from './redirect-uri.js';

// One list per family: a BlockList matches IPv4 against IPv6 rules through ::ffff:0:0/96, which ::/8 covers.
const BLOCKED_V4 = new BlockList();
const BLOCKED_V6 = new BlockList();
for (const [net, bits] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.0.2.0', 24],
  ['192.88.99.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['198.51.100.0', 24],
  ['203.0.113.0', 24],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4],
] as const)
  BLOCKED_V4.addSubnet(net, bits, 'ipv4');
for (const [net, bits] of [
  ['::', 8],
  ['64:ff9b:1::', 48],
  ['100::', 64],
  ['2001::', 23],
  ['2001:db8::', 32],
  ['2002::', 16],
  ['3fff::', 20],
  ['5f00::', 16],
  ['fc00::', 7],
  ['fe80::', 10],
  ['fec0::', 10],
  ['ff00::', 8],
] as const)
  BLOCKED_V6.addSubnet(net, bits, 'ipv6');

/** The eight 16-bit groups of a valid IPv6 address (dotted IPv4 tail allowed). */
function ipv6Groups(addr: string): number[] {
  let s = addr.toLowerCase();
  const tail = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(s);
  if (tail) {
    const [a, b, c, d] = tail.slice(1).map(Number) as [number, number, number, number];
    s = `${s.slice(0, tail.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head = '', rest] = s.split('::');
  const h = head ? head.split(':') : [];
  const t = rest ? rest.split(':') : [];
  const fill = rest === undefined ? [] : Array<string>(8 - h.length - t.length).fill('0');
  return [...h, ...fill, ...t].map((g) => parseInt(g, 16));
}

/**
 * `true` only for a globally routable unicast IP address. Refused: private
 * (RFC 1918), loopback, link-local (incl. 169.254.169.254 cloud metadata),
 * CGNAT, unique-local, multicast, unspecified, documentation/benchmark/reserved
 * ranges, zoned addresses, and IPv4-mapped or NAT64 forms of any of those.
 *
 * @example
 * ```ts
 * isPublicAddress('93.184.216.34');   // true
 * isPublicAddress('::ffff:10.0.0.1'); // false
 * ```
 */
export function isPublicAddress(ip: string): boolean {
  if (typeof ip !== 'string') return false;
  const addr = ip.startsWith('[') && ip.endsWith(']') ? ip.slice(1, -1) : ip;
  if (addr.includes('%')) return false;
  const family = isIP(addr);
  if (family === 4) return !BLOCKED_V4.check(addr, 'ipv4');
  if (family !== 6) return false;
  const g = ipv6Groups(addr);
  const mapped = g.slice(0, 5).every((x) => x === 0) && g[5] === 0xffff;
  const nat64 = g[0] === 0x64 && g[1] === 0xff9b && g.slice(2, 6).every((x) => x === 0);
  if (mapped || nat64) {
    const [hi = 0, lo = 0] = g.slice(6);
    return isPublicAddress(`${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`);
  }
  return !BLOCKED_V6.check(addr, 'ipv6');
}

export function clientIdProblem(clientId: string, allowHttpLoopback: boolean): string | undefined {
  if (typeof clientId !== 'string' || clientId.length === 0) return 'must be a non-empty string';
  if (clientId.length > MAX_URI_LENGTH) return `is longer than ${MAX_URI_LENGTH} characters`;
  if (/[^\u0021-\u007e]/.test(clientId)) return 'must be ASCII without whitespace or control characters';
  if (clientId.includes('#')) return 'must not contain a fragment';
  let url: URL;
  try {
    url = new URL(clientId);
  } catch {
    return 'is not an absolute URL';
  }
  if (url.protocol !== 'https:' && !(allowHttpLoopback && isLoopbackRedirectUri(clientId))) return 'must use https';
  if (!/^https?:\/\/[^/]/i.test(clientId)) return 'must be written in full as https://host/path';
  if (url.username || url.password || /^[a-z]+:\/\/[^/?]*@/i.test(clientId)) return 'must not contain userinfo';
  const trick = pathTrickProblem(clientId);
  if (trick) return trick;
  if (url.pathname === '/') return 'must have a path, e.g. https://app.example.com/oauth/client.json';
  return undefined;
}

/**
 * `true` when `clientId` has the shape of a Client ID Metadata Document URL
 * (MCP 2025-11-25): https, a path other than `/`, no fragment, no userinfo, no
 * dot segments. With `allowPrivateAddresses` (tests only) loopback http is
 * accepted too, matching {@link MetadataDocumentFetcher}.
 *
 * @example
 * ```ts
 * isMetadataDocumentClientId('https://app.example.com/oauth/client.json'); // true
 * isMetadataDocumentClientId('c_1f0e…');                                   // false: a registered client id
 * ```
 */
export function isMetadataDocumentClientId(clientId: string, options?: { allowPrivateAddresses?: boolean }): boolean {
  // Every id clientIdProblem accepts starts so; the early answer spares a registered id `new URL()`'s throw (~0.1 ms a sign-in).
  if (typeof clientId !== 'string' || !/^https?:\/\//i.test(clientId)) return false;
  return clientIdProblem(clientId, options?.allowPrivateAddresses === true) === undefined;
}
