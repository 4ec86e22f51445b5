import { ProxyError } from './base.js';

/**
 * Thrown by `req.upstreamTokens.getToken()` when no usable upstream token is
 * stored for the provider: the person must sign in again.
 *
 * @example
 * ```ts
 * try { await req.upstreamTokens.getToken('upstream'); }
 * catch (e) { if (e instanceof ReauthenticationRequiredError) return { content: [{ type: 'text', text: e.message }] }; }
 * ```
 */
export class ReauthenticationRequiredError extends ProxyError {
  declare readonly code: 'ERR_REAUTHENTICATION_REQUIRED';
  /** Always `false`: retrying without signing in again will not help. */
  readonly retryable = false;
  /** The provider id whose token is missing. */
  readonly providerId: string;
  /** Where the person can start a new sign-in (the proxy's authorization endpoint). */
  readonly authorizeUrl: string;
  constructor(providerId: string, authorizeUrl: string, reason: string) {
    super(
      'ERR_REAUTHENTICATION_REQUIRED',
      `No usable upstream token for provider "${providerId}" (${reason}). The user must re-authenticate: reconnect the MCP client, or start a new sign-in at ${authorizeUrl}.`,
    );
    this.name = 'ReauthenticationRequiredError';
    this.providerId = providerId;
    this.authorizeUrl = authorizeUrl;
  }
}

/**
 * Thrown by `req.upstreamTokens.getToken()` when the upstream IdP or the store
 * failed transiently (timeout, 5xx, outage). Everything stored was kept; retry later.
 *
 * @example
 * ```ts
 * catch (e) { if (e instanceof UpstreamUnavailableError && e.retryable) scheduleRetry(); }
 * ```
 */
export class UpstreamUnavailableError extends ProxyError {
  declare readonly code: 'ERR_UPSTREAM_UNAVAILABLE';
  /** Always `true`. */
  readonly retryable = true;
  /** The provider id concerned. */
  readonly providerId: string;
  constructor(providerId: string, message: string, options?: { cause?: unknown }) {
    super('ERR_UPSTREAM_UNAVAILABLE', message, options);
    this.name = 'UpstreamUnavailableError';
    this.providerId = providerId;
  }
}

/**
 * Thrown by `upstreamTokens.getToken(app)` (and `claims(app)`) in local mode
 * when the session has not authorized that app yet, or its link ended (the
 * app's IdP refused its refresh token). Nothing was read from the vault. Show
 * the person `authorizeUrl` (it links the app to this session in their
 * browser), or let the MCP client step up with `scope`.
 *
 * @example
 * ```ts
 * try {
 *   token = await upstreamTokens.getToken('erp');
 * } catch (e) {
 *   if (e instanceof AuthorizationRequiredError)
 *     return { isError: true, content: [{ type: 'text', text: `Connect ${e.app} first: ${e.authorizeUrl}` }] };
 *   throw e;
 * }
 * ```
 */
export class AuthorizationRequiredError extends ProxyError {
  declare readonly code: 'AUTHORIZATION_REQUIRED';
  /** Always `false`: retrying without authorizing the app will not help. */
  readonly retryable = false;
  /** The app (provider id) that is not authorized. */
  readonly app: string;
  /** The proxy scope that stands for the app: what a client adds to its authorization request to step up. */
  readonly scope: string;
  /** A link for the person: `<issuer>/authorize?app=<id>&link=…`, which links the app to this session. */
  readonly authorizeUrl: string;
  constructor(app: string, scope: string, authorizeUrl: string) {
    super(
      'AUTHORIZATION_REQUIRED',
      `The app "${app}" is not authorized for this session. Open ${authorizeUrl} to connect it, or re-authorize the MCP client with scope "${scope}".`,
    );
    this.name = 'AuthorizationRequiredError';
    this.app = app;
    this.scope = scope;
    this.authorizeUrl = authorizeUrl;
  }
}
