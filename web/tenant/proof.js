// Proving an email address on the sign-in page: the email section's steps that end in an
// email proof. Either the person asks for a code here and types it in (`sendCode`, then
// `confirmCode`), or they open the link from the email (`?verify=<challengeId>&code=<code>`),
// which shows a Confirm button (`showLink`, then `confirmLink`). The link never completes on
// load: mail scanners open links to look at them, and the code is good only once. What a proof
// is then used for (a new account, a new passkey) is signin.js's.
//
// These functions do the work and throw what fails; signin.js runs them one at a time, with
// the page busy, and shows the errors.

import { latchkey, slug } from './app.js';

const entry = document.getElementById('entry');
const section = document.getElementById('email-section');
const heading = document.getElementById('email-heading');
const steps = [...section.querySelectorAll('[data-step]')];
const codeInput = document.getElementById('code-input');

/** What each purpose is called where the person reads it. */
const HEADINGS = {
  SIGN_UP: 'Create an account',
  RECOVERY: 'Recover your account',
  VERIFY_ADDRESS: 'Verify your email address',
  EMAIL_CHANGE: 'Confirm your new email address',
  SIGN_IN: 'Sign in',
};

const ACTIONS = {
  SIGN_UP: 'to create your account',
  RECOVERY: 'to recover your account',
  VERIFY_ADDRESS: 'to verify it',
  EMAIL_CHANGE: 'to make it your account’s address',
  SIGN_IN: 'to sign in',
};

/** The challenge this page is waiting for a code for: `{ challengeId, email, purpose }`. */
let current = null;

// ---------------------------------------------------------------------------------------
// Steps

/**
 * Shows the email section at one step (`recover`, `code`, `link`, `create`, `replace` or
 * `done`) under `title`, in place of the sign-in and sign-up cards, and moves the focus to it.
 */
export function showStep(step, title) {
  entry.hidden = true;
  section.hidden = false;
  heading.textContent = title;
  for (const element of steps) element.hidden = element.dataset.step !== step;
  heading.focus();
}

/** Back to the sign-in and sign-up cards. */
export function closeSteps() {
  section.hidden = true;
  entry.hidden = false;
  current = null;
}

/** The heading of the email section for a purpose. */
export function headingFor(purpose) {
  return HEADINGS[purpose] ?? 'Confirm your email address';
}

function minutes(seconds) {
  const value = Math.max(1, Math.round(Number(seconds) / 60) || 1);
  return `${value} minute${value === 1 ? '' : 's'}`;
}

// ---------------------------------------------------------------------------------------
// What this browser started (for a link opened in another tab)

const pendingKey = `latchkey.${slug}.verification`;

/**
 * Keeps, for the link in the email, what this tab knew when it asked for the code: the
 * address, the purpose and where the person was going (an invitation, an application's
 * sign-in). No secret: the code is only in the email.
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
 * token, an authorization request) is kept for the link, should it be opened in another tab.
 */
export async function sendCode(purpose, email, context = {}) {
  const { challengeId, expiresIn } = await latchkey.startEmailVerification({ email, purpose });
  current = { challengeId, email, purpose };
  savePending({ ...current, ...context });
  const sent =
    purpose === 'SIGN_UP'
      ? `We sent an email to ${email}. Enter the 6-digit code from it; it works for ${minutes(expiresIn)}. ` +
        'If this address already has an account, the email says so instead: sign in, or use “Lost your passkey?”.'
      : `If ${email} belongs to an account, we sent it an email with a 6-digit code. Enter it here; ` +
        `it works for ${minutes(expiresIn)}.`;
  document.getElementById('code-sent').textContent = sent;
  codeInput.value = '';
  codeInput.removeAttribute('aria-invalid');
  showStep('code', headingFor(purpose));
  codeInput.focus();
}

/** Sends a new code for the address and purpose of the code step (the old code stops working). */
export function resendCode() {
  const { purpose, email, challengeId } = current;
  const { invitation, authorizationRequest } = loadPending(challengeId) ?? {};
  return sendCode(purpose, email, { invitation, authorizationRequest });
}

/** Exchanges the typed code for a proof: `{ emailProof, expiresIn, purpose, email }`. */
export async function confirmCode(code) {
  try {
    return await complete(current.challengeId, code);
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
 * authorizationRequest }`), else an empty object.
 */
export function showLink(challengeId) {
  const pending = loadPending(challengeId);
  document.getElementById('link-text').textContent = pending
    ? `Confirm ${pending.email} ${ACTIONS[pending.purpose] ?? 'to continue'}.`
    : 'Confirm your email address to continue.';
  showStep('link', pending ? headingFor(pending.purpose) : 'Confirm your email address');
  return { invitation: pending?.invitation ?? null, authorizationRequest: pending?.authorizationRequest ?? null };
}

/** Exchanges the link's code for a proof: `{ emailProof, expiresIn, purpose, email }`. */
export function confirmLink(challengeId, code) {
  return complete(challengeId, code);
}

async function complete(challengeId, code) {
  const proof = await latchkey.completeEmailVerification({ challengeId, code });
  forgetPending(challengeId);
  current = null;
  return proof;
}
