import { promises as dns, type LookupAddress, type LookupOptions } from 'node:dns';
import http from 'node:http';
import https from 'node:https';
import { isIP } from 'node:net';
import { InvalidClientError, type OAuthErrorOptions } from '../errors.js';
import { quoteUri } from './redirect-uri.js';
import { isPublicAddress } from './address-policy.js';

/** Internal: how a document is fetched (see {@link MetadataDocumentFetcherOptions} for each field). */
export interface DownloadPolicy {
  fetch: typeof fetch | undefined;
  lookup: (hostname: string) => Promise<Array<{ address: string; family: 4 | 6 }>>;
  allowPrivate: boolean;
  maxBytes: number;
}

/** The default DNS lookup: every address, in the resolver's order. */
export const defaultLookup = async (hostname: string) =>
  (await dns.lookup(hostname, { all: true, verbatim: true })) as Array<{ address: string; family: 4 | 6 }>;

interface Head {
  status: number;
  header(name: string): string | undefined;
  body(): Promise<Buffer>;
  discard(): void;
}

/** Internal: the `invalid_client` error for a document, naming its URL and what is wrong. */
export const documentError = (url: string, problem: string, options?: OAuthErrorOptions) =>
  new InvalidClientError(`Client ID Metadata Document ${quoteUri(url)} ${problem}`, options);
const fail = documentError;
/**
 * Internal: a network-level failure (what a host resolves to, DNS and socket
 * errors, timeouts): the page says only that the document could not be fetched,
 * so the proxy is no DNS or port oracle for the networks behind it; `detail`
 * (logged) says why.
 */
export const documentUnreachable = (url: string, detail: string) =>
  fail(
    url,
    'could not be fetched: it must be served over https from a public address and answer within a few seconds (the server log has the details)',
    { detail },
  );
const unreachable = documentUnreachable;

/** Wraps a node:http response; the body is capped at `max` bytes while it streams. */
function nodeHead(req: http.ClientRequest, res: http.IncomingMessage, clientId: string, max: number): Head {
  res.on('error', () => undefined); // surfaced through 'close' below, never as an unhandled 'error' event
  return {
    status: res.statusCode ?? 0,
    header: (name) => {
      const v = res.headers[name];
      return Array.isArray(v) ? v.join(', ') : v;
    },
    discard: () => {
      req.destroy();
    },
    body: () =>
      new Promise<Buffer>((ok, ko) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > max) {
            req.destroy();
            ko(fail(clientId, `is larger than ${max} bytes`));
          } else chunks.push(chunk);
        });
        res.on('end', () => ok(Buffer.concat(chunks)));
        res.on('close', () => {
          if (!res.complete) ko(unreachable(clientId, 'the response was cut off before it was complete'));
        });
      }),
  };
}

/**
 * Internal: downloads the document at `url` under the policy: public addresses
 * only (the connection is pinned to the address checked), no redirects, JSON
 * only, uncompressed, at most `maxBytes` while streaming.
 */
