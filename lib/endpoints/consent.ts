import { Router, type Request, type RequestHandler, type Response } from 'express';
import type { EndpointServices } from './services.js';
import type { BrowserSessionDeps } from './browser-session.js';
import type { UpstreamRedirectDeps } from './upstream-redirect.js';
import type { RateLimitDeps } from './rate-limit.js';
import type { RegisteredClient } from '../clients/types.js';
import { AccessDeniedError, OAuthError } from '../errors.js';
import { randomToken, safeEqual } from '../crypto.js';
import { renderConsentPage, type ConsentApp } from '../consent/render.js';
import { chooseApps } from './authorize-apps.js';
import { continueChain, type ChainDeps } from './chain.js';
import { browserSession, browserState, saveBrowserSession, type Transaction } from './browser-session.js';
import { handle, pageErrorHandler, redirectWithError, sendErrorPage, sendPage } from '../http/respond.js';
import { startUpstream } from './upstream-redirect.js';
import { storeRateLimit } from './rate-limit.js';
import { formBody } from './body.js';
import { resourceName } from './metadata.js';

/** Internal: the collaborators this endpoint uses. */
export type ConsentDeps = Pick<EndpointServices, 'clock' | 'random' | 'options' | 'upstreams' | 'urls' | 'logger' | 'catalog'> &
  UpstreamRedirectDeps &
  BrowserSessionDeps &
  RateLimitDeps;

/** Internal: what `POST /consent` also needs in local mode (the sign-in chain). */
type DecideDeps = ConsentDeps & ChainDeps;

const MAX_OPEN_CONSENTS = 10;
/** Remembered approvals kept per browser (the oldest goes first). */
const MAX_APPROVALS = 50;

/** Internal: renders the consent page for a validated transaction and remembers it (with a CSRF token) in this browser. */
export async function showConsent(
  ctx: ConsentDeps,
  req: Request,
  res: Response,
  txn: Transaction,
  client: RegisteredClient,
): Promise<void> {
  const state = browserState(req);
  const now = ctx.clock();
  const open = Object.entries(state.consent)
    .filter(([, c]) => c.expires > now)
    .slice(-(MAX_OPEN_CONSENTS - 1));
  const csrf = randomToken(ctx.random);
  state.consent = Object.fromEntries([...open, [txn.id, { txn, csrf, expires: now + ctx.options.authorizationTtl * 1000 }]]);
  await saveBrowserSession(req);
  const render = ctx.options.consent.render ?? renderConsentPage;
  const redirect = new URL(txn.redirectUri);
  sendPage(
    res,
    200,
    render({
      clientName: client.client_name ?? client.client_id,
      clientId: client.client_id,
      ...(client.client_uri ? { clientUri: client.client_uri } : {}),
      redirectUri: txn.redirectUri,
      redirectHost: redirectHost(redirect),
      ...(client.verified_domain ? { verifiedDomain: client.verified_domain } : {}),
      scopes: txn.scope.split(' '),
      ...scopeWords(ctx, txn),
      resourceName: resourceName(ctx),
      resourceUrl: ctx.urls.resource,
      providerName: ctx.upstreams.primary.displayName,
      action: ctx.urls.consent,
      csrfToken: csrf,
      transactionId: txn.id,
      ...(txn.offered ? { apps: consentApps(ctx, txn) } : {}),
      ...(txn.linkOnly ? { linkOnly: true } : {}),
    }),
  );
}

/** Scope descriptions for the page: local mode describes each app's scope by the app's name; the option overrides. */
function scopeWords(ctx: ConsentDeps, txn: Transaction): { scopeDescriptions?: Record<string, string> } {
  const apps = txn.offered ? Object.fromEntries(ctx.catalog.all().map((a) => [a.scope!, `Use ${a.name} as you`])) : {};
  const words = { ...apps, ...ctx.options.consent.scopeDescriptions };
  return Object.keys(words).length ? { scopeDescriptions: words } : {};
}

/** The apps of a local-mode consent page: a `?app=` link's app cannot be unticked (approve or deny is the choice). */
function consentApps(ctx: ConsentDeps, txn: Transaction): ConsentApp[] {
  return (txn.offered ?? []).map((id) => {
    const app = ctx.catalog.get(id);
    return {
      id,
      name: app?.name ?? id,
      ...(app?.description ? { description: app.description } : {}),
      providerName: ctx.upstreams.get(id)?.displayName ?? id,
      required: !!app?.required || !!txn.linkOnly,
      connected: !!txn.linked?.includes(id),
    };
  });
}

