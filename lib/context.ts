import type { ParsedOptions, ResolvedApp } from './options.js';
import { MemoryStore } from './stores/memory.js';
import { namespaced, storeNamespace } from './stores/namespaced.js';
import { resolveLogger, type ResolvedLogger } from './logger.js';
import { defaultRandomBytes, deriveKey, randomToken, type RandomBytes } from './crypto.js';
import { deriveUrls, type ProxyUrls } from './http/urls.js';
import type { EndpointServices } from './endpoints/services.js';
import { Sealer } from './vault/seal.js';
import { Vault } from './vault/vault.js';
import { AccessTokens } from './tokens/access-token.js';
import { RefreshTokens } from './tokens/refresh-tokens.js';
import { Codes } from './tokens/codes.js';
import { EndedGrants } from './grants/ended.js';
import { Grants } from './grants/grants.js';
import { PendingAuthorizations } from './grants/pending.js';
import { TokenBroker } from './grants/token-broker.js';
import { UpstreamProvider } from './upstream/provider.js';
import { UpstreamRegistration } from './upstream/registration.js';
import { UpstreamRegistry } from './upstream/registry.js';
import { Clients } from './clients/clients.js';
import { AppCatalog } from './grants/catalog.js';
import { LinkTickets } from './grants/link-tickets.js';

/**
 * Internal: the composition root's result, built once per proxy. The router
 * hands each endpoint only the collaborators it declares (`EndpointServices`
 * picks); the rest is for `requireSession()` and the proxy's lifecycle.
 */
export interface ProxyContext extends EndpointServices {
  sealer: Sealer;
  vault: Vault;
  ended: EndedGrants;
  broker: TokenBroker;
}

/** Internal: builds the proxy's services from parsed options. */
export function createContext(o: ParsedOptions): ProxyContext {
  const logger = resolveLogger(o.logger);
  const clock = o.clock ?? Date.now;
  const random = o.randomBytes ?? defaultRandomBytes;
  const fetchImpl = o.fetch ?? globalThis.fetch;
  const secrets = toList(o.secret) ?? ephemeral('secret', random, logger);
  const encryptionKeys = toList(o.encryptionKey) ?? ephemeral('encryptionKey', random, logger);
  const urls = deriveUrls(o);
  // Under the issuer's namespace, so that proxies sharing a store never accept each other's clients, codes or tokens.
  const store = namespaced(o.store ?? new MemoryStore({ logger: o.logger }), storeNamespace(urls.issuer));

  const sealer = new Sealer(encryptionKeys, random);
  const vault = new Vault(store, sealer, undefined, logger);
  const upstreams = new UpstreamRegistry(
    o.apps.map((app) => {
      const registration = app.upstream.clientId
        ? {}
        : { registration: upstreamRegistration(o, app, urls, { store, sealer, random, logger, fetch: fetchImpl, clock }) };
      return new UpstreamProvider(app.upstream, { fetch: fetchImpl, logger, clock, ...registration });
    }),
  );
  const refreshById = new Map(o.apps.map((a) => [a.id, a.refresh])); // getToken()'s per-app refresh settings, one lookup
  const ended = new EndedGrants(store, clock, o.accessTokenTtl * 1000, logger);
  const grants = new Grants({ store, vault, ended, upstreams, ttlMs: o.refreshTokenTtl * 1000, clock, random, logger });
  // Upstream claims travel sealed in the access token, under a key of their own derived from encryptionKey (issue 12, finding 6).
  const claimsSealer = new Sealer(encryptionKeys, random, 'access-token-claims-aes-256-gcm');
  const accessTokens = new AccessTokens({
    secrets,
    issuer: urls.issuer,
    audience: urls.resource,
    ttlSeconds: o.accessTokenTtl,
    clock,
    random,
    claimsSealer,
  });
  ended.onEnded((sid) => accessTokens.forget((c) => c.sid === sid));
  const consentEnabled = o.consent.enabled ?? consentByDefault(o);
  if (!consentEnabled && consentByDefault(o)) {
    logger.warn(
      { open: openClientSources(o) },
      `consent is disabled while ${openClientSources(o).join(' and ')} let clients appear without your approval, and "allowedRedirectUris" does not limit where codes go: anyone can publish or register a client whose redirect URI is their own site and have a signed-in user's code sent there without a page (confused deputy). Enable consent, set "allowedRedirectUris", or turn those off (registration.enabled: false, clientMetadataDocuments.enabled: false).`,
    );
  }
  if (!store.atomic) {
    logger.warn(
      {},
      'the store is not atomic across processes (e.g. fromExpressSessionStore): single-use codes, refresh-token rotation and the upstream refresh lock are enforced within this process only. Run ONE proxy instance on it, or use RedisStore (or another atomic store) to run several.',
    );
  }
  return {
    options: o,
    urls,
    store,
    logger,
    clock,
    random,
    sealer,
    vault,
    accessTokens,
    refreshTokens: new RefreshTokens({
      store,
      sealer,
      grants,
      random,
      clock,
      ttlSeconds: o.refreshTokenTtl,
      graceSeconds: o.refreshTokenGracePeriod,
      logger,
    }),
    codes: new Codes({ store, grants, random, ttlSeconds: o.codeTtl, clock, retryWindowMs: o.refreshTokenGracePeriod * 1000, logger }),
    pending: new PendingAuthorizations({ store, random, ttlSeconds: o.authorizationTtl, logger }),
    ended,
    grants,
    broker: new TokenBroker({
      store,
      vault,
      grants,
      upstreams,
      clock,
      random,
      refresh: (pid) => refreshById.get(pid) ?? o.refresh,
      logger,
    }),
    upstreams,
    catalog: new AppCatalog(o),
    // A link a tool shows a person lives as long as an authorization may take, six times over (an hour by default).
    linkTickets: new LinkTickets({
      sealer: new Sealer(encryptionKeys, random, 'app-link-ticket-aes-256-gcm'),
      clock,
      ttlMs: o.authorizationTtl * 6000,
      authorizeUrl: urls.authorize,
    }),
    clients: new Clients({ store, clock, random, options: o, fetch: o.fetch, logger }),
    cookieSecrets: secrets.map((s) => deriveKey(s, 'browser-session-cookie').toString('base64url')),
    consentEnabled,
  };
}

