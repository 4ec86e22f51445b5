import { describe, it, expect } from '@jest/globals';
import { createOAuthProxy, MemoryStore, type OAuthProxyOptions } from '../../lib/index.js';
import { parseOptions } from '../../lib/options.js';
import { createContext } from '../../lib/context.js';
import { TEST_SECRET, TEST_VAULT_KEY, recordingLogger } from '../helpers/proxy.js';

/** Options are validated with zod when the proxy is created; a bad one is a TypeError naming its path. */
const valid = (): OAuthProxyOptions => ({
  issuer: 'https://mcp.example.com/oauth',
  provider: 'https://idp.example.com',
  clientId: 'proxy-client',
  secret: TEST_SECRET,
  encryptionKey: TEST_VAULT_KEY,
  logger: recordingLogger().logger,
  registration: { enabled: false },
});

function failure(options: unknown): TypeError & { code?: string } {
  try {
    createOAuthProxy(options as OAuthProxyOptions);
  } catch (err) {
    return err as TypeError & { code?: string };
  }
  throw new Error('createOAuthProxy() accepted invalid options');
}

describe('invalid options', () => {
  it.each<[string, Record<string, unknown>]>([
    ['providerConfig.jwksUri', { providerConfig: { jwksUri: 'not a url' } }],
    ['providerConfig.authEndpoint', { providerConfig: { authEndpoint: 'ftp://idp.example.com/auth' } }],
    ['providerConfig.jwks.keys', { providerConfig: { jwks: { keys: [] } } }],
    ['providerConfig.id', { providerConfig: { id: 'has space' } }],
    ['providerConfig.skipDiscovery', { providerConfig: { skipDiscovery: 'yes' } }],
    ['secret', { secret: 'too-short' }],
    ['secret', { secret: 'x'.repeat(31) }],
    ['secret.1', { secret: [TEST_SECRET, 'too-short'] }],
    ['encryptionKey', { encryptionKey: 'x'.repeat(31) }],
    ['issuer', { issuer: 'https://mcp.example.com/oauth/' }],
    ['issuer', { issuer: 'https://MCP.example.com/oauth' }],
    ['issuer', { issuer: 'https://mcp.example.com/oauth?x=1' }],
    ['issuer', { issuer: 'mcp.example.com/oauth' }], // not a URL at all: still named, not a bare "Invalid URL"
    ['issuer', { issuer: 42 }],
    ['provider', { provider: 'idp.example.com' }],
    ['clientId', { clientId: '' }],
    ['consent.enabled', { consent: { enabled: 'yes' } }],
    ['consent.rememberFor', { consent: { rememberFor: -1 } }],
    ['refresh.skewSeconds', { refresh: { skewSeconds: 1.5 } }],
    ['scopes.0', { scopes: ['open id'] }],
    ['accessTokenTtl', { accessTokenTtl: 0 }],
    ['mode', { mode: 'hybrid' }],
    ['store', { store: { get() {} } }],
    ['logger', { logger: console.log }],
    ['resource', { resource: 'https://mcp.example.com/mcp#frag' }],
    ['resource', { resource: 'not a url' }],
  ])('%s', (path, override) => {
    const err = failure({ ...valid(), ...override });
    expect(err).toBeInstanceOf(TypeError);
    expect(err.code).toBe('ERR_INVALID_OPTION');
    expect(err.message).toContain(`"${path}"`);
  });

  it('an unknown option, at the root or nested', () => {
    const root = failure({ ...valid(), secrt: TEST_SECRET });
    expect(root.code).toBe('ERR_INVALID_OPTION');
    expect(root.message).toContain('unknown option(s) "secrt"');
    const nested = failure({ ...valid(), providerConfig: { authEndpoin: 'https://idp.example.com/auth' } });
    expect(nested.message).toContain('"providerConfig": unknown option(s) "authEndpoin"');
  });

  it('a missing required option', () => {
    // clientId became optional with upstream self-registration (issue 11); provider is still required.
    const { provider: _p, ...rest } = valid();
    expect(failure(rest).message).toContain('"provider"');
  });

  it('names every bad option at once', () => {
    const err = failure({ ...valid(), secret: 'short', issuer: 'https://mcp.example.com/', consent: { enabled: 1 } });
    for (const path of ['"secret"', '"issuer"', '"consent.enabled"']) expect(err.message).toContain(path);
  });

  it('says how to make a good secret', () => {
    expect(failure({ ...valid(), secret: 'short' }).message).toMatch(/at least 32 bytes.*randomBytes\(32\)/);
  });

  it('options that are not an object', () => {
    expect(failure(undefined)).toBeInstanceOf(TypeError);
    expect(failure('https://idp.example.com')).toBeInstanceOf(TypeError);
  });
});

