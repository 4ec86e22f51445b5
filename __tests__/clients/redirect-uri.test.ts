import { describe, expect, it } from '@jest/globals';
import { InvalidRedirectUriError } from '../../lib/errors.js';
import { checkRedirectUri, isLoopbackRedirectUri, redirectUriMatches } from '../../lib/clients/redirect-uri.js';

const REAL = [
  'https://claude.ai/api/mcp/auth_callback',
  'http://localhost:49152/callback',
  'http://127.0.0.1:33418/',
  'https://vscode.dev/redirect',
  'cursor://anysphere.cursor-mcp/oauth/callback',
  'http://[::1]:8080/cb',
  'vscode://vscode.github-authentication/did-authenticate',
  'com.example.app:/oauth2redirect',
];

function refused(uri: string, options?: { allowed?: Array<string | RegExp> }): InvalidRedirectUriError {
  try {
    checkRedirectUri(uri, options);
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidRedirectUriError);
    return error as InvalidRedirectUriError;
  }
  throw new Error(`expected ${uri} to be refused`);
}

describe('checkRedirectUri: real clients', () => {
  it.each(REAL)('accepts %s and matches it exactly', (uri) => {
    expect(() => checkRedirectUri(uri)).not.toThrow();
    expect(redirectUriMatches(uri, uri)).toBe(true);
  });
});

describe('checkRedirectUri: refused', () => {
  it.each([
    ['javascript:alert(1)', /scheme "javascript:"/],
    ['JavaScript:alert(document.cookie)//', /scheme "javascript:"/],
    ['data:text/html,<script>alert(1)</script>', /whitespace|scheme "data:"/],
    ['data:text/html;base64,PHNjcmlwdD4=', /scheme "data:"/],
    ['file:///etc/passwd', /scheme "file:"/],
    ['vbscript:msgbox(1)', /scheme "vbscript:"/],
    ['blob:https://claude.ai/1234', /scheme "blob:"/],
    ['about:blank', /scheme "about:"/],
    ['wss://claude.ai/cb', /scheme "wss:"/],
    ['ws://localhost/cb', /scheme "ws:"/],
    ['ftp://example.com/cb', /scheme "ftp:"/],
  ])('refuses the scheme of %s', (uri, message) => {
    expect(refused(uri).message).toMatch(message);
  });

  it.each(['https://claude.ai/cb#', 'https://claude.ai/cb#x', 'cursor://anysphere.cursor-mcp/cb#frag', 'http://localhost:1/cb#'])(
    'refuses the fragment in %s',
    (uri) => {
      expect(refused(uri).message).toMatch(/fragment/);
    },
  );

  it.each(['https://claude.ai@evil.example/cb', 'https://a:b@claude.ai/cb', 'https://@claude.ai/cb', 'http://user@localhost:3000/cb'])(
    'refuses the userinfo in %s',
    (uri) => {
      expect(refused(uri).message).toMatch(/userinfo/);
    },
  );

  it.each([
    'https://claude.ai/api/../evil',
    'https://claude.ai/api/./cb',
    'https://claude.ai/api/..',
    'https://claude.ai/api/.',
    'https://claude.ai/api/..?x=1',
    'cursor://anysphere.cursor-mcp/oauth/../x',
    'http://localhost:3000/a/../b',
  ])('refuses the dot segments in %s', (uri) => {
    expect(refused(uri).message).toMatch(/"\." or "\.\." path segments/);
  });

  it.each([
    'https://claude.ai/api/%2e%2e/evil',
    'https://claude.ai/api/%2E/cb',
    'https://claude.ai/a%2fb',
    'https://claude.ai/a%5Cb',
    'https://claude.ai/.%2e/x',
  ])('refuses the encoded dot segment or separator in %s', (uri) => {
    expect(refused(uri).message).toMatch(/dot segments|percent-encoded|path segments/);
  });

  it('refuses backslashes', () => {
    expect(refused('https://claude.ai/api\\..\\evil').message).toMatch(/backslash/);
    expect(refused('https://claude.ai\\@evil.example/cb').message).toMatch(/userinfo|backslash/);
  });

  it.each([
    'http://example.com/cb',
    'http://localhost.evil.example/cb',
    'http://10.0.0.1/cb',
    'http://192.168.1.10:8080/cb',
    'http://[::2]/cb',
    'HTTP://claude.ai/cb',
  ])('refuses http on the non-loopback host of %s', (uri) => {
    expect(refused(uri).message).toMatch(/not loopback/);
  });

  it.each([
    'https://claude.ai/cb x',
    'https://claude.ai/cb\n',
    ' https://claude.ai/cb',
    'https://claude.ai/c\u0000b',
    'https://claude.ai/c\tb',
  ])('refuses whitespace and control characters (%j)', (uri) => {
    expect(refused(uri).message).toMatch(/whitespace or control/);
  });

  it('refuses non-ASCII, relative, empty, over-long and schemeless URIs', () => {
    expect(refused('https://clаude.ai/cb').message).toMatch(/ASCII/);
    expect(refused('/callback').message).toMatch(/absolute/);
    expect(refused('').message).toMatch(/non-empty/);
    expect(refused(`https://claude.ai/${'a'.repeat(2000)}`).message).toMatch(/longer than 2000/);
    expect(refused('https:claude.ai/cb').message).toMatch(/in full/);
    expect(refused('myapp:').message).toMatch(/nothing after the scheme/);
    expect(() => checkRedirectUri(`https://claude.ai/${'a'.repeat(1900)}`)).not.toThrow();
  });

  it('names the URI in the error and uses the RFC 7591 code', () => {
    const error = refused('http://example.com/cb');
    expect(error.error).toBe('invalid_redirect_uri');
    expect(error.status).toBe(400);
    expect(error.message).toContain('"http://example.com/cb"');
  });
});

