/**
 * Real oidc-provider IdPs bent into the shape of a commercial one (Google, Entra ID, Okta, Auth0,
 * Keycloak), none of which can be reached from here. oidc-provider runs mounted at the issuer's
 * path on an inner loopback server; an outer reverse proxy on the public port applies the shape:
 * which authorize requests get a refresh token (`offline`), which are refused, the discovery
 * document, the id_token's claims (re-signed with the IdP's own key), extra token-response members,
 * and the `iss` redirect parameter. Any login works (devInteractions); `users` gives claims.
 */
import { randomBytes } from 'node:crypto';
import http, { type IncomingMessage, type ServerResponse, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { decodeJwt, exportJWK, generateKeyPair, SignJWT } from 'jose';
// @ts-expect-error -- oidc-provider ships no type declarations.
import OidcProvider from 'oidc-provider';
import { freePort } from './idp.js';

export interface ShapedIdpOptions {
  /** The issuer's path, e.g. `/oauth2/default`, `/realms/demo`; `''` for the origin. */
  path: string;
  client: {
    clientId: string;
    clientSecret: string;
    redirectUri: string;
    tokenEndpointAuthMethod?: 'client_secret_basic' | 'client_secret_post';
  };
  /** Whether the authorization that started with this /authorize query gets a refresh token. */
  offline: (q: URLSearchParams) => boolean;
  /** An OAuth error code to refuse this /authorize query with (sent back to the redirect URI). */
  refuse?: (q: URLSearchParams) => string | undefined;
  discovery?: (doc: Record<string, unknown>) => Record<string, unknown>;
  /** Rewrites id_token claims (the token is re-signed with the IdP's key). */
  idToken?: (claims: Record<string, unknown>) => Record<string, unknown>;
  /** Adds or changes token-response members. */
  tokenResponse?: (body: Record<string, unknown>, q: { grantType: string | null; offline: boolean }) => Record<string, unknown>;
  /** Drop `iss` from the redirect back to the client (IdPs without RFC 9207). */
  stripIss?: boolean;
  accessTokenTtl?: number;
  users?: Record<string, Record<string, unknown>>;
  /** Extra oidc-provider configuration (e.g. `features.registration`). */
  configure?: (config: Record<string, any>) => void;
}

export interface ShapedIdp {
  /** The public origin, e.g. `http://127.0.0.1:41234`. */
  origin: string;
  issuer: string;
  provider: any;
  counters: {
    authorize: number;
    code: number;
    refresh: number;
    revocation: number;
    userinfo: number;
    registration: number;
    tokenErrors: string[];
  };
  /** Every /authorize query, in order. */
  authorizeQueries: URLSearchParams[];
  close(): Promise<void>;
}

async function read(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

function forward(
  port: number,
  req: IncomingMessage,
  body: Buffer,
): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const headers = { ...req.headers };
    delete headers['content-length'];
    if (body.length) headers['content-length'] = String(body.length);
    const r = http.request({ host: '127.0.0.1', port, method: req.method, path: req.url, headers }, (res) => {
      read(res).then((b) => resolve({ status: res.statusCode ?? 502, headers: res.headers, body: b }), reject);
    });
    r.on('error', reject);
    r.end(body.length ? body : undefined);
  });
}

