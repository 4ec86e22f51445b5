import { afterAll, afterEach, beforeAll, describe, expect, it, jest } from '@jest/globals';
import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { InvalidClientError } from '../../lib/errors.js';
import { MetadataDocumentFetcher, isMetadataDocumentClientId, isPublicAddress } from '../../lib/clients/metadata-document.js';

type Handler = (req: http.IncomingMessage, res: http.ServerResponse, url: string) => void;
const routes = new Map<string, Handler>();
const hits = new Map<string, number>();
let server: http.Server;
let origin: string;

beforeAll(async () => {
  server = http.createServer((req, res) => {
    const path = req.url ?? '/';
    hits.set(path, (hits.get(path) ?? 0) + 1);
    const handler = routes.get(path);
    if (handler) handler(req, res, `http://${req.headers.host ?? ''}${path}`);
    else res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});
afterEach(() => {
  jest.restoreAllMocks();
});

let counter = 0;
/** Registers a route serving `body` (a function of the document URL) and returns the URL. */
function serve(body: (url: string) => unknown, headers: Record<string, string> = {}, status = 200): string {
  const path = `/clients/${++counter}/client.json`;
  routes.set(path, (_req, res, url) => {
    const value = body(url);
    res
      .writeHead(status, { 'Content-Type': 'application/json', ...headers })
      .end(typeof value === 'string' ? value : JSON.stringify(value));
  });
  return `${origin}${path}`;
}
const doc = (url: string, extra: Record<string, unknown> = {}) => ({
  client_id: url,
  client_name: 'Doc Client',
  redirect_uris: ['http://127.0.0.1:33418/', 'https://app.example.com/cb'],
  grant_types: ['authorization_code', 'refresh_token'],
  response_types: ['code'],
  token_endpoint_auth_method: 'none',
  ...extra,
});
const hitsOf = (url: string) => hits.get(new URL(url).pathname) ?? 0;

let now = 1_750_000_000_000;
const local = (extra: ConstructorParameters<typeof MetadataDocumentFetcher>[0] = {}) =>
  new MetadataDocumentFetcher({ allowPrivateAddresses: true, clock: () => now, ...extra });

async function refusal(promise: Promise<unknown>): Promise<InvalidClientError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(InvalidClientError);
  return error as InvalidClientError;
}

/** The logged detail of a network-level refusal (the message itself stays generic). */
const detailOf = (error: unknown): string => String((error as { detail?: unknown }).detail);

describe('MetadataDocumentFetcher: documents served on loopback (allowPrivateAddresses)', () => {
  it('resolves a valid document to a metadata_document client', async () => {
    const url = serve((u) => doc(u));
    const client = await local().resolve(url);
    expect(client).toEqual({
      client_id: url,
      client_name: 'Doc Client',
      redirect_uris: ['http://127.0.0.1:33418/', 'https://app.example.com/cb'],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'none',
      kind: 'metadata_document',
      verified_domain: new URL(url).host,
      client_id_issued_at: Math.floor(now / 1000),
    });
  });

  it('treats an absent token_endpoint_auth_method as none and accepts +json content types', async () => {
    const url = serve((u) => ({ client_id: u, redirect_uris: ['cursor://anysphere.cursor-mcp/oauth/callback'] }), {
      'Content-Type': 'application/vnd.client+json; charset=utf-8',
    });
    expect((await local().resolve(url)).token_endpoint_auth_method).toBe('none');
  });

  it.each([
    ['a client_id that differs', (u: string) => doc(u, { client_id: `${u}/` }), /contains client_id ".*\/"; it must be identical/],
    ['a missing client_id', (u: string) => doc(u, { client_id: undefined }), /contains client_id undefined/],
    [
      'client_secret_basic',
      (u: string) => doc(u, { token_endpoint_auth_method: 'client_secret_basic' }),
      /token_endpoint_auth_method "client_secret_basic"; only "none"/,
    ],
    ['private_key_jwt', (u: string) => doc(u, { token_endpoint_auth_method: 'private_key_jwt' }), /"private_key_jwt"; only "none"/],
    ['a client_secret', (u: string) => doc(u, { client_secret: 'shh' }), /must not contain client_secret/],
    [
      'a bad redirect URI',
      (u: string) => doc(u, { redirect_uris: ['javascript:alert(1)'] }),
      /is invalid: redirect_uris\[0\].*refused scheme/,
    ],
    ['bad metadata', (u: string) => doc(u, { grant_types: ['client_credentials'] }), /is invalid: grant_types\[0\]/],
    ['invalid JSON', () => '{"client_id":', /is not valid UTF-8 JSON/],
    ['a JSON array', () => '[]', /is not a JSON object/],
  ])('refuses %s', async (_name, body, message) => {
    const error = await refusal(local().resolve(serve(body)));
    expect(error.error).toBe('invalid_client');
    expect(error.message).toMatch(message);
  });

  it('refuses a document that is not JSON', async () => {
    const url = serve(() => '<html></html>', { 'Content-Type': 'text/html' });
    expect((await refusal(local().resolve(url))).message).toMatch(/content-type "text\/html"; expected application\/json/);
  });

  it('refuses a non-200 answer', async () => {
    expect((await refusal(local().resolve(`${origin}/missing/client.json`))).message).toMatch(/answered HTTP 404; expected 200/);
  });

  it('refuses a redirect without following it', async () => {
    const target = serve((u) => doc(u));
    const url = serve(() => '', { Location: target }, 302);
    expect((await refusal(local().resolve(url))).message).toMatch(/redirect \(HTTP 302\); redirects are not followed/);
    expect(hitsOf(target)).toBe(0);
  });

  it('accepts 5120 bytes and refuses more, streamed or declared', async () => {
    const sized = (u: string, size: number) => {
      const base = JSON.stringify(doc(u, { pad: '' }));
      return JSON.stringify(doc(u, { pad: 'x'.repeat(size - base.length) }));
    };
    expect((await local().resolve(serve((u) => sized(u, 5120)))).client_name).toBe('Doc Client');
    const declared = serve((u) => sized(u, 5121), { 'Content-Length': '5121' });
    expect((await refusal(local().resolve(declared))).message).toMatch(/is 5121 bytes; the limit is 5120/);

    const path = `/clients/${++counter}/chunked.json`;
    routes.set(path, (_req, res) => {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.write(`{"pad":"${'x'.repeat(4000)}`);
      setTimeout(() => res.end(`${'x'.repeat(4000)}"}`), 20);
    });
    expect((await refusal(local().resolve(`${origin}${path}`))).message).toMatch(/is larger than 5120 bytes/);
    expect((await refusal(local({ maxBytes: 100 }).resolve(serve((u) => doc(u))))).message).toMatch(/limit is 100|larger than 100/);
  });

  it('gives up on a server that never answers', async () => {
    const path = `/clients/${++counter}/hang.json`;
    routes.set(path, () => undefined);
    const started = Date.now();
    const error = await refusal(local({ timeoutMs: 200 }).resolve(`${origin}${path}`));
    expect(error.message).toMatch(/could not be fetched/);
    expect(detailOf(error)).toMatch(/did not arrive within 200 ms/);
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('caches per Cache-Control max-age, up to the expiry', async () => {
    const url = serve((u) => doc(u), { 'Cache-Control': 'public, max-age=60' });
    const fetcher = local();
    await fetcher.resolve(url);
    now += 59_000;
    const second = await fetcher.resolve(url);
    expect(hitsOf(url)).toBe(1);
    second.redirect_uris.push('https://evil.example/cb');
    expect((await fetcher.resolve(url)).redirect_uris).toHaveLength(2);
    now += 2_000;
    await fetcher.resolve(url);
    expect(hitsOf(url)).toBe(2);
  });

  it('caches 5 minutes without Cache-Control, capped at 24 h', async () => {
    const plain = serve((u) => doc(u));
    const long = serve((u) => doc(u), { 'Cache-Control': 'max-age=31536000' });
    const fetcher = local();
    await fetcher.resolve(plain);
    await fetcher.resolve(long);
    now += 299_000;
    await fetcher.resolve(plain);
    expect(hitsOf(plain)).toBe(1);
    now += 2_000;
    await fetcher.resolve(plain);
    expect(hitsOf(plain)).toBe(2);
    now += 24 * 3600_000;
    await fetcher.resolve(long);
    expect(hitsOf(long)).toBe(2);
  });

  it.each(['no-store', 'no-cache', 'max-age=0'])('refetches every time with Cache-Control: %s', async (value) => {
    const url = serve((u) => doc(u), { 'Cache-Control': value });
    const fetcher = local();
    await fetcher.resolve(url);
    await fetcher.resolve(url);
    expect(hitsOf(url)).toBe(2);
  });

  it('evicts the least recently used entry beyond cacheSize', async () => {
    const [a, b, c] = [serve((u) => doc(u)), serve((u) => doc(u)), serve((u) => doc(u))];
    const fetcher = local({ cacheSize: 2 });
    for (const url of [a, b, a, c, a, b]) await fetcher.resolve(url);
    expect([hitsOf(a), hitsOf(b), hitsOf(c)]).toEqual([1, 2, 1]);
  });

  it('shares one fetch between concurrent resolves', async () => {
    const url = serve((u) => doc(u));
    const fetcher = local();
    await Promise.all([fetcher.resolve(url), fetcher.resolve(url), fetcher.resolve(url)]);
    expect(hitsOf(url)).toBe(1);
  });

  it('connects to the address the injected lookup returned', async () => {
    const url = serve((u) => doc(u)).replace('127.0.0.1', 'localhost');
    const lookup = jest.fn(async (_hostname: string) => [{ address: '127.0.0.1', family: 4 as const }]);
    expect((await local({ lookup }).resolve(url)).verified_domain).toBe(new URL(url).host);
    expect(lookup).toHaveBeenCalledTimes(1);
    expect(lookup).toHaveBeenCalledWith('localhost');
  });
});

describe('MetadataDocumentFetcher: address checks (no connection is ever attempted)', () => {
  function noConnect() {
    return jest.spyOn(net.Socket.prototype, 'connect').mockImplementation(() => {
      throw new Error('a connection was attempted');
    });
  }

  it.each([
    '10.0.0.5',
    '169.254.169.254',
    '127.0.0.1',
    '::1',
    'fc00::1',
    '100.64.0.1',
    '::ffff:10.0.0.1',
    '0.0.0.0',
    'fe80::1',
    '224.0.0.1',
  ])('refuses a host that resolves to %s', async (address) => {
    const connect = noConnect();
    const lookup = jest.fn(async (_hostname: string) => [{ address, family: (net.isIP(address) === 6 ? 6 : 4) as 4 | 6 }]);
    const fetcher = new MetadataDocumentFetcher({ lookup });
    const error = await refusal(fetcher.resolve('https://docs.example.test/client.json'));
    // Issue 12, finding 5: the message (shown on the page) used to say what the host resolves to: a DNS oracle.
    expect(error.message).not.toContain(address);
    expect(error.message).toMatch(/could not be fetched/);
    expect(detailOf(error)).toContain(`resolves to ${address}, which is not a public address`);
    expect(lookup).toHaveBeenCalledWith('docs.example.test');
    expect(connect).not.toHaveBeenCalled();
  });

  it('refuses when any one of several addresses is private', async () => {
    const connect = noConnect();
    const lookup = async () => [
      { address: '93.184.216.34', family: 4 as const },
      { address: '192.168.1.1', family: 4 as const },
    ];
    expect(detailOf(await refusal(new MetadataDocumentFetcher({ lookup }).resolve('https://docs.example.test/c.json')))).toMatch(
      /192\.168\.1\.1/,
    );
    expect(connect).not.toHaveBeenCalled();
  });

  it.each([
    'https://10.0.0.5/client.json',
    'https://169.254.169.254/latest/meta-data',
    'https://[::1]/client.json',
    'https://[::ffff:7f00:1]/c.json',
    'https://0x7f.1/c.json',
  ])('refuses the IP-literal URL %s without a lookup', async (url) => {
    const connect = noConnect();
    const lookup = jest.fn(async (_hostname: string) => [{ address: '93.184.216.34', family: 4 as const }]);
    expect(detailOf(await refusal(new MetadataDocumentFetcher({ lookup }).resolve(url)))).toMatch(/not a public address/);
    expect(lookup).not.toHaveBeenCalled();
    expect(connect).not.toHaveBeenCalled();
  });

  it('refuses http, even on loopback, unless allowPrivateAddresses', async () => {
    const url = serve((u) => doc(u));
    expect((await refusal(new MetadataDocumentFetcher().resolve(url))).message).toMatch(/must use https/);
    expect(hitsOf(url)).toBe(0);
  });

  it('turns a failed lookup into invalid_client', async () => {
    const lookup = async () => {
      throw Object.assign(new Error('not found'), { code: 'ENOTFOUND' });
    };
    const lines: Array<{ obj: object; msg?: string }> = [];
    const error = await refusal(
      new MetadataDocumentFetcher({
        lookup,
        logger: {
          info: (obj, msg) => {
            lines.push({ obj, msg });
          },
        },
      }).resolve('https://docs.example.test/c.json'),
    );
    expect(error.message).not.toMatch(/ENOTFOUND|resolved/);
    expect(detailOf(error)).toMatch(/could not be resolved \(ENOTFOUND\)/);
    expect(lines).toEqual([
      {
        obj: { client_id: 'https://docs.example.test/c.json', detail: expect.stringMatching(/ENOTFOUND/) },
        msg: 'client metadata document could not be fetched',
      },
    ]);
  });
});

describe('MetadataDocumentFetcher: injected fetch', () => {
  const url = 'https://app.example.com/oauth/client.json';

  it('uses the injected fetch without redirects and reads the document', async () => {
    const fetchSpy = jest.fn(
      async (_input: string | URL | Request, _init?: RequestInit) =>
        new Response(JSON.stringify(doc(url)), { headers: { 'Content-Type': 'application/json' } }),
    );
    const client = await new MetadataDocumentFetcher({ fetch: fetchSpy as typeof fetch }).resolve(url);
    expect(client.verified_domain).toBe('app.example.com');
    expect(fetchSpy.mock.calls[0]?.[1]).toMatchObject({ redirect: 'manual' });
  });

  it('refuses redirects and oversize bodies from the injected fetch', async () => {
    const redirect = jest.fn(async () => new Response(null, { status: 307, headers: { Location: 'https://evil.example/c.json' } }));
    expect((await refusal(new MetadataDocumentFetcher({ fetch: redirect as typeof fetch }).resolve(url))).message).toMatch(/HTTP 307/);
    const big = jest.fn(
      async () => new Response(new Blob(['x'.repeat(6000)]).stream(), { headers: { 'Content-Type': 'application/json' } }),
    );
    expect((await refusal(new MetadataDocumentFetcher({ fetch: big as typeof fetch }).resolve(url))).message).toMatch(
      /larger than 5120 bytes/,
    );
  });

  it('still refuses a private IP-literal host without calling fetch', async () => {
    const fetchSpy = jest.fn(async () => new Response('{}'));
    expect(
      detailOf(await refusal(new MetadataDocumentFetcher({ fetch: fetchSpy as typeof fetch }).resolve('https://10.0.0.5/c.json'))),
    ).toMatch(/not a public address/);
    expect(fetchSpy).not.toHaveBeenCalled();
  });
});

describe('isMetadataDocumentClientId', () => {
  it.each(['https://app.example.com/oauth/client.json', 'https://app.example.com/c?v=1', 'https://app.example.com:8443/c'])(
    'accepts %s',
    (id) => {
      expect(isMetadataDocumentClientId(id)).toBe(true);
    },
  );
  it.each([
    'mop_client_abc',
    'http://app.example.com/c.json',
    'https://app.example.com',
    'https://app.example.com/',
    'https://app.example.com/c#x',
    'https://user@app.example.com/c',
    'https://app.example.com/a/../c',
    'https://app.example.com/a/%2e%2e/c',
    'https:app.example.com/c',
    'https://app.example.com/c d',
  ])('refuses %s', (id) => {
    expect(isMetadataDocumentClientId(id)).toBe(false);
  });
  it('accepts loopback http only with allowPrivateAddresses', () => {
    expect(isMetadataDocumentClientId('http://127.0.0.1:4000/c.json')).toBe(false);
    expect(isMetadataDocumentClientId('http://127.0.0.1:4000/c.json', { allowPrivateAddresses: true })).toBe(true);
    expect(isMetadataDocumentClientId('http://example.com/c.json', { allowPrivateAddresses: true })).toBe(false);
  });
});

describe('isPublicAddress', () => {
  it.each([
    '93.184.216.34',
    '8.8.8.8',
    '1.1.1.1',
    '2606:4700:4700::1111',
    '2a00:1450:4001:80b::200e',
    '::ffff:93.184.216.34',
    '64:ff9b::808:808',
  ])('accepts %s', (ip) => {
    expect(isPublicAddress(ip)).toBe(true);
  });
  it.each([
    '10.0.0.5',
    '172.16.0.1',
    '172.31.255.255',
    '192.168.1.1',
    '127.0.0.1',
    '127.255.255.254',
    '169.254.169.254',
    '100.64.0.1',
    '100.127.255.255',
    '0.0.0.0',
    '224.0.0.1',
    '255.255.255.255',
    '192.0.2.1',
    '198.18.0.1',
    '::',
    '::1',
    'fc00::1',
    'fd12:3456::1',
    'fe80::1',
    'fe80::1%eth0',
    'ff02::1',
    '::ffff:10.0.0.1',
    '::ffff:127.0.0.1',
    '::ffff:7f00:1',
    '::ffff:169.254.169.254',
    '64:ff9b::a00:1',
    '2001:db8::1',
    '[::1]',
    'localhost',
    '',
    'not an ip',
  ])('refuses %s', (ip) => {
    expect(isPublicAddress(ip)).toBe(false);
  });
});
