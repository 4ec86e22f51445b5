import type { ParsedOptions } from '../options.js';
import type { ResolvedLogger } from '../logger.js';
import type { RandomBytes } from '../crypto.js';
import type { NamespacedStore } from '../stores/namespaced.js';
import type { ProxyUrls } from '../http/urls.js';
import type { Clients } from '../clients/clients.js';
import type { AccessTokens } from '../tokens/access-token.js';
import type { RefreshTokens } from '../tokens/refresh-tokens.js';
import type { Codes } from '../tokens/codes.js';
import type { Grants } from '../grants/grants.js';
import type { PendingAuthorizations } from '../grants/pending.js';
import type { UpstreamRegistry } from '../upstream/registry.js';
import type { AppCatalog } from '../grants/catalog.js';
import type { LinkTickets } from '../grants/link-tickets.js';

/**
 * Internal: every collaborator an endpoint may be given. No endpoint takes all
 * of them: each declares the few it uses as a `Pick` of this (the MCP SDK's
 * `OAuthServerProvider` habit), and the router hands it just those.
 */
export interface EndpointServices {
  options: ParsedOptions;
  urls: ProxyUrls;
  logger: ResolvedLogger;
  clock: () => number;
  random: RandomBytes;
  /** Only for the browser leg's express-session store and the rate-limit counters: records go through the services. */
  store: NamespacedStore;
  clients: Clients;
  accessTokens: AccessTokens;
  refreshTokens: RefreshTokens;
  codes: Codes;
  grants: Grants;
  pending: PendingAuthorizations;
  upstreams: UpstreamRegistry;
  /** The apps and their proxy scopes (local mode; remote mode has one app). */
  catalog: AppCatalog;
  /** The sealed `link` of `?app=` URLs (local mode). */
  linkTickets: LinkTickets;
  /** Secrets for the browser-session cookie (derived, never the signing secret itself). */
  cookieSecrets: string[];
  consentEnabled: boolean;
}
