/**
 * Creating live sessions cheaply for the memory benchmark, through the proxy's
 * own services in the order the callback and token endpoints call them, and a
 * store wrapper that records which keys a real HTTP sign-in leaves behind (to
 * prove the cheap path leaves the same ones).
 */
import { randomBytes } from 'node:crypto';
import type { SessionData, Store as SessionStore } from 'express-session';
import { createContext, type ProxyContext } from '../lib/context.js';
import { parseOptions, type OAuthProxyOptions } from '../lib/options.js';
import { MemoryStore, type Store } from '../lib/index.js';
import { randomToken, sha256 } from '../lib/crypto.js';
import { keys } from '../lib/stores/keys.js';

/** A logger that drops warnings (the bench's options are deliberately not production ones) and prints errors. */
export const quiet = { warn: () => {}, error: (o: unknown, m?: string) => console.error(m, o) };

/** The key's kind: after the proxy's namespace (`i<12 chars>:`), what comes before the next ':' (e.g. `sess`, `vault`, `rt`, `code-used`, `bsess`). */
export const kindOf = (key: string) => {
  const rest = key.replace(/^i[\w-]{12}:/, '');
  return rest.slice(0, rest.indexOf(':'));
};

/** A MemoryStore that also remembers which keys are live (written and not taken or deleted). Calibration only. */
export class RecordingStore extends MemoryStore {
  readonly live = new Set<string>();
  override async set(key: string, value: string, ttlMs: number) {
    await super.set(key, value, ttlMs);
    this.live.add(key);
  }
  override async add(key: string, value: string, ttlMs: number) {
    const ok = await super.add(key, value, ttlMs);
    if (ok) this.live.add(key);
    return ok;
  }
  override async take(key: string) {
    this.live.delete(key);
    return super.take(key);
  }
  override async delete(key: string) {
    this.live.delete(key);
    return super.delete(key);
  }
  override async deleteIf(key: string, value: string) {
    const ok = await super.deleteIf(key, value);
    if (ok) this.live.delete(key);
    return ok;
  }
  /** Live key kinds and their counts. */
  kinds(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const k of this.live) out[kindOf(k)] = (out[kindOf(k)] ?? 0) + 1;
    return out;
  }
}

/** The proxy's services on a given store, as createOAuthProxy() wires them (no HTTP). */
export function services(store: Store, extra: Partial<OAuthProxyOptions> = {}): ProxyContext {
  return createContext(
    parseOptions({
      issuer: 'http://127.0.0.1:9/oauth',
      provider: 'http://127.0.0.1:9',
      clientId: 'bench-proxy',
      clientSecret: 'bench-proxy-upstream-secret',
      scopes: ['profile'],
      providerConfig: { id: 'upstream' },
      secret: 'bench-signing-secret-0123456789-abcdefghijk',
      encryptionKey: 'bench-vault-key-0123456789-abcdefghijklmnopq',
      consent: { enabled: false },
      logger: quiet,
      ...extra,
      store,
    }),
  );
}

/** What the stub upstream hands one sign-in: fresh random tokens and claims (random per session, like the stub's). */
function fakeSignIn(ctx: ProxyContext) {
  const now = ctx.clock();
  const n = randomBytes(6).toString('hex');
  const tokens = {
    access_token: `up_at_${randomBytes(16).toString('base64url')}`,
    token_type: 'bearer',
    refresh_token: `up_rt_${randomBytes(16).toString('base64url')}`,
    expires_at: Math.floor(now / 1000) + 3600,
    scope: 'profile',
  };
  const claims = { sub: `bench-user-${n}`, name: 'Bench User', email: `user${n}@bench.example` };
  return { pid: ctx.upstreams.primary.id, tokens, claims, clientId: 'mop_client_benchbenchbenchbenchbenc' };
}

/**
 * Creates one live session as a real sign-in does: what `GET /callback` writes
 * (sealed upstream tokens, session record, one-time code), what `POST /token`
 * does with it (atomic code consume + used marker, session and vault rewritten
 * with their full TTLs, refresh token record), and the browser-session record
 * the browser leg leaves (serialised like a real one, through the same adapter).
 * Values are random per session, like the stub upstream's.
 */