export async function startShapedIdp(o: ShapedIdpOptions): Promise<ShapedIdp> {
  const port = await freePort();
  const origin = `http://127.0.0.1:${port}`;
  const issuer = `${origin}${o.path}`;
  const mount = o.path.replace(/\/+$/, '');
  const { privateKey } = await generateKeyPair('RS256', { extractable: true });
  const kid = `k-${randomBytes(4).toString('hex')}`;
  const jwk = { ...(await exportJWK(privateKey)), kid, alg: 'RS256', use: 'sig' };
  const users = o.users ?? {};
  const config: Record<string, any> = {
    clients: [
      {
        client_id: o.client.clientId,
        client_secret: o.client.clientSecret,
        redirect_uris: [o.client.redirectUri],
        grant_types: ['authorization_code', 'refresh_token'],
        response_types: ['code'],
        token_endpoint_auth_method: o.client.tokenEndpointAuthMethod ?? 'client_secret_basic',
      },
    ],
    jwks: { keys: [jwk] },
    cookies: { keys: [randomBytes(32).toString('base64url')] },
    claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name', 'department', 'groups'] },
    scopes: ['openid', 'offline_access', 'profile', 'email'],
    conformIdTokenClaims: false,
    async findAccount(_ctx: unknown, id: string) {
      return { accountId: id, claims: async () => ({ email: `${id}@example.com`, email_verified: true, name: id, ...users[id], sub: id }) };
    },
    features: { devInteractions: { enabled: true }, revocation: { enabled: true }, userinfo: { enabled: true } },
    pkce: { required: () => true },
    // Every code grant gets a refresh token from oidc-provider; the shape below decides who keeps it.
    issueRefreshToken: async (_ctx: unknown, client: { grantTypeAllowed(g: string): boolean }) => client.grantTypeAllowed('refresh_token'),
    expiresWithSession: async () => false,
    rotateRefreshToken: true,
    clockTolerance: 0,
    ttl: {
      AccessToken: o.accessTokenTtl ?? 3600,
      AuthorizationCode: 60,
      IdToken: 3600,
      RefreshToken: 14 * 24 * 3600,
      Grant: 14 * 24 * 3600,
      Interaction: 3600,
      Session: 3600,
    },
  };
  o.configure?.(config);
  const provider = new OidcProvider(issuer, config);
  provider.on('server_error', (_ctx: unknown, err: Error) => console.error(`[shaped-idp] ${err.message}`));
  const inner = express();
  inner.use(mount || '/', provider.callback());
  const innerServer: Server = http.createServer(inner);
  await new Promise<void>((r) => innerServer.listen(0, '127.0.0.1', () => r()));
  const innerPort = (innerServer.address() as AddressInfo).port;

  const counters = { authorize: 0, code: 0, refresh: 0, revocation: 0, userinfo: 0, registration: 0, tokenErrors: [] as string[] };
  const authorizeQueries: URLSearchParams[] = [];
  const offlineByState = new Map<string, boolean>();
  const offlineByCode = new Map<string, boolean>();

  const outer = http.createServer((req: IncomingMessage, res: ServerResponse) => {
    void (async () => {
      const url = new URL(req.url ?? '/', origin);
      const body = await read(req);
      const p = url.pathname.slice(mount.length);
      if (req.method === 'GET' && p === '/auth') {
        counters.authorize += 1;
        authorizeQueries.push(url.searchParams);
        const refusal = o.refuse?.(url.searchParams);
        if (refusal && url.searchParams.get('redirect_uri') === o.client.redirectUri) {
          const to = new URL(o.client.redirectUri);
          to.searchParams.set('error', refusal);
          to.searchParams.set('state', url.searchParams.get('state') ?? '');
          res.writeHead(302, { location: to.href }).end();
          return;
        }
        offlineByState.set(url.searchParams.get('state') ?? '', o.offline(url.searchParams));
      }
      if (p === '/me') counters.userinfo += 1;
      if (p === '/token/revocation') counters.revocation += 1;
      if (p === '/reg' && req.method === 'POST') counters.registration += 1;
      const form = req.method === 'POST' && p === '/token' ? new URLSearchParams(body.toString('utf8')) : undefined;
      // node:http, not fetch: the Host header must stay the public one, or oidc-provider would name its inner port in URLs.
      const r = await forward(innerPort, req, body);
      let out: Buffer = r.body;
      const h: Record<string, string | string[]> = {};
      for (const [k, v] of Object.entries(r.headers))
        if (v !== undefined && !['content-length', 'content-encoding', 'transfer-encoding', 'connection'].includes(k)) h[k] = v;
      const location = typeof r.headers.location === 'string' ? r.headers.location : undefined;
      if (location?.startsWith(o.client.redirectUri)) {
        const to = new URL(location);
        const code = to.searchParams.get('code');
        if (code) offlineByCode.set(code, offlineByState.get(to.searchParams.get('state') ?? '') ?? false);
        if (o.stripIss) to.searchParams.delete('iss');
        h.location = to.href;
      }
      if (req.method === 'GET' && p === '/.well-known/openid-configuration' && r.status === 200 && o.discovery) {
        out = Buffer.from(JSON.stringify(o.discovery(JSON.parse(out.toString('utf8')) as Record<string, unknown>)));
      }
      if (form && r.status !== 200)
        counters.tokenErrors.push(String((JSON.parse(r.body.toString('utf8') || '{}') as { error?: string }).error));
      if (form && r.status === 200) {
        const grantType = form.get('grant_type');
        let json = JSON.parse(out.toString('utf8')) as Record<string, unknown>;
        let offline = true;
        if (grantType === 'authorization_code') {
          counters.code += 1;
          offline = offlineByCode.get(form.get('code') ?? '') ?? false;
          if (!offline) delete json.refresh_token;
        }
        if (grantType === 'refresh_token') counters.refresh += 1;
        if (o.idToken && typeof json.id_token === 'string') {
          const claims = o.idToken(decodeJwt(json.id_token) as Record<string, unknown>);
          json.id_token = await new SignJWT(claims).setProtectedHeader({ alg: 'RS256', kid, typ: 'JWT' }).sign(privateKey);
        }
        if (o.tokenResponse) json = o.tokenResponse(json, { grantType, offline });
        out = Buffer.from(JSON.stringify(json));
      }
      h['content-length'] = String(out.length);
      res.writeHead(r.status, h).end(out);
    })().catch((err: unknown) => {
      res.writeHead(502).end(String(err));
    });
  });
  await new Promise<void>((r) => outer.listen(port, '127.0.0.1', () => r()));
  return {
    origin,
    issuer,
    provider,
    counters,
    authorizeQueries,
    async close() {
      for (const s of [outer, innerServer]) {
        s.closeAllConnections();
        await new Promise<void>((r) => s.close(() => r()));
      }
    },
  };
}
