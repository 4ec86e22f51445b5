/**
 * Helpers for the refresh, rotation and revocation suites (issue 4): Redis-backed
 * stores for multi-instance stacks, tool calls over plain HTTP with a bearer
 * token, direct token/revoke requests, and a read-only view into the vault.
 */
import http, { type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { createClient, type RedisClientType } from 'redis';
import { RedisStore } from '../../lib/stores/redis.js';
import type { Store } from '../../lib/stores/store.js';
import type { OAuthProxy } from '../../lib/router.js';
import { Sealer } from '../../lib/vault/seal.js';
import { Vault, type UpstreamTokenSet } from '../../lib/vault/vault.js';
import { defaultRandomBytes } from '../../lib/crypto.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { redisUrl, uniquePrefix } from './redis.js';
import { TEST_VAULT_KEY } from './proxy.js';
import type { Stack } from './stack.js';
import { callTool, connectMcpClient, type ConnectedMcpClient } from './mcp.js';
import { TestBrowser } from './browser.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls `check` until it returns a truthy value (bounded); resolves to that value. */
export async function eventually<T>(check: () => T | Promise<T>, what: string, timeoutMs = 10_000): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v) return v as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await sleep(50);
  }
}

/** One connected node-redis client per proxy instance, RedisStores over them under one unique prefix. */
export class RedisStores {
  readonly prefix = uniquePrefix();
  readonly clients: RedisClientType[] = [];
  readonly stores: RedisStore[] = [];
  #next = 0;

  static async connect(n: number): Promise<RedisStores> {
    const r = new RedisStores();
    for (let i = 0; i < n; i++) {
      const client: RedisClientType = createClient({ url: redisUrl() });
      client.on('error', () => {});
      await client.connect();
      r.clients.push(client);
    }
    return r;
  }

  /** The `stores` factory for startStack: instance i gets client i (extra calls cycle). */
  readonly factory = (): Store => {
    const client = this.clients[this.#next++ % this.clients.length]!;
    const store = new RedisStore({ client, prefix: this.prefix });
    this.stores.push(store);
    return store;
  };

  /** Raw Redis access (assertions): the full key of a store key. */
  key(k: string): string {
    return this.prefix + k;
  }

  async close(): Promise<void> {
    for (const s of this.stores) await s.close();
    const c = this.clients[0];
    if (c) {
      const found: string[] = [];
      for await (const batch of c.scanIterator({ MATCH: `${this.prefix}*`, COUNT: 1000 })) found.push(...batch);
      if (found.length) await c.del(found);
    }
    for (const client of this.clients) client.destroy();
  }
}

/** Opens the vault of a store with the test vault key (assertions only). */
export function vaultOf(store: Store): Vault {
  return new Vault(store, new Sealer([TEST_VAULT_KEY], defaultRandomBytes));
}

export interface SignedIn extends ConnectedMcpClient {
  sid: string;
  accessToken: string;
  refreshToken: string;
  clientId: string;
}

/** Signs in through the official SDK client and learns the session id from the `claims` tool. */
export async function signIn(stack: Stack, login = 'alice'): Promise<SignedIn> {
  const connected = await connectMcpClient({ serverUrl: stack.mcpUrl, browser: new TestBrowser(), login });
  const { sid } = await callTool<{ sid: string }>(connected.client, 'claims');
  const tokens = connected.provider.tokens()!;
  return {
    ...connected,
    sid,
    accessToken: tokens.access_token,
    refreshToken: tokens.refresh_token!,
    clientId: connected.provider.clientInformation()!.client_id,
  };
}

/** Polls until the stored upstream access token is within `skewSeconds` of expiry (or past `expiry`). */
export async function untilUpstreamStale(
  store: Store,
  sid: string,
  skewSeconds: number,
  providerId = 'upstream',
): Promise<UpstreamTokenSet> {
  const vault = vaultOf(store);
  return eventually(
    async () => {
      const set = await vault.get(sid, providerId);
      if (!set?.expires_at) throw new Error('no upstream token with an expiry is stored');
      return set.expires_at * 1000 - Date.now() <= skewSeconds * 1000 ? set : undefined;
    },
    'the upstream token is within the refresh skew',
    30_000,
  );
}

export interface ToolHttpResult {
  status: number;
  wwwAuthenticate: string | null;
  result?: CallToolResult;
  text?: string;
}

/** `tools/call` as a plain JSON-RPC POST with a bearer token (the stateless SDK server needs no initialize). */
export async function callToolHttp(mcpUrl: string, accessToken: string, name: string): Promise<ToolHttpResult> {
  const res = await fetch(mcpUrl, {
    method: 'POST',
    headers: { authorization: `Bearer ${accessToken}`, 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name, arguments: {} } }),
  });
  const body = await res.text();
  const out: ToolHttpResult = { status: res.status, wwwAuthenticate: res.headers.get('www-authenticate') };
  if (res.status !== 200) return out;
  const json = (res.headers.get('content-type') ?? '').includes('text/event-stream')
    ? body
        .split('\n')
        .filter((l) => l.startsWith('data:'))
        .map((l) => l.slice(5).trim())
        .join('')
    : body;
  const msg = JSON.parse(json) as { result?: CallToolResult; error?: unknown };
  if (!msg.result) throw new Error(`tools/call returned no result: ${JSON.stringify(msg.error)}`);
  const first = msg.result.content?.[0];
  return { ...out, result: msg.result, ...(first?.type === 'text' ? { text: first.text } : {}) };
}

