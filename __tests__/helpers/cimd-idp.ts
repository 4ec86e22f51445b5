/**
 * A small OAuth 2.0 authorization server that accepts Client ID Metadata Documents
 * (draft-ietf-oauth-client-id-metadata-document, as MCP 2025-11-25 uses them): it advertises
 * `client_id_metadata_document_supported`, and on /authorize it fetches the `client_id` URL,
 * requires the document's `client_id` to be that URL and the `redirect_uri` to be listed in it.
 * Public clients with PKCE S256; expiring, rotating refresh tokens; RFC 7009 revocation; a
 * userinfo endpoint with `sub`. Unlike production servers it accepts http loopback client ids.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface CimdIdp {
  url: string;
  counters: { documentFetches: number; authorize: number; code: number; refresh: number; revocation: number };
  /** The documents fetched, in order. */
  documents: Array<Record<string, unknown>>;
  isActive(accessToken: string): boolean;
  close(): Promise<void>;
}

const rand = () => randomBytes(18).toString('base64url');
const s256 = (v: string) => createHash('sha256').update(v).digest('base64url');
async function read(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}
const json = (res: ServerResponse, status: number, body: unknown) => {
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' }).end(JSON.stringify(body));
};

export async function startCimdIdp(o: { accessTokenTtl?: number } = {}): Promise<CimdIdp> {
  const ttl = o.accessTokenTtl ?? 3600;
  const counters = { documentFetches: 0, authorize: 0, code: 0, refresh: 0, revocation: 0 };
  const documents: Array<Record<string, unknown>> = [];
  const pending = new Map<string, { clientId: string; redirectUri: string; state: string; challenge: string }>();
  const codes = new Map<string, { clientId: string; redirectUri: string; challenge: string; sub: string }>();
  const access = new Map<string, { sub: string; exp: number }>();
  const refresh = new Map<string, { sub: string; clientId: string }>();
  let url = '';
  const issue = (sub: string, clientId: string) => {
    const at = rand();
    const rt = rand();
    access.set(at, { sub, exp: Date.now() + ttl * 1000 });
    refresh.set(rt, { sub, clientId });
    return { access_token: at, token_type: 'Bearer', expires_in: ttl, refresh_token: rt, scope: 'profile' };
  };
  const server = createServer((req, res) => {
    const u = new URL(req.url ?? '/', 'http://x');
    void (async () => {
      if (req.method === 'GET' && u.pathname === '/.well-known/oauth-authorization-server') {
        return json(res, 200, {
          issuer: url,
          authorization_endpoint: `${url}/authorize`,
          token_endpoint: `${url}/token`,
          revocation_endpoint: `${url}/revoke`,
          userinfo_endpoint: `${url}/userinfo`,
          response_types_supported: ['code'],
          grant_types_supported: ['authorization_code', 'refresh_token'],
          code_challenge_methods_supported: ['S256'],
          token_endpoint_auth_methods_supported: ['none'],
          client_id_metadata_document_supported: true,
        });
      }
      if (req.method === 'GET' && u.pathname === '/authorize') {
        counters.authorize += 1;
        const q = u.searchParams;
        const clientId = q.get('client_id') ?? '';
        let doc: Record<string, unknown> | undefined;
        try {
          counters.documentFetches += 1;
          const r = await fetch(clientId, {
            headers: { accept: 'application/json' },
            redirect: 'error',
            signal: AbortSignal.timeout(5000),
          });
          doc = r.ok ? ((await r.json()) as Record<string, unknown>) : undefined;
        } catch {
          doc = undefined;
        }
        if (!doc || doc.client_id !== clientId) {
          res.writeHead(400, { 'content-type': 'text/html' });
          return res.end('<p>invalid_client: the client metadata document could not be used</p>');
        }
        documents.push(doc);
        const redirectUri = q.get('redirect_uri') ?? '';
        if (!Array.isArray(doc.redirect_uris) || !doc.redirect_uris.includes(redirectUri)) {
          res.writeHead(400, { 'content-type': 'text/html' });
          return res.end('<p>invalid_request: redirect_uri not in the document</p>');
        }
        if (q.get('code_challenge_method') !== 'S256' || !q.get('code_challenge')) {
          res.writeHead(400, { 'content-type': 'text/html' });
          return res.end('<p>PKCE S256 is required</p>');
        }
        const id = rand();
        pending.set(id, { clientId, redirectUri, state: q.get('state') ?? '', challenge: q.get('code_challenge')! });
        res.writeHead(200, { 'content-type': 'text/html' });
        return res.end(
          `<form method="post" action="/login"><input type="hidden" name="id" value="${id}"><input name="login"><input name="password" type="password"><button>Sign in</button></form>`,
        );
      }
      if (req.method === 'POST' && u.pathname === '/login') {
        const f = new URLSearchParams(await read(req));
        const p = pending.get(f.get('id') ?? '');
        if (!p) return json(res, 400, { error: 'invalid_request' });
        pending.delete(f.get('id')!);
        const code = rand();
        codes.set(code, { clientId: p.clientId, redirectUri: p.redirectUri, challenge: p.challenge, sub: f.get('login') ?? '' });
        const to = new URL(p.redirectUri);
        to.searchParams.set('code', code);
        to.searchParams.set('state', p.state);
        res.writeHead(302, { location: to.href });
        return res.end();
      }
      if (req.method === 'POST' && u.pathname === '/token') {
        const f = new URLSearchParams(await read(req));
        if (req.headers.authorization)
          return json(res, 401, { error: 'invalid_client', error_description: 'metadata-document clients are public here' });
        if (f.get('grant_type') === 'refresh_token') {
          counters.refresh += 1;
          const r = refresh.get(f.get('refresh_token') ?? '');
          if (!r || r.clientId !== f.get('client_id')) return json(res, 400, { error: 'invalid_grant' });
          refresh.delete(f.get('refresh_token')!);
          return json(res, 200, issue(r.sub, r.clientId));
        }
        counters.code += 1;
        const c = codes.get(f.get('code') ?? '');
        codes.delete(f.get('code') ?? '');
        if (
          !c ||
          c.clientId !== f.get('client_id') ||
          c.redirectUri !== f.get('redirect_uri') ||
          s256(f.get('code_verifier') ?? '') !== c.challenge
        )
          return json(res, 400, { error: 'invalid_grant' });
        return json(res, 200, issue(c.sub, c.clientId));
      }
      if (req.method === 'GET' && u.pathname === '/userinfo') {
        const t = access.get((req.headers.authorization ?? '').replace(/^Bearer /i, ''));
        if (!t || t.exp <= Date.now()) return json(res, 401, { error: 'invalid_token' });
        return json(res, 200, { sub: t.sub, name: `User ${t.sub}` });
      }
      if (req.method === 'POST' && u.pathname === '/revoke') {
        counters.revocation += 1;
        const f = new URLSearchParams(await read(req));
        const t = f.get('token') ?? '';
        access.delete(t);
        refresh.delete(t);
        res.writeHead(200).end();
        return;
      }
      json(res, 404, { error: 'not_found' });
    })().catch((e: unknown) => json(res, 500, { error: 'server_error', error_description: String(e) }));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    counters,
    documents,
    isActive: (t) => {
      const a = access.get(t);
      return !!a && a.exp > Date.now();
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
