import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { startStack, type Stack } from '../helpers/stack.js';
import { callTool } from '../helpers/mcp.js';
import { callToolHttp, refreshGrant, signIn, type SignedIn } from '../helpers/refresh.js';
import { keys } from '../../lib/stores/keys.js';

/**
 * The proxy's own tokens (issue 4): configurable access-token lifetime,
 * refresh-token rotation, the grace window for parallel refreshes, reuse
 * detection after it, and the SDK client's refresh-after-401. The proxy runs on
 * an injected clock that the tests move forward instead of sleeping; the IdP
 * and the store keep real time (their TTLs are far longer than the jumps).
 */
const ACCESS_TTL = 600;
const GRACE = 2;
const claimsOf = (jwt: string) => JSON.parse(Buffer.from(jwt.split('.')[1]!, 'base64url').toString()) as { iat: number; exp: number };

describe('proxy tokens: lifetime, rotation, grace window, reuse detection', () => {
  let stack: Stack;
  let offset = 0;
  const open: SignedIn[] = [];
  const session = async () => {
    const s = await signIn(stack);
    open.push(s);
    return s;
  };
  const mcpStatus = async (accessToken: string) => (await callToolHttp(stack.mcpUrl, accessToken, 'claims')).status;

  beforeAll(async () => {
    stack = await startStack({ proxy: { accessTokenTtl: ACCESS_TTL, refreshTokenGracePeriod: GRACE, clock: () => Date.now() + offset } });
  });
  afterAll(async () => {
    for (const s of open) await s.client.close();
    await stack?.close();
  });

  it('issues access tokens for accessTokenTtl seconds, on sign-in and on refresh', async () => {
    const s = await session();
    expect(s.provider.savedTokens[0]!.expires_in).toBe(ACCESS_TTL);
    const c = claimsOf(s.accessToken);
    expect(c.exp - c.iat).toBe(ACCESS_TTL);
    const r = await refreshGrant(stack, s.clientId, s.refreshToken);
    expect(r.status).toBe(200);
    expect(r.json.expires_in).toBe(ACCESS_TTL);
    const c2 = claimsOf(r.json.access_token);
    expect(c2.exp - c2.iat).toBe(ACCESS_TTL);
  });

  it('rotates the refresh token on every use; a rotated one fails once the grace window is over', async () => {
    const s = await session();
    const seen = [s.refreshToken];
    for (let i = 0; i < 3; i++) {
      const r = await refreshGrant(stack, s.clientId, seen.at(-1)!);
      expect(r.status).toBe(200);
      expect(r.json.refresh_token).toMatch(/^mop_rt_/);
      expect(seen).not.toContain(r.json.refresh_token);
      seen.push(r.json.refresh_token);
      expect(await mcpStatus(r.json.access_token)).toBe(200);
    }
    offset += (GRACE + 1) * 1000;
    const old = await refreshGrant(stack, s.clientId, seen[1]!);
    expect(old.status).toBe(400);
    expect(old.json.error).toBe('invalid_grant');
  });

  it('parallel refreshes and a replay inside the grace window get the same successor (one lineage)', async () => {
    const s = await session();
    const [p1, p2] = await Promise.all([refreshGrant(stack, s.clientId, s.refreshToken), refreshGrant(stack, s.clientId, s.refreshToken)]);
    expect([p1.status, p2.status]).toEqual([200, 200]);
    expect(p2.json.refresh_token).toBe(p1.json.refresh_token);
    offset += 1000; // still inside the window
    const again = await refreshGrant(stack, s.clientId, s.refreshToken);
    expect(again.status).toBe(200);
    expect(again.json.refresh_token).toBe(p1.json.refresh_token);
    // Every access token handed out works, and the one successor continues the family.
    for (const r of [p1, p2, again]) expect(await mcpStatus(r.json.access_token)).toBe(200);
    const next = await refreshGrant(stack, s.clientId, p1.json.refresh_token);
    expect(next.status).toBe(200);
    expect(await mcpStatus(next.json.access_token)).toBe(200);
  });

  it('a replay after the grace window is invalid_grant and ends the whole family', async () => {
    const s = await session();
    const revocations = stack.idp.counters.revocation;
    const r1 = await refreshGrant(stack, s.clientId, s.refreshToken);
    expect(r1.status).toBe(200);
    expect(await mcpStatus(s.accessToken)).toBe(200);
    expect(await mcpStatus(r1.json.access_token)).toBe(200);

    offset += (GRACE + 1) * 1000;
    const replay = await refreshGrant(stack, s.clientId, s.refreshToken);
    expect(replay.status).toBe(400);
    expect(replay.json.error).toBe('invalid_grant');

    for (const at of [s.accessToken, r1.json.access_token]) {
      const r = await callToolHttp(stack.mcpUrl, at, 'claims');
      expect(r.status).toBe(401);
      expect(r.wwwAuthenticate).toMatch(/invalid_token/);
    }
    const newest = await refreshGrant(stack, s.clientId, r1.json.refresh_token);
    expect(newest.status).toBe(400);
    expect(newest.json.error).toBe('invalid_grant');
    // Ending the session also dropped and revoked its upstream tokens.
    expect(await stack.instances[0]!.view.get(keys.vault(s.sid, 'upstream'))).toBeUndefined();
    expect(stack.idp.counters.revocation).toBe(revocations + 1);
  });

  it('an expired access token gets 401 (never 403/500) and the SDK client refreshes transparently', async () => {
    const s = await session();
    expect((await callTool(s.client, 'whoami')).sub).toBe('alice');
    const saved = s.provider.savedTokens.length;
    const authorizations = s.provider.authorizationUrls.length;

    offset += (ACCESS_TTL + 1) * 1000;
    const expired = await callToolHttp(stack.mcpUrl, s.accessToken, 'claims');
    expect(expired.status).toBe(401);
    expect(expired.wwwAuthenticate).toMatch(/invalid_token/);

    expect((await callTool(s.client, 'whoami')).sub).toBe('alice');
    expect(s.provider.savedTokens.length).toBe(saved + 1);
    const fresh = s.provider.tokens()!;
    expect(fresh.access_token).not.toBe(s.accessToken);
    expect(fresh.refresh_token).not.toBe(s.refreshToken);
    expect(s.provider.authorizationUrls.length).toBe(authorizations);
  });
});
