import { Router, type Request, type Response } from 'express';
import type { EndpointServices } from './services.js';
import type { ConsentDeps } from './consent.js';
import { OAuthError, InvalidRequestError, InvalidTargetError, UnsupportedResponseTypeError } from '../errors.js';
import { redirectUriMatches } from '../clients/redirect-uri.js';
import { randomToken } from '../crypto.js';
import { browserSession, browserState, type Transaction } from './browser-session.js';
import { handle, pageErrorHandler, redirectWithError, sendErrorPage } from '../http/respond.js';
import { startUpstream, grantScope, resourceMatches } from './upstream-redirect.js';
import { authorizeRateLimit, showConsent } from './consent.js';
import { singleParams } from './params.js';
import { planApps } from './authorize-apps.js';
import { appLink, type AppLinkDeps } from './app-link.js';
import { proceed, unusableUpstream } from './chain.js';

/** Internal: the collaborators this endpoint uses. */
export type AuthorizeDeps = Pick<EndpointServices, 'logger' | 'clients' | 'urls' | 'random' | 'options' | 'consentEnabled' | 'clock'> &
  ConsentDeps &
  AppLinkDeps;

const CODE_CHALLENGE = /^[A-Za-z0-9._~-]{43,128}$/;
const MAX_STATE_LENGTH = 2048;

/**
 * Internal: `GET /authorize`. Steps, in order: the client, then its exact
 * redirect URI (errors before this point are rendered, never redirected), then
 * response type, PKCE S256, resource and scope, then consent or straight to the
 * upstream. Errors of the second group go back to the redirect URI only when it
 * is trusted (RFC 9700 §4.11.2): every client here registered itself (DCR or
 * CIMD), so that is when this browser already approved the client for that URI,
 * or when `allowedRedirectUris` vouches for it. Otherwise they are pages too, so
 * the proxy is never an open redirector to a URI an anonymous party registered.
 */
export function authorizeEndpoint(ctx: AuthorizeDeps): Router {
  const router = Router();
  router.get(
    '/',
    ...authorizeRateLimit(ctx),
    browserSession(ctx),
    handle((req, res) => authorize(ctx, req, res)),
  );
  router.use(pageErrorHandler(ctx.logger));
  return router;
}

/** Whether an error may be redirected to this (already validated) URI before anyone approved this request. */
function redirectTrusted(ctx: AuthorizeDeps, req: Request, clientId: string, redirectUri: string): boolean {
  if (ctx.options.allowedRedirectUris !== undefined) return true;
  const approval = req.session.mop?.approvals[clientId]; // read only: never creates a browser session
  return !!approval && approval.until > ctx.clock() && redirectUriMatches(approval.redirectUri, redirectUri);
}

async function authorize(ctx: AuthorizeDeps, req: Request, res: Response): Promise<void> {
  const q = singleParams(req.query);
  // Local mode: `?app=<id>&link=…`, the URL an AuthorizationRequiredError shows a person, links an app to an existing grant.
  if (ctx.catalog.local && q.link !== undefined && q.client_id === undefined) return appLink(ctx, req, res, q.app, q.link);
  // 1. Client and redirect URI: until both are known good, errors are pages.
  if (!q.client_id) return sendErrorPage(res, new InvalidRequestError('client_id is required'));
  const client = await ctx.clients.get(q.client_id);
  if (!client) return sendErrorPage(res, new OAuthError('invalid_client', 'Unknown client_id; the client must register again', 400));
  let redirectUri = q.redirect_uri;
  if (redirectUri === undefined) {
    if (client.redirect_uris.length !== 1) return sendErrorPage(res, new InvalidRequestError('redirect_uri is required'));
    redirectUri = client.redirect_uris[0]!;
  } else if (!client.redirect_uris.some((r) => redirectUriMatches(r, redirectUri!))) {
    return sendErrorPage(res, new InvalidRequestError('redirect_uri does not match any URI registered for this client'));
  }
  const state = q.state;
  const fail = (err: OAuthError) =>
    redirectTrusted(ctx, req, client.client_id, redirectUri!)
      ? redirectWithError(
          res,
          redirectUri!,
          err,
          state !== undefined && state.length <= MAX_STATE_LENGTH ? state : undefined,
          ctx.urls.issuer,
        )
      : sendErrorPage(res, err);

  // 2. The rest of the request: errors go back to the client.
  if (q.response_type !== 'code') return fail(new UnsupportedResponseTypeError('response_type must be "code"'));
  if (state !== undefined && state.length > MAX_STATE_LENGTH) return fail(new InvalidRequestError('state is too long'));
  if (!q.code_challenge) return fail(new InvalidRequestError('code_challenge is required (PKCE with S256)'));
  if (q.code_challenge_method !== 'S256') return fail(new InvalidRequestError('code_challenge_method must be S256'));
  if (!CODE_CHALLENGE.test(q.code_challenge)) return fail(new InvalidRequestError('code_challenge is malformed'));
  if (q.resource !== undefined && !resourceMatches(q.resource, ctx.urls.resource)) {
    return fail(new InvalidTargetError(`resource must be ${ctx.urls.resource}`));
  }
  const base = { id: randomToken(ctx.random, '', 16), clientId: client.client_id, redirectUri, state, codeChallenge: q.code_challenge };
  let txn: Transaction;
  if (ctx.catalog.local) {
    const planned = await planApps(ctx, req, base, q.scope, q.app);
    if ('error' in planned) return fail(planned.error);
    txn = planned.txn;
  } else {
    txn = { ...base, scope: grantScope(q.scope, ctx.options.scopes) };
  }
  // An upstream that cannot sign anyone in (no clientId and no way to register) is a page now, before any consent.
  const unusable = await unusableUpstream(ctx, txn);
  if (unusable) return sendErrorPage(res, unusable);

  // 3. Consent (unless remembered for this client, redirect URI and scope: in local mode, the app set), then upstream.
  // A loopback redirect URI may differ in port only (RFC 8252 §7.3: native apps pick a new port per run).
  if (ctx.consentEnabled) {
    const approval = browserState(req).approvals[client.client_id];
    const remembered =
      approval && approval.until > ctx.clock() && redirectUriMatches(approval.redirectUri, redirectUri) && approval.scope === txn.scope;
    if (!remembered) return showConsent(ctx, req, res, txn, client);
  }
  if (!ctx.catalog.local) return startUpstream(ctx, req, res, txn);
  await proceed(ctx, req, res, txn, undefined);
}
