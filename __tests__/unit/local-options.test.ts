import { describe, it, expect } from '@jest/globals';
import express from 'express';
import supertest from 'supertest';
import { parseOptions } from '../../lib/options.js';
import { AppCatalog } from '../../lib/grants/catalog.js';
import { createOAuthProxy, type OAuthProxyOptions } from '../../lib/index.js';
import { TEST_SECRET, TEST_VAULT_KEY, recordingLogger } from '../helpers/proxy.js';

/** Local mode's options (issue 10): parsed once, every problem named by its path. */
const app = (id: string, more: Record<string, unknown> = {}) => ({
  id,
  provider: `https://${id}-idp.example.com`,
  clientId: `mcp-${id}`,
  ...more,
});
const local = (more: Record<string, unknown> = {}) =>
  ({
    issuer: 'https://mcp.example.com/oauth',
    mode: 'local',
    apps: [app('crm', { required: true }), app('erp')],
    secret: TEST_SECRET,
    encryptionKey: TEST_VAULT_KEY,
    logger: recordingLogger().logger,
    ...more,
  }) as unknown as OAuthProxyOptions;

function failure(o: OAuthProxyOptions): TypeError & { code?: string } {
  try {
    parseOptions(o);
  } catch (e) {
    return e as TypeError;
  }
  throw new Error('expected the options to be refused');
}

describe('local mode options', () => {
  it('resolves each app: its upstream, its proxy scope (default: the id), required, and the proxy scopes', () => {
    const o = parseOptions(local({ scopes: ['mcp:read'], apps: [app('crm', { required: true }), app('erp', { scope: 'erp:all' })] }));
    expect(o.apps.map((a) => [a.id, a.scope, a.required, a.upstream.provider, a.upstream.scopes])).toEqual([
      ['crm', 'crm', true, 'https://crm-idp.example.com', ['openid']],
      ['erp', 'erp:all', true, 'https://erp-idp.example.com', ['openid']], // no progressive authorization: every app is signed in
    ]);
    expect(o.scopes).toEqual(['crm', 'erp:all', 'mcp:read']);
    expect(o.apps[1]!.upstream.providerConfig.id).toBe('erp');
  });

  it('with incrementalAuth only the apps marked required are', () => {
    const o = parseOptions(local({ incrementalAuth: { enabled: true } }));
    expect(o.apps.map((a) => a.required)).toEqual([true, false]);
  });

  it.each([
    ['provider', { provider: 'https://idp.example.com' }, 'is a remote-mode option'],
    ['clientId', { clientId: 'x' }, '"apps[].clientId"'],
    ['apps', { apps: undefined }, "is required in mode: 'local'"],
    ['apps.1.id', { apps: [app('crm'), app('crm')] }, 'app ids must be unique'],
    ['apps.1.scope', { apps: [app('crm'), app('erp', { scope: 'crm' })] }, 'already used by app "crm"'],
    ['apps.0.scope', { apps: [app('crm', { scope: 'offline_access' })] }, 'cannot stand for an app'],
    ['apps.0.providerConfig.id', { apps: [app('crm', { providerConfig: { id: 'other' } })] }, 'must be absent or equal the app id'],
    ['apps.0.id', { apps: [app('c r m')] }, 'must be 1-64 characters'],
    ['apps.0.provider', { apps: [{ id: 'crm', provider: 'crm-idp' }] }, 'absolute http(s) URL'],
    ['apps.0', { apps: [app('crm', { color: 'red' })] }, 'unknown option(s) "color"'],
  ])('"%s" is named', (path, override, message) => {
    const err = failure(local(override));
    expect(err.code).toBe('ERR_INVALID_OPTION');
    expect(err.message).toContain(`"${path}"`);
    expect(err.message).toContain(message);
  });

  it('remote mode refuses apps and incrementalAuth, and still needs provider', () => {
    const remote = { issuer: 'https://mcp.example.com/oauth', secret: TEST_SECRET, encryptionKey: TEST_VAULT_KEY } as OAuthProxyOptions;
    expect(failure({ ...remote, provider: 'https://idp.example.com', apps: [app('crm')] } as OAuthProxyOptions).message).toContain(
      '"apps": only in mode',
    );
    expect(failure(remote).message).toContain('"provider": is required in remote mode');
  });

  it('a local-mode proxy advertises the proxy scopes, not the upstream ones', async () => {
    const oauth = createOAuthProxy(local({ scopes: ['mcp:read'] }));
    const web = express();
    web.use(oauth.wellKnown);
    web.use('/oauth', oauth);
    const as = await supertest(web).get('/.well-known/oauth-authorization-server/oauth');
    expect(as.body.scopes_supported).toEqual(['crm', 'erp', 'mcp:read']);
    const prm = await supertest(web).get('/.well-known/oauth-protected-resource/mcp');
    expect(prm.body.scopes_supported).toEqual(['crm', 'erp', 'mcp:read']);
    expect(oauth.providerId).toBe('crm');
    await oauth.close();
  });
});

