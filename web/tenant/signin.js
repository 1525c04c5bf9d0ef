// The sign-in and sign-up page (/t/{slug}/): passkey sign-in; sign-up and account recovery
// with an emailed code (proof.js proves the address, this module uses the proof); the links
// from emails (`?verify=`, `?registration=`, `?invitation=`).
//
// On load, where the browser supports it, a conditional-mediation request is started so the
// tenant's passkeys show up in the email field's autofill. Only one WebAuthn request may run
// at a time: the SDK withdraws that request before any other ceremony, and this page starts
// it again when such a ceremony fails.

import {
  base,
  latchkey,
  loadConfig,
  passkeysSupported,
  setFlash,
  showError,
  showFlash,
  showStatus,
  storedTokens,
} from './app.js';
import {
  closeSteps,
  confirmCode,
  confirmLink,
  headingFor,
  resendCode,
  sendCode,
  showLink,
  showStep,
} from './proof.js';

const main = document.getElementById('main');
const entry = document.getElementById('entry');
const signInForm = document.getElementById('signin-form');
const signInEmail = document.getElementById('signin-email');
const passkeyButton = document.getElementById('signin-passkey-button');
const signUpSection = document.getElementById('signup-section');
const signUpForm = document.getElementById('signup-form');
const signUpEmail = document.getElementById('signup-email');
const recoverEmail = document.getElementById('recover-email');
const codeInput = document.getElementById('code-input');
const createName = document.getElementById('create-name');
const replaceSignOut = document.getElementById('replace-signout');
const buttons = [...document.querySelectorAll('main button')];

/** A ceremony (begin → browser → finish) is running; other actions wait for it. */
let busy = false;
/** Whether the browser offers passkeys in autofill (set once on load). */
let autofillAvailable = false;
/** The tenant's `config.json` (defaults until it has loaded). */
let config = { selfSignUp: false, requireVerifiedEmail: true, recoveryRequiresApproval: false };

function setBusy(value) {
  busy = value;
  main.setAttribute('aria-busy', String(value));
  for (const button of buttons) button.disabled = value;
}

const query = new URLSearchParams(location.search);
/**
 * Set when an application sent the person here through OpenID Connect `authorize` (or, for
 * the link in an email, when the tab that asked for the code had been sent here so).
 */
let authorizationRequest = query.get('authorization_request');

/**
 * Turns the new session into the provider's browser session (an HttpOnly cookie set by
 * `oauth2/session`), so OpenID Connect sign-ins of the tenant's applications recognise it.
 */
async function establishBrowserSession(accessToken) {
  const response = await fetch(`${base}oauth2/session`, {
    method: 'POST',
    headers: { authorization: `Bearer ${accessToken}` },
    credentials: 'same-origin',
  });
  if (!response.ok) throw new Error(`oauth2/session answered ${response.status}`);
}

/** Set when the person opened an invitation link (`?invitation=<token>`); see `authorizationRequest`. */
let invitation = query.get('invitation');

const ACCEPT_INVITATION = `mutation AcceptInvitation($token: String!) {
  acceptInvitation(input: { token: $token }) { membership { roles organization { name } } }
}`;

/**
 * After a ceremony (the SDK has stored the tokens): accept the invitation the person came
 * with, then back to the application or on to the account (showing `notice` there).
 */
async function completeSignIn({ accessToken }, notice) {
  if (notice) setFlash(notice, 'success');
  if (invitation) {
    const { acceptInvitation } = await latchkey.graphql(ACCEPT_INVITATION, { token: invitation });
    history.replaceState(null, '', base);
    setFlash(`You joined ${acceptInvitation.membership.organization.name}.`, 'success');
  }
  if (authorizationRequest) {
    await establishBrowserSession(accessToken);
    showStatus('Signed in. Returning to the application…', 'success');
    location.assign(`${base}oauth2/authorize?authorization_request=${encodeURIComponent(authorizationRequest)}`);
    return;
  }
  // Single sign-on for applications later is a convenience; the account page works without it.
  await establishBrowserSession(accessToken).catch(() => {});
  showStatus('Signed in. Opening your account…', 'success');
  location.assign(`${base}account`);
}

/** Offers the passkeys in the email field's autofill, until one is picked or another ceremony starts. */
function startAutofill() {
  // Not while the email section is shown: the email field it fills in is hidden.
  if (busy || !autofillAvailable || entry.hidden) return;
  const onCredential = () => {
    // The person picked a passkey from the autofill: this is now the running ceremony.
    setBusy(true);
    showStatus('Signing you in…');
  };
  latchkey
    .signInWithAutofill({ onCredential })
    .then(completeSignIn)
    .catch((error) => {
      // ABORTED: another ceremony took over. NOT_ALLOWED: the autofill was dismissed, timed
      // out, or the device has no passkey for this site; the buttons still work, and there is
      // nothing the person needs to be told.
      if (error?.code === 'ABORTED' || error?.code === 'NOT_ALLOWED') return;
      setBusy(false);
      showError(error, 'signin');
    });
}

