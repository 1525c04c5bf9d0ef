// The administrator's console session: loading it, signing in with a passkey (a discoverable
// credential: no address asked), enrolling from a link (invitation, recovery, first owner),
// asking for a recovery link, and signing out. The session lives in an HttpOnly cookie the
// server sets; the page keeps only what `GET /console/api/session` answers, its CSRF token
// among it, in memory.

import { ConsoleError, consoleApi, setCsrfToken } from './api.js';

/**
 * The signed-in administrator: `{ administrator: { id, email, displayName }, platformRole,
 * tenants: [{ slug, name, role }], csrfToken, expiresAt }`, or null.
 */
let current = null;

export function currentSession() {
  return current;
}

function adopt(session) {
  current = session ?? null;
  setCsrfToken(current?.csrfToken ?? null);
  return current;
}

/** Forgets the session in this page (after sign-out, or when the server ended it). */
export function forgetSession() {
  adopt(null);
}

/** Loads the session of this browser, or null when nobody is signed in. */
export async function loadSession() {
  try {
    return adopt(await consoleApi('session'));
  } catch (error) {
    if (error.code === 'UNAUTHENTICATED' || error.status === 401) return adopt(null);
    throw error;
  }
}

/** The tenant role of the signed-in administrator on `slug`, or null when they have none. */
export function roleOn(slug) {
  return current?.tenants?.find((tenant) => tenant.slug === slug)?.role ?? null;
}

/** Whether this browser can run the passkey ceremonies of the console. */
export function passkeysSupported() {
  return (
    typeof window.PublicKeyCredential === 'function' &&
    typeof PublicKeyCredential.parseCreationOptionsFromJSON === 'function' &&
    typeof PublicKeyCredential.parseRequestOptionsFromJSON === 'function' &&
    !!navigator.credentials
  );
}

/** A refusal of the browser's WebAuthn call as a `ConsoleError` a person can act on. */
function webauthnError(error, creating) {
  switch (error?.name) {
    case 'NotAllowedError':
      return new ConsoleError(
        creating
          ? 'No passkey was created: the request was cancelled or timed out. Try again.'
          : 'No passkey was used: the request was cancelled or timed out, or this device holds no passkey for the console.',
        'NOT_ALLOWED',
      );
    case 'InvalidStateError':
      return new ConsoleError('This device already holds a passkey for this account.', 'PASSKEY_EXISTS');
    case 'SecurityError':
      return new ConsoleError('Passkeys do not work on this address: open the console at its usual address.', 'WEBAUTHN');
    default:
      return new ConsoleError(error?.message || 'The passkey request failed.', 'WEBAUTHN');
  }
}

function requireWebAuthn() {
  if (!passkeysSupported()) {
    throw new ConsoleError('This browser cannot use passkeys here. Use a current version of Chrome, Edge, Firefox or Safari.', 'NOT_SUPPORTED');
  }
}

/** Signs in with a passkey the browser offers (discoverable), and answers the new session. */
export async function signInWithPasskey() {
  requireWebAuthn();
  const { ceremonyId, options } = await consoleApi('sign-in/begin', { method: 'POST', body: {} });
  let credential;
  try {
    credential = await navigator.credentials.get({ publicKey: PublicKeyCredential.parseRequestOptionsFromJSON(options.publicKey) });
  } catch (error) {
    throw webauthnError(error, false);
  }
  return adopt(await consoleApi('sign-in/finish', { method: 'POST', body: { ceremonyId, credential: credential.toJSON() } }));
}

/**
 * What an enrolment link holds: `{ email, purpose, tenant, role, platformRole, expiresAt }`.
 * An unknown, used or expired link is `NOT_FOUND`.
 */
export function inspectEnrolment(token) {
  // A POST: the token stays out of access logs.
  return consoleApi('enrolment', { method: 'POST', body: { token } });
}

/**
 * Creates a passkey with an enrolment link's token (with the address and name asked for when
 * the link names none), and answers the new session.
 */
export async function enrol({ token, email, displayName }) {
  requireWebAuthn();
  const body = { token };
  if (email) body.email = email;
  if (displayName) body.displayName = displayName;
  const { ceremonyId, options } = await consoleApi('enrolment/begin', { method: 'POST', body });
  let credential;
  try {
    credential = await navigator.credentials.create({ publicKey: PublicKeyCredential.parseCreationOptionsFromJSON(options.publicKey) });
  } catch (error) {
    throw webauthnError(error, true);
  }
  return adopt(await consoleApi('enrolment/finish', { method: 'POST', body: { ceremonyId, credential: credential.toJSON() } }));
}

/** Asks for a recovery link to `email` (answered the same whether or not it is an administrator's). */
export function requestRecovery(email) {
  return consoleApi('recovery', { method: 'POST', body: { email } });
}

/** Ends the session on the server and in this page. */
export async function signOut() {
  try {
    await consoleApi('sign-out', { method: 'POST', csrf: true });
  } finally {
    adopt(null);
  }
}