// Issue 12, finding 3: private-use schemes were only blocklisted, so OS handler schemes could be registered and redirected to.
describe('checkRedirectUri: private-use schemes are an allowlist', () => {
  it.each([
    'ms-msdt:/id PCWDiagnostic',
    'ms-msdt:/id',
    'search-ms:query=x',
    'itms-services://?action=download-manifest&url=https://evil.example/m.plist',
    'myapp:/cb',
    'ms-settings:privacy',
    'shell:startup',
  ])('refuses %s (neither reverse-DNS nor a known app scheme)', (uri) => {
    expect(refused(uri).message).toMatch(/reverse-DNS|whitespace/);
  });

  it.each([
    'com.example.app:/oauth2redirect',
    'io.github.someone.client:/cb',
    'cursor://anysphere.cursor-mcp/oauth/callback',
    'vscode-insiders://vscode.github-authentication/did-authenticate',
    'claude://oauth/callback',
  ])('accepts %s', (uri) => {
    expect(() => checkRedirectUri(uri)).not.toThrow();
  });

  it('allowedRedirectUris widens the list, never past the refused schemes', () => {
    expect(() => checkRedirectUri('myapp:/cb', { allowed: ['myapp:/cb'] })).not.toThrow();
    expect(() => checkRedirectUri('myapp:/cb', { allowed: [/myapp:\/.*/] })).not.toThrow();
    expect(refused('myapp:/other', { allowed: ['myapp:/cb'] }).message).toMatch(/reverse-DNS/);
    expect(refused('javascript:alert(1)', { allowed: ['javascript:alert(1)'] }).message).toMatch(/scheme "javascript:"/);
  });
});

describe('checkRedirectUri: allowed list', () => {
  const allowed = ['https://claude.ai/api/mcp/auth_callback', /http:\/\/localhost:\d+\/callback/, /https:\/\/[a-z]+\.example\.com\/cb/g];

  it('accepts exact strings and full RegExp matches', () => {
    expect(() => checkRedirectUri('https://claude.ai/api/mcp/auth_callback', { allowed })).not.toThrow();
    expect(() => checkRedirectUri('http://localhost:5173/callback', { allowed })).not.toThrow();
    expect(() => checkRedirectUri('https://app.example.com/cb', { allowed })).not.toThrow();
    // A global RegExp keeps no lastIndex state between calls.
    expect(() => checkRedirectUri('https://app.example.com/cb', { allowed })).not.toThrow();
  });

  it('refuses partial matches and anything unlisted', () => {
    expect(refused('https://claude.ai/api/mcp/auth_callback/x', { allowed }).message).toMatch(/allowed redirect URIs/);
    expect(refused('http://localhost:5173/callback/../x', { allowed }).message).toMatch(/path segments/);
    expect(refused('http://localhost:5173/callbackx', { allowed }).message).toMatch(/allowed/);
    expect(refused('https://evil.example/https://app.example.com/cb', { allowed }).message).toMatch(/allowed/);
    expect(refused('https://app.example.com/cb?next=evil', { allowed }).message).toMatch(/allowed/);
    expect(refused('https://vscode.dev/redirect', { allowed }).message).toMatch(/allowed/);
  });

  it('still applies the policy to allowed entries', () => {
    expect(refused('http://example.com/cb', { allowed: ['http://example.com/cb'] }).message).toMatch(/not loopback/);
  });
});

