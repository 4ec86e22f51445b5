import http, { type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';

/**
 * A deliberately minimal upstream IdP stub for the benchmark: just enough of
 * OIDC discovery, `/authorize`, `/token` and `/userinfo` for the proxy to
 * complete a sign-in, at near-zero cost, so that the proxy, not the IdP, is what
 * gets measured. It checks nothing (no client auth, no PKCE, any code works):
 * it is NOT a test IdP — the test suite uses a real oidc-provider for that.
 *
 * `/authorize` answers at once with a 302 back to `redirect_uri` carrying
 * `code`, `state` and `iss` (RFC 9207). `/token` returns no `id_token` (the
 * proxy is configured without the `openid` scope), so the identity comes from
 * `/userinfo`.
 */
export interface StubUpstream {
  issuer: string;
  /** Requests served, by path. */
  counts: Record<string, number>;
  close(): Promise<void>;
}

/** Options of {@link startStubUpstream}. */
export interface StubUpstreamOptions {
  /** `expires_in` of the access tokens it issues, in seconds. Default 3600; 1 makes every use of the token a refresh. */
  expiresIn?: number;
  /** `expires_in` of access tokens from the `refresh_token` grant. Default: `expiresIn`. */
  refreshedExpiresIn?: number;
}

export async function startStubUpstream(o: StubUpstreamOptions = {}): Promise<StubUpstream> {
  const expiresIn = o.expiresIn ?? 3600;
  const counts: Record<string, number> = {};
  let issuer = '';
  let n = 0;
  const server: Server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', issuer);
    counts[url.pathname] = (counts[url.pathname] ?? 0) + 1;
    const json = (status: number, body: unknown) => {
      const text = JSON.stringify(body);
      res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store' });
      res.end(text);
    };
    if (url.pathname === '/.well-known/openid-configuration' || url.pathname === '/.well-known/oauth-authorization-server') {
      return json(200, {
        issuer,
        authorization_endpoint: `${issuer}/authorize`,
        token_endpoint: `${issuer}/token`,
        userinfo_endpoint: `${issuer}/userinfo`,
        response_types_supported: ['code'],
        grant_types_supported: ['authorization_code', 'refresh_token'],
        code_challenge_methods_supported: ['S256'],
        token_endpoint_auth_methods_supported: ['client_secret_basic'],
        subject_types_supported: ['public'],
        id_token_signing_alg_values_supported: ['RS256'],
        scopes_supported: ['profile'],
        authorization_response_iss_parameter_supported: true,
      });
    }
    if (url.pathname === '/authorize') {
      const back = new URL(url.searchParams.get('redirect_uri') ?? '');
      back.searchParams.set('code', randomBytes(16).toString('base64url'));
      back.searchParams.set('state', url.searchParams.get('state') ?? '');
      back.searchParams.set('iss', issuer);
      res.writeHead(302, { location: back.href, 'content-length': 0 });
      return res.end();
    }
    if (url.pathname === '/token') {
      let body = '';
      req.setEncoding('utf8');
      req.on('data', (d: string) => {
        if (body.length < 4096) body += d;
      });
      req.on('end', () => {
        const grant = new URLSearchParams(body).get('grant_type') ?? 'none';
        counts[`/token ${grant}`] = (counts[`/token ${grant}`] ?? 0) + 1;
        json(200, {
          access_token: `up_at_${randomBytes(16).toString('base64url')}`,
          token_type: 'Bearer',
          expires_in: grant === 'refresh_token' ? (o.refreshedExpiresIn ?? expiresIn) : expiresIn,
          refresh_token: `up_rt_${randomBytes(16).toString('base64url')}`,
          scope: 'profile',
        });
      });
      return;
    }
    if (url.pathname === '/userinfo') {
      n += 1;
      return json(200, { sub: `bench-user-${n}`, name: 'Bench User', email: `user${n}@bench.example` });
    }
    json(404, { error: 'not_found' });
  });
  server.keepAliveTimeout = 30_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    issuer,
    counts,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
