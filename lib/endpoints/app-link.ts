import type { Request, Response } from 'express';
import type { EndpointServices } from './services.js';
import type { ConsentDeps } from './consent.js';
import type { ChainDeps } from './chain.js';
import type { AppPlanDeps } from './authorize-apps.js';
import { InvalidRequestError } from '../errors.js';
import { randomToken } from '../crypto.js';
import { renderNoticePage } from '../consent/render.js';
import { sendErrorPage, sendPage } from '../http/respond.js';
import { rememberedGrant, type Transaction } from './browser-session.js';
import { proceed, unusableUpstream } from './chain.js';
import { showConsent } from './consent.js';

/** Internal: the collaborators `?app=` links use. */
export type AppLinkDeps = Pick<EndpointServices, 'linkTickets' | 'clients' | 'consentEnabled' | 'random'> &
  ChainDeps &
  AppPlanDeps &
  ConsentDeps;

/**
 * Internal: `GET /authorize?app=<id>&link=<ticket>`, the `authorizeUrl` of an
 * `AuthorizationRequiredError`. The sealed ticket names the grant; the person
 * then approves (when consent is on) and signs in at that app's IdP only, and
 * the app is linked to the same grant (`sid`): the client's next refresh, or
 * its next token, carries it. The browser must be the one that signed the grant
 * in; another browser first signs in at the grant's identity app, which must
 * name the same subject, so a link can never attach someone else's account.
 */
export async function appLink(ctx: AppLinkDeps, req: Request, res: Response, app: string | undefined, link: string): Promise<void> {
  const ticket = ctx.linkTickets.open(link);
  if (!ticket || ticket.app !== app)
    return sendErrorPage(res, new InvalidRequestError('This link is not valid or has expired. Ask your app for a new one.'));
  const grant = await ctx.grants.get(ticket.sid);
  const client = grant?.clientId === ticket.clientId ? await ctx.clients.get(ticket.clientId) : undefined;
  const target = ctx.catalog.get(ticket.app);
  if (!grant || !client || !target)
    return sendErrorPage(res, new InvalidRequestError('The session this link belongs to has ended. Connect your app to the server again.'));
  const linked = await ctx.grants.linkedApps(grant.sid);
  if (linked.includes(target.id)) {
    sendPage(res, 200, renderNoticePage(`${target.name} is already connected`, 'Go back to your app and try again.'));
    return;
  }
  const sameBrowser = rememberedGrant(ctx, req, grant.clientId) === grant.sid;
  const identity = grant.providers[0] ?? target.id;
  const txn: Transaction = {
    id: randomToken(ctx.random, '', 16),
    clientId: grant.clientId,
    // Nobody is redirected at the end; the consent page names the app by its registered redirect URI.
    redirectUri: client.redirect_uris[0] ?? '',
    state: undefined,
    codeChallenge: '',
    scope: grant.scope,
    offered: [target.id],
    linked,
    sid: grant.sid,
    linkOnly: true,
    // Another browser proves the subject at the identity app first.
    apps: sameBrowser || identity === target.id ? [target.id] : [identity, target.id],
    ...(sameBrowser ? {} : { expectSub: grant.sub }),
  };
  const unusable = await unusableUpstream(ctx, txn);
  if (unusable) return sendErrorPage(res, unusable);
  if (ctx.consentEnabled) return showConsent(ctx, req, res, txn, client);
  await proceed(ctx, req, res, txn, undefined);
}
