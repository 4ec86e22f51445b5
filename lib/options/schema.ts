import { z } from 'zod';
import type { Store } from '../stores/store.js';
import type { Logger } from '../logger.js';
import type {
  ClientMetadataDocumentConfig,
  ConsentConfig,
  IncrementalAuthConfig,
  OAuthProxyOptions,
  RateLimitConfig,
  RegistrationConfig,
  UpstreamRegistrationConfig,
} from './types.js';
import { documents } from './documented.js';
import { resolveApps, type ResolvedModel } from './apps.js';
import { appSchema, fn, httpUrl, providerConfigSchema, refreshSchema, scopeToken } from './fields.js';
import {
  DEFAULT_ACCESS_TOKEN_TTL,
  DEFAULT_REFRESH_TOKEN_TTL,
  DEFAULT_REFRESH_TOKEN_GRACE_PERIOD,
  DEFAULT_AUTHORIZATION_TTL,
  DEFAULT_CODE_TTL,
  DEFAULT_UNUSED_CLIENT_TTL,
  DEFAULT_CLIENT_TTL,
  DEFAULT_CONSENT_REMEMBER,
  DEFAULT_REFRESH_SKEW,
  MIN_SECRET_BYTES,
  DEFAULT_AUTHORIZE_RATE_LIMIT,
} from './defaults.js';

/** `new URL(s)`, or `undefined` (zod runs every refinement, also after `httpUrl` has refused the value). */
const parseUrl = (s: string): URL | undefined => {
  try {
    return new URL(s);
  } catch {
    return undefined;
  }
};
const seconds = (max = 10 * 365 * 24 * 3600) => z.number().int().positive().max(max);
const secretValue = z
  .string()
  .refine(
    (s) => Buffer.byteLength(s, 'utf8') >= MIN_SECRET_BYTES,
    `must be at least ${MIN_SECRET_BYTES} bytes; generate one with: node -e "console.log(require('crypto').randomBytes(32).toString('base64url'))"`,
  );
const secretList = z.union([secretValue, z.array(secretValue).min(1)]);
/** A `RateLimitConfig` with these defaults, or `false`. */
const rateLimit = (d: { windowMs: number; limit: number }) =>
  z
    .union([
      z.literal(false),
      documents<RateLimitConfig>()(
        z
          .object({ windowMs: z.number().int().positive().default(d.windowMs), limit: z.number().int().positive().default(d.limit) })
          .strict(),
      ),
    ])
    .default({ ...d });
const REGISTRATION_RATE_LIMIT = { windowMs: 15 * 60_000, limit: 20 };

/**
 * The zod schema. Exported for tooling; {@link parseOptions} is what the proxy uses. Its input
 * type is checked against the documented `OAuthProxyOptions` (the source) at compile time, and
 * so is every object schema in it against its own interface (see ./documented.ts).
 */