describe('app routes and the resource', () => {
  it('an app route outside the resource answers 500 naming the fix (logged once); at or below it, the usual 401', async () => {
    const log = recordingLogger();
    const oauth = createOAuthProxy(local({ logger: log.logger }));
    const web = express();
    web.all('/api/erp', oauth.requireSession({ app: 'erp' }), (_req, res) => void res.send('no'));
    web.all('/mcp/erp', oauth.requireSession({ app: 'erp' }), (_req, res) => void res.send('no'));
    for (let i = 0; i < 2; i++) {
      const res = await supertest(web).post('/api/erp');
      expect(res.status).toBe(500);
      expect(res.body.error_description).toContain('mount app routes at or below it (e.g. /mcp/erp)');
    }
    expect(log.lines.filter((l) => l.level === 'error')).toHaveLength(1);
    const inside = await supertest(web).post('/mcp/erp');
    expect(inside.status).toBe(401);
    expect(inside.headers['www-authenticate']).toContain('scope="crm erp"'); // without incrementalAuth every app is required
    await oauth.close();
  });
});

describe('AppCatalog', () => {
  const catalog = new AppCatalog(parseOptions(local({ incrementalAuth: { enabled: true }, scopes: ['mcp:read', 'mcp:write'] })));

  it('offers the required apps plus the named ones; all apps when none is named; extras default to all', () => {
    expect(catalog.request('erp', undefined)).toEqual({ offered: ['crm', 'erp'], extras: ['mcp:read', 'mcp:write'], offline: false });
    expect(catalog.request('crm mcp:read offline_access', undefined)).toEqual({ offered: ['crm'], extras: ['mcp:read'], offline: true });
    expect(catalog.request(undefined, undefined)).toEqual({ offered: ['crm', 'erp'], extras: ['mcp:read', 'mcp:write'], offline: false });
    expect(catalog.request('crm', 'erp')).toMatchObject({ offered: ['crm', 'erp'] });
  });

  it('refuses what it does not know, never dropping it', () => {
    expect(catalog.request('crm openid', undefined)).toEqual({ unknown: ['openid'] });
    expect(catalog.request('crm', 'payroll')).toEqual({ unknown: ['app=payroll'] });
  });

  it('derives authorized_apps from the linked apps that the scope names, required first', () => {
    expect(catalog.authorized('erp crm mcp:read', ['erp', 'crm'])).toEqual(['crm', 'erp']);
    expect(catalog.authorized('crm', ['crm', 'erp'])).toEqual(['crm']);
    expect(catalog.authorized('crm erp', ['crm'])).toEqual(['crm']);
    expect(catalog.scopeFor(['erp', 'crm'], ['mcp:read'], true)).toBe('crm erp mcp:read offline_access');
    expect(catalog.baseline()).toEqual(['crm', 'mcp:read', 'mcp:write']);
  });
});
