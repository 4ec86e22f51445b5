import { escapeHtml, page } from './page.js';

/**
 * An error page for failures that must not redirect (unknown client, bad
 * `redirect_uri`, browser mismatch, store outage). It says what happened and
 * what to do in plain words; `details` (the error code and the technical
 * message) go on a small line below, for whoever helps the person. Everything
 * is escaped. Send it with {@link PAGE_SECURITY_HEADERS} and the error's status.
 *
 * @example
 * ```ts
 * res.status(400).set(PAGE_SECURITY_HEADERS).type('html')
 *   .send(renderErrorPage('This sign-in link is not valid', 'Go back to the app and start signing in again.', 'invalid_request: redirect_uri does not match'));
 * ```
 */
export function renderErrorPage(title: string, message: string, details?: string): string {
  return page(
    title,
    `<h1>${escapeHtml(title)}</h1>
<p role="alert">${escapeHtml(message)}</p>
<p class="muted">Nothing was sent to the app. You can close this window.</p>
${details ? `<p class="muted details">Details: <code>${escapeHtml(details)}</code></p>` : ''}`,
  );
}

/**
 * What an error page says to a person, by OAuth error code and HTTP status:
 * what happened, and what to do. The technical message stays in the details line.
 *
 * @example
 * ```ts
 * const { title, message } = errorPageText('access_denied', 403);
 * ```
 */
export function errorPageText(code: string, status: number): { title: string; message: string } {
  if (status === 503 || code === 'temporarily_unavailable') {
    return {
      title: 'Please try again in a moment',
      message:
        'A service this sign-in needs is not answering right now. Nothing was lost. Wait a moment, then start signing in again from your app.',
    };
  }
  if (status === 429)
    return {
      title: 'Too many attempts',
      message: 'There were too many sign-in attempts from your network. Wait a minute, then start again from your app.',
    };
  if (code === 'invalid_client')
    return {
      title: 'This app is not known here',
      message:
        'The app that sent you here is not registered with this server, or its registration has expired. Go back to the app and connect it to the server again.',
    };
  if (code === 'access_denied' && status === 403)
    return {
      title: 'This sign-in cannot be completed in this browser',
      message:
        'It was started in another browser or window, or this page was open for too long. For your safety it stops here. Go back to your app and start signing in again, in this browser.',
    };
  if (code === 'access_denied')
    return {
      title: 'Sign-in was not completed',
      message:
        "The identity provider did not complete the sign-in. Go back to your app and try again; if it keeps happening, ask the server's operator.",
    };
  if (code === 'server_error')
    return {
      title: 'Something went wrong',
      message: "The server could not finish the sign-in. Try again from your app; if it keeps happening, tell the server's operator.",
    };
  return {
    title: 'This sign-in link is not valid',
    message: 'The link is incomplete, has expired or was already used. Go back to your app and start signing in again.',
  };
}

/**
 * A page that tells a person something went well (local mode: "ERP is now
 * connected"), with what to do next. Everything is escaped.
 *
 * @example
 * ```ts
 * res.status(200).set(PAGE_SECURITY_HEADERS).type('html').send(renderNoticePage('ERP is connected', 'Go back to your app and try again.'));
 * ```
 */
export function renderNoticePage(title: string, message: string): string {
  return page(
    title,
    `<h1>${escapeHtml(title)}</h1>
<p role="status">${escapeHtml(message)}</p>
<p class="muted">You can close this window.</p>`,
  );
}
