import { Router } from 'express';
import type { EndpointServices } from './services.js';

/**
 * Internal: `GET /upstream-client/<provider id>`, the Client ID Metadata Document the
 * proxy uses as its own client id at an upstream that supports them (when `clientId` is
 * omitted). Public, cacheable for a few minutes; 404 for providers that have a `clientId`.
 */
export function upstreamClientDocumentEndpoint(ctx: Pick<EndpointServices, 'upstreams'>): Router {
  const router = Router();
  router.get('/:providerId', (req, res) => {
    const doc = ctx.upstreams.get(req.params.providerId)?.clientMetadataDocument?.();
    if (!doc) {
      res
        .status(404)
        .set('Cache-Control', 'no-store')
        .json({ error: 'not_found', error_description: 'No client metadata document for this provider' });
      return;
    }
    res.set('Cache-Control', 'public, max-age=300').json(doc);
  });
  return router;
}
