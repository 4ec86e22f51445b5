/**
 * A throw-away OpenID Connect provider (node-oidc-provider 9) on loopback http, used as the
 * "real" upstream IdP by the example server and by the tests.
 *
 * - Sign-in is oidc-provider's built-in devInteractions form: any login with any password works,
 *   and the login becomes the account id. Known accounts (default `alice`, `bob`) carry `email`,
 *   `name` and the custom claims `department`, `employee_id` and `roles` (scope `profile`).
 * - Only pre-registered clients (dynamic registration is off); PKCE S256 is required; refresh
 *   tokens rotate on every use; userinfo and revocation are on.
 * - An outer http server counts calls and can inject token-endpoint failures
 *   ({@link DemoIdp.failNext}, {@link DemoIdp.failRefreshWithInvalidGrant}).
 *
 * Run alone: `npx tsx examples/demo-idp.ts` (env: DEMO_IDP_PORT, DEMO_CLIENT_ID,
 * DEMO_CLIENT_SECRET, DEMO_REDIRECT_URI).
 */
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { exportJWK, generateKeyPair } from 'jose';
// @ts-expect-error -- oidc-provider ships no type declarations; the small surface used is typed below.
import OidcProvider from 'oidc-provider';

/** The part of an oidc-provider `Provider` instance this module relies on. */
export interface Provider {
  readonly issuer: string;
  callback(): (req: IncomingMessage, res: ServerResponse) => void;
  on(event: string, listener: (...args: any[]) => void): unknown;
  Client: { adapter: { upsert(id: string, payload: object, expiresIn?: number): Promise<void> } };
  [key: string]: any;
}

export interface DemoIdpClient {
  clientId: string;
  /** With a secret the client is confidential (`client_secret_basic` unless overridden). */
  clientSecret?: string;
  redirectUris: string[];
  tokenEndpointAuthMethod?: 'client_secret_basic' | 'client_secret_post' | 'none';
}

export interface DemoIdpOptions {
  /** 0 (default) picks a free port. */
  port?: number;
  /** Default `127.0.0.1`. */
  host?: string;
  clients?: DemoIdpClient[];
  /** Seconds. Default 3600. */
  accessTokenTtl?: number;
  /** Seconds. Default 14 days. */
  refreshTokenTtl?: number;
  /** Seconds. Default 3600. */
  idTokenTtl?: number;
  /** Seconds of leeway when checking expiry (oidc-provider's default is 15). Default 0: tokens die on time. */
  clockTolerance?: number;
  /** accountId → claims. Default: {@link DEFAULT_USERS}. */
  users?: Record<string, Record<string, unknown>>;
}

export interface DemoIdpCounters {
  /** Every token-endpoint request, any grant type (including injected failures). */
  token: number;
  /** grant_type=authorization_code requests. */
  code: number;
  /** grant_type=refresh_token requests. */
  refresh: number;
  userinfo: number;
  revocation: number;
}

export interface DemoIdp {
  /** e.g. `http://127.0.0.1:41234` (no trailing slash); discovery at `/.well-known/openid-configuration`. */
  issuer: string;
  /** Same as `issuer`. */
  url: string;
  endpoints: { authorization: string; token: string; userinfo: string; revocation: string; jwks: string };
  provider: Provider;
  counters: DemoIdpCounters;
  /** The next `times` (default 1) token requests, all or only refresh_token ones, get `status`. */
  failNext(kind: 'token' | 'refresh', status: number, times?: number): void;
  /** The next `times` (default 1) refresh_token requests get 400 invalid_grant. */
  failRefreshWithInvalidGrant(times?: number): void;
  /** Registers (or replaces) a client after start, e.g. once the proxy's port is known. */
  addClient(client: DemoIdpClient): Promise<void>;
  close(): Promise<void>;
}

export const DEFAULT_USERS: Record<string, Record<string, unknown>> = {
  alice: {
    email: 'alice@example.com',
    email_verified: true,
    name: 'Alice Liddell',
    given_name: 'Alice',
    family_name: 'Liddell',
    department: 'engineering',
    employee_id: 'E-1001',
    roles: ['admin', 'developer'],
  },
  bob: {
    email: 'bob@example.com',
    email_verified: true,
    name: 'Bob Builder',
    given_name: 'Bob',
    family_name: 'Builder',
    department: 'sales',
    employee_id: 'E-2002',
    roles: ['viewer'],
  },
};

interface Failure {
  kind: 'token' | 'refresh';
  status: number;
  remaining: number;
  error: string;
}

const ERROR_FOR_STATUS: Record<number, string> = {
  400: 'invalid_request',
  401: 'invalid_client',
  429: 'slow_down',
  503: 'temporarily_unavailable',
};

