import { OFFLINE_ACCESS, type ResolvedApp } from '../options.js';

/** Internal: what an authorization request asks for, in local mode. */
export interface AppRequest {
  /** Apps to offer, in order: required ones first, then the asked-for ones (all when the request names none). */
  offered: string[];
  /** Top-level proxy scopes granted beside the apps. */
  extras: string[];
  /** Whether `offline_access` was asked for (always known; the proxy issues refresh tokens anyway). */
  offline: boolean;
}

/**
 * Internal: the apps of one proxy and the arithmetic between apps and proxy
 * scopes (local mode). Each app has one proxy scope; the token's `scope` holds
 * the scopes of the apps granted plus the top-level proxy scopes, and its
 * `authorized_apps` is always derived from the grant's vault, never from a request.
 */
export class AppCatalog {
  /** `true` in local mode (several apps, `authorized_apps` in tokens). */
  readonly local: boolean;
  readonly incremental: boolean;
  readonly #apps: readonly ResolvedApp[];
  readonly #byId: ReadonlyMap<string, ResolvedApp>;
  readonly #byScope: ReadonlyMap<string, ResolvedApp>;
  readonly #extras: readonly string[];

  constructor(o: {
    mode: 'remote' | 'local';
    apps: readonly ResolvedApp[];
    scopes: readonly string[];
    incrementalAuth: { enabled: boolean };
  }) {
    this.local = o.mode === 'local';
    this.incremental = this.local && o.incrementalAuth.enabled;
    this.#apps = o.apps;
    this.#byId = new Map(o.apps.map((a) => [a.id, a]));
    this.#byScope = new Map(o.apps.filter((a) => a.scope !== undefined).map((a) => [a.scope!, a]));
    this.#extras = this.local ? o.scopes.filter((s) => !this.#byScope.has(s)) : [];
  }

  get(id: string): ResolvedApp | undefined {
    return this.#byId.get(id);
  }

  /** Every app, in configuration order. */
  all(): readonly ResolvedApp[] {
    return this.#apps;
  }

  /** What a client needs at least (local mode): the required apps' scopes and the top-level proxy scopes. */
  baseline(): string[] {
    return [...this.#apps.filter((a) => a.required).map((a) => a.scope!), ...this.#extras];
  }

  /** The proxy scope of an app (local mode). */
  scopeOf(id: string): string {
    return this.#byId.get(id)?.scope ?? id;
  }

  /**
   * Reads a request's `scope` (and `app`, a shorthand for its scope). Unknown
   * scopes are refused, never dropped: a dropped scope makes a step-up loop.
   */
  request(scope: string | undefined, app: string | undefined): AppRequest | { unknown: string[] } {
    const asked = [...new Set((scope ?? '').split(' ').filter(Boolean))];
    if (app !== undefined) {
      const a = this.#byId.get(app);
      if (!a) return { unknown: [`app=${app}`] };
      asked.push(a.scope!);
    }
    const unknown = asked.filter((s) => s !== OFFLINE_ACCESS && !this.#byScope.has(s) && !this.#extras.includes(s));
    if (unknown.length) return { unknown };
    const named = new Set(asked.map((s) => this.#byScope.get(s)?.id).filter((id): id is string => id !== undefined));
    const offered = this.order(this.#apps.filter((a) => a.required || named.size === 0 || named.has(a.id)).map((a) => a.id));
    const extrasAsked = asked.filter((s) => this.#extras.includes(s));
    return { offered, extras: extrasAsked.length ? extrasAsked : [...this.#extras], offline: asked.includes(OFFLINE_ACCESS) };
  }

  /** Required apps first (they give the session its subject), then the rest, each in configuration order. */
  order(ids: Iterable<string>): string[] {
    const set = new Set(ids);
    const inOrder = this.#apps.filter((a) => set.has(a.id));
    return [...inOrder.filter((a) => a.required), ...inOrder.filter((a) => !a.required)].map((a) => a.id);
  }

  /** The token scope for these linked apps and granted extras. */
  scopeFor(apps: Iterable<string>, extras: readonly string[], offline: boolean): string {
    const appScopes = this.order(apps).map((id) => this.scopeOf(id));
    return [...new Set([...appScopes, ...extras, ...(offline ? [OFFLINE_ACCESS] : [])])].join(' ');
  }

  /** Splits a granted scope into its extras and whether it holds `offline_access` (the app scopes are recomputed from the vault). */
  nonAppScopes(scope: string): { extras: string[]; offline: boolean } {
    const list = scope.split(' ').filter(Boolean);
    return { extras: list.filter((s) => this.#extras.includes(s)), offline: list.includes(OFFLINE_ACCESS) };
  }

  /** The apps of `linked` whose scope `scope` holds: the token's `authorized_apps`. */
  authorized(scope: string, linked: readonly string[]): string[] {
    const granted = new Set(scope.split(' '));
    return this.order(linked.filter((id) => granted.has(this.scopeOf(id))));
  }
}
