/** Internal: the public URLs the proxy serves, all derived from `issuer` and `resource`. */
export interface ProxyUrls {
  issuer: string;
  authorize: string;
  callback: string;
  consent: string;
  token: string;
  register: string;
  revoke: string;
  /** The protected resource (token audience). */
  resource: string;
  /** Absolute URL of the RFC 9728 document for `resource` (what the 401 points at). */
  resourceMetadata: string;
  /** Path of the RFC 8414 document under the app root (path-inserted form). */
  asMetadataPath: string;
  /** Path of the RFC 9728 document under the app root (path-inserted form). */
  resourceMetadataPath: string;
  /** Cookie path for the browser leg: the issuer's path. */
  cookiePath: string;
  secureCookies: boolean;
}

/** Internal: derives every public URL from `issuer` and `resource`. */
export function deriveUrls(o: { issuer: string; resource?: string | undefined }): ProxyUrls {
  const issuer = o.issuer;
  const iu = new URL(issuer);
  const resource = o.resource ?? new URL('/mcp', iu.origin).href;
  const ru = new URL(resource);
  const rpath = ru.pathname === '/' ? '' : ru.pathname;
  const ipath = iu.pathname === '/' ? '' : iu.pathname;
  return {
    issuer,
    authorize: `${issuer}/authorize`,
    callback: `${issuer}/callback`,
    consent: `${issuer}/consent`,
    token: `${issuer}/token`,
    register: `${issuer}/register`,
    revoke: `${issuer}/revoke`,
    resource,
    resourceMetadata: `${ru.origin}/.well-known/oauth-protected-resource${rpath}`,
    asMetadataPath: `/.well-known/oauth-authorization-server${ipath}`,
    resourceMetadataPath: `/.well-known/oauth-protected-resource${rpath}`,
    cookiePath: ipath || '/',
    secureCookies: iu.protocol === 'https:',
  };
}