function toClientMetadata(c: DemoIdpClient): Record<string, unknown> {
  const method = c.tokenEndpointAuthMethod ?? (c.clientSecret ? 'client_secret_basic' : 'none');
  return {
    client_id: c.clientId,
    ...(c.clientSecret ? { client_secret: c.clientSecret } : {}),
    redirect_uris: c.redirectUris,
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
    token_endpoint_auth_method: method,
    application_type: 'web',
  };
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** Starts the demo IdP; resolves once it listens. */
export async function startDemoIdp(options: DemoIdpOptions = {}): Promise<DemoIdp> {
  const host = options.host ?? '127.0.0.1';
  const users = options.users ?? DEFAULT_USERS;
  const accessTokenTtl = options.accessTokenTtl ?? 3600;
  const refreshTokenTtl = options.refreshTokenTtl ?? 14 * 24 * 3600;
  const idTokenTtl = options.idTokenTtl ?? 3600;
  const counters: DemoIdpCounters = { token: 0, code: 0, refresh: 0, userinfo: 0, revocation: 0 };
  const failures: Failure[] = [];

  // Listen first: the issuer must contain the port.
  let handler: ((req: IncomingMessage, res: ServerResponse) => void) | undefined;
  const server = createServer((req, res) => {
    if (!handler) {
      res.statusCode = 503;
      res.end();
      return;
    }
    handler(req, res);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const issuer = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;

  const { privateKey } = await generateKeyPair('RS256', { extractable: true });
  const jwk = { ...(await exportJWK(privateKey)), kid: `demo-${randomBytes(4).toString('hex')}`, alg: 'RS256', use: 'sig' };

  const provider: Provider = new OidcProvider(issuer, {
    clients: (options.clients ?? []).map(toClientMetadata),
    jwks: { keys: [jwk] },
    cookies: { keys: [randomBytes(32).toString('base64url')] },
    claims: {
      openid: ['sub'],
      email: ['email', 'email_verified'],
      profile: ['name', 'given_name', 'family_name', 'department', 'employee_id', 'roles'],
    },
    scopes: ['openid', 'offline_access', 'profile', 'email'],
    // Put the scope-granted claims into the id_token too, not only into userinfo.
    conformIdTokenClaims: false,
    async findAccount(_ctx: unknown, accountId: string) {
      const claims = users[accountId] ?? { name: accountId, email: `${accountId}@example.com`, email_verified: false };
      return { accountId, claims: async () => ({ ...claims, sub: accountId }) };
    },
    features: {
      devInteractions: { enabled: true },
      registration: { enabled: false },
      userinfo: { enabled: true },
      revocation: { enabled: true },
      introspection: { enabled: false },
      resourceIndicators: { enabled: false },
    },
    pkce: { required: () => true },
    // oidc-provider drops offline_access unless prompt=consent is sent, so it would issue no refresh
    // token; the demo issues one for every authorization_code grant of a client allowed refresh_token...
    async issueRefreshToken(
      _ctx: unknown,
      client: { grantTypeAllowed(g: string): boolean },
      source: { kind: string; scopes: Set<string> },
    ) {
      return client.grantTypeAllowed('refresh_token') && (source.kind === 'AuthorizationCode' || source.scopes.has('offline_access'));
    },
    // ... and keeps it valid after the IdP browser session ends (as if offline_access were granted).
    expiresWithSession: async () => false,
    rotateRefreshToken: true,
    clockTolerance: options.clockTolerance ?? 0,
    clientBasedCORS: () => true,
    ttl: {
      AccessToken: accessTokenTtl,
      AuthorizationCode: 60,
      IdToken: idTokenTtl,
      RefreshToken: refreshTokenTtl,
      Grant: refreshTokenTtl,
      Interaction: 3600,
      Session: 14 * 24 * 3600,
    },
  });
  provider.on('server_error', (_ctx: unknown, err: Error) => {
    console.error(`[demo-idp] server_error: ${err.message}`);
  });

  const callback = provider.callback();
  handler = (req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/me') counters.userinfo += 1;
    if (path === '/token/revocation') counters.revocation += 1;
    if (path !== '/token' || req.method !== 'POST') {
      callback(req, res);
      return;
    }
    readBody(req).then(
      (body) => {
        const grantType = new URLSearchParams(body.toString('utf8')).get('grant_type');
        counters.token += 1;
        if (grantType === 'authorization_code') counters.code += 1;
        if (grantType === 'refresh_token') counters.refresh += 1;
        const failure = failures.find((f) => f.kind === 'token' || (f.kind === 'refresh' && grantType === 'refresh_token'));
        if (failure) {
          failure.remaining -= 1;
          if (failure.remaining <= 0) failures.splice(failures.indexOf(failure), 1);
          res.writeHead(failure.status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
          res.end(JSON.stringify({ error: failure.error, error_description: 'failure injected by the demo IdP' }));
          return;
        }
        // The stream is consumed; oidc-provider falls back to req.body (and warns once about it).
        (req as IncomingMessage & { body?: Buffer }).body = body;
        callback(req, res);
      },
      (err: Error) => {
        res.writeHead(400, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: 'invalid_request', error_description: err.message }));
      },
    );
  };

  const endpoints = {
    authorization: `${issuer}/auth`,
    token: `${issuer}/token`,
    userinfo: `${issuer}/me`,
    revocation: `${issuer}/token/revocation`,
    jwks: `${issuer}/jwks`,
  };
  return {
    issuer,
    url: issuer,
    endpoints,
    provider,
    counters,
    failNext(kind, status, times = 1) {
      if (!Number.isInteger(status) || status < 100 || status > 599) throw new TypeError('failNext(): "status" must be an HTTP status');
      const error = ERROR_FOR_STATUS[status] ?? (status >= 500 ? 'server_error' : 'invalid_request');
      failures.push({ kind, status, remaining: times, error });
    },
    failRefreshWithInvalidGrant(times = 1) {
      failures.push({ kind: 'refresh', status: 400, remaining: times, error: 'invalid_grant' });
    },
    async addClient(client) {
      await provider.Client.adapter.upsert(client.clientId, toClientMetadata(client));
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const env = process.env;
  const idp = await startDemoIdp({
    port: Number(env.DEMO_IDP_PORT ?? 4000),
    clients: [
      {
        clientId: env.DEMO_CLIENT_ID ?? 'demo-client',
        clientSecret: env.DEMO_CLIENT_SECRET ?? 'demo-client-secret',
        redirectUris: [env.DEMO_REDIRECT_URI ?? 'http://127.0.0.1:3000/oauth/callback'],
      },
    ],
  });
  console.log(`demo IdP listening: ${idp.issuer} (sign in as alice or bob, any password)`);
}
