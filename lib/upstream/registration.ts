import { setTimeout as sleep } from 'node:timers/promises';
import type * as oidc from 'openid-client';
import type { Store } from '../stores/store.js';
import { keys } from '../stores/keys.js';
import type { Sealer } from '../vault/seal.js';
import { randomToken, sha256, type RandomBytes } from '../crypto.js';
import type { ResolvedLogger } from '../logger.js';
import { isNetworkError, UpstreamRefused, UpstreamTransient } from './errors.js';

/** How long one instance may hold the registration claim (the RFC 7591 request runs under it). */
export const REGISTRATION_CLAIM_MS = 30_000;
/** How long an instance waits for another one's registration before giving up (retryable). */
const REGISTRATION_WAIT_MS = 20_000;
/** Stored credentials without an expiry of their own are kept this long (a later start registers anew). */
const CREDENTIALS_TTL_MS = 365 * 24 * 3600 * 1000;

/** Internal: the client the proxy uses at an upstream, however it got it. */
export interface UpstreamClient {
  clientId: string;
  clientSecret?: string;
  tokenEndpointAuthMethod: 'client_secret_basic' | 'client_secret_post' | 'none';
  /** `registered`: RFC 7591 (stored, sealed); `metadata-document`: the proxy's own CIMD URL. */
  kind: 'registered' | 'metadata-document';
}

interface Deps {
  providerId: string;
  store: Store;
  sealer: Sealer;
  random: RandomBytes;
  logger: ResolvedLogger;
  fetch: typeof fetch;
  clock: () => number;
  /** The proxy's callback (the redirect URI it registers). */
  redirectUri: string;
  /** Where the proxy serves its Client ID Metadata Document for this upstream. */
  metadataDocumentUrl: string;
  clientName: string;
  scopes: readonly string[];
  initialAccessToken?: string | undefined;
}

/**
 * Internal: the proxy's own client at an upstream without a configured `clientId`.
 * An upstream advertising `client_id_metadata_document_supported` gets the proxy's
 * metadata document URL as client id (nothing is stored). Otherwise, with a
 * `registration_endpoint`, the proxy registers once (RFC 7591): instances claim the
 * registration with `add`, the winner registers and stores the credentials (secret
 * sealed like the vault), the others wait for them; later starts reuse them. After
 * `invalid_client`, {@link replace} registers again once, with the same claim keyed
 * by the dead client id, so instances that all see it still register only once.
 */
export class UpstreamRegistration {
  readonly #d: Deps;
  #inflight: Promise<UpstreamClient> | undefined;

  constructor(d: Deps) {
    this.#d = d;
  }

