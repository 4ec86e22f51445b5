/**
 * A tiny cookie-keeping browser over fetch, enough to click through oidc-provider's devInteractions
 * (login + consent) and the proxy's consent page. One instance = one browser profile (cookie jar).
 * Errors never include cookie values, query strings or tokens.
 */
export interface Cookie {
  name: string;
  value: string;
  path: string;
  expires?: number;
  httpOnly: boolean;
  secure: boolean;
  sameSite: 'strict' | 'lax' | 'none';
}
export interface FormSubmitter {
  name: string;
  value: string;
}
export interface HtmlForm {
  action: string;
  method: 'GET' | 'POST';
  fields: FormSubmitter[];
  submitters: FormSubmitter[];
}

const isLoopback = (u: URL) => ['127.0.0.1', 'localhost', '[::1]'].includes(u.hostname);

/** Cookies per host:port (never shared between ports, unlike real browsers: the IdP and the proxy both use 127.0.0.1). */
export class CookieJar {
  readonly #byHost = new Map<string, Cookie[]>();

  store(url: URL, setCookies: string[]): void {
    const list = this.#byHost.get(url.host) ?? [];
    for (const line of setCookies) {
      const [pair = '', ...attrs] = line.split(';');
      const eq = pair.indexOf('=');
      if (eq < 1) continue;
      const slash = url.pathname.lastIndexOf('/');
      const c: Cookie = {
        name: pair.slice(0, eq).trim(),
        value: pair.slice(eq + 1).trim(),
        path: slash > 0 ? url.pathname.slice(0, slash) : '/',
        httpOnly: false,
        secure: false,
        sameSite: 'lax',
      };
      let maxAge: number | undefined;
      for (const attr of attrs) {
        const [k = '', v = ''] = attr.split('=', 2).map((x) => x.trim());
        const key = k.toLowerCase();
        if (key === 'path' && v.startsWith('/')) c.path = v;
        else if (key === 'max-age' && /^-?\d+$/.test(v)) maxAge = Number(v);
        else if (key === 'expires' && !Number.isNaN(Date.parse(v))) c.expires = Date.parse(v);
        else if (key === 'httponly') c.httpOnly = true;
        else if (key === 'secure') c.secure = true;
        else if (key === 'samesite' && ['strict', 'lax', 'none'].includes(v.toLowerCase()))
          c.sameSite = v.toLowerCase() as Cookie['sameSite'];
      }
      if (maxAge !== undefined) c.expires = Date.now() + maxAge * 1000;
      const at = list.findIndex((o) => o.name === c.name && o.path === c.path);
      if (at >= 0) list.splice(at, 1);
      if (c.expires === undefined || c.expires > Date.now()) list.push(c);
    }
    this.#byHost.set(url.host, list);
  }

  /** Cookies to send on a top-level navigation to `url`. Lax (and unspecified) cookies go on GETs and same-site POSTs. */
  matching(url: URL, ctx: { sameSite: boolean; method: string }): Cookie[] {
    const now = Date.now();
    return (this.#byHost.get(url.host) ?? [])
      .filter((c) => c.expires === undefined || c.expires > now)
      .filter((c) => url.pathname === c.path || url.pathname.startsWith(c.path.endsWith('/') ? c.path : `${c.path}/`))
      .filter((c) => !c.secure || url.protocol === 'https:' || isLoopback(url))
      .filter((c) => c.sameSite === 'none' || ctx.sameSite || (c.sameSite === 'lax' && ctx.method === 'GET'))
      .sort((a, b) => b.path.length - a.path.length);
  }

  header(url: URL, ctx: { sameSite: boolean; method: string }): string {
    return this.matching(url, ctx)
      .map((c) => `${c.name}=${c.value}`)
      .join('; ');
  }

  clear(): void {
    this.#byHost.clear();
  }
}

const decode = (s: string) =>
  s.replace(/&(#x[0-9a-f]+|#\d+|amp|lt|gt|quot|apos);/gi, (_m, e: string) => {
    const k = e.toLowerCase();
    if (k.startsWith('#x')) return String.fromCodePoint(parseInt(k.slice(2), 16));
    if (k.startsWith('#')) return String.fromCodePoint(Number(k.slice(1)));
    return ({ amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" } as Record<string, string>)[k] ?? '';
  });

function attributes(tag: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const m of tag.matchAll(/([^\s=/>]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+)))?/g)) {
    out.set((m[1] ?? '').toLowerCase(), decode(m[2] ?? m[3] ?? m[4] ?? ''));
  }
  return out;
}

