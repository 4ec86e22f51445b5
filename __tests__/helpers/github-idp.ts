/**
 * A local server shaped like GitHub's OAuth (github.com) and REST API (api.github.com), since
 * GitHub itself cannot be reached here. What it copies from the real one:
 * - no discovery (`/.well-known/*` is 404), no id_token, no `iss` on the redirect;
 * - `GET /login/oauth/authorize` (client_id, redirect_uri exact match, scope, state, PKCE S256 only);
 * - `POST /login/oauth/access_token`: client credentials in the body only, form-encoded answers unless
 *   `Accept: application/json`, errors with HTTP 200 and GitHub's codes (`bad_verification_code`,
 *   `bad_refresh_token`, `incorrect_client_credentials`, `redirect_uri_mismatch`);
 * - expiring user tokens (`expires_in` 8 h, `refresh_token_expires_in` ~6 months), rotated on refresh
 *   (the old access and refresh token die), scopes comma-separated;
 * - `GET /user` with a numeric `id` (no `sub`), `email: null` unless public; `GET /user/emails`;
 *   a `User-Agent` is required (403 without), bad tokens get 401 "Bad credentials";
 * - `DELETE /applications/{client_id}/grant` with Basic client credentials and a valid `{ access_token }`:
 *   204, and every token of that user and app dies (404 for an expired or unknown token).
 * `formOnly` ignores `Accept` (as many internal OAuth 2.0 servers do), to exercise form bodies.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface GitHubUser {
  id: number;
  login: string;
  name: string;
  email: string | null;
  emails: Array<{ email: string; primary: boolean; verified: boolean }>;
  company?: string;
}
export const GITHUB_USERS: Record<string, GitHubUser> = {
  octocat: {
    id: 583231,
    login: 'octocat',
    name: 'The Octocat',
    email: null,
    company: '@github',
    emails: [{ email: 'octocat@github.com', primary: true, verified: true }],
  },
  hubot: {
    id: 1000042,
    login: 'hubot',
    name: 'Hubot',
    email: 'hubot@example.com',
    emails: [{ email: 'hubot@example.com', primary: true, verified: true }],
  },
};

export interface GitHubIdpOptions {
  clientId: string;
  clientSecret: string;
  /** The one registered callback URL (GitHub checks redirect_uri against it). */
  callbackUrl?: string;
  /** Seconds; default 28800 (8 h). `0`: classic non-expiring tokens, no refresh token. */
  accessTokenTtl?: number;
  /** Seconds; default 15811200. */
  refreshTokenTtl?: number;
  formOnly?: boolean;
}

interface Grant {
  login: string;
  scope: string;
}
interface Token {
  grant: Grant;
  expiresAt: number | undefined;
}
export interface GitHubIdp {
  url: string;
  counters: {
    authorize: number;
    token: number;
    code: number;
    refresh: number;
    user: number;
    emails: number;
    grantDeleted: number;
    tokenErrors: string[];
    jsonAnswers: number;
    formAnswers: number;
  };
  setCallbackUrl(url: string): void;
  /** Is this access token alive? */
  isActive(accessToken: string): boolean;
  /** Live access and refresh tokens of a user (expired ones count as dead). */
  liveTokens(login: string): number;
  /** The user revokes the app in their GitHub settings: every token of theirs dies. */
  revokeUser(login: string): void;
  close(): Promise<void>;
}

const hash = (s: string) => createHash('sha256').update(s).digest('base64url');
const rand = (prefix: string) => `${prefix}${randomBytes(18).toString('base64url')}`;

