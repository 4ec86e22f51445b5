/**
 * Internal: what the token stores need from the owner of a grant's lifecycle
 * (`Grants`), declared here so that tokens depend on no layer beside them.
 */
export interface GrantLifecycle {
  /** Whether the grant still exists. */
  exists(sid: string): Promise<boolean>;
  /** Renews the grant; resolves to `undefined` when it has ended. */
  slide(sid: string): Promise<object | undefined>;
  /** Ends the grant everywhere, logging instead of throwing (replay detection). */
  endQuietly(sid: string, reason: string): Promise<void>;
}
