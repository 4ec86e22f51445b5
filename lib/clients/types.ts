import { z } from 'zod';

/** Client authentication methods (RFC 7591 names) the token and revocation endpoints support, and the proxy uses upstream. */
export const TOKEN_ENDPOINT_AUTH_METHODS = ['none', 'client_secret_post', 'client_secret_basic'] as const;

/** One of {@link TOKEN_ENDPOINT_AUTH_METHODS}. */
export type TokenEndpointAuthMethod = (typeof TOKEN_ENDPOINT_AUTH_METHODS)[number];

/** Validated RFC 7591 client metadata (snake_case, as on the wire). */
export interface ClientMetadata {
  redirect_uris: string[];
  token_endpoint_auth_method: TokenEndpointAuthMethod;
  grant_types: Array<'authorization_code' | 'refresh_token'>;
  response_types: Array<'code'>;
  client_name?: string;
  client_uri?: string;
  logo_uri?: string;
  scope?: string;
  contacts?: string[];
  tos_uri?: string;
  policy_uri?: string;
  software_id?: string;
  software_version?: string;
  application_type?: 'web' | 'native';
}

/** A client as the proxy keeps it: registered (RFC 7591) or resolved from a Client ID Metadata Document. */
export interface RegisteredClient extends ClientMetadata {
  client_id: string;
  /** sha256 (base64url) of the client secret; confidential clients only. The secret itself is never stored. */
  client_secret_hash?: string;
  client_id_issued_at: number;
  /** How the client came to be known. */
  kind: 'dynamic' | 'metadata_document';
  /** For metadata-document clients: the https host the document was fetched from. */
  verified_domain?: string;
}

/**
 * Internal: the stored form of a {@link RegisteredClient} (`client:<client_id>`).
 * Version 1; records without `v` are version 1. Unknown fields are kept.
 */
export const clientRecordSchema = z
  .object({
    v: z.literal(1).default(1),
    client_id: z.string(),
    client_id_issued_at: z.number(),
    kind: z.enum(['dynamic', 'metadata_document']),
    client_secret_hash: z.string().optional(),
    redirect_uris: z.array(z.string()),
    token_endpoint_auth_method: z.enum(TOKEN_ENDPOINT_AUTH_METHODS),
    grant_types: z.array(z.enum(['authorization_code', 'refresh_token'])),
    response_types: z.array(z.literal('code')),
  })
  .loose();