async function body(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

export async function startGitHubIdp(o: GitHubIdpOptions): Promise<GitHubIdp> {
  let callbackUrl = o.callbackUrl ?? '';
  const ttl = o.accessTokenTtl ?? 28800;
  const refreshTtl = o.refreshTokenTtl ?? 15811200;
  const counters: GitHubIdp['counters'] = {
    authorize: 0,
    token: 0,
    code: 0,
    refresh: 0,
    user: 0,
    emails: 0,
    grantDeleted: 0,
    tokenErrors: [],
    jsonAnswers: 0,
    formAnswers: 0,
  };
  const pending = new Map<string, { redirectUri: string; state: string; scope: string; challenge: string | undefined }>();
  const codes = new Map<string, { grant: Grant; redirectUri: string; challenge: string | undefined }>();
  const access = new Map<string, Token>();
  const refresh = new Map<string, Token>();

  const issue = (grant: Grant) => {
    const now = Date.now();
    const accessToken = rand('ghu_');
    access.set(accessToken, { grant, expiresAt: ttl ? now + ttl * 1000 : undefined });
    const out: Record<string, string | number> = { access_token: accessToken, token_type: 'bearer', scope: grant.scope };
    if (ttl) {
      const refreshToken = rand('ghr_');
      refresh.set(refreshToken, { grant, expiresAt: now + refreshTtl * 1000 });
      Object.assign(out, { expires_in: ttl, refresh_token: refreshToken, refresh_token_expires_in: refreshTtl });
    }
    return out;
  };
  const revokeGrant = (grant: Grant) => {
    for (const m of [access, refresh]) for (const [k, t] of m) if (t.grant === grant) m.delete(k);
  };
  const answer = (req: IncomingMessage, res: ServerResponse, payload: Record<string, string | number>) => {
    const json = !o.formOnly && (req.headers.accept ?? '').includes('application/json');
    if (json) counters.jsonAnswers += 1;
    else counters.formAnswers += 1;
    if (typeof payload.error === 'string') counters.tokenErrors.push(payload.error);
    res.writeHead(200, { 'content-type': json ? 'application/json; charset=utf-8' : 'application/x-www-form-urlencoded; charset=utf-8' });
    res.end(
      json
        ? JSON.stringify(payload)
        : new URLSearchParams(Object.entries(payload).map(([k, v]) => [k, String(v)] as [string, string])).toString(),
    );
  };
  const err = (error: string, description: string) => ({
    error,
    error_description: description,
    error_uri: 'https://docs.github.com/apps/troubleshooting-oauth-app-access-token-request-errors',
  });
  const api = (res: ServerResponse, status: number, payload?: unknown) => {
    res.writeHead(status, payload === undefined ? {} : { 'content-type': 'application/json; charset=utf-8' });
    res.end(payload === undefined ? undefined : JSON.stringify(payload));
  };
  const bearer = (req: IncomingMessage): Token | undefined => {
    const m = /^(?:Bearer|token) (.+)$/i.exec(req.headers.authorization ?? '');
    const t = m ? access.get(m[1]!) : undefined;
    return t && (t.expiresAt === undefined || t.expiresAt > Date.now()) ? t : undefined;
  };

  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const route = `${req.method} ${url.pathname}`;
    void (async () => {
      if (url.pathname.startsWith('/.well-known/')) return api(res, 404, { message: 'Not Found' });
      if (route === 'GET /login/oauth/authorize') {
        counters.authorize += 1;
        const q = url.searchParams;
        if (q.get('client_id') !== o.clientId) return api(res, 404, { message: 'Not Found' });
        const redirectUri = q.get('redirect_uri') ?? callbackUrl;
        if (redirectUri !== callbackUrl) {
          res.writeHead(400, { 'content-type': 'text/html' });
          return res.end('<p>The redirect_uri is not associated with this application.</p>');
        }
        const method = q.get('code_challenge_method');
        if (q.get('code_challenge') && method !== 'S256') {
          res.writeHead(400, { 'content-type': 'text/html' });
          return res.end('<p>Only S256 is supported.</p>');
        }
        const id = rand('');
        pending.set(id, {
          redirectUri,
          state: q.get('state') ?? '',
          scope: (q.get('scope') ?? '').split(/[ ,]+/).filter(Boolean).join(','),
          challenge: q.get('code_challenge') ?? undefined,
        });
        res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
        return res.end(
          `<form method="post" action="/session"><input type="hidden" name="authorize" value="${id}"><input name="login"><input name="password" type="password"><button type="submit">Sign in</button></form>`,
        );
      }
      if (route === 'POST /session') {
        const f = new URLSearchParams(await body(req));
        const p = pending.get(f.get('authorize') ?? '');
        const login = f.get('login') ?? '';
        if (!p || !GITHUB_USERS[login]) {
          res.writeHead(401, { 'content-type': 'text/html' });
          return res.end('<p>Incorrect username or password.</p>');
        }
        pending.delete(f.get('authorize')!);
        const code = rand('');
        codes.set(code, { grant: { login, scope: p.scope }, redirectUri: p.redirectUri, challenge: p.challenge });
        const to = new URL(p.redirectUri);
        to.searchParams.set('code', code);
        if (p.state) to.searchParams.set('state', p.state);
        res.writeHead(302, { location: to.href });
        return res.end();
      }
      if (route === 'POST /login/oauth/access_token') {
        counters.token += 1;
        const raw = await body(req);
        const f = (req.headers['content-type'] ?? '').includes('json')
          ? new URLSearchParams(JSON.parse(raw) as Record<string, string>)
          : new URLSearchParams(raw);
        // GitHub documents client_id and client_secret as body parameters.
        if (f.get('client_id') !== o.clientId || f.get('client_secret') !== o.clientSecret)
          return answer(req, res, err('incorrect_client_credentials', 'The client_id and/or client_secret passed are incorrect.'));
        if (f.get('grant_type') === 'refresh_token') {
          counters.refresh += 1;
          const t = refresh.get(f.get('refresh_token') ?? '');
          if (!t || (t.expiresAt ?? Infinity) <= Date.now())
            return answer(req, res, err('bad_refresh_token', 'The refresh token passed is incorrect or expired.'));
          revokeGrant(t.grant); // the used refresh token and the old access token stop working
          return answer(req, res, issue(t.grant));
        }
        counters.code += 1;
        const c = codes.get(f.get('code') ?? '');
        codes.delete(f.get('code') ?? '');
        if (!c) return answer(req, res, err('bad_verification_code', 'The code passed is incorrect or expired.'));
        if (f.has('redirect_uri') && f.get('redirect_uri') !== c.redirectUri)
          return answer(
            req,
            res,
            err('redirect_uri_mismatch', 'The redirect_uri MUST match the registered callback URL for this application.'),
          );
        if (c.challenge && hash(f.get('code_verifier') ?? '') !== c.challenge)
          return answer(req, res, err('bad_verification_code', 'The code passed is incorrect or expired.'));
        return answer(req, res, issue(c.grant));
      }
      if (url.pathname.startsWith('/user') || url.pathname.startsWith('/applications/')) {
        if (!req.headers['user-agent'])
          return api(res, 403, {
            message: 'Request forbidden by administrative rules. Please make sure your request has a User-Agent header',
          });
      }
      if (route === 'GET /user' || route === 'GET /user/emails') {
        const t = bearer(req);
        if (!t) return api(res, 401, { message: 'Bad credentials', documentation_url: 'https://docs.github.com/rest' });
        const u = GITHUB_USERS[t.grant.login]!;
        if (route === 'GET /user') {
          counters.user += 1;
          return api(res, 200, {
            login: u.login,
            id: u.id,
            node_id: `U_${u.id}`,
            type: 'User',
            name: u.name,
            company: u.company ?? null,
            email: u.email,
          });
        }
        counters.emails += 1;
        if (!t.grant.scope.split(',').includes('user:email')) return api(res, 404, { message: 'Not Found' });
        return api(
          res,
          200,
          u.emails.map((e) => ({ ...e, visibility: e.primary ? 'public' : null })),
        );
      }
      const grantRoute = /^\/applications\/([^/]+)\/grant$/.exec(url.pathname);
      if (req.method === 'DELETE' && grantRoute) {
        const [user, pass] = Buffer.from((req.headers.authorization ?? '').replace(/^Basic /i, ''), 'base64')
          .toString('utf8')
          .split(':');
        if (decodeURIComponent(grantRoute[1]!) !== o.clientId || user !== o.clientId || pass !== o.clientSecret)
          return api(res, 404, { message: 'Not Found' });
        const { access_token: at } = JSON.parse((await body(req)) || '{}') as { access_token?: string };
        const t = at ? access.get(at) : undefined;
        // GitHub wants "a valid OAuth access_token": an expired one finds nothing.
        if (!t || (t.expiresAt !== undefined && t.expiresAt <= Date.now())) return api(res, 404, { message: 'Not Found' });
        revokeGrant(t.grant);
        counters.grantDeleted += 1;
        return api(res, 204);
      }
      return api(res, 404, { message: 'Not Found' });
    })().catch((e: unknown) => api(res, 500, { message: String(e) }));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    counters,
    setCallbackUrl(u) {
      callbackUrl = u;
    },
    liveTokens(login) {
      let n = 0;
      for (const m of [access, refresh])
        for (const t of m.values()) if (t.grant.login === login && (t.expiresAt === undefined || t.expiresAt > Date.now())) n += 1;
      return n;
    },
    revokeUser(login) {
      for (const m of [access, refresh]) for (const [k, t] of m) if (t.grant.login === login) m.delete(k);
    },
    isActive: (t) => {
      const a = access.get(t);
      return !!a && (a.expiresAt === undefined || a.expiresAt > Date.now());
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
