import type { Request, Response } from 'express';
import type { EndpointServices } from './services.js';
import type { UpstreamRedirectDeps } from './upstream-redirect.js';
import type { UpstreamSignIn } from '../upstream/provider.js';
import { OAuthError } from '../errors.js';
import { UpstreamRefused } from '../upstream/provider.js';
import { chooseApps, type AppPlanDeps } from './authorize-apps.js';
import { renderNoticePage } from '../consent/render.js';
import { sendErrorPage, sendPage, toOAuthError } from '../http/respond.js';
import { rememberApproval, rememberGrant, saveBrowserSession, type Transaction } from './browser-session.js';
import { startUpstream } from './upstream-redirect.js';

/** Internal: the collaborators the sign-in chain uses. */
export type ChainDeps = Pick<EndpointServices, 'grants' | 'codes' | 'catalog' | 'options' | 'logger'> & UpstreamRedirectDeps;

/** How long an issued-but-unredeemed session's records are kept (the code's lifetime, with margin). */
export const UNREDEEMED_FACTOR = 5;

/**
 * Internal (local mode): one app's sign-in completed. The first sign-in of a
 * new authorization creates the grant (its subject comes from this app); every
 * later one links its app to that grant. Then the next app of the chain, or
 * the end of it.
 */
export async function linkAndContinue(
  ctx: ChainDeps,
  req: Request,
  res: Response,
  txn: Transaction,
  app: string,
  signIn: UpstreamSignIn,
): Promise<void> {
  if (txn.expectSub !== undefined && signIn.claims.sub !== txn.expectSub) {
    ctx.logger.warn({ client_id: txn.clientId, app }, 'app link refused: the identity sign-in is another subject than the grant');
    return sendErrorPage(
      res,
      new OAuthError(
        'access_denied',
        'You signed in as someone else than the person this link was made for, so nothing was connected. Open the link in the browser you use with your app, or sign in as that person.',
        403,
      ),
    );
  }
  const holdMs = ctx.options.codeTtl * 1000 * UNREDEEMED_FACTOR;
  let sid = txn.sid;
  if (sid === undefined) {
    ({ sid } = await ctx.grants.create({ clientId: txn.clientId, scope: txn.scope, providerId: app, ...signIn }, holdMs, true));
  } else {
    // A grant still being built (first authorization) waits for its code; an existing one (step-up, link) lives on.
    const building = txn.linked === undefined && !txn.linkOnly;
    if (!(await ctx.grants.linkApp(sid, app, signIn, building ? holdMs : undefined))) {
      return sendErrorPage(
        res,
        new OAuthError('access_denied', 'Your session ended while you were signing in. Start again from your app.', 403),
      );
    }
  }
  ctx.logger.info({ client_id: txn.clientId, sid, app }, 'app linked');
  const { expectSub: _verified, ...rest } = txn;
  return continueChain(ctx, req, res, { ...rest, sid, apps: (txn.apps ?? []).filter((id) => id !== app) });
}

/** Internal (local mode): signs in at the next app of the chain, or ends it: a code for the client, or (for `?app=` links) a page. */
export async function continueChain(ctx: ChainDeps, req: Request, res: Response, txn: Transaction): Promise<void> {
  if (txn.apps?.length) return startUpstream(ctx, req, res, txn);
  const sid = txn.sid;
  if (sid === undefined) throw new TypeError('continueChain: a chain ends with a grant');
  rememberGrant(ctx, req, txn.clientId, sid);
  rememberApproval(ctx, req, txn.clientId);
  await saveBrowserSession(req);
  if (txn.linkOnly) {
    const names = (txn.offered ?? []).map((id) => ctx.catalog.get(id)?.name ?? id).join(', ');
    sendPage(res, 200, renderNoticePage(`${names} connected`, `${names} is now connected. Go back to your app and try again.`));
    return;
  }
  await sendCode(ctx, res, txn, sid);
}

/** Internal: issues the one-time code for grant `sid` and sends the authorization response (RFC 6749 §4.1.2, with RFC 9207 `iss`). */
export async function sendCode(
  ctx: Pick<EndpointServices, 'codes' | 'logger' | 'urls'>,
  res: Response,
  txn: Transaction,
  sid: string,
): Promise<void> {
  const { clientId, redirectUri, codeChallenge, scope } = txn;
  const code = await ctx.codes.issue({ sid, clientId, redirectUri, codeChallenge, scope });
  ctx.logger.info({ client_id: clientId, sid }, 'sign-in completed');
  const url = new URL(redirectUri);
  url.searchParams.set('code', code);
  if (txn.state !== undefined) url.searchParams.set('state', txn.state);
  url.searchParams.set('iss', ctx.urls.issuer);
  res.set('Cache-Control', 'no-store').redirect(302, url.href);
}

/**
 * Internal (local mode): after consent (or without it), the chosen apps are
 * signed in one after another. `picked`: the apps ticked on the consent page;
 * `undefined`: every offered app. A `?app=` link's chain is fixed by {@link appLink}.
 */
export async function proceed(
  ctx: ChainDeps & Pick<AppPlanDeps, 'catalog'>,
  req: Request,
  res: Response,
  txn: Transaction,
  picked: readonly string[] | undefined,
): Promise<void> {
  const chosen = txn.linkOnly ? { txn } : chooseApps(ctx, txn, picked);
  if ('error' in chosen) return sendErrorPage(res, chosen.error);
  await continueChain(ctx, req, res, chosen.txn);
}

/**
 * Internal: the first app of this authorization that cannot sign anyone in
 * (no `clientId`, and its IdP offers no way to register), as the error page to
 * show before any consent; `undefined` when every one can (or the IdP is only
 * unreachable now: that shows when the sign-in reaches it).
 */
export async function unusableUpstream(
  ctx: Pick<EndpointServices, 'upstreams' | 'logger'>,
  txn: Transaction,
): Promise<OAuthError | undefined> {
  const ids = txn.offered ?? [ctx.upstreams.primary.id];
  for (const id of ids) {
    if (txn.linked?.includes(id)) continue;
    try {
      await ctx.upstreams.get(id)?.ensureClient();
    } catch (err) {
      if (err instanceof UpstreamRefused) return toOAuthError(err, ctx.logger);
    }
  }
  return undefined;
}
