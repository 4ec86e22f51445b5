import { httpsOrigin, withOverrides, type PresetOptions, type UpstreamPreset } from './preset.js';
import { UpstreamRefused } from '../upstream/errors.js';

/**
 * Options of {@link google}.
 *
 * @example
 * ```ts
 * providers.google({ clientId: process.env.GOOGLE_CLIENT_ID!, clientSecret: process.env.GOOGLE_CLIENT_SECRET!, hostedDomain: 'example.com' });
 * ```
 */
export interface GooglePresetOptions extends PresetOptions {
  clientId: string;
  clientSecret: string;
  /** Only accounts of this Google Workspace domain: sent as `hd`, and the id_token's `hd` claim is checked (the parameter alone is only a hint). */
  hostedDomain?: string;
}

/**
 * Google as the upstream. Google issues a refresh token only with `access_type=offline`, and
 * only on the first consent unless `prompt=consent` is sent, so the preset sends both. Google
 * has no `offline_access` scope (it refuses it).
 *
 * @example
 * ```ts
 * createOAuthProxy({ issuer, ...providers.google({ clientId, clientSecret }), secret, encryptionKey });
 * ```
 */
export function google(o: GooglePresetOptions): UpstreamPreset {
  const hd = o.hostedDomain;
  return withOverrides(
    {
      provider: 'https://accounts.google.com',
      clientId: o.clientId,
      clientSecret: o.clientSecret,
      scopes: ['openid', 'email', 'profile'],
      providerConfig: {
        id: 'google',
        authorizeParams: { access_type: 'offline', prompt: 'consent', ...(hd ? { hd } : {}) },
        ...(hd
          ? {
              profile: ({ idToken }) => {
                if (!idToken || idToken.hd !== hd)
                  throw new UpstreamRefused('access_denied', `The Google account is not in the hosted domain "${hd}"`);
                return idToken as { sub: string };
              },
            }
          : {}),
      },
    },
    o,
  );
}

/** Entra ID's tenant of personal Microsoft accounts. */
export const MICROSOFT_CONSUMERS_TENANT = '9188040d-6c67-4c5b-b112-36a304b66dad';
const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Options of {@link microsoft}.
 *
 * @example
 * ```ts
 * providers.microsoft({ tenant: 'organizations', clientId, clientSecret, allowedTenants: ['00000000-0000-0000-0000-000000000001'] });
 * ```
 */
export interface MicrosoftPresetOptions extends PresetOptions {
  /** A tenant id (GUID), or `'organizations'` (any work or school tenant), `'common'` (also personal accounts) or `'consumers'`. Default `'organizations'`. */
  tenant?: string;
  clientId: string;
  clientSecret?: string;
  /** With `'organizations'` or `'common'`: only these tenant ids may sign in. Default: any. */
  allowedTenants?: string[];
  /** The cloud's login host. Default `https://login.microsoftonline.com` (national clouds have their own). */
  authority?: string;
}

/**
 * Microsoft Entra ID (v2.0 endpoints) as the upstream. Multi-tenant discovery documents name
 * the issuer `https://login.microsoftonline.com/{tenantid}/v2.0`, which strict issuer checks
 * refuse; the preset accepts each id_token only if its `iss` is that template filled with the
 * token's own `tid`, and the tenant is allowed (`'organizations'` refuses personal accounts).
 * The proxy never forwards the MCP `resource` to Entra (it refuses unknown resources); ask for
 * your API through `scopes` instead (e.g. `api://<app-id>/access_as_user`, one resource per token).
 *
 * @example
 * ```ts
 * createOAuthProxy({ issuer, ...providers.microsoft({ tenant: 'organizations', clientId, clientSecret }), secret, encryptionKey });
 * ```
 */
export function microsoft(o: MicrosoftPresetOptions): UpstreamPreset {
  const tenant = o.tenant ?? 'organizations';
  const keyword = ['organizations', 'common', 'consumers'].includes(tenant);
  if (!keyword && !GUID.test(tenant)) {
    throw new TypeError(
      `providers.microsoft(options): "tenant" must be a tenant id (GUID, the "Directory (tenant) ID" in the Entra admin center) or "organizations", "common" or "consumers"; got "${tenant}"`,
    );
  }
  for (const t of o.allowedTenants ?? [])
    if (!GUID.test(t)) throw new TypeError(`providers.microsoft(options): "allowedTenants" must list tenant ids (GUIDs); got "${t}"`);
  const authority = (o.authority ?? 'https://login.microsoftonline.com').replace(/\/+$/, '');
  const provider = `${authority}/${tenant}/v2.0`;
  const issuer =
    keyword && tenant !== 'consumers'
      ? `${authority}/{tenantid}/v2.0`
      : `${authority}/${tenant === 'consumers' ? MICROSOFT_CONSUMERS_TENANT : tenant.toLowerCase()}/v2.0`;
  const tenants =
    tenant === 'organizations'
      ? { deny: [MICROSOFT_CONSUMERS_TENANT], ...(o.allowedTenants ? { allow: o.allowedTenants } : {}) }
      : tenant === 'common' && o.allowedTenants
        ? { allow: o.allowedTenants }
        : undefined;
  return withOverrides(
    {
      provider,
      clientId: o.clientId,
      ...(o.clientSecret ? { clientSecret: o.clientSecret } : {}),
      scopes: ['openid', 'profile', 'email', 'offline_access'],
      providerConfig: {
        id: 'microsoft',
        discoveryUrl: `${provider}/.well-known/openid-configuration`,
        issuer,
        ...(tenants ? { tenants } : {}),
      },
    },
    o,
  );
}

