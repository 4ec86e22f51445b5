import type { RequestHandler } from 'express';
import type { EndpointServices } from './services.js';
import { advertisedScopes } from '../resource/scopes.js';
import { TOKEN_ENDPOINT_AUTH_METHODS } from '../clients/types.js';

/** Internal: the collaborators this endpoint uses. */
export type MetadataDeps = Pick<EndpointServices, 'urls' | 'options' | 'clients'>;

/** Internal: RFC 8414 authorization server metadata. No `null` fields; no OIDC document is served (we are not an OP). */
export function authorizationServerMetadata(ctx: MetadataDeps): Record<string, unknown> {
  const { urls, options: o } = ctx;
  const authMethods = [...TOKEN_ENDPOINT_AUTH_METHODS];
  const doc: Record<string, unknown> = {
    issuer: urls.issuer,
    authorization_endpoint: urls.authorize,
    token_endpoint: urls.token,
    revocation_endpoint: urls.revoke,
    response_types_supported: ['code'],
    response_modes_supported: ['query'],
    grant_types_supported: ['authorization_code', 'refresh_token'],
    token_endpoint_auth_methods_supported: authMethods,
    revocation_endpoint_auth_methods_supported: authMethods,
    code_challenge_methods_supported: ['S256'],
    scopes_supported: o.scopes,
    authorization_response_iss_parameter_supported: true,
  };
  if (o.registration.enabled) doc.registration_endpoint = urls.register;
  if (ctx.clients.metadataDocumentsEnabled) doc.client_id_metadata_document_supported = true;
  return doc;
}

/** Internal: RFC 9728 protected resource metadata. `offline_access` is not a resource scope, so it is not listed (MCP 2026-07-28). */
export function protectedResourceMetadata(ctx: MetadataDeps): Record<string, unknown> {
  return {
    resource: ctx.urls.resource,
    resource_name: resourceName(ctx),
    authorization_servers: [ctx.urls.issuer],
    bearer_methods_supported: ['header'],
    scopes_supported: advertisedScopes(ctx.options.scopes),
  };
}

/** Internal: the MCP server's name for people: the `resourceName` option, else the resource's host. */
export function resourceName(ctx: Pick<EndpointServices, 'options' | 'urls'>): string {
  return ctx.options.resourceName ?? new URL(ctx.urls.resource).host;
}

/** Internal: serves a JSON document computed once. */
export function serveJson(doc: Record<string, unknown>): RequestHandler {
  const body = JSON.stringify(doc);
  return (_req, res) => {
    res.set({ 'Content-Type': 'application/json', 'Cache-Control': 'public, max-age=300' }).send(body);
  };
}
