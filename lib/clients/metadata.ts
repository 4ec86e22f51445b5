import { z } from 'zod';
import { InvalidClientMetadataError, InvalidRedirectUriError } from '../errors.js';
import { TOKEN_ENDPOINT_AUTH_METHODS, type ClientMetadata } from './types.js';
import { MAX_URI_LENGTH, checkRedirectUri } from './redirect-uri.js';

/** Most redirect URIs one client may register. */
export const MAX_REDIRECT_URIS = 10;

/** C0/C1 controls and the bidirectional overrides/isolates used to spoof names on a consent page. */
// eslint-disable-next-line no-control-regex -- matching control characters is the point: they are refused
const UNSAFE_TEXT = /[\u0000-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069]/u;
/** RFC 6749 §3.3: scope tokens of NQCHAR separated by single spaces. */
const SCOPE = /^[\x21\x23-\x5B\x5D-\x7E]+( [\x21\x23-\x5B\x5D-\x7E]+)*$/;

const text = (max: number) =>
  z
    .string({ error: 'must be a string' })
    .min(1, 'must not be empty')
    .max(max, `must be at most ${max} characters`)
    .refine((s) => !UNSAFE_TEXT.test(s), 'must not contain control or bidirectional-override characters');

const httpsUri = z
  .string({ error: 'must be a string' })
  .max(MAX_URI_LENGTH, `must be at most ${MAX_URI_LENGTH} characters`)
  .refine((s) => {
    // eslint-disable-next-line no-control-regex -- control characters and spaces are refused
    if (/[\u0000-\u0020\u007f\\]/.test(s) || !/^https:\/\/[^/]/i.test(s)) return false;
    try {
      const url = new URL(s);
      return url.protocol === 'https:' && !url.username && !url.password;
    } catch {
      return false;
    }
  }, 'must be an absolute https URL without userinfo, whitespace or backslashes');

const grantType = z.enum(['authorization_code', 'refresh_token'], {
  error: (issue) => `${JSON.stringify(issue.input)} is not supported; use "authorization_code" and optionally "refresh_token"`,
});

const schema = z.object({
  token_endpoint_auth_method: z
    .enum(TOKEN_ENDPOINT_AUTH_METHODS, {
      error: (issue) =>
        `${JSON.stringify(issue.input)} is not supported; use "none" (public client with PKCE), "client_secret_post" or "client_secret_basic"`,
    })
    // RFC 7591 §2: the default when omitted. MCP public clients send "none" explicitly.
    .default('client_secret_basic'),
  grant_types: z.array(grantType, { error: 'must be an array of strings' }).min(1, 'must not be empty').default(['authorization_code']),
  response_types: z
    .array(z.literal('code', { error: (issue) => `${JSON.stringify(issue.input)} is not supported; only "code" is` }), {
      error: 'must be an array of strings',
    })
    .min(1, 'must not be empty')
    .default(['code']),
  application_type: z.enum(['web', 'native'], { error: 'must be "web" or "native"' }).optional(),
  client_name: text(200).optional(),
  client_uri: httpsUri.optional(),
  logo_uri: httpsUri.optional(),
  tos_uri: httpsUri.optional(),
  policy_uri: httpsUri.optional(),
  scope: z
    .string({ error: 'must be a string' })
    .max(1000, 'must be at most 1000 characters')
    .regex(SCOPE, 'must be space-separated scope tokens (RFC 6749 §3.3)')
    .optional(),
  contacts: z.array(text(320), { error: 'must be an array of strings' }).max(5, 'must have at most 5 entries').optional(),
  software_id: text(200).optional(),
  software_version: text(200).optional(),
});

function formatIssues(error: z.ZodError): string {
  return error.issues
    .map((issue) => {
      const path = issue.path.reduce<string>(
        (acc, key) => (typeof key === 'number' ? `${acc}[${key}]` : acc ? `${acc}.${String(key)}` : String(key)),
        '',
      );
      return `${path || 'client metadata'}: ${issue.message}`;
    })
    .join('; ');
}

function parseRedirectUris(value: unknown, allowed: ReadonlyArray<string | RegExp> | undefined): string[] {
  if (value === undefined) throw new InvalidRedirectUriError('redirect_uris is required: register at least one redirect URI');
  if (!Array.isArray(value) || value.length === 0) throw new InvalidRedirectUriError('redirect_uris must be a non-empty array of strings');
  if (value.length > MAX_REDIRECT_URIS)
    throw new InvalidRedirectUriError(`redirect_uris must have at most ${MAX_REDIRECT_URIS} entries, got ${value.length}`);
  value.forEach((uri: unknown, i) => {
    if (typeof uri !== 'string') throw new InvalidRedirectUriError(`redirect_uris[${i}] must be a string`);
    checkRedirectUri(uri, { ...(allowed === undefined ? {} : { allowed }), label: `redirect_uris[${i}]` });
  });
  return [...new Set(value as string[])];
}

/**
 * Validates RFC 7591 client metadata (a registration request body, or a Client
 * ID Metadata Document) and returns it with defaults applied. Unknown fields
 * are dropped, as RFC 7591 §2 asks; `null` is treated as absent.
 *
 * Defaults: `token_endpoint_auth_method` `client_secret_basic` (RFC 7591),
 * `grant_types` `['authorization_code']`, `response_types` `['code']`.
 *
 * @throws `InvalidRedirectUriError` when `redirect_uris` is missing, empty,
 *   longer than 10 entries, or holds a URI {@link checkRedirectUri} refuses.
 * @throws `InvalidClientMetadataError` naming each bad field and what is wrong.
 *
 * @example
 * ```ts
 * const metadata = parseClientMetadata(req.body, { allowedRedirectUris: options.allowedRedirectUris });
 * // { redirect_uris: [...], token_endpoint_auth_method: 'none', grant_types: ['authorization_code', 'refresh_token'], ... }
 * ```
 */
export function parseClientMetadata(input: unknown, options?: { allowedRedirectUris?: ReadonlyArray<string | RegExp> }): ClientMetadata {
  if (input === null || typeof input !== 'object' || Array.isArray(input)) {
    throw new InvalidClientMetadataError('client metadata must be a JSON object');
  }
  const raw: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(input)) if (value !== null) raw[key] = value;

  const redirect_uris = parseRedirectUris(raw.redirect_uris, options?.allowedRedirectUris);
  const result = schema.safeParse(raw);
  if (!result.success) throw new InvalidClientMetadataError(formatIssues(result.error));
  const data = result.data;

  const grant_types = [...new Set(data.grant_types)];
  const response_types = [...new Set(data.response_types)];
  if (!grant_types.includes('authorization_code')) {
    throw new InvalidClientMetadataError('grant_types must include "authorization_code": it is the only way this server issues tokens');
  }
  if (!response_types.includes('code')) {
    throw new InvalidClientMetadataError(
      'response_types must include "code" because grant_types includes "authorization_code" (RFC 7591 §2.1)',
    );
  }

  const metadata: ClientMetadata = {
    redirect_uris,
    token_endpoint_auth_method: data.token_endpoint_auth_method,
    grant_types,
    response_types,
  };
  const optional = [
    'application_type',
    'client_name',
    'client_uri',
    'logo_uri',
    'tos_uri',
    'policy_uri',
    'scope',
    'contacts',
    'software_id',
    'software_version',
  ] as const;
  for (const key of optional) {
    if (data[key] !== undefined) Object.assign(metadata, { [key]: data[key] });
  }
  return metadata;
}