export async function downloadDocument(
  url: URL,
  clientId: string,
  signal: AbortSignal,
  policy: DownloadPolicy,
): Promise<{ body: Buffer; cacheControl: string | undefined }> {
  const head = policy.fetch ? await viaFetch(policy.fetch, url, clientId, signal, policy) : await viaNode(url, clientId, signal, policy);
  const status = head.status;
  const type = (head.header('content-type') ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
  const encoding = head.header('content-encoding');
  const length = Number(head.header('content-length') ?? 0);
  const problem =
    status >= 300 && status < 400
      ? `answered with a redirect (HTTP ${status}); redirects are not followed: serve the document at the client_id URL itself`
      : status !== 200
        ? `answered HTTP ${status}; expected 200`
        : type !== 'application/json' && !/^application\/[a-z0-9.-]+\+json$/.test(type)
          ? `has content-type ${JSON.stringify(type || '(none)')}; expected application/json`
          : encoding && encoding.toLowerCase() !== 'identity'
            ? `has content-encoding ${JSON.stringify(encoding)}; send it uncompressed`
            : length > policy.maxBytes
              ? `is ${length} bytes; the limit is ${policy.maxBytes}`
              : undefined;
  if (problem) {
    head.discard();
    throw fail(clientId, problem);
  }
  return { body: await head.body(), cacheControl: head.header('cache-control') };
}

function checkAddresses(clientId: string, addresses: string[], policy: DownloadPolicy): void {
  if (policy.allowPrivate) return;
  const bad = addresses.find((a) => !isPublicAddress(a));
  if (bad !== undefined)
    throw unreachable(clientId, `the host resolves to ${bad}, which is not a public address; documents are only fetched from public hosts`);
}

async function viaFetch(fetchImpl: typeof fetch, url: URL, clientId: string, signal: AbortSignal, policy: DownloadPolicy): Promise<Head> {
  const hostname = url.hostname.replace(/^\[|\]$/g, '');
  if (isIP(hostname)) checkAddresses(clientId, [hostname], policy);
  const res = await fetchImpl(url.href, { method: 'GET', redirect: 'manual', signal, headers: { accept: 'application/json' } });
  const max = policy.maxBytes;
  return {
    status: res.type === 'opaqueredirect' ? 302 : res.status,
    header: (name) => res.headers.get(name) ?? undefined,
    discard: () => {
      res.body?.cancel().catch(() => undefined);
    },
    body: async () => {
      const chunks: Uint8Array[] = [];
      let size = 0;
      const reader = res.body?.getReader();
      for (let r = await reader?.read(); r && !r.done; r = await reader?.read()) {
        size += r.value.byteLength;
        if (size > max) {
          await reader?.cancel().catch(() => undefined);
          throw fail(clientId, `is larger than ${max} bytes`);
        }
        chunks.push(r.value);
      }
      return Buffer.concat(chunks);
    },
  };
}

async function viaNode(url: URL, clientId: string, signal: AbortSignal, policy: DownloadPolicy): Promise<Head> {
  const hostname = url.hostname.replace(/^\[|\]$/g, '');
  let records: Array<{ address: string; family: 4 | 6 }>;
  if (isIP(hostname)) {
    records = [{ address: hostname, family: isIP(hostname) as 4 | 6 }];
  } else {
    try {
      records = await policy.lookup(hostname);
    } catch (error) {
      throw unreachable(clientId, `the host could not be resolved (${(error as { code?: string }).code ?? 'DNS error'})`);
    }
    if (!records.length) throw unreachable(clientId, 'the host resolved to no address');
  }
  checkAddresses(
    clientId,
    records.map((r) => r.address),
    policy,
  );
  const address = (records[0] as { address: string }).address;
  const pinned = { address, family: isIP(address) === 6 ? 6 : 4 };
  if (signal.aborted) throw fail(clientId, 'was aborted');
  const max = policy.maxBytes;
  const pinnedLookup = (
    _host: string,
    opts: LookupOptions,
    cb: (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void,
  ): void => {
    if (opts.all) cb(null, [{ address: pinned.address, family: pinned.family }]);
    else cb(null, pinned.address, pinned.family);
  };
  return new Promise<Head>((resolve, reject) => {
    const req = (url.protocol === 'https:' ? https : http).request({
      protocol: url.protocol,
      host: hostname,
      port: url.port || undefined,
      path: `${url.pathname}${url.search}`,
      method: 'GET',
      headers: { accept: 'application/json', 'user-agent': 'mcp-oauth-proxy' },
      agent: false,
      lookup: pinnedLookup,
      signal,
      ...(isIP(hostname) ? {} : { servername: hostname }),
    });
    req.on('error', reject);
    req.on('response', (res) => resolve(nodeHead(req, res, clientId, max)));
    req.end();
  });
}
