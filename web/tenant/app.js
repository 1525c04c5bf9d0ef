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
// Passwords

/**
 * Makes every "Show password" button (`.password-toggle`, `aria-controls` naming its field)
 * show and hide its field's text. The label stays the same; `aria-pressed` says whether the
 * password is shown.
 */
export function wirePasswordToggles(root = document) {
  for (const button of root.querySelectorAll('.password-toggle')) {
    const input = document.getElementById(button.getAttribute('aria-controls'));
    if (!input) continue;
    button.addEventListener('click', () => {
      const show = input.type === 'password';
      input.type = show ? 'text' : 'password';
      button.setAttribute('aria-pressed', String(show));
      input.focus();
    });
  }
}

/** Hides the text of every shown password again (after it was used, or the step closed). */
export function hidePasswords(root = document) {
  for (const button of root.querySelectorAll('.password-toggle[aria-pressed="true"]')) {
    const input = document.getElementById(button.getAttribute('aria-controls'));
    if (input) input.type = 'password';
    button.setAttribute('aria-pressed', 'false');
  }
}

/**
 * What a new password must be, as the server checks it (NIST SP 800-63B): a length, and not
 * common, breached or made of the person's own details. No rules about kinds of characters.
 * The minimum is 8 where the tenant requires a second factor (`requireSecondFactor`), else 15.
 */
export function passwordRules(config) {
  const minimum = config?.requireSecondFactor === true ? 8 : 15;
  return (
    `At least ${minimum} characters; a phrase of a few words is long and easy to remember. ` +
    'Common passwords, ones found in data breaches and ones that contain your email address or name are not accepted.'
  );
}

/** Marks `input` as the field an error is about (`aria-invalid`), focused and selected. */
export function markInvalid(input) {
  input.setAttribute('aria-invalid', 'true');
  input.focus();
  input.select?.();
}

// ---------------------------------------------------------------------------------------
// Errors

function seconds(n) {
  const value = Math.max(1, Math.ceil(Number(n) || 1));
  return `${value} second${value === 1 ? '' : 's'}`;
}

/** A server message as a sentence: a capital first letter and a full stop. */
function sentence(message) {
  const text = String(message ?? '').trim();
  if (!text) return '';
  const capitalized = text[0].toUpperCase() + text.slice(1);
  return /[.!?]$/.test(capitalized) ? capitalized : `${capitalized}.`;
}

/** What the fields a server message may start with (`field: reason`) are called on the pages. */
const FIELD_NAMES = {
  password: 'This password',
  newPassword: 'The new password',
  currentPassword: 'Your current password',
};

/**
 * A `BAD_USER_INPUT` message (`newPassword: is too short: …`) as a sentence about the field
 * ("The new password is too short: …").
 */
function fieldSentence(error) {
  const message = String(error.message ?? '');
  const prefix = `${error.field}: `;
  if (error.field && message.startsWith(prefix)) {
    const reason = message.slice(prefix.length);
    return sentence(FIELD_NAMES[error.field] ? `${FIELD_NAMES[error.field]} ${reason}` : reason);
  }
  return sentence(message);
}

/** Tries left, as the server words them ("4 tries left"), or null. */
function triesLeft(message) {
  return /(\d+)\s+(?:more\s+)?(?:tries|try|attempts?)\b/i.exec(message ?? '')?.[1] ?? null;
}

/** Contexts of the password and authenticator-app steps, whose server messages are shown as they are. */
const PASSWORD_CONTEXTS = new Set(['password', 'password-signup', 'password-reset', 'password-change', 'second-factor', 'totp']);

/**
 * What went wrong with a code from an authenticator app, or a recovery code (the second step
 * of a password sign-in, `second-factor`, or confirming a new app, `totp`).
 */
function describeSecondFactorError(error, context) {
  if (error.field === 'code') {
    const left = /last try/i.test(error.message ?? '') ? '0' : triesLeft(error.message);
    const advice =
      context === 'totp'
        ? 'Enter the 6-digit code your authenticator app shows now for this account.'
        : 'Enter the code your authenticator app shows now, or one of your recovery codes.';
    if (left === '0') return 'That code is not right, and that was the last try. Please sign in with your password again.';
    return left
      ? `That code is not right. You can try ${left} more time${left === '1' ? '' : 's'}. ${advice}`
      : `That code is not right. ${advice}`;
  }
  if (error.field === 'secondFactorToken') {
    return 'This sign-in has expired, or too many wrong codes were tried. Please sign in with your password again.';
  }
  return null;
}

/** What went wrong with an emailed code or its proof (`BAD_USER_INPUT` about those fields). */
function describeProofError(error, context) {
  switch (error.field) {
    case 'code': {
      // The server says how many tries are left ("is wrong; 4 tries left"), or that it was the last.
      const message = error.message ?? '';
      const left = triesLeft(message);
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
 * `verify-code`, `verify-link`, `add-passkey` or `account`, or for passwords and authenticator
 * apps `password` (sign-in), `password-signup`, `password-reset`, `password-change`,
 * `second-factor` (the code after a password) or `totp` (setting up an app).
 */
export function describeError(error, context = 'signin') {
  const passwords = PASSWORD_CONTEXTS.has(context);
  switch (error?.code) {
    case 'ABORTED':
      return '';
    case 'BAD_USER_INPUT':
      if (context === 'second-factor' || context === 'totp') {
        const described = describeSecondFactorError(error, context);
        if (described) return described;
      }
      // A password the rules refuse: the server says why (too short, too common, breached…).
      if (passwords) return describeProofError(error, context) ?? (fieldSentence(error) || 'Please check what you entered.');
      return describeProofError(error, context) ?? error.message ?? 'Please check what you entered.';
    case 'FORBIDDEN':
      if (context === 'password' && /not right/i.test(error.message ?? '')) {
        return 'The email address or password is not right. Check both, or use “Forgot your password?”.';
      }
      if (context === 'second-factor' && /expired|too many|no longer/i.test(error.message ?? '')) {
        return describeSecondFactorError({ field: 'secondFactorToken' }, context);
      }
      // The tenant requires a second factor that the account does not have, password sign-in
      // is not allowed, a wrong current password: the server's message says what to do.
      if (passwords) return sentence(error.message) || 'This is not allowed.';
      // A code is refused when its challenge saw too many wrong codes (a sign-in code also
      // when the tenant stopped allowing sign-in with codes: the message says so).
      if ((context === 'verify-code' || context === 'verify-link') && /too many/i.test(error.message ?? '')) {
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