/** Which ways clients can appear without the operator's say-so: open DCR, metadata documents (CIMD). */
function openClientSources(o: ParsedOptions): string[] {
  return [
    ...(o.registration.enabled ? ['open dynamic client registration'] : []),
    ...(o.clientMetadataDocuments.enabled ? ['client metadata documents (https client_ids)'] : []),
  ];
}

/**
 * Consent is on by default whenever a client can appear without the operator's
 * say-so (open DCR or CIMD), unless `allowedRedirectUris` limits the redirect
 * URIs every such client may use to ones the operator chose.
 */
function consentByDefault(o: ParsedOptions): boolean {
  return openClientSources(o).length > 0 && o.allowedRedirectUris === undefined;
}

/** Without `clientId`, the proxy registers itself at the upstream (RFC 7591 or its own metadata document). */
function upstreamRegistration(
  o: ParsedOptions,
  app: ResolvedApp,
  urls: ProxyUrls,
  d: Pick<ConstructorParameters<typeof UpstreamRegistration>[0], 'store' | 'sealer' | 'random' | 'logger' | 'fetch' | 'clock'>,
): UpstreamRegistration {
  const providerId = app.id;
  return new UpstreamRegistration({
    ...d,
    providerId,
    redirectUri: urls.callback,
    metadataDocumentUrl: `${urls.issuer}/upstream-client/${encodeURIComponent(providerId)}`,
    clientName: o.registration.upstream?.clientName ?? `MCP OAuth proxy (${new URL(urls.issuer).host})`,
    scopes: app.upstream.scopes,
    initialAccessToken: o.registration.upstream?.initialAccessToken,
  });
}

function toList(v: string | string[] | undefined): string[] | undefined {
  return v === undefined ? undefined : Array.isArray(v) ? v : [v];
}

function ephemeral(name: string, random: RandomBytes, logger: ResolvedLogger): string[] {
  logger.warn(
    { option: name },
    `no "${name}" option was given: using a random one, so every session and token dies when this process exits and no other instance can read them. Set "${name}" (≥ 32 bytes) in production.`,
  );
  return [randomToken(random)];
}
