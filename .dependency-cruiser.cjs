/**
 * Layer check (issue 14): dependencies in lib/ point one way,
 *
 *   index, router, context (composition)  →  endpoints, resource (HTTP edge)  →  http (responses, URLs)
 *   →  clients, grants, tokens, vault, upstream, providers, consent (domain services)  →  stores
 *   →  util, errors, crypto, logger (base)
 *
 * and inside the domain: grants → tokens, upstream → vault. `npm run lint:deps` runs it; CI fails on a violation.
 * `options.ts` and `lib/options/` (defaults, types, the zod schema) sit beside the domain: anyone may read it; it imports types and constants only.
 */
const BASE = '^lib/(util/|errors/|errors\\.ts|crypto\\.ts|logger\\.ts)';
const STORES = '^lib/stores/';
const DOMAIN = '^lib/(clients|grants|tokens|vault|upstream|providers|consent)/';
const HTTP = '^lib/http/';
const EDGE = '^lib/(endpoints|resource)/';
const TOP = '^lib/(index|router|context)\\.ts$';

const forbid = (name, comment, from, to) => ({ name, comment, severity: 'error', from: { path: from }, to: { path: to } });

module.exports = {
  forbidden: [
    { name: 'no-circular', severity: 'error', comment: 'No import cycles in lib/.', from: { path: '^lib/' }, to: { circular: true } },
    forbid(
      'base-stays-base',
      'util, errors, crypto and logger import nothing else in lib/.',
      BASE,
      '^lib/(?!util/|errors/|errors\\.ts|crypto\\.ts|logger\\.ts)',
    ),
    forbid(
      'stores-below-domain',
      'Stores know nothing of what is stored in them.',
      STORES,
      `${DOMAIN}|${HTTP}|${EDGE}|${TOP}|^lib/options(\\.ts|/)`,
    ),
    forbid('domain-below-http', 'Domain services never answer HTTP themselves.', DOMAIN, `${HTTP}|${EDGE}|${TOP}`),
    forbid(
      'http-below-edge',
      'Response helpers serve the endpoints and requireSession(), not the other way round.',
      HTTP,
      `${EDGE}|${TOP}`,
    ),
    forbid('edge-below-top', 'Endpoints get narrow collaborators from the router, never the context bag.', EDGE, TOP),
    forbid(
      'resource-beside-endpoints',
      'requireSession() does not use the authorization-server endpoints.',
      '^lib/resource/',
      '^lib/endpoints/',
    ),
    forbid(
      'tokens-below-grants',
      'Token stores reach the grant lifecycle through tokens/grant-lifecycle.ts only.',
      '^lib/tokens/',
      '^lib/(grants|upstream|clients)/',
    ),
    forbid(
      'vault-below-tokens',
      'The vault seals; it knows no tokens, grants or upstreams.',
      '^lib/vault/',
      '^lib/(tokens|grants|upstream|providers|clients)/',
    ),
    forbid(
      'upstream-below-grants',
      'Upstreams know no grants, proxy tokens or clients.',
      '^lib/(upstream|providers)/',
      '^lib/(grants|tokens|clients)/',
    ),
    forbid(
      'clients-alone',
      'Clients know no grants, tokens, vault or upstreams.',
      '^lib/clients/',
      '^lib/(grants|tokens|vault|upstream|providers)/',
    ),
    {
      ...forbid(
        'options-types-only',
        'options.ts and lib/options/ import only types from the domain (and the client-auth constants).',
        '^lib/options(\\.ts$|/)',
        `${HTTP}|${EDGE}|${TOP}|^lib/(grants|tokens|vault|upstream)/`,
      ),
      to: { path: `${HTTP}|${EDGE}|${TOP}|^lib/(grants|tokens|vault|upstream)/`, dependencyTypesNot: ['type-only'] },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    includeOnly: '^lib/',
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
  },
};
