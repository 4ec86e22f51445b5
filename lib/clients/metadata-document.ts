import { promises as dns, type LookupAddress, type LookupOptions } from 'node:dns';
import http from 'node:http';
import https from 'node:https';
import { BlockList, isIP } from 'node:net';
import { InvalidClientError, OAuthError } from '../errors.js';
import { parseClientMetadata } from './metadata.js';
import { MAX_URI_LENGTH, isLoopbackRedirectUri, pathTrickProblem, quoteUri } from './redirect-uri.js';
import type { RegisteredClient } from './types.js';

const DEFAULT_TTL = 300;
const MAX_TTL = 24 * 3600;

// One list per family: a BlockList matches IPv4 against IPv6 rules through ::ffff:0:0/96, which ::/8 covers.
const BLOCKED_V4 = new BlockList();
const BLOCKED_V6 = new BlockList();
for (const [net, bits] of [
  ['0.0.0.0', 8], ['10.0.0.0', 8], ['100.64.0.0', 10], ['127.0.0.0', 8], ['169.254.0.0', 16], ['172.16.0.0', 12],
  ['192.0.0.0', 24], ['192.0.2.0', 24], ['192.88.99.0', 24], ['192.168.0.0', 16], ['198.18.0.0', 15],
  ['198.51.100.0', 24], ['203.0.113.0', 24], ['224.0.0.0', 4], ['240.0.0.0', 4],
] as const) BLOCKED_V4.addSubnet(net, bits, 'ipv4');
for (const [net, bits] of [
  ['::', 8], ['64:ff9b:1::', 48], ['100::', 64], ['2001::', 23], ['2001:db8::', 32], ['2002::', 16],
  ['3fff::', 20], ['5f00::', 16], ['fc00::', 7], ['fe80::', 10], ['fec0::', 10], ['ff00::', 8],
] as const) BLOCKED_V6.addSubnet(net, bits, 'ipv6');

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

function clientIdProblem(clientId: string, allowHttpLoopback: boolean): string | undefined {
  if (typeof clientId !== 'string' || clientId.length === 0) return 'must be a non-empty string';
  if (clientId.length > MAX_URI_LENGTH) return `is longer than ${MAX_URI_LENGTH} characters`;
  if (/[^\u0021-\u007e]/.test(clientId)) return 'must be ASCII without whitespace or control characters';
  if (clientId.includes('#')) return 'must not contain a fragment';
  let url: URL;
  try { url = new URL(clientId); } catch { return 'is not an absolute URL'; }
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

/** Options of {@link MetadataDocumentFetcher}. */
export interface MetadataDocumentFetcherOptions {
  /** Injected fetch (tests). Used as-is: only an IP-literal host is address-checked, since DNS is fetch's business. */
  fetch?: typeof fetch;
  /** Injected DNS lookup. Default: `dns.promises.lookup(hostname, { all: true })`. */
  lookup?: (hostname: string) => Promise<Array<{ address: string; family: 4 | 6 }>>;
  /** Tests only: allow private/loopback addresses and loopback `http:`. Never enable in production. Default: `false`. */
  allowPrivateAddresses?: boolean;
  /** Clock in ms since epoch. Default: `Date.now`. */
  clock?: () => number;
  /** Largest document accepted, in bytes. Default: 5120. */
  maxBytes?: number;
  /** Time allowed for DNS, connection and the whole body, in ms. Default: 5000. */
  timeoutMs?: number;
  /** Redirect URI allow-list applied to the document's `redirect_uris`. */
  allowedRedirectUris?: ReadonlyArray<string | RegExp>;
  /** Most documents kept in the cache. Default: 1000. */
  cacheSize?: number;
  /** Receives the details of network-level failures (at info), which error messages leave out. */
  logger?: { info(obj: object, msg?: string): void };
}

interface Head {
  status: number;
  header(name: string): string | undefined;
  body(): Promise<Buffer>;
  discard(): void;
}

const fail = (url: string, problem: string) => new InvalidClientError(`Client ID Metadata Document ${quoteUri(url)} ${problem}`);
/**
 * A network-level failure (what a host resolves to, DNS and socket errors,
 * timeouts): the page says only that the document could not be fetched, so the
 * proxy is no DNS or port oracle for the networks behind it; `detail` (logged)
 * says why.
 */
const unreachable = (url: string, detail: string) => Object.assign(
  fail(url, 'could not be fetched: it must be served over https from a public address and answer within a few seconds (the server log has the details)'),
  { detail },
);

function cacheSeconds(cacheControl: string | undefined): number {
  if (!cacheControl) return DEFAULT_TTL;
  const directives = cacheControl.toLowerCase().split(',').map((d) => d.trim());
  if (directives.some((d) => d === 'no-store' || d === 'no-cache')) return 0;
  const maxAge = directives.map((d) => /^max-age="?(\d+)"?$/.exec(d)?.[1]).find((v) => v !== undefined);
  return maxAge === undefined ? DEFAULT_TTL : Math.min(Number(maxAge), MAX_TTL);
}

/** Wraps a node:http response; the body is capped at `max` bytes while it streams. */
function nodeHead(req: http.ClientRequest, res: http.IncomingMessage, clientId: string, max: number): Head {
  res.on('error', () => undefined); // surfaced through 'close' below, never as an unhandled 'error' event
  return {
    status: res.statusCode ?? 0,
    header: (name) => { const v = res.headers[name]; return Array.isArray(v) ? v.join(', ') : v; },
    discard: () => { req.destroy(); },
    body: () => new Promise<Buffer>((ok, ko) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > max) { req.destroy(); ko(fail(clientId, `is larger than ${max} bytes`)); } else chunks.push(chunk);
      });
      res.on('end', () => ok(Buffer.concat(chunks)));
      res.on('close', () => { if (!res.complete) ko(unreachable(clientId, 'the response was cut off before it was complete')); });
    }),
  };
}

