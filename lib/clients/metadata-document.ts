import { OAuthError } from '../errors.js';
import { BoundedLru } from '../util/lru.js';
import { SingleFlight } from '../util/single-flight.js';
import { withTimeout } from '../util/timeout.js';
import { parseClientMetadata } from './metadata.js';
import { quoteUri } from './redirect-uri.js';
import { clientIdProblem } from './address-policy.js';
import {
  defaultLookup,
  documentError as fail,
  documentUnreachable as unreachable,
  downloadDocument,
  type DownloadPolicy,
} from './document-download.js';
import type { RegisteredClient } from './types.js';
import { InvalidClientError } from '../errors.js';

export { isPublicAddress, isMetadataDocumentClientId } from './address-policy.js';

const DEFAULT_TTL = 300;
const MAX_TTL = 24 * 3600;

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

function cacheSeconds(cacheControl: string | undefined): number {
  if (!cacheControl) return DEFAULT_TTL;
  const directives = cacheControl
    .toLowerCase()
    .split(',')
    .map((d) => d.trim());
  if (directives.some((d) => d === 'no-store' || d === 'no-cache')) return 0;
  const maxAge = directives.map((d) => /^max-age="?(\d+)"?$/.exec(d)?.[1]).find((v) => v !== undefined);
  return maxAge === undefined ? DEFAULT_TTL : Math.min(Number(maxAge), MAX_TTL);
}

const positiveInt = (name: string, value: unknown, fallback: number): number => {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value <= 0)
    throw new TypeError(`MetadataDocumentFetcher: "${name}" must be a positive integer`);
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
  readonly #policy: DownloadPolicy;
  readonly #clock: () => number;
  readonly #timeoutMs: number;
  readonly #allowed: ReadonlyArray<string | RegExp> | undefined;
  readonly #cache: BoundedLru<string, { client: RegisteredClient; expiresAt: number }>;
  readonly #loading = new SingleFlight<string, RegisteredClient>();
  readonly #logger: { info(obj: object, msg?: string): void } | undefined;

  constructor(options: MetadataDocumentFetcherOptions = {}) {
    for (const name of ['fetch', 'lookup', 'clock'] as const) {
      if (options[name] !== undefined && typeof options[name] !== 'function')
        throw new TypeError(`MetadataDocumentFetcher: "${name}" must be a function`);
    }
    this.#policy = {
      fetch: options.fetch,
      lookup: options.lookup ?? defaultLookup,
      allowPrivate: options.allowPrivateAddresses === true,
      maxBytes: positiveInt('maxBytes', options.maxBytes, 5120),
    };
    this.#clock = options.clock ?? Date.now;
    this.#timeoutMs = positiveInt('timeoutMs', options.timeoutMs, 5000);
    this.#cache = new BoundedLru(positiveInt('cacheSize', options.cacheSize, 1000));
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
    const problem = clientIdProblem(clientId, this.#policy.allowPrivate);
    if (problem)
      throw new InvalidClientError(
        `client_id ${quoteUri(String(clientId))} is not a usable Client ID Metadata Document URL: it ${problem}`,
      );
    const cached = this.#cache.get(clientId);
    if (cached) {
      if (cached.expiresAt > this.#clock()) return structuredClone(cached.client);
      this.#cache.delete(clientId);
    }
    const loaded = this.#loading.run(clientId, () =>
      this.#load(clientId).catch((error: unknown) => {
        const detail = (error as { detail?: unknown }).detail;
        if (typeof detail === 'string')
          this.#logger?.info({ client_id: clientId, detail }, 'client metadata document could not be fetched');
        throw error;
      }),
    );
    return structuredClone(await loaded);
  }

  async #load(clientId: string): Promise<RegisteredClient> {
    const url = new URL(clientId);
    const controller = new AbortController();
    let fetched: { body: Buffer; cacheControl: string | undefined };
    try {
      fetched = await withTimeout(downloadDocument(url, clientId, controller.signal, this.#policy), this.#timeoutMs, () => {
        controller.abort();
        return unreachable(clientId, `did not arrive within ${this.#timeoutMs} ms`);
      });
    } catch (error) {
      controller.abort();
      if (error instanceof OAuthError) throw error;
      throw unreachable(clientId, `fetch failed (${(error as { code?: string }).code ?? (error as Error).message})`);
    }

    let doc: unknown;
    try {
      doc = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(fetched.body));
    } catch {
      throw fail(clientId, 'is not valid UTF-8 JSON');
    }
    if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) throw fail(clientId, 'is not a JSON object');
    const fields = doc as Record<string, unknown>;
    if (fields.client_id !== clientId) {
      throw fail(
        clientId,
        `contains client_id ${JSON.stringify(fields.client_id) ?? 'undefined'}; it must be identical to the URL the document is served at`,
      );
    }
    if (fields.client_secret !== undefined || fields.client_secret_expires_at !== undefined) {
      throw fail(clientId, 'must not contain client_secret or client_secret_expires_at: a metadata-document client has no shared secret');
    }
    const method = fields.token_endpoint_auth_method ?? 'none';
    if (method !== 'none') {
      throw fail(
        clientId,
        `declares token_endpoint_auth_method ${JSON.stringify(method)}; only "none" (public client with PKCE) is supported for metadata-document clients`,
      );
    }
    let metadata;
    try {
      metadata = parseClientMetadata(
        { ...fields, token_endpoint_auth_method: 'none' },
        this.#allowed === undefined ? undefined : { allowedRedirectUris: this.#allowed },
      );
    } catch (error) {
      if (error instanceof OAuthError) throw fail(clientId, `is invalid: ${error.message}`);
      throw error;
    }
    const now = this.#clock();
    const client: RegisteredClient = {
      ...metadata,
      client_id: clientId,
      client_id_issued_at: Math.floor(now / 1000),
      kind: 'metadata_document',
      verified_domain: url.host,
    };
    const ttl = cacheSeconds(fetched.cacheControl);
    if (ttl > 0) this.#cache.set(clientId, { client, expiresAt: now + ttl * 1000 });
    return client;
  }
}