export async function createSession(
  ctx: ProxyContext,
  browser: { store: SessionStore; template: SessionData },
  o: { apps?: number; out?: { browserSid?: string } } = {},
): Promise<string> {
  const { pid, tokens, claims, clientId } = fakeSignIn(ctx);
  // callback.ts
  const holdMs = ctx.options.codeTtl * 1000 * 5;
  const local = (o.apps ?? 1) > 1; // local mode keeps each app's sign-in claims with its tokens
  const { sid } = await ctx.grants.create({ clientId, scope: 'profile', providerId: pid, tokens, claims }, holdMs, local);
  const code = await ctx.codes.issue({
    sid,
    clientId,
    redirectUri: 'http://127.0.0.1:9/callback',
    codeChallenge: randomToken(ctx.random),
    scope: 'profile',
  });
  // token.ts (authorization_code grant)
  const consumed = await ctx.codes.consume(code);
  await ctx.grants.activate(consumed.sid);
  await ctx.refreshTokens.issue({ sid, clientId, scope: consumed.scope });
  // Linked apps (local mode, issue 10): each app's sealed tokens and sign-in claims under the same sid, written
  // by Grants.linkApp() as a step-up's callback writes them.
  for (let app = 2; app <= (o.apps ?? 1); app++) {
    const more = {
      ...tokens,
      access_token: `up_at_${randomBytes(16).toString('base64url')}`,
      refresh_token: `up_rt_${randomBytes(16).toString('base64url')}`,
    };
    await ctx.grants.linkApp(sid, `${pid}-app${app}`, { tokens: more, claims: { ...claims, sub: `${claims.sub}-app${app}` } });
  }
  // browser leg: one express-session record per browser that signed in
  const browserSid = randomBytes(24).toString('base64url');
  const data = JSON.parse(JSON.stringify(browser.template)) as SessionData;
  // express-session hands stores a Cookie whose `maxAge` is a getter (not serialised); the adapter's TTL reads it.
  Object.defineProperty(data.cookie, 'maxAge', { value: data.cookie.originalMaxAge, enumerable: false });
  await new Promise<void>((resolve, reject) => browser.store.set(browserSid, data, (err?: unknown) => (err ? reject(err) : resolve())));
  if (o.out) o.out.browserSid = browserSid;
  return sid;
}

/** The browser-session store the proxy uses (under its namespace). */
export const browserStore = (ctx: ProxyContext): SessionStore => ctx.store.sessionStore();

/**
 * The state a completed sign-in leaves, written once each through the same services and store API
 * (sealed vault record, session record, refresh-token record, used-code marker, browser session), all
 * at once: no intermediate writes (the callback's short-lived first copies, the code itself). For
 * populating a store with a million sessions in minutes; {@link createSession} is the faithful path.
 */
export async function createLiveSession(ctx: ProxyContext, browser: { store: SessionStore; template: SessionData }): Promise<string> {
  const { pid, tokens, claims, clientId } = fakeSignIn(ctx);
  const data = JSON.parse(JSON.stringify(browser.template)) as SessionData;
  Object.defineProperty(data.cookie, 'maxAge', { value: data.cookie.originalMaxAge, enumerable: false });
  // The grant record and its sealed tokens, written once with their full lifetime (Grants owns both).
  const { sid } = await ctx.grants.create(
    { clientId, scope: 'profile', providerId: pid, tokens, claims },
    ctx.options.refreshTokenTtl * 1000,
  );
  await Promise.all([
    ctx.refreshTokens.issue({ sid, clientId, scope: 'profile' }),
    ctx.store.set(keys.codeUsed(sha256(randomToken(ctx.random, 'mop_code_'))), sid, ctx.options.codeTtl * 1000 * 10),
    new Promise<void>((resolve, reject) =>
      browser.store.set(randomBytes(24).toString('base64url'), data, (err?: unknown) => (err ? reject(err) : resolve())),
    ),
  ]);
  return sid;
}
