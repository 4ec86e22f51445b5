import { z } from 'zod';
import type { Sealer } from '../vault/seal.js';

const ticketSchema = z.object({ v: z.literal(1), sid: z.string(), clientId: z.string(), app: z.string(), exp: z.number() });

/** Internal: what a link ticket stands for: link `app` to the grant `sid` of `clientId`. */
export type LinkTicket = Omit<z.output<typeof ticketSchema>, 'v' | 'exp'>;

const AAD = 'app-link-ticket';

/**
 * Internal: the `link` parameter of `<issuer>/authorize?app=<id>&link=…`, the
 * URL an `AuthorizationRequiredError` shows a person. It is sealed (AES-256-GCM
 * under a key of its own derived from `encryptionKey`), so it reveals no session
 * id and cannot be forged, and it expires. It only says which grant to extend:
 * the browser that opens it must hold that grant, or prove the grant's subject
 * by signing in at the identity app first (see the authorize endpoint).
 */
export class LinkTickets {
  readonly #sealer: Sealer;
  readonly #clock: () => number;
  readonly #ttlMs: number;
  readonly #authorizeUrl: string;

  constructor(d: { sealer: Sealer; clock: () => number; ttlMs: number; authorizeUrl: string }) {
    this.#sealer = d.sealer;
    this.#clock = d.clock;
    this.#ttlMs = d.ttlMs;
    this.#authorizeUrl = d.authorizeUrl;
  }

  /** The URL a person opens to link `app` to this grant. */
  url(t: LinkTicket): string {
    const sealed = this.#sealer.seal(JSON.stringify({ v: 1, ...t, exp: this.#clock() + this.#ttlMs }), AAD);
    const u = new URL(this.#authorizeUrl);
    u.searchParams.set('app', t.app);
    u.searchParams.set('link', sealed);
    return u.href;
  }

  /** The ticket, or `undefined` when it is forged, tampered with, expired or sealed under a retired key. */
  open(sealed: string): LinkTicket | undefined {
    const plain = this.#sealer.open(sealed, AAD);
    if (plain === undefined) return undefined;
    let parsed;
    try {
      parsed = ticketSchema.safeParse(JSON.parse(plain));
    } catch {
      return undefined;
    }
    if (!parsed.success || parsed.data.exp <= this.#clock()) return undefined;
    return { sid: parsed.data.sid, clientId: parsed.data.clientId, app: parsed.data.app };
  }
}
