import type { UpstreamIdentity, UpstreamProfileInput, UpstreamRevocationInput } from '../options.js';
import { UpstreamRefused, UpstreamTransient } from '../upstream/errors.js';
import { withOverrides, type PresetOptions, type UpstreamPreset } from './preset.js';

/**
 * Options of {@link github}.
 *
 * @example
 * ```ts
 * providers.github({ clientId: process.env.GITHUB_CLIENT_ID!, clientSecret: process.env.GITHUB_CLIENT_SECRET! });
 * ```
 */
export interface GitHubPresetOptions extends PresetOptions {
  clientId: string;
  clientSecret: string;
  /** Where people sign in. Default `https://github.com`; GitHub Enterprise Server: its URL. */
  baseUrl?: string;
  /** The REST API. Default `https://api.github.com`, or `<baseUrl>/api/v3` when `baseUrl` is given. */
  apiUrl?: string;
}

const API_HEADERS = { accept: 'application/vnd.github+json', 'x-github-api-version': '2022-11-28', 'user-agent': 'mcp-oauth-proxy' };

/**
 * GitHub (an OAuth App, or a GitHub App's user tokens) as the upstream. GitHub is OAuth 2.0
 * without OIDC: no discovery, no id_token, a profile API with a numeric `id`, token answers
 * form-encoded unless asked for JSON and errors with HTTP 200 (the proxy normalises both).
 * Identity: `sub` is the user's numeric id as a string (stable; logins can be renamed), plus
 * `login`, `name` and `email` (the primary verified address when the profile hides it).
 * Refresh: GitHub issues refresh tokens only when the app has expiring user tokens on.
 * Revocation: the app's grant for the user is deleted (`DELETE /applications/{client_id}/grant`).
 *
 * @example
 * ```ts
 * createOAuthProxy({ issuer, ...providers.github({ clientId, clientSecret }), secret, encryptionKey });
 * // in a tool: const gh = await req.upstreamTokens!.getToken('github');
 * ```
 */
export function github(o: GitHubPresetOptions): UpstreamPreset {
  const baseUrl = (o.baseUrl ?? 'https://github.com').replace(/\/+$/, '');
  const apiUrl = (o.apiUrl ?? (o.baseUrl ? `${baseUrl}/api/v3` : 'https://api.github.com')).replace(/\/+$/, '');
  return withOverrides(
    {
      provider: baseUrl,
      clientId: o.clientId,
      clientSecret: o.clientSecret,
      scopes: ['read:user', 'user:email'],
      providerConfig: {
        id: 'github',
        skipDiscovery: true,
        issuer: baseUrl,
        authEndpoint: `${baseUrl}/login/oauth/authorize`,
        tokenEndpoint: `${baseUrl}/login/oauth/access_token`,
        userInfoEndpoint: `${apiUrl}/user`,
        // GitHub documents the client credentials as body parameters.
        tokenEndpointAuthMethod: 'client_secret_post',
        profile: (input) => githubProfile(apiUrl, input),
        revoke: (input) => deleteGrant(baseUrl, apiUrl, input),
      },
    },
    o,
  );
}

async function githubProfile(apiUrl: string, { userinfo, tokens, fetch }: UpstreamProfileInput): Promise<UpstreamIdentity> {
  const id = userinfo?.id;
  if (typeof id !== 'number' && typeof id !== 'string')
    throw new UpstreamRefused('access_denied', 'The GitHub user API answered without a user id');
  let email = typeof userinfo?.email === 'string' ? userinfo.email : undefined;
  if (!email) email = await primaryEmail(apiUrl, tokens.access_token, fetch);
  return {
    sub: String(id),
    login: userinfo?.login,
    ...(typeof userinfo?.name === 'string' ? { name: userinfo.name } : {}),
    ...(email ? { email, email_verified: true } : {}),
  };
}

/** The primary verified address, when the token may read it (`user:email`); otherwise none. */
async function primaryEmail(apiUrl: string, accessToken: string, fetchImpl: typeof fetch): Promise<string | undefined> {
  let res: Response;
  try {
    res = await fetchImpl(`${apiUrl}/user/emails`, {
      headers: { ...API_HEADERS, authorization: `Bearer ${accessToken}` },
      signal: AbortSignal.timeout(10_000),
    });
  } catch (err) {
    throw new UpstreamTransient("The GitHub API could not be reached for the user's e-mail addresses", { cause: err });
  }
  if (res.status >= 500 || res.status === 429)
    throw new UpstreamTransient(`The GitHub API answered ${res.status} for the user's e-mail addresses`);
  if (!res.ok) {
    await res.arrayBuffer();
    return undefined;
  }
  const list = (await res.json().catch(() => [])) as Array<{ email?: unknown; primary?: unknown; verified?: unknown }>;
  const found = Array.isArray(list)
    ? list.find((e) => e.primary === true && e.verified === true && typeof e.email === 'string')
    : undefined;
  return found?.email as string | undefined;
}

/**
 * GitHub's revocation: delete the app's whole grant for the user (every token of it), authenticated
 * as the app. The API wants a valid access token; when the stored one has expired, the refresh
 * token buys one first, so that an idle session's 6-month refresh token does not outlive the logout.
 */
async function deleteGrant(baseUrl: string, apiUrl: string, input: UpstreamRevocationInput): Promise<void> {
  const { tokens, clientId, clientSecret, fetch, now } = input;
  let accessToken = tokens.access_token;
  if (tokens.refresh_token && (!accessToken || (tokens.expires_at !== undefined && tokens.expires_at <= now))) {
    accessToken = (await refreshed(baseUrl, input)) ?? accessToken;
  }
  if (!accessToken) throw new Error('GitHub grant deletion needs an access token, and none is stored or obtainable');
  const basic = Buffer.from(`${clientId}:${clientSecret ?? ''}`).toString('base64');
  const res = await fetch(`${apiUrl}/applications/${encodeURIComponent(clientId)}/grant`, {
    method: 'DELETE',
    headers: { ...API_HEADERS, authorization: `Basic ${basic}`, 'content-type': 'application/json' },
    body: JSON.stringify({ access_token: accessToken }),
    signal: AbortSignal.timeout(10_000),
  });
  await res.arrayBuffer();
  // 404: the grant is already gone (the user revoked it, or the token expired). Nothing left to do.
  if (res.status !== 204 && res.status !== 404) throw new Error(`GitHub grant deletion answered ${res.status}`);
}

/** A fresh access token from the refresh token (GitHub's token endpoint, JSON asked for), or undefined when GitHub refuses. */
async function refreshed(baseUrl: string, { tokens, clientId, clientSecret, fetch }: UpstreamRevocationInput): Promise<string | undefined> {
  const res = await fetch(`${baseUrl}/login/oauth/access_token`, {
    method: 'POST',
    headers: { accept: 'application/json', 'content-type': 'application/x-www-form-urlencoded', 'user-agent': API_HEADERS['user-agent'] },
    body: new URLSearchParams({
      grant_type: 'refresh_token',
      refresh_token: tokens.refresh_token!,
      client_id: clientId,
      client_secret: clientSecret ?? '',
    }).toString(),
    signal: AbortSignal.timeout(10_000),
  });
  const body = (await res.json().catch(() => ({}))) as { access_token?: unknown };
  return typeof body.access_token === 'string' ? body.access_token : undefined;
}
