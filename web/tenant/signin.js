// The sign-in and sign-up page (/t/{slug}/).
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

const main = document.getElementById('main');
const signInForm = document.getElementById('signin-form');
const signInEmail = document.getElementById('signin-email');
const passkeyButton = document.getElementById('signin-passkey-button');
const signUpSection = document.getElementById('signup-section');
const signUpForm = document.getElementById('signup-form');
const signUpEmail = document.getElementById('signup-email');
const signUpName = document.getElementById('signup-name');
const buttons = [...document.querySelectorAll('main button')];

/** A ceremony (begin → browser → finish) is running; other actions wait for it. */
let busy = false;
/** Whether the browser offers passkeys in autofill (set once on load). */
let autofillAvailable = false;

function setBusy(value) {
  busy = value;
  main.setAttribute('aria-busy', String(value));
  for (const button of buttons) button.disabled = value;
}

const query = new URLSearchParams(location.search);
/** Set when an application sent the person here through OpenID Connect `authorize`. */
const authorizationRequest = query.get('authorization_request');

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

/** Set when the person opened an invitation link (`?invitation=<token>`). */
const invitation = query.get('invitation');

const ACCEPT_INVITATION = `mutation AcceptInvitation($token: String!) {
  acceptInvitation(input: { token: $token }) { membership { roles organization { name } } }
}`;

/**
 * After a ceremony (the SDK has stored the tokens): accept the invitation the person came
 * with, then back to the application or on to the account.
 */
async function completeSignIn({ accessToken }) {
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
  if (busy || !autofillAvailable) return;
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

/** Runs one ceremony (the SDK stops the autofill request first), and restarts autofill if it fails. */
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

function signUp(email, displayName) {
  return exclusive(async () => {
    showStatus('Follow your device’s prompt to create a passkey…');
    const onCredential = () => showStatus('Creating your account…');
    await completeSignIn(await latchkey.signUp({ email, displayName, onCredential }));
  }, 'signup');
}

/** A registration link (`?registration=<token>`): register a new passkey to that account. */
function recover(registrationToken) {
  return exclusive(async () => {
    showStatus('Follow your device’s prompt to create a passkey…');
    const onCredential = () => showStatus('Saving your new passkey…');
    const signedIn = await latchkey.signUp({ registrationToken, onCredential });
    history.replaceState(null, '', base);
    await completeSignIn(signedIn);
  }, 'signup');
}

const registrationToken = query.get('registration');
const loginHint = query.get('login_hint');
if (loginHint) signInEmail.value = loginHint;
if (registrationToken) {
  document.getElementById('recovery-section').hidden = false;
  document
    .getElementById('recovery-button')
    .addEventListener('click', () => recover(registrationToken));
}

signInForm.addEventListener('submit', (event) => {
  event.preventDefault();
  signIn(signInEmail.value.trim());
});

passkeyButton.addEventListener('click', () => signIn(''));

signUpForm.addEventListener('submit', (event) => {
  event.preventDefault();
  signUp(signUpEmail.value.trim(), signUpName.value.trim());
});

async function init() {
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
    const config = await loadConfig('Sign in');
    signUpSection.hidden = config.selfSignUp !== true;
  } catch (error) {
    showError(error);
  }
  autofillAvailable = await latchkey.isConditionalMediationAvailable();
  setBusy(false);
  startAutofill();
}

init();