  /** The Client ID Metadata Document the proxy serves for this upstream. */
  metadataDocument(): Record<string, unknown> {
    return {
      client_id: this.#d.metadataDocumentUrl,
      client_name: this.#d.clientName,
      redirect_uris: [this.#d.redirectUri],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'none',
      scope: this.#d.scopes.join(' '),
    };
  }

  /** The client to use at `server`; registers when needed. */
  client(server: oidc.ServerMetadata): Promise<UpstreamClient> {
    if ((server as Record<string, unknown>).client_id_metadata_document_supported === true) {
      return Promise.resolve({ clientId: this.#d.metadataDocumentUrl, tokenEndpointAuthMethod: 'none', kind: 'metadata-document' });
    }
    if (typeof server.registration_endpoint !== 'string') {
      return Promise.reject(
        new UpstreamRefused(
          'server_error',
          `No "clientId" is set and the upstream ${server.issuer} offers neither dynamic registration (registration_endpoint) nor Client ID Metadata Documents: register a client for the proxy there (redirect URI ${this.#d.redirectUri}) and set "clientId" and "clientSecret"`,
        ),
      );
    }
    this.#inflight ??= this.#obtain(server, undefined).finally(() => {
      this.#inflight = undefined;
    });
    return this.#inflight;
  }

  /** The upstream answered `invalid_client` for `stale`: register again (once across instances) and return the new client. */
  replace(server: oidc.ServerMetadata, stale: UpstreamClient): Promise<UpstreamClient> {
    if (stale.kind !== 'registered' || typeof server.registration_endpoint !== 'string') return Promise.resolve(stale);
    this.#inflight ??= this.#obtain(server, stale.clientId).finally(() => {
      this.#inflight = undefined;
    });
    return this.#inflight;
  }

  async #obtain(server: oidc.ServerMetadata, stale: string | undefined): Promise<UpstreamClient> {
    const { store, providerId } = this.#d;
    const claimKey = keys.upstreamRegistrationClaim(providerId, stale ? sha256(stale) : 'first');
    const owner = randomToken(this.#d.random, '', 16);
    const deadline = Date.now() + REGISTRATION_WAIT_MS;
    for (let delay = 25; ; delay = Math.min(delay * 2, 250)) {
      const stored = await this.#load();
      if (stored && stored.clientId !== stale) return stored;
      if (await store.add(claimKey, owner, REGISTRATION_CLAIM_MS)) break;
      if (Date.now() > deadline)
        throw new UpstreamTransient('Timed out waiting for another instance to register the proxy at the upstream; retry');
      await sleep(delay);
    }
    try {
      const again = await this.#load(); // another instance may have finished between our read and our claim
      if (again && again.clientId !== stale) return again;
      const client = await this.#register(server);
      await store.set(keys.upstreamClient(providerId), this.#d.sealer.seal(JSON.stringify(client), this.#aad()), CREDENTIALS_TTL_MS);
      this.#d.logger.info(
        { provider: providerId, client_id: client.clientId, replaced: stale !== undefined },
        'the proxy registered itself at the upstream',
      );
      return client;
    } finally {
      // A replacement claim stays until it expires, so that a late instance that saw the same invalid_client re-reads instead of registering.
      if (!stale) await store.deleteIf(claimKey, owner).catch(() => {});
    }
  }

  #aad(): string {
    return `upstream-client:${this.#d.providerId}`;
  }

  async #load(): Promise<UpstreamClient | undefined> {
    const raw = await this.#d.store.get(keys.upstreamClient(this.#d.providerId));
    if (raw === undefined) return undefined;
    const opened = this.#d.sealer.open(raw, this.#aad());
    if (opened === undefined) {
      this.#d.logger.warn(
        { provider: this.#d.providerId },
        'the stored upstream client could not be opened (another encryptionKey?); registering again',
      );
      return undefined;
    }
    return JSON.parse(opened) as UpstreamClient;
  }

  async #register(server: oidc.ServerMetadata): Promise<UpstreamClient> {
    const methods = server.token_endpoint_auth_methods_supported ?? ['client_secret_basic'];
    const method =
      (['client_secret_basic', 'client_secret_post', 'none'] as const).find((m) => methods.includes(m)) ?? 'client_secret_basic';
    const metadata = {
      redirect_uris: [this.#d.redirectUri],
      client_name: this.#d.clientName,
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: method,
      application_type: 'web',
      scope: this.#d.scopes.join(' '),
    };
    let res: Response;
    try {
      res = await this.#d.fetch(server.registration_endpoint!, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          accept: 'application/json',
          ...(this.#d.initialAccessToken ? { authorization: `Bearer ${this.#d.initialAccessToken}` } : {}),
        },
        body: JSON.stringify(metadata),
        redirect: 'manual',
        signal: AbortSignal.timeout(10_000),
      });
    } catch (err) {
      throw isNetworkError(err) ? new UpstreamTransient('The upstream registration endpoint could not be reached', { cause: err }) : err;
    }
    const body = (await res.json().catch(() => undefined)) as Record<string, unknown> | undefined;
    if (res.status >= 500 || res.status === 429) throw new UpstreamTransient(`The upstream registration endpoint answered ${res.status}`);
    if (res.status !== 201 && res.status !== 200) {
      const error = typeof body?.error === 'string' ? body.error : 'invalid_client_metadata';
      const hint =
        res.status === 401 || res.status === 403 ? '; it may need an initial access token (registration.upstream.initialAccessToken)' : '';
      throw new UpstreamRefused('server_error', `The upstream refused to register the proxy (${res.status} ${error})${hint}`);
    }
    if (typeof body?.client_id !== 'string' || body.client_id.length === 0)
      throw new UpstreamRefused('server_error', 'The upstream registration answer has no client_id');
    const secret = typeof body.client_secret === 'string' ? body.client_secret : undefined;
    const granted = typeof body.token_endpoint_auth_method === 'string' ? body.token_endpoint_auth_method : method;
    return {
      clientId: body.client_id,
      ...(secret ? { clientSecret: secret } : {}),
      tokenEndpointAuthMethod:
        (['client_secret_basic', 'client_secret_post', 'none'] as const).find((m) => m === granted) ??
        (secret ? 'client_secret_basic' : 'none'),
      kind: 'registered',
    };
  }
}