/** Regex-grade HTML form parser: inputs, buttons, textareas and selects of every `<form>`. */
export function parseForms(html: string, base: URL): HtmlForm[] {
  return [...html.matchAll(/<form\b([^>]*)>([\s\S]*?)<\/form>/gi)].map((m) => {
    const attrs = attributes(m[1] ?? '');
    const inner = m[2] ?? '';
    const fields: FormSubmitter[] = [];
    const submitters: FormSubmitter[] = [];
    for (const [, tag = ''] of inner.matchAll(/<input\b([^>]*)>/gi)) {
      const a = attributes(tag);
      const type = (a.get('type') ?? 'text').toLowerCase();
      const field = { name: a.get('name') ?? '', value: a.get('value') ?? (type === 'checkbox' ? 'on' : '') };
      if (a.has('disabled') || type === 'button' || type === 'reset') continue;
      if (type === 'submit' || type === 'image') submitters.push(field);
      else if (field.name && (!['checkbox', 'radio'].includes(type) || a.has('checked'))) fields.push(field);
    }
    for (const [, tag = ''] of inner.matchAll(/<button\b([^>]*)>/gi)) {
      const a = attributes(tag);
      if (!a.has('disabled') && (a.get('type') ?? 'submit').toLowerCase() === 'submit') {
        submitters.push({ name: a.get('name') ?? '', value: a.get('value') ?? '' });
      }
    }
    for (const [, tag = '', text = ''] of inner.matchAll(/<textarea\b([^>]*)>([\s\S]*?)<\/textarea>/gi)) {
      const name = attributes(tag).get('name');
      if (name) fields.push({ name, value: decode(text) });
    }
    for (const [, tag = '', options = ''] of inner.matchAll(/<select\b([^>]*)>([\s\S]*?)<\/select>/gi)) {
      const name = attributes(tag).get('name');
      const opts = [...options.matchAll(/<option\b([^>]*)>([^<]*)/gi)].map(([, t = '', label = '']) =>
        attributes(t).set('label', label.trim()),
      );
      const chosen = opts.find((o) => o.has('selected')) ?? opts[0];
      if (name && chosen) fields.push({ name, value: chosen.get('value') ?? chosen.get('label') ?? '' });
    }
    const action = new URL(attrs.get('action') || base.href, base);
    action.hash = '';
    return { action: action.href, method: attrs.get('method')?.toUpperCase() === 'POST' ? 'POST' : 'GET', fields, submitters };
  });
}

function findForm(forms: HtmlForm[], submitter?: FormSubmitter): HtmlForm | undefined {
  if (!submitter) return forms[0];
  return forms.find((f) => f.submitters.some((s) => s.name === submitter.name && s.value === submitter.value));
}

/** Field and button names only: values (csrf, txn) stay out of error messages. */
function describeForms(forms: HtmlForm[]): string {
  if (forms.length === 0) return 'none';
  return forms
    .map(
      (f, i) =>
        `#${i} ${f.method} ${new URL(f.action).pathname} fields=[${f.fields.map((x) => x.name).join(',')}]` +
        ` buttons=[${f.submitters.map((x) => `${x.name}=${x.value}`).join(',')}]`,
    )
    .join('; ');
}