/**
 * Runs one action (a ceremony, for which the SDK stops the autofill request first, or a step
 * of the email section) with the page busy; shows its error and restarts autofill if it fails.
 * An action that does not leave the page ends with `setBusy(false)` itself.
 */
async function exclusive(ceremony, context) {
  if (busy) return;
  setBusy(true);
  try {
    await ceremony();
  } catch (error) {
    setBusy(false);
    showError(error, context);
    startAutofill();
  }
}

function signIn(email) {
  return exclusive(async () => {
    showStatus('Waiting for your passkey…');
    const onCredential = () => showStatus('Signing you in…');
    await completeSignIn(await latchkey.signIn({ email, onCredential }));
  }, 'signin');
}

// ---------------------------------------------------------------------------------------
// Sign-up and recovery with an emailed code

/**
 * The address the create or replace step is for: `{ emailProof, email }`, or `{ email }` alone
 * where the tenant does not require a proof for sign-up.
 */
let address = null;

/** Where the person was going, kept with the code for the link in the email. */
function destination() {
  return { invitation, authorizationRequest };
}

/**
 * Sign-up, step 1: a code to the address. A tenant that does not require verified addresses
 * goes straight to the passkey.
 */
function startSignUp(email) {
  if (!config.requireVerifiedEmail) {
    address = { email };
    showCreateStep();
    return;
  }
  return exclusive(async () => {
    await sendCode('SIGN_UP', email, destination());
    setBusy(false);
    showStatus('');
  }, 'signup');
}

/** Recovery, step 1: a code to the address, if it has an account. */
function startRecovery(email) {
  return exclusive(async () => {
    await sendCode('RECOVERY', email, destination());
    setBusy(false);
    showStatus('');
  }, 'recover');
}

/** Step 2: the code typed in, or the link's Confirm button; then on with the proof. */
function confirmAddress(exchange, context) {
  return exclusive(async () => {
    showStatus('Checking the code…');
    const proof = await exchange();
    await useProof(proof);
    setBusy(false);
  }, context);
}

/** Step 3, by what the code was for. */
async function useProof(proof) {
  address = { emailProof: proof.emailProof, email: proof.email };
  switch (proof.purpose) {
    case 'SIGN_UP':
      showCreateStep();
      return;
    case 'RECOVERY':
      if (config.recoveryRequiresApproval) {
        showStatus('Sending your request…');
        await latchkey.requestAccountRecovery({ emailProof: proof.emailProof });
        showDone(
          headingFor('RECOVERY'),
          `Your request to recover the account of ${proof.email} has been sent. An administrator ` +
            'will review it; once it is approved, you will receive an email with a link to set up a new passkey.',
        );
        return;
      }
      showStatus('');
      document.getElementById('replace-text').textContent =
        `Your address ${proof.email} is confirmed. Create a new passkey on this device to get back into your account.`;
      showStep('replace', headingFor('RECOVERY'));
      return;
    case 'VERIFY_ADDRESS':
      showDone('Email address verified', `Your email address ${proof.email} is verified.`);
      return;
    default:
      showDone('Email address confirmed', `Your email address ${proof.email} is confirmed.`);
  }
}

function showDone(title, text) {
  showStatus('');
  document.getElementById('done-text').textContent = text;
  showStep('done', title);
}

/** The sign-up's passkey step, for `address`. */
function showCreateStep() {
  showStatus('');
  document.getElementById('create-text').textContent = address.emailProof
    ? `Your address ${address.email} is confirmed. Choose the name shown on your account, then create your passkey.`
    : `Choose the name shown on your account, then create the passkey for ${address.email}.`;
  showStep('create', headingFor('SIGN_UP'));
  createName.focus();
}

function signUp(displayName) {
  const { emailProof, email } = address;
  return exclusive(async () => {
    showStatus('Follow your device’s prompt to create a passkey…');
    const onCredential = () => showStatus('Creating your account…');
    const proven = emailProof ? { emailProof } : { email };
    await completeSignIn(await latchkey.signUp({ ...proven, displayName, onCredential }));
  }, 'signup');
}

