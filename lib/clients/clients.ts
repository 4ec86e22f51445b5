import type { Store } from '../stores/store.js';
import { keys } from '../stores/keys.js';
import type { ParsedOptions } from '../options.js';
import { randomToken, safeEqual, sha256, type RandomBytes } from '../crypto.js';
import { InvalidClientError, InvalidRequestError } from '../errors.js';
import { clientRecordSchema, type ClientMetadata, type RegisteredClient, type TokenEndpointAuthMethod } from './types.js';
import { parseRecord, writeRecord } from '../util/records.js';
import { MetadataDocumentFetcher } from './metadata-document.js';
import { isMetadataDocumentClientId } from './address-policy.js';

/** Credentials presented at the token or revocation endpoint. */
export interface PresentedCredentials {
  clientId: string | undefined;
  clientSecret: string | undefined;
  method: TokenEndpointAuthMethod;
}

const DAY_MS = 24 * 3600 * 1000;

/** What to tell a client that authenticated with another method than it registered. */
const AUTH_METHOD_HINT: Record<PresentedCredentials['method'], (used: PresentedCredentials['method']) => string> = {
  none: () => 'Client authentication failed: this public client (token_endpoint_auth_method "none") has no secret; send client_id only',
  client_secret_basic: (used) =>
    `Client authentication failed: this client registered token_endpoint_auth_method "client_secret_basic"; send the credentials in an Authorization: Basic header${used === 'none' ? '' : ', not as client_secret'}`,
  client_secret_post: (used) =>
    `Client authentication failed: this client registered token_endpoint_auth_method "client_secret_post"; send client_id and client_secret in the form body${used === 'none' ? '' : ', not in an Authorization header'}`,
};

/**
 * Internal: client registry. Dynamically registered clients live in the store
 * (secret kept only as a hash) and expire when never used; `https://` client
 * ids are resolved as Client ID Metadata Documents.
 */
export class Clients {
  readonly #store: Store;
  readonly #clock: () => number;
  readonly #random: RandomBytes;
  readonly #o: ParsedOptions;
  readonly #documents: MetadataDocumentFetcher | undefined;
  readonly #allowPrivate: boolean;
  readonly #logger: { warn(obj: object, msg: string): void } | undefined;

  constructor(d: {
    store: Store;
    clock: () => number;
    random: RandomBytes;
    options: ParsedOptions;
    fetch: typeof fetch | undefined;
    logger?: { info(obj: object, msg?: string): void; warn(obj: object, msg: string): void };
  }) {
    this.#logger = d.logger;
    this.#store = d.store;
    this.#clock = d.clock;
    this.#random = d.random;
    this.#o = d.options;
    const cimd = d.options.clientMetadataDocuments;
    this.#allowPrivate = cimd.allowPrivateAddresses;
    this.#documents = cimd.enabled
      ? new MetadataDocumentFetcher({
          ...(d.fetch ? { fetch: d.fetch } : {}),
          allowPrivateAddresses: cimd.allowPrivateAddresses,
          clock: d.clock,
          ...(d.logger ? { logger: d.logger } : {}),
          ...(d.options.allowedRedirectUris ? { allowedRedirectUris: d.options.allowedRedirectUris } : {}),
        })
      : undefined;
  }

  get metadataDocumentsEnabled(): boolean {
    return this.#documents !== undefined;
  }

