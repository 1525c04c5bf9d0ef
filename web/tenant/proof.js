// Proving an email address on the sign-in page: the email section's steps that end in an
// email proof, or, for a `SIGN_IN` code, in a session. Either the person asks for a code here
// and types it in (`sendCode`, then `confirmCode`), or they open the link from the email
// (`?verify=<challengeId>&code=<code>`), which shows a Confirm button (`showLink`, then
// `confirmLink`). The link never completes on load: mail scanners open links to look at them,
// and the code is good only once. What a proof is then used for (a new account, a new
// passkey or password), and what follows a sign-in, is signin.js's.
//
// These functions do the work and throw what fails; signin.js runs them one at a time, with
// the page busy, and shows the errors.

import { latchkey, slug } from './app.js';
import { has, plural, t } from './i18n.js';

const entry = document.getElementById('entry');
const section = document.getElementById('email-section');
const heading = document.getElementById('email-heading');
const steps = [...section.querySelectorAll('[data-step]')];
const codeInput = document.getElementById('code-input');
const backButton = document.getElementById('email-back-button');

/** The challenge this page is waiting for a code for: `{ challengeId, email, purpose }`. */
let current = null;

// ---------------------------------------------------------------------------------------
// Steps

/**
 * Shows the email section at one step (`recover`, `code`, `link`, `create`, `second-factor`,
 * `reset`, `replace`, `offer` or `done`) under `title`, in place of the sign-in and sign-up
 * cards, and moves the focus to it. A step for a person already signed in (`data-signed-in`)
 * has no way back to sign-in.
 */
export function showStep(step, title) {
  entry.hidden = true;
  section.hidden = false;
  heading.textContent = title;
  for (const element of steps) element.hidden = element.dataset.step !== step;
  backButton.hidden = steps.some((element) => element.dataset.step === step && 'signedIn' in element.dataset);
  heading.focus();
}

/** Back to the sign-in and sign-up cards. */
export function closeSteps() {
  section.hidden = true;
  entry.hidden = false;
  current = null;
}

/**
 * The message key of a purpose's text in `group` (`proof.heading`, `proof.confirm`): each
 * purpose has its own, a `RECOVERY` for a new password (`intent` `password`, from "Forgot your
 * password?") is a password reset, and a purpose the catalogs do not name is `other`.
 */
function purposeKey(group, purpose, intent) {
  if (purpose === 'RECOVERY' && intent === 'password') return `${group}.passwordReset`;
  return has(`${group}.${purpose}`) ? `${group}.${purpose}` : `${group}.other`;
}

/** The heading of the email section for a purpose (and a recovery's `intent`). */
export function headingFor(purpose, intent) {
  return t(purposeKey('proof.heading', purpose, intent));
}

/** Minutes, at least one, from seconds (how long a code works). */
function minutes(seconds) {
  return Math.max(1, Math.round(Number(seconds) / 60) || 1);
}

// ---------------------------------------------------------------------------------------
// What this browser started (for a link opened in another tab)

const pendingKey = `latchkey.${slug}.verification`;

/**
 * Keeps, for the link in the email, what this tab knew when it asked for the code: the
 * address, the purpose, what a recovery is for (`intent`: a new passkey or a new password)
 * and where the person was going (an invitation, an application's sign-in). No secret: the
 * code is only in the email.
 */
function savePending(pending) {
  try {
    localStorage.setItem(pendingKey, JSON.stringify(pending));
  } catch {
    // Without storage the link still works; it just cannot name the address before Confirm.
  }
}

function loadPending(challengeId) {
  try {
    const pending = JSON.parse(localStorage.getItem(pendingKey) ?? 'null');
    return pending?.challengeId === challengeId ? pending : null;
  } catch {
    return null;
  }
}

function forgetPending(challengeId) {
  if (loadPending(challengeId)) localStorage.removeItem(pendingKey);
}

