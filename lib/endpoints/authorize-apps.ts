import type { Request } from 'express';
import type { EndpointServices } from './services.js';
import type { BrowserSessionDeps } from './browser-session.js';
import { InvalidRequestError, InvalidScopeError, type OAuthError } from '../errors.js';
import { rememberedGrant, type Transaction } from './browser-session.js';

/** Internal: the collaborators local-mode authorization uses. */
export type AppPlanDeps = Pick<EndpointServices, 'catalog' | 'grants' | 'options'> & BrowserSessionDeps;

/**
 * Internal: local mode's reading of an authorization request. The scope names
 * apps (each app's proxy scope) and top-level proxy scopes; anything else is
 * `invalid_scope`. Required apps are always offered; with no app named, every
 * app is. With progressive authorization, a browser that already signed in a
 * grant for this client extends it (same `sid`): the apps it has linked are
 * shown as connected and not visited again. When the request adds no app to
 * that grant, it is an ordinary new sign-in.
 */
export async function planApps(
  ctx: AppPlanDeps,
  req: Request,
  base: Omit<Transaction, 'scope'>,
  scope: string | undefined,
  app: string | undefined,
): Promise<{ txn: Transaction } | { error: OAuthError }> {
  const r = ctx.catalog.request(scope, app);
  if ('unknown' in r) {
    return {
      error: new InvalidScopeError(
        `Unknown scope ${r.unknown.map((s) => `"${s}"`).join(', ')}; this server grants ${ctx.options.scopes.map((s) => `"${s}"`).join(', ')} (and "offline_access")`,
      ),
    };
  }
  let sid: string | undefined;
  let linked: string[] = [];
  const remembered = ctx.catalog.incremental ? rememberedGrant(ctx, req, base.clientId) : undefined;
  if (remembered !== undefined) {
    const grant = await ctx.grants.get(remembered);
    if (grant?.clientId === base.clientId) {
      linked = await ctx.grants.linkedApps(remembered);
      if (r.offered.some((id) => !linked.includes(id))) sid = remembered;
      else linked = [];
    }
  }
  const offered = ctx.catalog.order([...r.offered, ...(sid ? linked : [])]);
  const txn: Transaction = {
    ...base,
    scope: ctx.catalog.scopeFor(offered, r.extras, r.offline),
    offered,
    ...(sid ? { sid, linked } : {}),
  };
  return { txn };
}

/**
 * Internal: the transaction once the apps are chosen (on the consent page, or
 * all offered ones without it): the apps to sign in at, in order, and the
 * scope the code will carry (the chosen and already linked apps, the extras).
 */
export function chooseApps(
  ctx: Pick<AppPlanDeps, 'catalog'>,
  txn: Transaction,
  picked: readonly string[] | undefined,
): { txn: Transaction } | { error: OAuthError } {
  const offered = txn.offered ?? [];
  const linked = txn.linked ?? [];
  const chosen = offered.filter((id) => linked.includes(id) || ctx.catalog.get(id)?.required || !picked || picked.includes(id));
  const toLink = ctx.catalog.order(chosen.filter((id) => !linked.includes(id)));
  if (toLink.length === 0 && txn.sid === undefined)
    return { error: new InvalidRequestError('Choose at least one app to connect, then approve again') };
  const { extras, offline } = ctx.catalog.nonAppScopes(txn.scope);
  return { txn: { ...txn, apps: toLink, scope: ctx.catalog.scopeFor(chosen, extras, offline) } };
}
