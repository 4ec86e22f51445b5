import type { UpstreamTokenSet } from '../vault/vault.js';
import type { UpstreamSignIn } from './provider.js';

/**
 * Internal: what the rest of the proxy knows of one upstream IdP. Discovery,
 * the code exchange, identity (id_token or userinfo), refresh and revocation
 * happen behind it; `UpstreamProvider` (openid-client) is the implementation.
 */
export interface Upstream {
  /** The provider id tools pass to `getToken()`; the vault key of its tokens. */
  readonly id: string;
  /** A display name for consent pages. */
  readonly displayName: string;
  authorizationUrl(p: { redirectUri: string; state: string; nonce: string; codeChallenge: string }): Promise<URL>;
  /** Validates the callback, exchanges the code and verifies the identity. Throws `UpstreamRefused` or `UpstreamTransient`. */
  exchange(callbackUrl: URL, checks: { state: string; nonce: string; codeVerifier: string }): Promise<UpstreamSignIn>;
  /** Throws `UpstreamGrantInvalid` (the grant is gone) or `UpstreamTransient`. */
  refresh(refreshToken: string): Promise<UpstreamTokenSet>;
  /** Best effort; never throws. `tokens` is the whole set, for upstreams that revoke by grant (GitHub). */
  revoke(token: string, hint: 'refresh_token' | 'access_token', tokens?: UpstreamTokenSet): Promise<void>;
  /** Runs discovery now (`oauth.ready()`). */
  discover(): Promise<void>;
  /**
   * Resolves when the proxy has a client at this upstream or can get one: at
   * once with a configured `clientId`, else after discovery and registration.
   * Throws `UpstreamRefused` when it cannot (no `clientId`, no way to register).
   */
  ensureClient(): Promise<void>;
  /** The Client ID Metadata Document the proxy serves as its own client at this upstream, when it registers itself. */
  clientMetadataDocument?(): Record<string, unknown> | undefined;
}

/**
 * Internal: the configured upstreams by provider id. Every endpoint and
 * service reaches an upstream through it. In remote mode there is exactly one,
 * the `primary`; several apps (issue 10) add more, keyed by app id.
 */
export class UpstreamRegistry {
  readonly #byId: ReadonlyMap<string, Upstream>;
  /** The identity upstream: the one remote mode signs people in at. */
  readonly primary: Upstream;

  constructor(upstreams: readonly Upstream[]) {
    if (upstreams.length === 0) throw new TypeError('UpstreamRegistry: at least one upstream is required');
    const byId = new Map<string, Upstream>();
    for (const u of upstreams) {
      if (byId.has(u.id)) throw new TypeError(`UpstreamRegistry: two upstreams have the provider id "${u.id}"`);
      byId.set(u.id, u);
    }
    this.#byId = byId;
    this.primary = upstreams[0]!;
  }

  /** The upstream with this provider id, or `undefined`. */
  get(id: string): Upstream | undefined {
    return this.#byId.get(id);
  }

  has(id: string): boolean {
    return this.#byId.has(id);
  }

  /** Every provider id, in configuration order. */
  ids(): string[] {
    return [...this.#byId.keys()];
  }
}
