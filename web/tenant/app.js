// Shared code for the hosted pages of one tenant (served at /t/{slug}/): the pages' client of
// the tenant API, tenant configuration and page chrome, and error messages a person can act
// on. The API, the passkey ceremonies and the session's tokens are the JavaScript SDK's
// (sdk/js/latchkey.js, served beside this file). Plain ES modules, no build step.

import { Latchkey, localStorageTokens } from './latchkey.js';

/** The tenant's slug, from `/t/{slug}/…`. */
export const slug = location.pathname.split('/')[2] ?? '';

/** `/t/{slug}/`, the base every page, asset and API path hangs from. */
export const base = `/t/${slug}/`;

const flashKey = `latchkey.${slug}.flash`;

/**
 * This tenant's session: `{ accessToken, refreshToken, expiresAt }` in `localStorage` under
 * `latchkey.{slug}.tokens`, the key an app on this origin gives the SDK to share it.
 */
export const storedTokens = localStorageTokens(`latchkey.${slug}.tokens`);

/** The pages' one client: it shares refreshes between callers, and with other tabs under a Web Lock. */
export const latchkey = new Latchkey({ issuer: `${location.origin}/t/${slug}`, storage: storedTokens });

// ---------------------------------------------------------------------------------------
// Tenant configuration and page chrome

/**
 * Loads `config.json` and applies the tenant's name and colour to the page: the `h1` with
 * `data-tenant-name`, the document title (`{page} · {name}`) and the `--brand` property.
 */
export async function loadConfig(pageTitle) {
  const response = await fetch(`${base}config.json`, { headers: { accept: 'application/json' } });
  if (!response.ok) throw new Error(`config.json answered ${response.status}`);
  const config = await response.json();
  for (const element of document.querySelectorAll('[data-tenant-name]')) {
    element.textContent = config.name;
  }
  document.title = pageTitle ? `${pageTitle} · ${config.name}` : config.name;
  if (typeof config.primaryColor === 'string' && /^#[0-9a-f]{3,8}$/i.test(config.primaryColor)) {
    document.documentElement.style.setProperty('--brand', config.primaryColor);
  }
  return config;
}

// ---------------------------------------------------------------------------------------
// Status region

let statusRegion = null;

/**
 * Shows a message in the page's `#status` live region. `kind` is `info`, `success` or
 * `error`; an empty message clears the region.
 */
export function showStatus(message, kind = 'info') {
  statusRegion ??= document.getElementById('status');
  if (!statusRegion) return;
  statusRegion.dataset.kind = message ? kind : '';
  statusRegion.textContent = message ?? '';
}

/** Shows an error's message (see `describeError`) unless it is a deliberate abort. */
export function showError(error, context) {
  const message = describeError(error, context);
  if (message) showStatus(message, 'error');
  else showStatus('');
}

/** Keeps a message for the next page of this tenant (shown once by `showFlash`). */
export function setFlash(message, kind = 'info') {
  try {
    sessionStorage.setItem(flashKey, JSON.stringify({ message, kind }));
  } catch {
    // Storage can be unavailable (private modes, quotas); a lost notice is not worth failing for.
  }
}

/** Shows and forgets the message left by `setFlash`, if any. */
export function showFlash() {
  try {
    const raw = sessionStorage.getItem(flashKey);
    if (!raw) return;
    sessionStorage.removeItem(flashKey);
    const { message, kind } = JSON.parse(raw);
    showStatus(message, kind);
  } catch {
    // See setFlash.
  }
}

// ---------------------------------------------------------------------------------------
// The signed-in person

/** Ends this page's session locally and goes to the sign-in page with a notice. */
export function signedOutRedirect(message = 'Your session has ended. Please sign in again.') {
  storedTokens.save(null);
  setFlash(message, 'info');
  location.assign(base);
}

/**
 * Runs `call` (an SDK call that needs the session) as the signed-in person. When nobody is
 * signed in, or the session has ended (the SDK refreshed a refused access token once, and
 * that failed too), the stored tokens are cleared and the browser goes to the sign-in page.
 * The returned promise then never settles.
 */