function replacePasskey(signOutEverywhere) {
  const { emailProof } = address;
  return exclusive(async () => {
    showStatus('Follow your device’s prompt to create a passkey…');
    const onCredential = () => showStatus('Saving your new passkey…');
    const signedIn = await latchkey.recover({ emailProof, signOutEverywhere, onCredential });
    await completeSignIn(
      signedIn,
      signOutEverywhere
        ? 'Your new passkey is ready, and your account was signed out everywhere else.'
        : 'Your new passkey is ready.',
    );
  }, 'recover');
}

// ---------------------------------------------------------------------------------------
// Links from emails

/** A registration link (`?registration=<token>`): register a new passkey to that account. */
function registerFromLink(registrationToken) {
  return exclusive(async () => {
    showStatus('Follow your device’s prompt to create a passkey…');
    const onCredential = () => showStatus('Saving your new passkey…');
    const signedIn = await latchkey.signUp({ registrationToken, onCredential });
    history.replaceState(null, '', base);
    await completeSignIn(signedIn);
  }, 'signup');
}

/**
 * The link with a code (`?verify=<challengeId>&code=<code>`): shows Confirm, and only its
 * click spends the code. Where this browser asked for the code, the person goes on to where
 * they were going then (an invitation, an application's sign-in).
 */
function openVerifyLink(challengeId, code) {
  const before = showLink(challengeId);
  invitation ??= before.invitation;
  authorizationRequest ??= before.authorizationRequest;
  document.getElementById('link-form').addEventListener('submit', (event) => {
    event.preventDefault();
    confirmAddress(async () => {
      const proof = await confirmLink(challengeId, code);
      // The code is spent: no copy of it stays in the address bar or the history.
      history.replaceState(null, '', base);
      return proof;
    }, 'verify-link');
  });
}

// ---------------------------------------------------------------------------------------
// Wiring

const registrationToken = query.get('registration');
const verifyChallenge = query.get('verify');
const loginHint = query.get('login_hint');
if (loginHint) signInEmail.value = loginHint;
if (registrationToken) {
  document.getElementById('recovery-section').hidden = false;
  document
    .getElementById('recovery-button')
    .addEventListener('click', () => registerFromLink(registrationToken));
}
if (verifyChallenge) openVerifyLink(verifyChallenge, query.get('code') ?? '');

signInForm.addEventListener('submit', (event) => {
  event.preventDefault();
  signIn(signInEmail.value.trim());
});

passkeyButton.addEventListener('click', () => signIn(''));

signUpForm.addEventListener('submit', (event) => {
  event.preventDefault();
  startSignUp(signUpEmail.value.trim());
});

document.getElementById('lost-passkey-button').addEventListener('click', () => {
  recoverEmail.value = signInEmail.value.trim();
  showStep('recover', headingFor('RECOVERY'));
  recoverEmail.focus();
});

document.getElementById('recover-form').addEventListener('submit', (event) => {
  event.preventDefault();
  startRecovery(recoverEmail.value.trim());
});

document.getElementById('code-form').addEventListener('submit', (event) => {
  event.preventDefault();
  confirmAddress(() => confirmCode(codeInput.value), 'verify-code');
});

document.getElementById('resend-button').addEventListener('click', () =>
  exclusive(async () => {
    await resendCode();
    setBusy(false);
    showStatus('We sent a new code. The one before no longer works.', 'success');
  }, 'verify-code'),
);

document.getElementById('create-form').addEventListener('submit', (event) => {
  event.preventDefault();
  signUp(createName.value.trim());
});

document.getElementById('replace-form').addEventListener('submit', (event) => {
  event.preventDefault();
  replacePasskey(replaceSignOut.checked);
});

document.getElementById('email-back-button').addEventListener('click', () => {
  if (verifyChallenge) history.replaceState(null, '', base);
  closeSteps();
  showStatus('');
  address = null;
  signInEmail.focus();
  startAutofill();
});

async function init() {
  // Nothing runs before the tenant's settings are known (they decide the steps).
  setBusy(true);
  showFlash();
  if (invitation) {
    showStatus('You are invited to join an organization. Sign in, or create an account, with the email address the invitation was sent to.');
  }
  if (storedTokens.load()) document.getElementById('signed-in-notice').hidden = false;
  if (!passkeysSupported()) {
    document.getElementById('unsupported-notice').hidden = false;
    setBusy(true);
    return;
  }
  try {
    config = { ...config, ...(await loadConfig('Sign in')) };
    signUpSection.hidden = config.selfSignUp !== true;
    document.getElementById('signup-email-hint').hidden = config.requireVerifiedEmail === false;
  } catch (error) {
    showError(error);
  }
  autofillAvailable = await latchkey.isConditionalMediationAvailable();
  setBusy(false);
  startAutofill();
}

init();