/**
 * Options of {@link okta}.
 *
 * @example
 * ```ts
 * providers.okta({ domain: 'example.okta.com', clientId, clientSecret });
 * ```
 */
export interface OktaPresetOptions extends PresetOptions {
  /** Your Okta domain, e.g. `example.okta.com` (or a custom domain). */
  domain: string;
  /** The custom authorization server. Default `'default'`; `null` for the org authorization server. */
  authorizationServerId?: string | null;
  clientId: string;
  clientSecret?: string;
}

/**
 * Okta as the upstream. Okta issues refresh tokens only for the `offline_access` scope (and
 * only when the app allows the Refresh Token grant), so the preset asks for it.
 *
 * @example
 * ```ts
 * createOAuthProxy({ issuer, ...providers.okta({ domain: 'example.okta.com', clientId, clientSecret }), secret, encryptionKey });
 * ```
 */
export function okta(o: OktaPresetOptions): UpstreamPreset {
  const origin = httpsOrigin('okta', 'domain', o.domain);
  const as = o.authorizationServerId === undefined ? 'default' : o.authorizationServerId;
  return withOverrides(
    {
      provider: as === null ? origin : `${origin}/oauth2/${encodeURIComponent(as)}`,
      clientId: o.clientId,
      ...(o.clientSecret ? { clientSecret: o.clientSecret } : {}),
      scopes: ['openid', 'profile', 'email', 'offline_access'],
      providerConfig: { id: 'okta' },
    },
    o,
  );
}

/**
 * Options of {@link auth0}.
 *
 * @example
 * ```ts
 * providers.auth0({ domain: 'example.us.auth0.com', audience: 'https://api.example.com', clientId, clientSecret });
 * ```
 */
export interface Auth0PresetOptions extends PresetOptions {
  /** Your Auth0 domain, e.g. `example.us.auth0.com` (or a custom domain). */
  domain: string;
  /** The API identifier the upstream access token is for. Without it Auth0 issues an opaque token good only for /userinfo. */
  audience?: string;
  clientId: string;
  clientSecret?: string;
}

/**
 * Auth0 as the upstream. Auth0 issues a refresh token only for `offline_access` (with "Allow
 * Offline Access" on the API), and an access token for your API only when `audience` is sent.
 * Auth0's issuer ends with a slash (`https://example.us.auth0.com/`).
 *
 * @example
 * ```ts
 * createOAuthProxy({ issuer, ...providers.auth0({ domain, audience: 'https://api.example.com', clientId, clientSecret }), secret, encryptionKey });
 * ```
 */
export function auth0(o: Auth0PresetOptions): UpstreamPreset {
  const origin = httpsOrigin('auth0', 'domain', o.domain);
  return withOverrides(
    {
      provider: `${origin}/`,
      clientId: o.clientId,
      ...(o.clientSecret ? { clientSecret: o.clientSecret } : {}),
      scopes: ['openid', 'profile', 'email', 'offline_access'],
      providerConfig: {
        id: 'auth0',
        // Auth0's regular web applications default to credentials in the body.
        ...(o.clientSecret ? { tokenEndpointAuthMethod: 'client_secret_post' as const } : {}),
        ...(o.audience ? { authorizeParams: { audience: o.audience } } : {}),
      },
    },
    o,
  );
}

/**
 * Options of {@link keycloak}.
 *
 * @example
 * ```ts
 * providers.keycloak({ url: 'https://sso.example.com', realm: 'staff', clientId, clientSecret });
 * ```
 */
export interface KeycloakPresetOptions extends PresetOptions {
  /** The server's base URL, e.g. `https://sso.example.com` (with `/auth` for Keycloak before 17). */
  url: string;
  realm: string;
  clientId: string;
  clientSecret?: string;
}

/**
 * Keycloak as the upstream (realm issuer `<url>/realms/<realm>`). Keycloak has no RFC 8707
 * resource indicators; the proxy never sends `resource` upstream. `offline_access` asks for an
 * offline token, which outlives Keycloak's SSO session (an ordinary refresh token dies after
 * "SSO Session Idle", 30 min by default); its `refresh_expires_in` is read as the refresh expiry.
 *
 * @example
 * ```ts
 * createOAuthProxy({ issuer, ...providers.keycloak({ url: 'https://sso.example.com', realm: 'staff', clientId, clientSecret }), secret, encryptionKey });
 * ```
 */
export function keycloak(o: KeycloakPresetOptions): UpstreamPreset {
  if (typeof o.url !== 'string' || !/^https?:\/\//i.test(o.url))
    throw new TypeError('providers.keycloak(options): "url" must be the server\'s base URL, e.g. "https://sso.example.com"');
  if (typeof o.realm !== 'string' || o.realm.length === 0) throw new TypeError('providers.keycloak(options): "realm" is required');
  return withOverrides(
    {
      provider: `${o.url.replace(/\/+$/, '')}/realms/${encodeURIComponent(o.realm)}`,
      clientId: o.clientId,
      ...(o.clientSecret ? { clientSecret: o.clientSecret } : {}),
      scopes: ['openid', 'profile', 'email', 'offline_access'],
      providerConfig: { id: 'keycloak' },
    },
    o,
  );
}
