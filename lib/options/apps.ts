import type { AppOutput, ProviderConfigOutput } from './fields.js';

type RefreshOutput = { enabled: boolean; skewSeconds: number };

/** The parsed options `resolveApps` reads (the zod output's upstream and mode fields). */
interface SchemaOutput {
  mode: 'remote' | 'local';
  provider?: string | undefined;
  clientId?: string | undefined;
  clientSecret?: string | undefined;
  providerConfig?: ProviderConfigOutput | undefined;
  scopes?: string[] | undefined;
  refresh: RefreshOutput;
  apps?: AppOutput[] | undefined;
  incrementalAuth?: { enabled: boolean } | undefined;
}

/** The scope that asks for a refresh token: known to every proxy, never an app's scope. */
export const OFFLINE_ACCESS = 'offline_access';

/** Derives a provider id from the provider URL's host: `idp.example.com:8443` → `idp-example-com-8443`. */
export function deriveProviderId(provider: string): string {
  return new URL(provider).host
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-|-$/g, '');
}

/** Internal: the options one upstream is built from (the top level in remote mode, one app entry in local mode). */
export interface UpstreamOptions {
  provider: string;
  clientId?: string | undefined;
  clientSecret?: string | undefined;
  /** Upstream scopes: what the proxy requests from this IdP. */
  scopes: string[];
  providerConfig: ProviderConfigOutput;
}

/**
 * Internal: one app after parsing. Remote mode has exactly one, for its one
 * upstream (required; its proxy scopes are the upstream scopes, as always).
 */
export interface ResolvedApp {
  /** The provider id: vault key, `getToken(id)`, `requireSession({ app })`. */
  id: string;
  name: string;
  description?: string | undefined;
  /** The proxy scope that stands for the app (local mode); `undefined` in remote mode. */
  scope: string | undefined;
  required: boolean;
  upstream: UpstreamOptions;
  refresh: { enabled: boolean; skewSeconds: number };
}

/** A problem found while resolving, reported like a zod issue (path + message). */
export interface AppIssue {
  path: (string | number)[];
  message: string;
}

/** Internal: what `parseOptions` adds to the zod output. */
export interface ResolvedModel {
  /** Every scope the proxy grants (remote: the upstream scopes; local: the app scopes, then the top-level ones). */
  scopes: string[];
  apps: ResolvedApp[];
  incrementalAuth: { enabled: boolean };
}

const REMOTE_ONLY = ['provider', 'clientId', 'clientSecret', 'providerConfig'] as const;

/** Internal: resolves the mode into apps and proxy scopes, or returns the problems. */
export function resolveApps(o: SchemaOutput): ResolvedModel | AppIssue[] {
  return o.mode === 'local' ? resolveLocal(o) : resolveRemote(o);
}

function resolveRemote(o: SchemaOutput): ResolvedModel | AppIssue[] {
  const issues: AppIssue[] = [];
  if (o.apps !== undefined) issues.push({ path: ['apps'], message: 'only in mode: \'local\'; remote mode has one upstream ("provider")' });
  if (o.incrementalAuth !== undefined) issues.push({ path: ['incrementalAuth'], message: "only in mode: 'local'" });
  if (o.provider === undefined) issues.push({ path: ['provider'], message: "is required in remote mode (or use mode: 'local' with apps)" });
  if (o.scopes !== undefined && o.scopes.length === 0) issues.push({ path: ['scopes'], message: 'must list at least one scope' });
  if (issues.length) return issues;
  const scopes = o.scopes ?? ['openid'];
  const providerConfig = o.providerConfig ?? { skipDiscovery: false };
  const upstream: UpstreamOptions = { provider: o.provider!, clientId: o.clientId, clientSecret: o.clientSecret, scopes, providerConfig };
  const id = providerConfig.id ?? deriveProviderId(o.provider!);
  return {
    scopes,
    apps: [{ id, name: new URL(o.provider!).host, scope: undefined, required: true, upstream, refresh: o.refresh }],
    incrementalAuth: { enabled: false },
  };
}

function resolveLocal(o: SchemaOutput): ResolvedModel | AppIssue[] {
  const issues: AppIssue[] = [];
  for (const k of REMOTE_ONLY)
    if (o[k] !== undefined)
      issues.push({ path: [k], message: `is a remote-mode option; in local mode each app has its own ("apps[].${k}")` });
  if (!o.apps) return [...issues, { path: ['apps'], message: "is required in mode: 'local' (at least one app)" }];
  const extra = o.scopes ?? [];
  const seenIds = new Set<string>();
  const seenScopes = new Map<string, string>(extra.map((s) => [s, '"scopes"']));
  const incremental = o.incrementalAuth?.enabled ?? false;
  const apps = o.apps.map((a, i): ResolvedApp => {
    if (seenIds.has(a.id)) issues.push({ path: ['apps', i, 'id'], message: `"${a.id}" is used by another app; app ids must be unique` });
    seenIds.add(a.id);
    if (a.providerConfig.id !== undefined && a.providerConfig.id !== a.id)
      issues.push({ path: ['apps', i, 'providerConfig', 'id'], message: `must be absent or equal the app id "${a.id}"` });
    const scope = a.scope ?? a.id;
    if (scope === OFFLINE_ACCESS) issues.push({ path: ['apps', i, 'scope'], message: `"${OFFLINE_ACCESS}" cannot stand for an app` });
    const owner = seenScopes.get(scope);
    if (owner)
      issues.push({ path: ['apps', i, 'scope'], message: `"${scope}" is already used by ${owner}; each app needs its own proxy scope` });
    seenScopes.set(scope, `app "${a.id}"`);
    return {
      id: a.id,
      name: a.name ?? a.id,
      description: a.description,
      scope,
      // Without progressive authorization every app is signed in at once, so every app is required.
      required: a.required || !incremental,
      upstream: {
        provider: a.provider,
        clientId: a.clientId,
        clientSecret: a.clientSecret,
        scopes: a.scopes,
        providerConfig: { ...a.providerConfig, id: a.id },
      },
      refresh: a.refresh ?? o.refresh,
    };
  });
  if (issues.length) return issues;
  return { scopes: [...new Set([...apps.map((a) => a.scope!), ...extra])], apps, incrementalAuth: { enabled: incremental } };
}