describe('redirectUriMatches', () => {
  it('lets loopback http URIs differ in port only (RFC 8252 §7.3)', () => {
    expect(redirectUriMatches('http://localhost:49152/callback', 'http://localhost:61000/callback')).toBe(true);
    expect(redirectUriMatches('http://127.0.0.1:33418/', 'http://127.0.0.1:50123/')).toBe(true);
    expect(redirectUriMatches('http://127.0.0.1/', 'http://127.0.0.1:50123/')).toBe(true);
    expect(redirectUriMatches('http://[::1]:8080/cb', 'http://[::1]:9090/cb')).toBe(true);
    expect(redirectUriMatches('http://localhost:1/cb?a=1', 'http://localhost:2/cb?a=1')).toBe(true);
  });

  it('still requires the same host spelling, path and query on loopback', () => {
    expect(redirectUriMatches('http://localhost:3000/callback', 'http://127.0.0.1:3000/callback')).toBe(false);
    expect(redirectUriMatches('http://127.0.0.1:3000/callback', 'http://[::1]:3000/callback')).toBe(false);
    expect(redirectUriMatches('http://localhost:3000/callback', 'http://localhost:3000/callback/')).toBe(false);
    expect(redirectUriMatches('http://localhost:3000/callback', 'http://localhost:3000/Callback')).toBe(false);
    expect(redirectUriMatches('http://localhost:3000/cb?a=1', 'http://localhost:3000/cb?a=2')).toBe(false);
    expect(redirectUriMatches('http://localhost:3000/cb', 'http://localhost:3000/cb#x')).toBe(false);
    expect(redirectUriMatches('http://127.0.0.1:33418/', 'http://127.0.0.1:33418')).toBe(false);
    expect(redirectUriMatches('http://localhost:3000/cb', 'http://localhost:0/cb')).toBe(false);
    expect(redirectUriMatches('http://localhost:3000/cb', 'http://localhost:99999/cb')).toBe(false);
    expect(redirectUriMatches('http://localhost:3000/cb', 'http://evil@localhost:3000/cb')).toBe(false);
  });

  it('is exact everywhere else', () => {
    expect(redirectUriMatches('https://claude.ai/api/mcp/auth_callback', 'https://claude.ai/api/mcp/auth_callback')).toBe(true);
    expect(redirectUriMatches('https://claude.ai/api/mcp/auth_callback', 'https://claude.ai:443/api/mcp/auth_callback')).toBe(false);
    expect(redirectUriMatches('https://claude.ai/api/mcp/auth_callback', 'https://CLAUDE.ai/api/mcp/auth_callback')).toBe(false);
    expect(redirectUriMatches('https://localhost:3000/cb', 'https://localhost:4000/cb')).toBe(false);
    expect(redirectUriMatches('cursor://anysphere.cursor-mcp/oauth/callback', 'cursor://anysphere.cursor-mcp/oauth/callback/')).toBe(false);
    expect(redirectUriMatches('https://vscode.dev/redirect', 'https://vscode.dev/redirect?x=1')).toBe(false);
  });
});

describe('isLoopbackRedirectUri', () => {
  it('recognises http loopback hosts only', () => {
    expect(isLoopbackRedirectUri('http://localhost:1/cb')).toBe(true);
    expect(isLoopbackRedirectUri('http://127.0.0.1:33418/')).toBe(true);
    expect(isLoopbackRedirectUri('http://127.8.9.10/')).toBe(true);
    expect(isLoopbackRedirectUri('http://[::1]:8080/cb')).toBe(true);
    expect(isLoopbackRedirectUri('https://localhost/cb')).toBe(false);
    expect(isLoopbackRedirectUri('http://localhost.evil.example/')).toBe(false);
    expect(isLoopbackRedirectUri('http://128.0.0.1/')).toBe(false);
    expect(isLoopbackRedirectUri('not a url')).toBe(false);
  });
});
