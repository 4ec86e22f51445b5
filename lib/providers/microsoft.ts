import { withOverrides, type PresetOptions, type UpstreamPreset } from './preset.js';

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