/** Limiters per proxy: `/authorize` and `/consent` share one count per address. */
const limiters = new WeakMap<object, RequestHandler[]>();

/** Internal: the `authorizeRateLimit` middleware of this proxy (none when `false`), shared by `/authorize` and `/consent`. */
export function authorizeRateLimit(ctx: ConsentDeps): RequestHandler[] {
  let mw = limiters.get(ctx);
  if (!mw) {
    const rl = ctx.options.authorizeRateLimit;
    mw = rl
      ? [
          storeRateLimit(
            ctx,
            'authorize',
            rl,
            'Too many sign-in requests from this address; wait a minute and start again from your application',
            sendErrorPage,
          ),
        ]
      : [];
    limiters.set(ctx, mw);
  }
  return mw;
}

/** What the page shows large: the host for http(s); for a private-use scheme the scheme too (`cursor://anysphere.cursor-mcp`), since its "host" is no domain. */
function redirectHost(url: URL): string {
  if (url.protocol === 'https:' || url.protocol === 'http:') return url.host;
  return url.host ? `${url.protocol}//${url.host}` : url.protocol;
}

/**
 * Internal: `POST /consent`. The CSRF token must match the one stored in this
 * browser's session for this transaction (else 403, nothing happens). Deny
 * returns `access_denied` to the validated redirect URI without contacting the
 * upstream; approve is remembered (if configured) and continues upstream. 303.
 */
export function consentEndpoint(ctx: DecideDeps): Router {
  const router = Router();
  router.post(
    '/',
    ...authorizeRateLimit(ctx),
    formBody('4kb'),
    browserSession(ctx),
    handle((req, res) => decide(ctx, req, res)),
  );
  router.use(pageErrorHandler(ctx.logger));
  return router;
}

async function decide(ctx: DecideDeps, req: Request, res: Response): Promise<void> {
  const body = (req.body ?? {}) as Record<string, unknown>;
  const txnId = typeof body.txn === 'string' ? body.txn : '';
  const csrf = typeof body.csrf === 'string' ? body.csrf : '';
  const entry = req.session.mop?.consent[txnId];
  if (!entry || !csrf || !safeEqual(csrf, entry.csrf)) {
    return sendErrorPage(
      res,
      new OAuthError(
        'access_denied',
        'The consent form is invalid or was not issued to this browser (CSRF check failed). Start the sign-in again from your application.',
        403,
      ),
    );
  }
  const state = browserState(req);
  delete state.consent[txnId];
  const { txn } = entry;
  if (entry.expires <= ctx.clock()) {
    await saveBrowserSession(req);
    return sendErrorPage(
      res,
      new OAuthError('invalid_request', 'The consent page expired. Start the sign-in again from your application.', 400),
    );
  }
  if (body.decision !== 'approve') {
    await saveBrowserSession(req);
    ctx.logger.info({ client_id: txn.clientId }, 'consent denied');
    if (txn.linkOnly) return sendErrorPage(res, new AccessDeniedError('You chose not to connect the app. Nothing was changed.'));
    return redirectWithError(res, txn.redirectUri, new AccessDeniedError('The user denied the request'), txn.state, ctx.urls.issuer);
  }
  if (txn.linkOnly) return continueChain(ctx, req, res, txn); // a link's chain is fixed (appLink)
  // Local mode: the ticked apps (a required app always counts). The approval remembers the app set chosen.
  let approved = txn;
  if (txn.offered) {
    const picked = [body.app].flat().filter((a): a is string => typeof a === 'string');
    const chosen = chooseApps(ctx, txn, picked);
    if ('error' in chosen) return sendErrorPage(res, chosen.error);
    approved = chosen.txn;
  }
  const rememberFor = ctx.options.consent.rememberFor;
  if (rememberFor > 0) {
    const now = ctx.clock();
    const live = Object.entries(state.approvals)
      .filter(([id, a]) => a.until > now && id !== txn.clientId)
      .slice(-(MAX_APPROVALS - 1));
    state.approvals = Object.fromEntries([
      ...live,
      [txn.clientId, { redirectUri: txn.redirectUri, scope: approved.scope, until: now + rememberFor * 1000 }],
    ]);
  }
  if (!txn.offered) return startUpstream(ctx, req, res, txn);
  await continueChain(ctx, req, res, approved);
}
