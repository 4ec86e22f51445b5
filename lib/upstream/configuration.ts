import * as oidc from 'openid-client';
import { createLocalJWKSet, createRemoteJWKSet, customFetch as joseCustomFetch, type JWTVerifyGetKey } from 'jose';
import type { UpstreamOptions } from '../options.js';
import type { ResolvedLogger } from '../logger.js';
import { describeError } from '../logger.js';
import { UpstreamRefused, UpstreamTransient } from './errors.js';
import { normalisingFetch } from './token-response.js';

export const UPSTREAM_TIMEOUT_SECONDS = 10;
const TEMPLATE = '{tenantid}';

export type { UpstreamOptions } from '../options.js';

/** Internal: the proxy's client at the upstream (configured, registered, or its metadata document). */
export interface UpstreamClientCredentials {
  clientId: string;
  clientSecret?: string | undefined;
  tokenEndpointAuthMethod?: 'client_secret_basic' | 'client_secret_post' | 'none' | undefined;
  kind?: 'configured' | 'registered' | 'metadata-document';
}

/** Internal: a ready openid-client configuration, the JWKS to verify id_tokens with, and the issuer if it is a template. */
export interface BuiltConfiguration {
  config: oidc.Configuration;
  jwks: JWTVerifyGetKey | undefined;
  issuerTemplate: string | undefined;
  server: oidc.ServerMetadata;
  client: UpstreamClientCredentials;
}

interface BuildDeps {
  fetch: typeof fetch;
  logger: ResolvedLogger;
  providerId: string;
}

/**
 * Internal: the upstream's server metadata: discovery (OIDC, then RFC 8414, or
 * `providerConfig.discoveryUrl`) with every `providerConfig` endpoint override on top.
 * Needs no client, so that a proxy without `clientId` can learn how to register.
 */
export async function discoverServer(o: UpstreamOptions, d: BuildDeps): Promise<oidc.ServerMetadata> {
  const pc = o.providerConfig;
  const insecure = new URL(o.provider).protocol === 'http:';
  const plainFetch: oidc.CustomFetch = (url, init) => d.fetch(url, init as RequestInit);
  const discovered = pc.skipDiscovery ? undefined : await discover(o, plainFetch, insecure, d);
  const server: oidc.ServerMetadata = {
    ...discovered,
    issuer: pc.issuer ?? discovered?.issuer ?? o.provider,
    ...(pc.authEndpoint ? { authorization_endpoint: pc.authEndpoint } : {}),
    ...(pc.tokenEndpoint ? { token_endpoint: pc.tokenEndpoint } : {}),
    ...(pc.userInfoEndpoint ? { userinfo_endpoint: pc.userInfoEndpoint } : {}),
    ...(pc.jwksUri ? { jwks_uri: pc.jwksUri } : {}),
    ...(pc.revocationEndpoint ? { revocation_endpoint: pc.revocationEndpoint } : {}),
  };
  if (!server.authorization_endpoint || !server.token_endpoint) {
    throw new UpstreamRefused(
      'server_error',
      'The upstream has no authorization_endpoint or token_endpoint; set providerConfig.authEndpoint and providerConfig.tokenEndpoint',
    );
  }
  return server;
}

/**
 * Internal: an openid-client configuration for `server` and the proxy's client there, with the
 * fetch wrapped so that token responses are normalised (see token-response.ts).
 */
export function configure(
  o: UpstreamOptions,
  server: oidc.ServerMetadata,
  client: UpstreamClientCredentials,
  d: BuildDeps,
): BuiltConfiguration {
  const pc = o.providerConfig;
  const method = pc.tokenEndpointAuthMethod ?? client.tokenEndpointAuthMethod;
  const clientAuth = clientAuthentication(method, client.clientSecret);
  const metadata = client.clientSecret ? { client_secret: client.clientSecret } : {};
  const issuerTemplate = server.issuer.includes(TEMPLATE) ? server.issuer : undefined;
  // A templated issuer never equals an id_token's iss, so openid-client must not see the id_token: we verify it (identity.ts).
  const normalised = normalisingFetch(d.fetch, { deferIdToken: issuerTemplate !== undefined });
  const config = new oidc.Configuration(server, client.clientId, metadata, clientAuth);
  config[oidc.customFetch] = (url, init) => normalised(url, init as RequestInit);
  config.timeout = UPSTREAM_TIMEOUT_SECONDS;
  if (new URL(o.provider).protocol === 'http:') oidc.allowInsecureRequests(config);
  let jwks: JWTVerifyGetKey | undefined;
  if (pc.jwks) jwks = createLocalJWKSet(pc.jwks as Parameters<typeof createLocalJWKSet>[0]);
  else if (server.jwks_uri)
    jwks = createRemoteJWKSet(new URL(server.jwks_uri), { [joseCustomFetch]: d.fetch, timeoutDuration: UPSTREAM_TIMEOUT_SECONDS * 1000 });
  return { config, jwks, issuerTemplate, server, client };
}

/** The discovered server metadata, or `undefined` when every needed endpoint is configured anyway. */
async function discover(
  o: UpstreamOptions,
  fetchImpl: oidc.CustomFetch,
  insecure: boolean,
  d: BuildDeps,
): Promise<oidc.ServerMetadata | undefined> {
  const pc = o.providerConfig;
  const options = (algorithm: 'oidc' | 'oauth2') => ({
    algorithm,
    timeout: UPSTREAM_TIMEOUT_SECONDS,
    [oidc.customFetch]: fetchImpl,
    ...(insecure ? { execute: [oidc.allowInsecureRequests] } : {}),
  });
  if (pc.discoveryUrl) {
    // A well-known URL: openid-client skips its issuer check, so it is done here, exactly.
    let found: oidc.ServerMetadata;
    try {
      found = (await oidc.discovery(new URL(pc.discoveryUrl), 'discovery', undefined, undefined, options('oidc'))).serverMetadata();
    } catch (err) {
      throw new UpstreamTransient(`Upstream discovery failed at ${pc.discoveryUrl}`, { cause: err });
    }
    const expected = pc.issuer ?? o.provider;
    if (found.issuer !== expected && found.issuer !== new URL(expected).href) {
      throw new UpstreamRefused(
        'server_error',
        `The discovery document at providerConfig.discoveryUrl has issuer "${found.issuer}", not "${expected}"; set providerConfig.issuer to the issuer you trust`,
      );
    }
    return found;
  }
  for (const algorithm of ['oidc', 'oauth2'] as const) {
    try {
      return (await oidc.discovery(new URL(o.provider), 'discovery', undefined, undefined, options(algorithm))).serverMetadata();
    } catch (err) {
      d.logger.debug({ provider: d.providerId, algorithm, err: describeError(err) }, 'upstream discovery attempt failed');
    }
  }
  if (pc.authEndpoint && pc.tokenEndpoint) return undefined;
  throw new UpstreamTransient(
    `Upstream discovery failed at ${o.provider} (tried OIDC discovery and RFC 8414); set providerConfig.authEndpoint and tokenEndpoint to run without it`,
  );
}

function clientAuthentication(
  method: UpstreamOptions['providerConfig']['tokenEndpointAuthMethod'],
  secret: string | undefined,
): oidc.ClientAuth {
  if (!secret || method === 'none') return oidc.None();
  return method === 'client_secret_post' ? oidc.ClientSecretPost(secret) : oidc.ClientSecretBasic(secret);
}