// ---------------------------------------------------------------------------------------
// Codes typed in

/**
 * Emails a code for `purpose` to `email` and shows the code step. `context` (an invitation
 * token, an authorization request, a recovery's `intent`) is kept for the link, should it be
 * opened in another tab.
 */
export async function sendCode(purpose, email, context = {}) {
  const { challengeId, expiresIn } = await latchkey.startEmailVerification({ email, purpose });
  current = { challengeId, email, purpose };
  savePending({ ...current, ...context });
  document.getElementById('code-sent').textContent = plural(
    purpose === 'SIGN_UP' ? 'proof.sentSignUp' : 'proof.sent',
    minutes(expiresIn),
    { email },
  );
  codeInput.value = '';
  codeInput.removeAttribute('aria-invalid');
  showStep('code', headingFor(purpose, context.intent));
  codeInput.focus();
}

/** Sends a new code for the address and purpose of the code step (the old code stops working). */
export function resendCode() {
  const { purpose, email, challengeId } = current;
  const { invitation, authorizationRequest, intent } = loadPending(challengeId) ?? {};
  return sendCode(purpose, email, { invitation, authorizationRequest, intent });
}

/**
 * Exchanges the typed code: for a `SIGN_IN` code, a session (`{ purpose: 'SIGN_IN', signedIn }`,
 * `signedIn` as the SDK's sign-ins answer); for any other, a proof (`{ emailProof, expiresIn,
 * purpose, email }`).
 */
export async function confirmCode(code) {
  try {
    return await complete(current.challengeId, code, current.purpose);
  } catch (error) {
    if (error?.field === 'code' || error?.field === 'challengeId') {
      codeInput.setAttribute('aria-invalid', 'true');
      codeInput.focus();
      codeInput.select();
    }
    throw error;
  }
}

// ---------------------------------------------------------------------------------------
// The link in the email

/**
 * Shows the Confirm step for a link. When this browser asked for the code, it names the
 * address and the purpose, and answers what the tab knew then (`{ invitation,
 * authorizationRequest, intent }`, each null where unknown).
 */
export function showLink(challengeId) {
  const pending = loadPending(challengeId);
  document.getElementById('link-text').textContent = pending
    ? t(purposeKey('proof.confirm', pending.purpose, pending.intent), { email: pending.email })
    : t('proof.confirmUnknown');
  showStep('link', pending ? headingFor(pending.purpose, pending.intent) : t('proof.heading.other'));
  return {
    invitation: pending?.invitation ?? null,
    authorizationRequest: pending?.authorizationRequest ?? null,
    intent: pending?.intent ?? null,
  };
}

/**
 * Exchanges the link's code, as `confirmCode` does. The purpose is known when this browser
 * asked for the code. Otherwise (the link opened in another browser), where the tenant allows
 * signing in with a code (`mayBeSignIn`), the code is tried as a sign-in first: the server
 * answers a challenge of another purpose as unknown without spending it or counting a wrong
 * code, and it is then exchanged for a proof. Trying the proof first would spend a sign-in
 * code on a proof nothing takes.
 */
export async function confirmLink(challengeId, code, { mayBeSignIn = false } = {}) {
  const purpose = loadPending(challengeId)?.purpose;
  if (purpose || !mayBeSignIn) return complete(challengeId, code, purpose);
  try {
    return await complete(challengeId, code, 'SIGN_IN');
  } catch (error) {
    if (error?.code !== 'BAD_USER_INPUT' || error.field !== 'challengeId') throw error;
    return complete(challengeId, code);
  }
}

async function complete(challengeId, code, purpose) {
  const outcome =
    purpose === 'SIGN_IN'
      ? { purpose, signedIn: await latchkey.signInWithEmailCode({ challengeId, code }) }
      : await latchkey.completeEmailVerification({ challengeId, code });
  forgetPending(challengeId);
  current = null;
  return outcome;
}
