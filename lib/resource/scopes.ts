/**
 * Internal: scope arithmetic for the resource side (MCP spec 2026-07-28).
 *
 * - A scope hierarchy (`scopeHierarchy: { 'mcp:write': ['mcp:read'] }`) means a
 *   token that carries `mcp:write` also satisfies a route that needs `mcp:read`.
 * - `offline_access` is an authorization-server matter (it asks for a refresh
 *   token): it is never advertised in protected-resource metadata or in a
 *   challenge. The proxy still requests it upstream when configured.
 */

/** The scope that asks for a refresh token; never advertised by the resource. */
export const OFFLINE_ACCESS = 'offline_access';

/** Scope → the scopes it implies (directly). */
export type ScopeHierarchy = Readonly<Record<string, readonly string[]>>;

/** Every scope `scopes` grants, the implied ones included (transitively; cycles are harmless). */
export function expandScopes(scopes: Iterable<string>, hierarchy: ScopeHierarchy | undefined): Set<string> {
  const out = new Set<string>();
  const todo = [...scopes];
  while (todo.length) {
    const s = todo.pop()!;
    if (out.has(s)) continue;
    out.add(s);
    const implied = hierarchy && Object.hasOwn(hierarchy, s) ? hierarchy[s]! : [];
    for (const i of implied) if (!out.has(i)) todo.push(i);
  }
  return out;
}

/**
 * The shortest list that still grants all of `scopes`: drops every scope that
 * another member implies (`mcp:write mcp:read` → `mcp:write`), keeps the order,
 * and drops `offline_access`.
 */
export function challengeScopes(scopes: Iterable<string>, hierarchy: ScopeHierarchy | undefined): string[] {
  const list = [...new Set(scopes)].filter((s) => s !== OFFLINE_ACCESS);
  if (!hierarchy) return list;
  return list.filter(
    (s) => !list.some((other) => other !== s && !expandScopes([s], hierarchy).has(other) && expandScopes([other], hierarchy).has(s)),
  );
}

/** The scopes the resource advertises (PRM `scopes_supported`, the baseline of a 401): the configured ones without `offline_access`. */
export function advertisedScopes(configured: readonly string[]): string[] {
  return configured.filter((s) => s !== OFFLINE_ACCESS);
}
