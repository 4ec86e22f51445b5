import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import https, { type Server } from 'node:https';
import type { TLSSocket } from 'node:tls';
import type { AddressInfo } from 'node:net';
import { generate } from 'selfsigned';
import { Agent, fetch as undiciFetch } from 'undici';
import request from 'supertest';
import { startStack, type Stack } from '../helpers/stack.js';
import { TestBrowser } from '../helpers/browser.js';
import { proxyApp } from '../helpers/proxy.js';
import { TestOAuthClientProvider } from '../helpers/mcp.js';
import { callToolV2, connectV2Client } from '../helpers/mcp-v2.js';
import { pkce } from '../helpers/oauth-flow.js';

/**
 * Client ID Metadata Documents with the MCP SDK v2 client (@modelcontextprotocol/client) over real
 * https: the document is served by a local https server whose certificate a test CA (made here, at
 * test time) signed. The proxy trusts that CA only through its injected `fetch` (undici with
 * `connect: { ca }`); loopback needs `clientMetadataDocuments.allowPrivateAddresses`, a test-only
 * allowance. Without the CA the same document cannot be fetched: TLS is verified, not skipped.
 */

interface TlsDocServer {
  url: string;
  ca: string;
  /** Requests that reached the handler, each after a completed TLS handshake. */
  hits: Array<{ path: string; encrypted: boolean }>;
  serve(doc: unknown): void;
  close(): Promise<void>;
}

async function startTlsDocServer(path: string): Promise<TlsDocServer> {
  const ca = await generate([{ name: 'commonName', value: 'mcp-oauth-proxy test CA' }], {
    keyType: 'ec',
    algorithm: 'sha256',
    extensions: [
      { name: 'basicConstraints', cA: true, critical: true },
      { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true },
    ],
  });
  const leaf = await generate([{ name: 'commonName', value: '127.0.0.1' }], {
    keyType: 'ec',
    algorithm: 'sha256',
    ca: { key: ca.private, cert: ca.cert },
    extensions: [
      { name: 'subjectAltName', altNames: [{ type: 7, ip: '127.0.0.1' }] },
      { name: 'extKeyUsage', serverAuth: true },
    ],
  });
  let body = '';
  const hits: TlsDocServer['hits'] = [];
  const server: Server = https.createServer({ key: leaf.private, cert: leaf.cert }, (req, res) => {
    hits.push({ path: (req.url ?? '/').split('?')[0]!, encrypted: (req.socket as TLSSocket).encrypted === true });
    if ((req.url ?? '').split('?')[0] !== path || !body) return void res.writeHead(404).end();
    res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'max-age=60' }).end(body);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const { port } = server.address() as AddressInfo;
  return {
    url: `https://127.0.0.1:${port}${path}`,
    ca: ca.cert,
    hits,
    serve: (doc) => {
      body = JSON.stringify(doc);
    },
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

/** The proxy's `fetch`: undici with the test CA as the only trust anchor it adds. */
function fetchTrusting(ca: string): { fetch: typeof fetch; agent: Agent } {
  const agent = new Agent({ connect: { ca } });
  const f = (input: Parameters<typeof fetch>[0], init?: RequestInit) =>
    undiciFetch(input as Parameters<typeof undiciFetch>[0], { ...(init as Parameters<typeof undiciFetch>[1]), dispatcher: agent });
  return { fetch: f as unknown as typeof fetch, agent };
}

const REDIRECT = 'http://localhost:38125/callback';

describe('the v2 client signs in with a Client ID Metadata Document served over https (test CA)', () => {
  let docs: TlsDocServer;
  let stack: Stack;
  let agent: Agent;
  beforeAll(async () => {
    docs = await startTlsDocServer('/oauth/client.json');
    const trusted = fetchTrusting(docs.ca);
    agent = trusted.agent;
    stack = await startStack({
      proxy: { consent: { enabled: true }, fetch: trusted.fetch, clientMetadataDocuments: { allowPrivateAddresses: true } },
    });
  });
  afterAll(async () => {
    await stack?.close();
    await agent?.close();
    await docs?.close();
  });

  class CimdProvider extends TestOAuthClientProvider {
    get clientMetadataUrl(): string {
      return docs.url;
    }
  }

  it('uses the https URL as client_id (no registration), signs in and calls tools', async () => {
    docs.serve({
      client_id: docs.url,
      client_name: 'SDK v2 CIMD client',
      redirect_uris: [REDIRECT],
      token_endpoint_auth_method: 'none',
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
    });
    const provider = new CimdProvider({ redirectUrl: REDIRECT });
    const { client } = await connectV2Client({ serverUrl: stack.mcpUrl, browser: new TestBrowser(), login: 'bob', provider });
    try {
      expect(provider.clientInformation()?.client_id).toBe(docs.url);
      expect(provider.lastAuthorizationUrl?.searchParams.get('client_id')).toBe(docs.url);
      expect(stack.logs.lines.some((l) => l.msg === 'client registered')).toBe(false);
      expect((await callToolV2(client, 'whoami')).sub).toBe('bob');
      expect((await callToolV2(client, 'claims')).clientId).toBe(docs.url);
    } finally {
      await client.close();
    }
    expect(docs.hits.length).toBeGreaterThanOrEqual(1);
    expect(docs.hits.every((h) => h.path === '/oauth/client.json' && h.encrypted)).toBe(true);
  });

  it('(control) a proxy that does not trust the test CA cannot fetch the same document', async () => {
    const before = docs.hits.length;
    const { app, oauth } = proxyApp({ consent: { enabled: true }, clientMetadataDocuments: { allowPrivateAddresses: true } });
    try {
      const res = await request(app).get('/oauth/authorize').query({
        response_type: 'code',
        client_id: docs.url,
        redirect_uri: REDIRECT,
        code_challenge: pkce().challenge,
        code_challenge_method: 'S256',
      });
      expect(res.status).toBe(401);
      expect(res.text).toContain('could not be fetched');
      expect(docs.hits.length).toBe(before); // the handshake failed: no request reached the server
    } finally {
      await oauth.close();
    }
  });
});