describe('valid options', () => {
  it('counts secret length in bytes, not characters', () => {
    expect(() => parseOptions({ ...valid(), secret: 'é'.repeat(16) })).not.toThrow(); // 32 bytes
    expect(failure({ ...valid(), secret: 'é'.repeat(15) }).message).toContain('"secret"'); // 30 bytes
    expect(() => parseOptions({ ...valid(), secret: 'x'.repeat(32), encryptionKey: ['y'.repeat(32), 'z'.repeat(40)] })).not.toThrow();
  });

  it('get their defaults', () => {
    const o = parseOptions(valid());
    expect(o.mode).toBe('remote');
    expect(o.scopes).toEqual(['openid']);
    expect(o.accessTokenTtl).toBe(3600);
    expect(o.authorizationTtl).toBe(600);
    expect(o.refresh).toEqual({ enabled: true, skewSeconds: 60 });
    expect(o.providerConfig.skipDiscovery).toBe(false);
  });

  it('create a proxy whose provider id comes from providerConfig.id, else the provider host', async () => {
    const a = createOAuthProxy({ ...valid(), providerConfig: { id: 'corp' } });
    const b = createOAuthProxy({ ...valid(), provider: 'https://login.corp.example.com:8443' });
    expect(a.providerId).toBe('corp');
    expect(b.providerId).toBe('login-corp-example-com-8443');
    await a.close();
    await b.close();
  });
});

describe('no secret or encryptionKey', () => {
  const bare = (logger: ReturnType<typeof recordingLogger>['logger']): OAuthProxyOptions => {
    const { secret: _s, encryptionKey: _e, ...rest } = valid();
    return { ...rest, logger };
  };

  it('warns loudly, through the logger, once per missing option', async () => {
    const logs = recordingLogger();
    const oauth = createOAuthProxy(bare(logs.logger));
    const warnings = logs.lines.filter((l) => l.level === 'warn' && /random/.test(l.msg ?? ''));
    expect(warnings.map((w) => (w.obj as { option: string }).option).sort()).toEqual(['encryptionKey', 'secret']);
    for (const w of warnings) expect(w.msg).toMatch(/dies when this process exits/);
    await oauth.close();

    const quiet = recordingLogger();
    const o2 = createOAuthProxy({ ...valid(), logger: quiet.logger });
    expect(quiet.lines.filter((l) => /random/.test(l.msg ?? ''))).toEqual([]);
    await o2.close();
  });

  it('generates random ones: another process (context) can neither verify the tokens nor open the vault', async () => {
    const store = new MemoryStore();
    const a = createContext(parseOptions({ ...bare(recordingLogger().logger), store }));
    const b = createContext(parseOptions({ ...bare(recordingLogger().logger), store }));
    const { token } = await a.accessTokens.mint({ sub: 'alice', sid: 'sid_1', clientId: 'c', scope: 'openid' });
    await expect(a.accessTokens.verify(token)).resolves.toMatchObject({ sub: 'alice' });
    await expect(b.accessTokens.verify(token)).rejects.toMatchObject({ error: 'invalid_token' });
    await a.vault.put('sid_1', 'upstream', { access_token: 'upstream-at' }, 60_000);
    expect(await a.vault.get('sid_1', 'upstream')).toEqual({ access_token: 'upstream-at' });
    expect(await b.vault.get('sid_1', 'upstream')).toBeUndefined();
    await store.close();
  });
});
