import { z } from 'zod';
import { TOKEN_ENDPOINT_AUTH_METHODS } from '../clients/types.js';
import { DEFAULT_REFRESH_SKEW } from './defaults.js';
import { documents } from './documented.js';
import type { ProviderConfig } from './provider.js';
import type { AppConfig, RefreshConfig } from './app-config.js';

/**
 * Internal: the option schemas that one upstream is made of (remote mode's top
 * level, and each app of local mode), shared by `schema.ts` and `apps.ts`. Each
 * object schema is checked against its documented interface (see ./documented.ts).
 */

export const httpUrl = z.string().refine((s) => {
  try {
    const u = new URL(s);
    return u.protocol === 'https:' || u.protocol === 'http:';
  } catch {
    return false;
  }
}, 'must be an absolute http(s) URL');

/** A function option, typed as its interface declares it: `fn<ConsentConfig['render']>()`. */
export const fn = <F>() => z.custom<NonNullable<F>>((v) => typeof v === 'function', 'must be a function');

export const scopeToken = z.string().regex(/^[\x21\x23-\x5B\x5D-\x7E]+$/, 'must be a valid scope token');

export const providerIdPattern = z.string().regex(/^[A-Za-z0-9._-]{1,64}$/, 'must be 1-64 characters of A-Z a-z 0-9 . _ -');

/** `providerConfig` (see `ProviderConfig`). */
export const providerConfigSchema = documents<ProviderConfig>()(
  z
    .object({
      id: z
        .string()
        .regex(/^[A-Za-z0-9._-]{1,64}$/, 'must be 1-64 characters of A-Z a-z 0-9 . _ -')
        .optional(),
      authEndpoint: httpUrl.optional(),
      tokenEndpoint: httpUrl.optional(),
      userInfoEndpoint: httpUrl.optional(),
      jwksUri: httpUrl.optional(),
      jwks: documents<NonNullable<ProviderConfig['jwks']>>()(
        z.object({ keys: z.array(z.record(z.string(), z.unknown())).min(1) }),
      ).optional(),
      revocationEndpoint: httpUrl.optional(),
      issuer: z.string().min(1).optional(),
      authorizeParams: z.record(z.string(), z.string()).optional(),
      tokenEndpointAuthMethod: z.enum(TOKEN_ENDPOINT_AUTH_METHODS).optional(),
      skipDiscovery: z.boolean().default(false),
      discoveryUrl: httpUrl.optional(),
      tenants: documents<NonNullable<ProviderConfig['tenants']>>()(
        z.object({ allow: z.array(z.string().min(1)).optional(), deny: z.array(z.string().min(1)).optional() }).strict(),
      ).optional(),
      profile: fn<ProviderConfig['profile']>().optional(),
      tokenClaims: fn<ProviderConfig['tokenClaims']>().optional(),
      revoke: fn<ProviderConfig['revoke']>().optional(),
    })
    .strict(),
);

/** `refresh` (see `RefreshConfig`). */
export const refreshSchema = documents<RefreshConfig>()(
  z
    .object({
      enabled: z.boolean().default(true),
      skewSeconds: z.number().int().min(0).max(3600).default(DEFAULT_REFRESH_SKEW),
    })
    .strict(),
);

/** One app of local mode (see `AppConfig`). */
export const appSchema = documents<AppConfig>()(
  z
    .object({
      id: providerIdPattern,
      name: z.string().min(1).max(100).optional(),
      description: z.string().min(1).max(200).optional(),
      provider: httpUrl,
      clientId: z.string().min(1).optional(),
      clientSecret: z.string().min(1).optional(),
      scopes: z.array(scopeToken).min(1).default(['openid']),
      providerConfig: providerConfigSchema.default({ skipDiscovery: false }),
      refresh: refreshSchema.optional(),
      required: z.boolean().default(false),
      scope: scopeToken.optional(),
    })
    .strict(),
);

export type ProviderConfigOutput = z.output<typeof providerConfigSchema>;
export type AppOutput = z.output<typeof appSchema>;