export async function asSignedIn(call) {
  if (!storedTokens.load()) {
    signedOutRedirect('Please sign in.');
    return new Promise(() => {});
  }
  try {
    return await call();
  } catch (error) {
    if (error?.code !== 'UNAUTHENTICATED') throw error;
    signedOutRedirect();
    return new Promise(() => {});
  }
}

/** Runs a GraphQL operation as the signed-in person; see `asSignedIn`. */
export function authenticated(query, variables) {
  return asSignedIn(() => latchkey.graphql(query, variables));
}

/** Whether this browser has WebAuthn at all. */
export function passkeysSupported() {
  return typeof window.PublicKeyCredential === 'function' && !!navigator.credentials;
}

// ---------------------------------------------------------------------------------------
// Errors

function seconds(n) {
  const value = Math.max(1, Math.ceil(Number(n) || 1));
  return `${value} second${value === 1 ? '' : 's'}`;
}

/** What went wrong with an emailed code or its proof (`BAD_USER_INPUT` about those fields). */
function describeProofError(error, context) {
  switch (error.field) {
    case 'code': {
      // The server says how many tries are left ("is wrong; 4 tries left"), or that it was the last.
      const message = error.message ?? '';
      const left = /(\d+)\s+(?:more\s+)?(?:tries|try|attempts?)\b/i.exec(message)?.[1];
      if (left === '0' || /last try/i.test(message)) {
        return 'That code is not right, and that was the last try: this code no longer works. Please ask for a new code once it has expired.';
      }
      return left
        ? `That code is not right. You can try ${left} more time${left === '1' ? '' : 's'}.`
        : 'That code is not right. Enter the 6 digits from the email.';
    }
    case 'challengeId':
      return context === 'verify-link'
        ? 'This link no longer works: it has expired, was used already, or a newer code was sent. Go back to sign in and start again.'
        : 'This code no longer works: it has expired, or too many wrong codes were tried. Please send a new code.';
    case 'emailProof':
      return 'The confirmation of your email address has expired. Please go back to sign in and start again.';
    default:
      return null;
  }
}

/**
 * A sentence for a person about what went wrong (an SDK `LatchkeyError`, by its `code`), or
 * `''` for a ceremony the page stopped itself. `context` is `signin`, `signup`, `recover`,
 * `verify-code`, `verify-link`, `add-passkey` or `account`.
 */
export function describeError(error, context = 'signin') {
  switch (error?.code) {
    case 'ABORTED':
      return '';
    case 'BAD_USER_INPUT':
      return describeProofError(error, context) ?? error.message ?? 'Please check what you entered.';
    case 'FORBIDDEN':
      // The one refusal of a code: its challenge saw too many wrong codes.
      if (context === 'verify-code' || context === 'verify-link') {
        return 'Too many wrong codes were tried: this code no longer works. You can ask for a new one once it has expired.';
      }
      return error.message || 'This is not allowed.';
    case 'RATE_LIMITED':
      return error.retryAfter
        ? `Too many attempts. Please try again in ${seconds(error.retryAfter)}.`
        : 'Too many attempts. Please wait a little and try again.';
    case 'UNAUTHENTICATED':
      return 'Your session has ended. Please sign in again.';
    case 'NETWORK':
      return 'The server could not be reached. Check your connection and try again.';
    case 'INTERNAL':
      return error.message && !/^internal/i.test(error.message)
        ? error.message
        : 'Something went wrong on our side. Please try again.';
    case 'NOT_ALLOWED':
      return context === 'signin'
        ? 'No passkey was used: the request was cancelled or timed out, or this device has no passkey for this site.'
        : 'The passkey was not created: the request was cancelled, timed out, or was not allowed.';
    case 'PASSKEY_EXISTS':
      return context === 'add-passkey'
        ? 'This device or security key already holds a passkey for your account.'
        : 'This device already holds a passkey for this account. Sign in with it instead.';
    case 'NOT_SUPPORTED':
      return 'This device does not support the kind of passkey this site asks for.';
    case 'WEBAUTHN':
      if (error.cause?.name === 'SecurityError') {
        return 'Passkeys cannot be used on this address: it does not match the site the passkeys belong to.';
      }
      return error.message || 'Something went wrong. Please try again.';
    default:
      return error?.message || 'Something went wrong. Please try again.';
  }
}
