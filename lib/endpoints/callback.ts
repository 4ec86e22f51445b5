import { Router, type Request, type Response } from 'express';
import type { EndpointServices } from './services.js';
import type { BrowserSessionDeps } from './browser-session.js';
import { AccessDeniedError, InvalidRequestError, OAuthError } from '../errors.js';
import { sha256 } from '../crypto.js';
import { UpstreamRefused, UpstreamTransient } from '../upstream/provider.js';
import { browserSession, rememberApproval, saveBrowserSession, unbindPending } from './browser-session.js';
import { handle, pageErrorHandler, redirectWithError, sendErrorPage, toOAuthError } from '../http/respond.js';
import { linkAndContinue, sendCode, UNREDEEMED_FACTOR, type ChainDeps } from './chain.js';

/** Internal: the collaborators this endpoint uses. */
export type CallbackDeps = Pick<EndpointServices, 'logger' | 'pending' | 'urls' | 'upstreams' | 'options' | 'grants' | 'codes' | 'clock'> &
  BrowserSessionDeps &
  ChainDeps;

/**
 * Internal: `GET /callback`, the upstream's redirect URI. Steps: the `state`
 * is consumed once (atomic take) and must have been started in this browser;
 * an upstream `error=` goes back to the client as that error; the code is
 * exchanged (iss, state, nonce and PKCE checked by openid-client; the id_token
 * signature by jose); without an upstream `sub` nothing is issued. Then the
 * upstream tokens are sealed into the vault under a new session id and the
 * client gets a one-time code with `state` and `iss`.
 */
export function callbackEndpoint(ctx: CallbackDeps): Router {
  const router = Router();
  router.get(
    '/',
    browserSession(ctx),
    handle((req, res) => callback(ctx, req, res)),
  );
  router.use(pageErrorHandler(ctx.logger));
  return router;
}

async function callback(ctx: CallbackDeps, req: Request, res: Response): Promise<void> {
  const state = typeof req.query.state === 'string' ? req.query.state : undefined;
  if (!state) return sendErrorPage(res, new InvalidRequestError('The upstream response has no state'));
  const stateHash = sha256(state);
  const pending = await ctx.pending.take(stateHash);
  if (pending === undefined)
    return sendErrorPage(
      res,
      new InvalidRequestError('This sign-in is unknown, expired or already completed. Start again from your application.'),
    );
  if (!unbindPending(req, stateHash)) {
    ctx.logger.warn({}, 'callback refused: the sign-in was started in another browser');
    return sendErrorPage(
      res,
      new OAuthError(
        'access_denied',
        'This sign-in was started in another browser. For your safety it cannot be completed here; start again from your application.',
        403,
      ),
    );
  }
  await saveBrowserSession(req);
  const { txn, nonce, codeVerifier } = pending;
  // A `?app=` link has no client waiting for a redirect: its errors are pages.
  const back = (err: OAuthError) =>
    txn.linkOnly ? sendErrorPage(res, err) : redirectWithError(res, txn.redirectUri, err, txn.state, ctx.urls.issuer);
  const upstream = pending.app === undefined ? ctx.upstreams.primary : ctx.upstreams.get(pending.app);
  if (!upstream) return back(new OAuthError('server_error', `The app "${pending.app}" is no longer configured`, 500));

  if (typeof req.query.error === 'string') {
    ctx.logger.info({ client_id: txn.clientId, upstream_error: req.query.error.slice(0, 64) }, 'upstream returned an error');
    const err =
      req.query.error === 'access_denied'
        ? new AccessDeniedError('The upstream identity provider denied the sign-in')
        : new OAuthError(
            req.query.error === 'temporarily_unavailable' ? 'temporarily_unavailable' : 'server_error',
            'The upstream identity provider returned an error',
            400,
          );
    return back(err);
  }

  let signIn;
  try {
    const currentUrl = new URL(ctx.urls.callback);
    currentUrl.search = new URL(req.originalUrl, 'http://x').search;
    signIn = await upstream.exchange(currentUrl, { state, nonce, codeVerifier });
  } catch (err) {
    // The client's redirect URI is known good here: upstream failures go back to it, classified as everywhere else.
    if (err instanceof UpstreamTransient || err instanceof UpstreamRefused) return back(toOAuthError(err, ctx.logger));
    throw err;
  }

  if (pending.app !== undefined) return linkAndContinue(ctx, req, res, txn, pending.app, signIn);
  rememberApproval(ctx, req, txn.clientId);
  await saveBrowserSession(req);
  const holdMs = ctx.options.codeTtl * 1000 * UNREDEEMED_FACTOR;
  const { sid } = await ctx.grants.create(
    { clientId: txn.clientId, scope: txn.scope, providerId: ctx.upstreams.primary.id, ...signIn },
    holdMs,
  );
  await sendCode(ctx, res, txn, sid);
}
