import * as oidc from 'openid-client';
import { deriveProviderId } from '../options.js';
import type { ResolvedLogger } from '../logger.js';
import { describeError } from '../logger.js';
import type { UpstreamTokenSet } from '../vault/vault.js';
import { classify, UpstreamGrantInvalid, UpstreamRefused, UpstreamTransient } from './errors.js';
import { configure, discoverServer, type BuiltConfiguration, type UpstreamOptions } from './configuration.js';
import type { UpstreamClient, UpstreamRegistration } from './registration.js';
import { resolveIdentity } from './identity.js';
import { toTokenSet } from './token-response.js';

export { UpstreamGrantInvalid, UpstreamRefused, UpstreamTransient } from './errors.js';
export type { UpstreamOptions } from './configuration.js';

export { deriveProviderId } from '../options.js';

/** Result of a completed upstream sign-in. */
export interface UpstreamSignIn {
  tokens: UpstreamTokenSet;
  /** Verified identity claims (id_token, `profile`, else userinfo), mapped by `tokenClaims`; always has a string `sub`. */
  claims: Record<string, unknown> & { sub: string };
}

/**
 * Internal: one upstream IdP, through openid-client. Discovery (OIDC, then
 * RFC 8414, or `providerConfig.discoveryUrl`) runs lazily on first use and is
 * retried after a failure; every `providerConfig` endpoint override and inline
 * `jwks` is applied on top. Token responses are normalised for OAuth 2.0
 * servers that are not quite RFC 6749 (form bodies, errors with HTTP 200).
 * id_token signatures are verified with jose against the inline JWKS or the
 * `jwks_uri` — openid-client alone would only check the claims.
 */
export class UpstreamProvider {
  readonly id: string;
  readonly #o: UpstreamOptions;
  readonly #fetch: typeof fetch;
  readonly #logger: ResolvedLogger;
  readonly #clock: () => number;
  readonly #registration: UpstreamRegistration | undefined;
  #config: Promise<BuiltConfiguration> | undefined;

  constructor(
    options: UpstreamOptions,
    deps: { fetch: typeof fetch; logger: ResolvedLogger; clock: () => number; registration?: UpstreamRegistration },
  ) {
    this.#o = options;
    this.id = options.providerConfig.id ?? deriveProviderId(options.provider);
    this.#fetch = deps.fetch;
    this.#logger = deps.logger;
    this.#clock = deps.clock;
    this.#registration = deps.registration;
  }

  /** The Client ID Metadata Document the proxy serves for this upstream, when it registers itself (no `clientId`). */
  clientMetadataDocument(): Record<string, unknown> | undefined {
    return this.#registration?.metadataDocument();
  }

  /** A display name for consent pages: the provider's host. */
  get displayName(): string {
    return new URL(this.#o.provider).host;
  }

  get #pc(): UpstreamOptions['providerConfig'] {
    return this.#o.providerConfig;
  }

  async authorizationUrl(p: { redirectUri: string; state: string; nonce: string; codeChallenge: string }): Promise<URL> {
    const { config } = await this.#configuration();
    const params: Record<string, string> = {
      ...this.#pc.authorizeParams,
      response_type: 'code',
      redirect_uri: p.redirectUri,
      scope: this.#o.scopes.join(' '),
      state: p.state,
      code_challenge: p.codeChallenge,
      code_challenge_method: 'S256',
    };
    if (this.#openid) params.nonce = p.nonce;
    return oidc.buildAuthorizationUrl(config, params);
  }

  get #openid(): boolean {
    return this.#o.scopes.includes('openid');
  }