  /** Registers a client; returns it and, for confidential clients, the secret (shown once, stored hashed). */
  async register(metadata: ClientMetadata): Promise<{ client: RegisteredClient; clientSecret?: string }> {
    const clientId = randomToken(this.#random, 'mop_client_', 16);
    const confidential = metadata.token_endpoint_auth_method !== 'none';
    const clientSecret = confidential ? randomToken(this.#random, 'mop_secret_') : undefined;
    const client: RegisteredClient = {
      ...metadata,
      client_id: clientId,
      client_id_issued_at: Math.floor(this.#clock() / 1000),
      kind: 'dynamic',
      ...(clientSecret ? { client_secret_hash: sha256(clientSecret) } : {}),
    };
    await this.#store.set(keys.client(clientId), writeRecord({ v: 1, ...client }), this.#o.registration.unusedTtl * 1000);
    return clientSecret ? { client, clientSecret } : { client };
  }

  /** Looks a client up; `undefined` when unknown. Metadata-document failures throw `invalid_client`. */
  async get(clientId: string): Promise<RegisteredClient | undefined> {
    if (clientId.length > 2048) return undefined;
    if (this.#documents && isMetadataDocumentClientId(clientId, { allowPrivateAddresses: this.#allowPrivate }))
      return this.#documents.resolve(clientId);
    const record = parseRecord(clientRecordSchema, await this.#store.get(keys.client(clientId)), 'client', this.#logger);
    if (record === undefined) return undefined;
    const { v: _v, ...client } = record;
    return client as RegisteredClient;
  }

  /**
   * Authenticates a client at the token/revocation endpoint, or throws
   * `invalid_client`. The method must be the one the client registered
   * (`token_endpoint_auth_method`, RFC 7591 §2): a `client_secret_basic` client
   * cannot switch to `client_secret_post` or the other way round, and a public
   * (`none`) client must not send a secret at all.
   */
  async authenticate(creds: PresentedCredentials): Promise<RegisteredClient> {
    if (!creds.clientId) throw new InvalidClientError('Client authentication failed: no client_id');
    const client = await this.get(creds.clientId);
    if (!client) throw new InvalidClientError('Client authentication failed: unknown client_id; register again');
    const registered = client.client_secret_hash ? client.token_endpoint_auth_method : 'none';
    if (creds.method !== registered) throw new InvalidClientError(AUTH_METHOD_HINT[registered](creds.method));
    if (client.client_secret_hash && (!creds.clientSecret || !safeEqual(sha256(creds.clientSecret), client.client_secret_hash))) {
      throw new InvalidClientError('Client authentication failed: wrong or missing client secret');
    }
    return client;
  }

  /** Slides a used dynamic client's expiry (at most one write per day per client). */
  async markUsed(client: RegisteredClient): Promise<void> {
    if (client.kind !== 'dynamic') return;
    const now = this.#clock();
    const last = (client as RegisteredClient & { last_used_at?: number }).last_used_at ?? 0;
    if (now - last < DAY_MS) return;
    const updated = { ...client, last_used_at: now };
    await this.#store.set(keys.client(client.client_id), writeRecord({ v: 1, ...updated }), this.#o.registration.ttl * 1000);
  }
}

/**
 * Internal: reads client credentials from `Authorization: Basic` (both parts
 * form-urlencoded, RFC 6749 §2.3.1 — MCP Inspector relies on the decoding) or
 * from the body. Using both methods at once is an `invalid_request`.
 */
export function presentedCredentials(authorization: string | undefined, body: Record<string, unknown>): PresentedCredentials {
  const bodyId = typeof body.client_id === 'string' ? body.client_id : undefined;
  const bodySecret = typeof body.client_secret === 'string' ? body.client_secret : undefined;
  if (authorization && /^basic /i.test(authorization)) {
    if (bodySecret !== undefined) throw new InvalidRequestError('Use one client authentication method, not both Basic and client_secret');
    const decoded = Buffer.from(authorization.slice(6).trim(), 'base64').toString('utf8');
    const i = decoded.indexOf(':');
    if (i < 0) throw new InvalidClientError('Malformed Basic credentials');
    let id: string;
    let secret: string;
    try {
      id = decodeURIComponent(decoded.slice(0, i).replace(/\+/g, ' '));
      secret = decodeURIComponent(decoded.slice(i + 1).replace(/\+/g, ' '));
    } catch {
      throw new InvalidClientError('Malformed Basic credentials (bad percent-encoding)');
    }
    if (bodyId !== undefined && bodyId !== id) throw new InvalidRequestError('client_id in the body differs from the Basic credentials');
    return { clientId: id, clientSecret: secret, method: 'client_secret_basic' };
  }
  if (bodySecret !== undefined) return { clientId: bodyId, clientSecret: bodySecret, method: 'client_secret_post' };
  return { clientId: bodyId, clientSecret: undefined, method: 'none' };
}