const positiveInt = (name: string, value: unknown, fallback: number): number => {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value <= 0) throw new TypeError(`MetadataDocumentFetcher: "${name}" must be a positive integer`);
  return value;
};

/**
 * Resolves `client_id` URLs to clients by fetching their Client ID Metadata
 * Document (draft-ietf-oauth-client-id-metadata-document, MCP 2025-11-25).
 *
 * Fetching is SSRF-hardened: https only; the host is resolved once and refused
 * if any address is not public ({@link isPublicAddress}); the connection goes to
 * that pinned address (SNI and certificate checked against the host), so DNS
 * rebinding cannot move it; redirects are refused; the body is capped at 5 KB
 * while streaming; everything must finish within 5 s. Documents are cached per
 * `Cache-Control` (`max-age`, capped at 24 h; `no-store`/`no-cache` are not
 * cached; 5 min when absent). Every failure is an `InvalidClientError` whose
 * description says what is wrong; render it, never redirect.
 *
 * @example
 * ```ts
 * const documents = new MetadataDocumentFetcher({ allowedRedirectUris: options.allowedRedirectUris });
 * if (isMetadataDocumentClientId(clientId)) client = await documents.resolve(clientId);
 * ```
 */
export class MetadataDocumentFetcher {
  readonly #fetch: typeof fetch | undefined;
  readonly #lookup: (hostname: string) => Promise<Array<{ address: string; family: 4 | 6 }>>;
  readonly #allowPrivate: boolean;
  readonly #clock: () => number;
  readonly #maxBytes: number;
  readonly #timeoutMs: number;
  readonly #allowed: ReadonlyArray<string | RegExp> | undefined;
  readonly #cacheSize: number;
  readonly #cache = new Map<string, { client: RegisteredClient; expiresAt: number }>();
  readonly #inflight = new Map<string, Promise<RegisteredClient>>();
  readonly #logger: { info(obj: object, msg?: string): void } | undefined;

  constructor(options: MetadataDocumentFetcherOptions = {}) {
    for (const name of ['fetch', 'lookup', 'clock'] as const) {
      if (options[name] !== undefined && typeof options[name] !== 'function') throw new TypeError(`MetadataDocumentFetcher: "${name}" must be a function`);
    }
    this.#fetch = options.fetch;
    this.#lookup = options.lookup ?? (async (hostname) => (await dns.lookup(hostname, { all: true, verbatim: true })) as Array<{ address: string; family: 4 | 6 }>);
    this.#allowPrivate = options.allowPrivateAddresses === true;
    this.#clock = options.clock ?? Date.now;
    this.#maxBytes = positiveInt('maxBytes', options.maxBytes, 5120);
    this.#timeoutMs = positiveInt('timeoutMs', options.timeoutMs, 5000);
    this.#cacheSize = positiveInt('cacheSize', options.cacheSize, 1000);
    this.#allowed = options.allowedRedirectUris;
    this.#logger = options.logger;
  }