export interface Page {
  url: URL;
  status: number;
  headers: Headers;
  body: string;
  /** Requests made to get here, as `METHOD origin+path → status` (no query strings). */
  steps: string[];
}

export interface NavigateOptions {
  /** Stop before requesting the first URL for which this returns true. */
  stopAt?: (url: URL) => boolean;
  /** Throw on a final status >= 400. Default false for get()/submitForm(). */
  throwOnError?: boolean;
  maxRedirects?: number;
}

export interface AuthorizeOptions {
  login: string;
  password?: string;
  /** Decision on the proxy's consent page. Default 'approve'. */
  consent?: 'approve' | 'deny';
  stopAt: (url: URL) => boolean;
  /** Page loads + form posts + redirects allowed. Default 25. */
  maxSteps?: number;
}

interface Req {
  url: URL;
  method: 'GET' | 'POST';
  body?: URLSearchParams;
  initiator?: URL;
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);

/** Strips tags and squeezes whitespace: a short, token-free excerpt for error messages. */
export function textExcerpt(html: string, max = 200): string {
  const text = html
    .replace(/<(script|style)[\s\S]*?<\/\1>/gi, ' ')
    .replace(/<[^>]*>/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
  return text.length > max ? `${text.slice(0, max)}…` : text;
}

const where = (u: URL) => `${u.origin}${u.pathname}`;

export class TestBrowser {
  readonly jar = new CookieJar();

  /** A separate browser (empty cookie jar). */
  fork(): TestBrowser {
    return new TestBrowser();
  }

  /** Cookies the jar would send to `url` on a same-site request (for assertions on attributes). */
  cookies(url: string | URL): Cookie[] {
    return this.jar.matching(new URL(url), { sameSite: true, method: 'GET' });
  }

  /** Top-level GET navigation, following redirects. Returns the final page, or the stopped URL. */
  async get(url: string | URL, options: NavigateOptions = {}): Promise<Page & { stoppedAt?: URL }> {
    return this.navigate({ url: new URL(url), method: 'GET' }, options);
  }

  /**
   * Submits form `formIndex` (default: the first form with a matching submitter, else the first)
   * of `html` loaded from `pageUrl`, with its own fields overridden by `fields`.
   */
  async submitForm(
    pageUrl: string | URL,
    html: string,
    fields: Record<string, string> = {},
    options: NavigateOptions & { formIndex?: number; submitter?: FormSubmitter } = {},
  ): Promise<Page & { stoppedAt?: URL }> {
    const base = new URL(pageUrl);
    const forms = parseForms(html, base);
    const form = options.formIndex !== undefined ? forms[options.formIndex] : findForm(forms, options.submitter);
    if (!form) throw new Error(`submitForm: no such form on ${where(base)} (${describeForms(forms)})`);
    return this.navigate(this.formRequest(form, fields, options.submitter, base), options);
  }

  /**
   * Drives a whole authorization: follows redirects, signs in at the IdP, approves the IdP's consent,
   * answers the proxy's consent page, and returns the first URL matching `stopAt` without requesting it.
   */
  async authorize(authorizeUrl: string | URL, options: AuthorizeOptions): Promise<{ url: URL; steps: string[] }> {
    const steps: string[] = [];
    const maxSteps = options.maxSteps ?? 25;
    let req: Req = { url: new URL(authorizeUrl), method: 'GET' };
    while (steps.length < maxSteps) {
      const page = await this.navigate(req, { stopAt: options.stopAt, throwOnError: true, maxRedirects: maxSteps - steps.length });
      steps.push(...page.steps);
      if (page.stoppedAt) return { url: page.stoppedAt, steps };
      const forms = parseForms(page.body, page.url);
      const next = this.nextAction(forms, options);
      if (!next) {
        throw new Error(
          `authorize: unexpected page ${page.status} at ${where(page.url)}: ${textExcerpt(page.body)}` +
            ` [forms: ${describeForms(forms)}] after ${steps.length} steps`,
        );
      }
      req = this.formRequest(next.form, next.fields, next.submitter, page.url);
    }
    throw new Error(`authorize: gave up after ${steps.length} steps:\n  ${steps.join('\n  ')}`);
  }

  private nextAction(
    forms: HtmlForm[],
    options: AuthorizeOptions,
  ): { form: HtmlForm; fields: Record<string, string>; submitter?: FormSubmitter } | undefined {
    for (const form of forms) {
      const names = new Set(form.fields.map((f) => f.name));
      const prompt = form.fields.find((f) => f.name === 'prompt')?.value;
      if (prompt === 'login' || (names.has('login') && names.has('password'))) {
        return { form, fields: { login: options.login, password: options.password ?? 'any-password' } };
      }
      if (prompt === 'consent') return { form, fields: {} };
      const decision = form.submitters.find((s) => s.name === 'decision' && s.value === (options.consent ?? 'approve'));
      if (decision) return { form, fields: {}, submitter: decision };
    }
    return undefined;
  }

  private formRequest(form: HtmlForm, fields: Record<string, string>, submitter: FormSubmitter | undefined, page: URL): Req {
    const data = new URLSearchParams();
    const overridden = new Set(Object.keys(fields));
    for (const f of form.fields) if (!overridden.has(f.name)) data.append(f.name, f.value);
    for (const [k, v] of Object.entries(fields)) data.append(k, v);
    if (submitter?.name) data.append(submitter.name, submitter.value);
    if (form.method === 'GET') {
      const url = new URL(form.action);
      url.search = data.toString();
      return { url, method: 'GET', initiator: page };
    }
    return { url: new URL(form.action), method: 'POST', body: data, initiator: page };
  }

  private async navigate(first: Req, options: NavigateOptions): Promise<Page & { stoppedAt?: URL }> {
    const steps: string[] = [];
    const maxRedirects = options.maxRedirects ?? 20;
    let req = first;
    // Strict cookies need the whole chain to be same-site; a typed URL (no initiator) counts as same-site.
    let chainSameSite = true;
    for (;;) {
      if (options.stopAt?.(req.url)) {
        return { url: req.url, status: 0, headers: new Headers(), body: '', steps, stoppedAt: req.url };
      }
      chainSameSite &&= !req.initiator || req.initiator.hostname === req.url.hostname;
      const headers = new Headers({ 'user-agent': 'mcp-oauth-proxy-test-browser', accept: 'text/html,application/json;q=0.9,*/*;q=0.8' });
      const cookie = this.jar.header(req.url, { sameSite: chainSameSite, method: req.method });
      if (cookie) headers.set('cookie', cookie);
      if (req.body) headers.set('content-type', 'application/x-www-form-urlencoded');
      if (req.initiator && req.method === 'POST') headers.set('origin', req.initiator.origin);
      const res = await fetch(req.url, { method: req.method, headers, body: req.body?.toString(), redirect: 'manual' });
      this.jar.store(req.url, res.headers.getSetCookie());
      steps.push(`${req.method} ${where(req.url)} → ${res.status}`);
      const location = res.headers.get('location');
      if (REDIRECTS.has(res.status) && location) {
        await res.arrayBuffer();
        if (steps.length > maxRedirects) throw new Error(`too many redirects:\n  ${steps.join('\n  ')}`);
        const keep = res.status === 307 || res.status === 308;
        req = {
          url: new URL(location, req.url),
          method: keep ? req.method : 'GET',
          ...(keep && req.body ? { body: req.body } : {}),
          initiator: req.initiator ?? req.url,
        };
        continue;
      }
      const body = await res.text();
      if (options.throwOnError && res.status >= 400) {
        throw new Error(
          `${req.method} ${where(req.url)} failed with HTTP ${res.status}: ${textExcerpt(body)}` + `\n  steps:\n  ${steps.join('\n  ')}`,
        );
      }
      return { url: req.url, status: res.status, headers: res.headers, body, steps };
    }
  }
}