export const optionsSchema = documents<OAuthProxyOptions>()(
  z
    .object({
      issuer: httpUrl.refine((s) => {
        const u = parseUrl(s);
        return !u || (!u.search && !u.hash && !s.endsWith('/') && u.href.replace(/\/$/, '') === s);
      }, 'must have no query, fragment or trailing slash, and be written canonically (lower-case scheme and host)'),
      mode: z.enum(['remote', 'local']).default('remote'),
      provider: httpUrl.optional(),
      clientId: z.string().min(1).optional(),
      clientSecret: z.string().min(1).optional(),
      scopes: z.array(scopeToken).optional(),
      apps: z.array(appSchema).min(1).optional(),
      incrementalAuth: documents<IncrementalAuthConfig>()(z.object({ enabled: z.boolean().default(false) }).strict()).optional(),
      providerConfig: providerConfigSchema.optional(),
      consent: documents<ConsentConfig>()(
        z
          .object({
            enabled: z.boolean().optional(),
            rememberFor: z.number().int().min(0).default(DEFAULT_CONSENT_REMEMBER),
            render: fn<ConsentConfig['render']>().optional(),
            scopeDescriptions: z.record(z.string(), z.string().min(1).max(200)).optional(),
          })
          .strict(),
      ).default({ rememberFor: DEFAULT_CONSENT_REMEMBER }),
      refresh: refreshSchema.default({ enabled: true, skewSeconds: DEFAULT_REFRESH_SKEW }),
      secret: secretList.optional(),
      encryptionKey: secretList.optional(),
      store: z
        .custom<Store>(
          (v) =>
            !!v &&
            typeof v === 'object' &&
            ['get', 'set', 'add', 'take', 'delete', 'deleteIf', 'renewIf', 'ping'].every(
              (m) => typeof (v as Record<string, unknown>)[m] === 'function',
            ),
          'must implement the Store interface (get, set, add, take, delete, deleteIf, renewIf, ping)',
        )
        .optional(),
      resource: httpUrl.refine((s) => !parseUrl(s)?.hash, 'must have no fragment').optional(),
      resourceName: z.string().min(1).max(100).optional(),
      scopeHierarchy: z
        .record(
          z.string().regex(/^[\x21\x23-\x5B\x5D-\x7E]+$/, 'keys must be valid scope tokens'),
          z.array(z.string().regex(/^[\x21\x23-\x5B\x5D-\x7E]+$/, 'must be a valid scope token')),
        )
        .optional(),
      accessTokenTtl: seconds(24 * 3600).default(DEFAULT_ACCESS_TOKEN_TTL),
      refreshTokenTtl: seconds().default(DEFAULT_REFRESH_TOKEN_TTL),
      refreshTokenGracePeriod: z.number().int().min(0).max(300).default(DEFAULT_REFRESH_TOKEN_GRACE_PERIOD),
      authorizationTtl: seconds(3600).default(DEFAULT_AUTHORIZATION_TTL),
      codeTtl: seconds(600).default(DEFAULT_CODE_TTL),
      registration: documents<RegistrationConfig>()(
        z
          .object({
            enabled: z.boolean().default(true),
            rateLimit: rateLimit(REGISTRATION_RATE_LIMIT),
            unusedTtl: seconds().default(DEFAULT_UNUSED_CLIENT_TTL),
            ttl: seconds().default(DEFAULT_CLIENT_TTL),
            upstream: documents<UpstreamRegistrationConfig>()(
              z.object({ initialAccessToken: z.string().min(1).optional(), clientName: z.string().min(1).max(200).optional() }).strict(),
            ).optional(),
          })
          .strict(),
      ).default({
        enabled: true,
        rateLimit: { ...REGISTRATION_RATE_LIMIT },
        unusedTtl: DEFAULT_UNUSED_CLIENT_TTL,
        ttl: DEFAULT_CLIENT_TTL,
      }),
      allowedRedirectUris: z.array(z.union([z.string().min(1), z.instanceof(RegExp)])).optional(),
      clientMetadataDocuments: documents<ClientMetadataDocumentConfig>()(
        z.object({ enabled: z.boolean().default(true), allowPrivateAddresses: z.boolean().default(false) }).strict(),
      ).default({ enabled: true, allowPrivateAddresses: false }),
      authorizeRateLimit: rateLimit(DEFAULT_AUTHORIZE_RATE_LIMIT),
      corsOrigins: z.union([z.literal('*'), z.array(z.string().min(1))]).default('*'),
      logger: z
        .custom<Logger>(
          (v) => !!v && typeof v === 'object' && ['warn', 'error'].every((m) => typeof (v as Record<string, unknown>)[m] === 'function'),
          'must be a pino-compatible logger with at least warn() and error()',
        )
        .optional(),
      clock: fn<OAuthProxyOptions['clock']>().optional(),
      fetch: fn<OAuthProxyOptions['fetch']>().optional(),
      randomBytes: fn<OAuthProxyOptions['randomBytes']>().optional(),
    })
    .strict(),
);

/**
 * Options after parsing, with defaults applied and the mode resolved into apps
 * (not frozen: internal code only reads them). `scopes` are the proxy's own
 * scopes; each app's upstream scopes are `apps[i].upstream.scopes`. Internal.
 */
export type ParsedOptions = Omit<SchemaOutput, 'scopes' | 'apps' | 'incrementalAuth' | 'provider' | 'providerConfig'> &
  ResolvedModel & {
    /** Remote mode's upstream (local mode: the first app's; each app's own is `apps[i].upstream`). */
    provider: string;
    providerConfig: NonNullable<SchemaOutput['providerConfig']>;
  };
type SchemaOutput = z.output<typeof optionsSchema>;

/**
 * Parses options, or throws a `TypeError` whose message names every bad option
 * by its path and says what to do.
 */
export function parseOptions(input: unknown): ParsedOptions {
  if (input === null || typeof input !== 'object') {
    throw new TypeError('createOAuthProxy(options): "options" must be an object');
  }
  const result = optionsSchema.safeParse(input);
  if (!result.success) {
    throw invalid(
      result.error.issues.map((issue) => ({
        path: issue.path as (string | number)[],
        message: issue.code === 'unrecognized_keys' ? `unknown option(s) ${issue.keys.map((k) => `"${k}"`).join(', ')}` : issue.message,
      })),
    );
  }
  const model = resolveApps(result.data);
  if (Array.isArray(model)) throw invalid(model);
  return {
    ...result.data,
    ...model,
    provider: result.data.provider ?? model.apps[0]!.upstream.provider,
    providerConfig: result.data.providerConfig ?? { skipDiscovery: false },
  };
}

function invalid(issues: { path: (string | number)[]; message: string }[]): TypeError {
  const lines = issues.map((i) => `"${i.path.length ? i.path.join('.') : '(root)'}": ${i.message}`);
  const err = new TypeError(`createOAuthProxy(options): invalid option ${lines.join('; ')}`);
  (err as TypeError & { code: string }).code = 'ERR_INVALID_OPTION';
  return err;
}