/** A form POST to the proxy's token or revoke endpoint; `auth` adds HTTP Basic credentials. */
export async function formPost(url: string, params: Record<string, string>, auth?: { id: string; secret: string }) {
  const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded' };
  if (auth)
    headers.authorization = `Basic ${Buffer.from(`${encodeURIComponent(auth.id)}:${encodeURIComponent(auth.secret)}`).toString('base64')}`;
  const res = await fetch(url, { method: 'POST', headers, body: new URLSearchParams(params).toString() });
  const text = await res.text();
  let json: Record<string, any> = {};
  try {
    json = text ? JSON.parse(text) : {};
  } catch {
    /* not JSON */
  }
  return { status: res.status, json, headers: res.headers };
}

/** The refresh_token grant for a public client. */
export function refreshGrant(stack: Stack, clientId: string, refreshToken: string) {
  return formPost(`${stack.issuer}/token`, { grant_type: 'refresh_token', refresh_token: refreshToken, client_id: clientId });
}

export interface Probe {
  url: string;
  close(): Promise<void>;
}
export type ProbeResult =
  { token: string | null } | { error: { name: string; retryable?: boolean; authorizeUrl?: string; message: string } };

/**
 * A second app mounting `oauth.requireSession()` on `GET /probe?mode=get|try`,
 * answering what `req.upstreamTokens.getToken()` / `tryGetToken()` resolved to or threw.
 */
export async function startProbe(
  oauth: OAuthProxy,
): Promise<Probe & { ask(accessToken: string, mode: 'get' | 'try'): Promise<ProbeResult> }> {
  const app = express();
  app.get('/probe', oauth.requireSession(), async (req, res) => {
    try {
      const t = req.upstreamTokens!;
      res.json({ token: req.query.mode === 'try' ? await t.tryGetToken() : await t.getToken() });
    } catch (err) {
      const e = err as Error & { retryable?: boolean; authorizeUrl?: string };
      res.json({ error: { name: e.name, retryable: e.retryable, authorizeUrl: e.authorizeUrl, message: e.message } });
    }
  });
  const server: Server = http.createServer(app);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    async ask(accessToken, mode) {
      const res = await fetch(`${url}/probe?mode=${mode}`, { headers: { authorization: `Bearer ${accessToken}` } });
      if (res.status !== 200) throw new Error(`probe answered HTTP ${res.status}`);
      return (await res.json()) as ProbeResult;
    },
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

/** A refresh_token grant sent straight to the IdP as the proxy's upstream client; resolves to the OAuth error code or undefined. */
export async function idpRefreshError(stack: Stack, upstreamRefreshToken: string): Promise<string | undefined> {
  const res = await fetch(stack.idp.endpoints.token, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      authorization: `Basic ${Buffer.from(`${encodeURIComponent(stack.idp.clientId)}:${encodeURIComponent(stack.idp.clientSecret)}`).toString('base64')}`,
    },
    body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: upstreamRefreshToken }).toString(),
  });
  return ((await res.json()) as { error?: string }).error;
}