  /**
   * Returns the client `clientId` names, from the cache or by fetching its
   * document. The result is a fresh copy each time.
   *
   * @throws `InvalidClientError` when the URL, the fetch or the document is refused.
   */
  async resolve(clientId: string): Promise<RegisteredClient> {
    const problem = clientIdProblem(clientId, this.#allowPrivate);
    if (problem) throw new InvalidClientError(`client_id ${quoteUri(String(clientId))} is not a usable Client ID Metadata Document URL: it ${problem}`);
    const cached = this.#cache.get(clientId);
    if (cached) {
      this.#cache.delete(clientId);
      if (cached.expiresAt > this.#clock()) {
        this.#cache.set(clientId, cached);
        return structuredClone(cached.client);
      }
    }
    let pending = this.#inflight.get(clientId);
    if (!pending) {
      pending = this.#load(clientId).catch((error: unknown) => {
        const detail = (error as { detail?: unknown }).detail;
        if (typeof detail === 'string') this.#logger?.info({ client_id: clientId, detail }, 'client metadata document could not be fetched');
        throw error;
      }).finally(() => this.#inflight.delete(clientId));
      this.#inflight.set(clientId, pending);
    }
    return structuredClone(await pending);
  }

  async #load(clientId: string): Promise<RegisteredClient> {
    const url = new URL(clientId);
    const controller = new AbortController();
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => { controller.abort(); reject(unreachable(clientId, `did not arrive within ${this.#timeoutMs} ms`)); }, this.#timeoutMs);
    });
    let fetched: { body: Buffer; cacheControl: string | undefined };
    try {
      fetched = await Promise.race([this.#download(url, clientId, controller.signal), timeout]);
    } catch (error) {
      controller.abort();
      if (error instanceof OAuthError) throw error;
      throw unreachable(clientId, `fetch failed (${(error as { code?: string }).code ?? (error as Error).message})`);
    } finally {
      clearTimeout(timer);
    }

    let doc: unknown;
    try { doc = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(fetched.body)); } catch { throw fail(clientId, 'is not valid UTF-8 JSON'); }
    if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) throw fail(clientId, 'is not a JSON object');
    const fields = doc as Record<string, unknown>;
    if (fields.client_id !== clientId) {
      throw fail(clientId, `contains client_id ${JSON.stringify(fields.client_id) ?? 'undefined'}; it must be identical to the URL the document is served at`);
    }
    if (fields.client_secret !== undefined || fields.client_secret_expires_at !== undefined) {
      throw fail(clientId, 'must not contain client_secret or client_secret_expires_at: a metadata-document client has no shared secret');
    }
    const method = fields.token_endpoint_auth_method ?? 'none';
    if (method !== 'none') {
      throw fail(clientId, `declares token_endpoint_auth_method ${JSON.stringify(method)}; only "none" (public client with PKCE) is supported for metadata-document clients`);
    }
    let metadata;
    try {
      metadata = parseClientMetadata({ ...fields, token_endpoint_auth_method: 'none' }, this.#allowed === undefined ? undefined : { allowedRedirectUris: this.#allowed });
    } catch (error) {
      if (error instanceof OAuthError) throw fail(clientId, `is invalid: ${error.message}`);
      throw error;
    }
    const now = this.#clock();
    const client: RegisteredClient = {
      ...metadata, client_id: clientId, client_id_issued_at: Math.floor(now / 1000), kind: 'metadata_document', verified_domain: url.host,
    };
    const ttl = cacheSeconds(fetched.cacheControl);
    if (ttl > 0) {
      while (this.#cache.size >= this.#cacheSize) this.#cache.delete(this.#cache.keys().next().value as string);
      this.#cache.set(clientId, { client, expiresAt: now + ttl * 1000 });
    }
    return client;
  }

  async #download(url: URL, clientId: string, signal: AbortSignal): Promise<{ body: Buffer; cacheControl: string | undefined }> {
    const head = this.#fetch ? await this.#viaFetch(url, clientId, signal) : await this.#viaNode(url, clientId, signal);
    const status = head.status;
    const type = (head.header('content-type') ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
    const encoding = head.header('content-encoding');
    const length = Number(head.header('content-length') ?? 0);
    const problem = status >= 300 && status < 400 ? `answered with a redirect (HTTP ${status}); redirects are not followed: serve the document at the client_id URL itself`
      : status !== 200 ? `answered HTTP ${status}; expected 200`
      : type !== 'application/json' && !/^application\/[a-z0-9.-]+\+json$/.test(type) ? `has content-type ${JSON.stringify(type || '(none)')}; expected application/json`
      : encoding && encoding.toLowerCase() !== 'identity' ? `has content-encoding ${JSON.stringify(encoding)}; send it uncompressed`
      : length > this.#maxBytes ? `is ${length} bytes; the limit is ${this.#maxBytes}`
      : undefined;
    if (problem) { head.discard(); throw fail(clientId, problem); }
    return { body: await head.body(), cacheControl: head.header('cache-control') };
  }

  #checkAddresses(clientId: string, addresses: string[]): void {
    if (this.#allowPrivate) return;
    const bad = addresses.find((a) => !isPublicAddress(a));
    if (bad !== undefined) throw unreachable(clientId, `the host resolves to ${bad}, which is not a public address; documents are only fetched from public hosts`);
  }

  async #viaFetch(url: URL, clientId: string, signal: AbortSignal): Promise<Head> {
    const hostname = url.hostname.replace(/^\[|\]$/g, '');
    if (isIP(hostname)) this.#checkAddresses(clientId, [hostname]);
    const res = await (this.#fetch as typeof fetch)(url.href, { method: 'GET', redirect: 'manual', signal, headers: { accept: 'application/json' } });
    const max = this.#maxBytes;
    return {
      status: res.type === 'opaqueredirect' ? 302 : res.status,
      header: (name) => res.headers.get(name) ?? undefined,
      discard: () => { res.body?.cancel().catch(() => undefined); },
      body: async () => {
        const chunks: Uint8Array[] = [];
        let size = 0;
        const reader = res.body?.getReader();
        for (let r = await reader?.read(); r && !r.done; r = await reader?.read()) {
          size += r.value.byteLength;
          if (size > max) { await reader?.cancel().catch(() => undefined); throw fail(clientId, `is larger than ${max} bytes`); }
          chunks.push(r.value);
        }
        return Buffer.concat(chunks);
      },
    };
  }

  async #viaNode(url: URL, clientId: string, signal: AbortSignal): Promise<Head> {
    const hostname = url.hostname.replace(/^\[|\]$/g, '');
    let records: Array<{ address: string; family: 4 | 6 }>;
    if (isIP(hostname)) {
      records = [{ address: hostname, family: isIP(hostname) as 4 | 6 }];
    } else {
      try { records = await this.#lookup(hostname); } catch (error) { throw unreachable(clientId, `the host could not be resolved (${(error as { code?: string }).code ?? 'DNS error'})`); }
      if (!records.length) throw unreachable(clientId, 'the host resolved to no address');
    }
    this.#checkAddresses(clientId, records.map((r) => r.address));
    const address = (records[0] as { address: string }).address;
    const pinned = { address, family: isIP(address) === 6 ? 6 : 4 };
    if (signal.aborted) throw fail(clientId, 'was aborted');
    const max = this.#maxBytes;
    const pinnedLookup = (_host: string, opts: LookupOptions, cb: (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void): void => {
      if (opts.all) cb(null, [{ address: pinned.address, family: pinned.family }]);
      else cb(null, pinned.address, pinned.family);
    };
    return new Promise<Head>((resolve, reject) => {
      const req = (url.protocol === 'https:' ? https : http).request({
        protocol: url.protocol, host: hostname, port: url.port || undefined, path: `${url.pathname}${url.search}`, method: 'GET',
        headers: { accept: 'application/json', 'user-agent': 'mcp-oauth-proxy' },
        agent: false, lookup: pinnedLookup, signal, ...(isIP(hostname) ? {} : { servername: hostname }),
      });
      req.on('error', reject);
      req.on('response', (res) => resolve(nodeHead(req, res, clientId, max)));
      req.end();
    });
  }
}
