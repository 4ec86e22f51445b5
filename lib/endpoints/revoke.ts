import { Router } from 'express';
import type { EndpointServices } from './services.js';
import { presentedCredentials } from '../clients/clients.js';
import { InvalidRequestError, InvalidTokenError } from '../errors.js';
import { singleParams } from './params.js';
import { formBody } from './body.js';

/** Internal: the collaborators this endpoint uses. */
export type RevokeDeps = Pick<EndpointServices, 'clients' | 'grants' | 'refreshTokens' | 'accessTokens'>;

/**
 * Internal: `POST /revoke` (RFC 7009). The client authenticates; revoking a
 * refresh token — or an access token, which is bound to the same session —
 * ends the session everywhere: the vault records go, the upstream refresh token
 * is revoked upstream, and every instance refuses the session's access tokens.
 * Unknown, expired or foreign tokens get the same 200 (§2.2).
 */
export function revokeEndpoint(ctx: RevokeDeps): Router {
  const router = Router();
  router.post('/', formBody('8kb'), async (req, res, next) => {
    try {
      const body = singleParams(req.body);
      const client = await ctx.clients.authenticate(presentedCredentials(req.headers.authorization, body));
      const token = body.token;
      if (!token) throw new InvalidRequestError('token is required');
      const sid = await grantOf(ctx, token, client.client_id, body.token_type_hint);
      if (sid) await ctx.grants.end(sid, 'revoked by client');
      res.set({ 'Cache-Control': 'no-store' }).status(200).end();
    } catch (err) {
      next(err);
    }
  });
  return router;
}

async function grantOf(ctx: RevokeDeps, token: string, clientId: string, hint: string | undefined): Promise<string | undefined> {
  const asRefresh = async () => {
    const r = await ctx.refreshTokens.lookup(token);
    return r && r.clientId === clientId ? r.sid : undefined;
  };
  const asAccess = async () => {
    try {
      const c = await ctx.accessTokens.verify(token);
      return c.client_id === clientId ? c.sid : undefined;
    } catch (err) {
      if (err instanceof InvalidTokenError) return undefined;
      throw err;
    }
  };
  return hint === 'access_token' ? ((await asAccess()) ?? (await asRefresh())) : ((await asRefresh()) ?? (await asAccess()));
}
