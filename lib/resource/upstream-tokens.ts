import type { TokenBroker } from '../grants/token-broker.js';
import type { AppCatalog } from '../grants/catalog.js';
import type { LinkTickets } from '../grants/link-tickets.js';
import { AuthorizationRequiredError, ReauthenticationRequiredError } from '../errors.js';

/**
 * Access to the session's upstream tokens, for tools. Tokens are read from the
 * encrypted vault only when asked for, and refreshed on demand.
 *
 * @example
 * ```ts
 * const token = await req.upstreamTokens!.getToken('upstream');
 * await fetch('https://api.example.com/me', { headers: { authorization: `Bearer ${token}` } });
 * ```
 */
export interface UpstreamTokens {
  /**
   * Resolves to a valid upstream access token, or throws
   * {@link ReauthenticationRequiredError} (sign in again), `AuthorizationRequiredError`
   * (local mode: the app is not authorized for this session; nothing was read)
   * or `UpstreamUnavailableError` (retryable). Default provider: the proxy's
   * (local mode: the route's app, else the session's identity app).
   */
  getToken(providerId?: string): Promise<string>;
  /** Resolves to a valid upstream access token or `null` when none is usable (or the app is not authorized); still throws `UpstreamUnavailableError` on outages, which are not sign-outs. */
  tryGetToken(providerId?: string): Promise<string | null>;
  /**
   * The claims an app's sign-in produced (local mode: each linked app has its
   * own; remote mode: the session's claims). Throws `AuthorizationRequiredError`
   * for an app the session has not authorized.
   */
  claims(providerId?: string): Promise<Readonly<Record<string, unknown>>>;
}

/** Internal: what a session's upstream tokens need. */
export interface UpstreamTokensDeps {
  broker: TokenBroker;
  catalog: AppCatalog;
  linkTickets: LinkTickets;
  /** The proxy's authorization endpoint (the re-authentication URL). */
  authorizeUrl: string;
}

/** Internal: one session's {@link UpstreamTokens}. */
export class SessionUpstreamTokens implements UpstreamTokens {
  readonly #d: UpstreamTokensDeps;
  readonly #sid: string;
  readonly #clientId: string;
  readonly #defaultProvider: string;
  /** Local mode: the token's `authorized_apps`; `undefined` (remote mode): no gate. */
  readonly #authorized: readonly string[] | undefined;
  readonly #identityClaims: Readonly<Record<string, unknown>>;

  constructor(
    d: UpstreamTokensDeps,
    s: {
      sid: string;
      clientId: string;
      defaultProvider: string;
      authorized: readonly string[] | undefined;
      identityClaims: Readonly<Record<string, unknown>>;
    },
  ) {
    this.#d = d;
    this.#sid = s.sid;
    this.#clientId = s.clientId;
    this.#defaultProvider = s.defaultProvider;
    this.#authorized = s.authorized;
    this.#identityClaims = s.identityClaims;
  }

  async getToken(providerId: string = this.#defaultProvider): Promise<string> {
    this.#gate(providerId);
    const r = await this.#d.broker.get(this.#sid, providerId);
    if (r.ok) return r.token;
    // Local mode: the app's link ended (its IdP refused the refresh token); only that app needs linking again.
    if (this.#authorized) throw this.#authorizationRequired(providerId);
    throw new ReauthenticationRequiredError(providerId, this.#d.authorizeUrl, r.reason);
  }

  async tryGetToken(providerId: string = this.#defaultProvider): Promise<string | null> {
    if (this.#authorized && this.#d.catalog.get(providerId) && !this.#authorized.includes(providerId)) return null;
    const r = await this.#d.broker.get(this.#sid, providerId);
    return r.ok ? r.token : null;
  }

  async claims(providerId: string = this.#defaultProvider): Promise<Readonly<Record<string, unknown>>> {
    if (!this.#authorized) return this.#identityClaims;
    if (!this.#d.catalog.get(providerId)) throw new TypeError(`upstreamTokens.claims(): unknown app "${providerId}"`);
    this.#gate(providerId);
    const claims = await this.#d.broker.claims(this.#sid, providerId);
    if (claims === undefined) throw this.#authorizationRequired(providerId);
    return Object.freeze(claims);
  }

  /** Local mode: an app the token does not carry is refused before any vault read. */
  #gate(providerId: string): void {
    if (!this.#authorized || !this.#d.catalog.get(providerId)) return; // unknown ids: the broker's TypeError
    if (!this.#authorized.includes(providerId)) throw this.#authorizationRequired(providerId);
  }

  #authorizationRequired(app: string): AuthorizationRequiredError {
    const url = this.#d.linkTickets.url({ sid: this.#sid, clientId: this.#clientId, app });
    return new AuthorizationRequiredError(app, this.#d.catalog.scopeOf(app), url);
  }
}