  /** Completes the sign-in: validates the callback, exchanges the code, verifies the identity. */
  async exchange(callbackUrl: URL, checks: { state: string; nonce: string; codeVerifier: string }): Promise<UpstreamSignIn> {
    const built = await this.#configuration();
    let res: Awaited<ReturnType<typeof oidc.authorizationCodeGrant>>;
    try {
      res = await oidc.authorizationCodeGrant(built.config, callbackUrl, {
        pkceCodeVerifier: checks.codeVerifier,
        expectedState: checks.state,
        // A templated issuer's id_token is kept from openid-client (identity.ts checks its nonce), so it must not expect one.
        ...(this.#openid && !built.issuerTemplate ? { expectedNonce: checks.nonce } : {}),
        idTokenExpected: false,
      });
    } catch (err) {
      const c = classify(err, 'code exchange');
      if (await this.#replacedAfter(c, built))
        throw new UpstreamTransient(
          "The upstream no longer knew the proxy's registered client, so the proxy registered again; sign in again",
          { cause: err },
        );
      throw c;
    }
    const tokens = toTokenSet(res, this.#clock);
    const claims = await resolveIdentity(
      {
        ...built,
        clientId: built.config.clientMetadata().client_id,
        pc: this.#pc,
        fetch: this.#fetch,
        clock: this.#clock,
      },
      res,
      tokens,
      this.#openid ? checks.nonce : undefined,
    );
    return { tokens, claims };
  }

  /** Refreshes upstream tokens. Throws {@link UpstreamGrantInvalid} or {@link UpstreamTransient}. */
  async refresh(refreshToken: string): Promise<UpstreamTokenSet> {
    const built = await this.#configuration();
    try {
      const res = await oidc.refreshTokenGrant(built.config, refreshToken);
      return toTokenSet(res, this.#clock);
    } catch (err) {
      const c = classify(err, 'refresh');
      // The grant belonged to a registered client the upstream deleted: it is gone with it.
      if (await this.#replacedAfter(c, built))
        throw new UpstreamGrantInvalid(
          "The upstream no longer knew the proxy's registered client; the proxy registered again, and the old grant is gone",
        );
      // Only invalid_grant means the grant is gone. Anything else (invalid_client, 429, …) keeps the tokens.
      if (c instanceof UpstreamRefused && c.error === 'invalid_grant') throw new UpstreamGrantInvalid(c.message);
      throw c instanceof UpstreamRefused ? new UpstreamTransient(c.message, { cause: err }) : c;
    }
  }

  /**
   * Best-effort revocation when a session ends: `providerConfig.revoke` when configured
   * (given the whole token set), else RFC 7009 at the revocation endpoint, else nothing.
   * Failures are logged, never thrown.
   */
  async revoke(token: string, hint: 'refresh_token' | 'access_token', tokens?: UpstreamTokenSet): Promise<void> {
    try {
      const custom = this.#pc.revoke;
      if (custom) {
        const set: UpstreamTokenSet =
          tokens ?? (hint === 'refresh_token' ? { access_token: '', refresh_token: token } : { access_token: token });
        const { client } = await this.#configuration();
        await custom({
          tokens: set,
          clientId: client.clientId,
          ...(client.clientSecret ? { clientSecret: client.clientSecret } : {}),
          fetch: this.#fetch,
          now: Math.floor(this.#clock() / 1000),
        });
        return;
      }
      const { config } = await this.#configuration();
      if (!config.serverMetadata().revocation_endpoint) return;
      await oidc.tokenRevocation(config, token, { token_type_hint: hint });
    } catch (err) {
      this.#logger.warn({ provider: this.id, err: describeError(err) }, 'upstream token revocation failed');
    }
  }

  /** Runs discovery now (e.g. from `oauth.ready()`). */
  async discover(): Promise<void> {
    await this.#configuration();
  }

  async ensureClient(): Promise<void> {
    if (!this.#o.clientId) await this.#configuration();
  }

  #configuration(): Promise<BuiltConfiguration> {
    this.#config ??= this.#build().catch((err: unknown) => {
      this.#config = undefined; // retry on next use
      throw err instanceof UpstreamRefused ? err : new UpstreamTransient('Upstream discovery failed', { cause: err });
    });
    return this.#config;
  }

  async #build(): Promise<BuiltConfiguration> {
    const deps = { fetch: this.#fetch, logger: this.#logger, providerId: this.id };
    const server = await discoverServer(this.#o, deps);
    const { clientId, clientSecret } = this.#o;
    if (clientId) return configure(this.#o, server, { clientId, clientSecret, kind: 'configured' }, deps);
    if (!this.#registration)
      throw new UpstreamRefused(
        'server_error',
        'No upstream client: set "clientId" (and "clientSecret") to the client registered for the proxy at the upstream',
      );
    return configure(this.#o, server, await this.#registration.client(server), deps);
  }

  /** After `invalid_client` with a client the proxy registered: register again (once across instances) and rebuild. */
  async #replacedAfter(c: Error, built: BuiltConfiguration): Promise<boolean> {
    if (!(c instanceof UpstreamRefused) || c.error !== 'invalid_client' || built.client.kind !== 'registered' || !this.#registration)
      return false;
    this.#logger.warn({ provider: this.id }, "the upstream answered invalid_client for the proxy's registered client; registering again");
    await this.#registration.replace(built.server, built.client as UpstreamClient);
    this.#config = undefined;
    return true;
  }
}
