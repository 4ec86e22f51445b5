import { Router, type RequestHandler } from 'express';
import type { EndpointServices } from './services.js';
import { parseClientMetadata } from '../clients/metadata.js';
import { storeRateLimit, type RateLimitDeps } from './rate-limit.js';
import { sendJsonError } from '../http/respond.js';
import { jsonBody } from './body.js';
import type { RegisteredClient } from '../clients/types.js';

/** Internal: the collaborators this endpoint uses. */
export type RegisterDeps = Pick<EndpointServices, 'options' | 'clients' | 'logger'> & RateLimitDeps;

/** Largest registration request body accepted. */
export const REGISTRATION_BODY_LIMIT = '16kb';

/** Internal: `POST /register` — RFC 7591 dynamic client registration. */
export function registerEndpoint(ctx: RegisterDeps): Router {
  const router = Router();
  const limits: RequestHandler[] = [];
  const rl = ctx.options.registration.rateLimit;
  if (rl) limits.push(storeRateLimit(ctx, 'register', rl, 'Too many client registrations from this address; retry later', sendJsonError));
  router.post('/', ...limits, jsonBody(REGISTRATION_BODY_LIMIT), async (req, res, next) => {
    try {
      const metadata = parseClientMetadata(
        req.body ?? {},
        ctx.options.allowedRedirectUris ? { allowedRedirectUris: ctx.options.allowedRedirectUris } : {},
      );
      const { client, clientSecret } = await ctx.clients.register(metadata);
      ctx.logger.info({ client_id: client.client_id, client_name: client.client_name }, 'client registered');
      res.status(201).set({ 'Cache-Control': 'no-store', Pragma: 'no-cache' }).json(registrationResponse(client, clientSecret));
    } catch (err) {
      next(err);
    }
  });
  return router;
}

function registrationResponse(client: RegisteredClient, clientSecret: string | undefined): Record<string, unknown> {
  const { client_secret_hash: _hash, kind: _kind, verified_domain: _vd, ...publicFields } = client;
  const out: Record<string, unknown> = { ...publicFields };
  delete out.last_used_at;
  if (clientSecret) {
    out.client_secret = clientSecret;
    out.client_secret_expires_at = 0;
  }
  for (const [k, v] of Object.entries(out)) if (v === undefined || v === null) delete out[k];
  return out;
}
