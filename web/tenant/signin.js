// The sign-in and sign-up page (/t/{slug}/).
//
// On load, where the browser supports it, a conditional-mediation request is started so the
// tenant's passkeys show up in the email field's autofill. Only one WebAuthn request may run
// at a time, so every other ceremony first aborts that request and waits for it to settle.

import {
  anonymous,
  base,
  conditionalMediationAvailable,
  createCredential,
  getCredential,
  isAbort,
  loadConfig,
  loadTokens,
  passkeysSupported,
  saveTokens,
  showError,
  showFlash,
  showStatus,
} from './app.js';

const BEGIN_SIGN_IN = `mutation BeginPasskeySignIn($input: BeginPasskeySignInInput!) {
  beginPasskeySignIn(input: $input) { ceremonyId options }
}`;

const FINISH_SIGN_IN = `mutation FinishPasskeySignIn($input: FinishPasskeySignInInput!) {
  finishPasskeySignIn(input: $input) { identity { id } session { id } accessToken refreshToken expiresIn }
}`;

const BEGIN_REGISTRATION = `mutation BeginPasskeyRegistration($input: BeginPasskeyRegistrationInput!) {
  beginPasskeyRegistration(input: $input) { ceremonyId options }
}`;

const FINISH_REGISTRATION = `mutation FinishPasskeyRegistration($input: FinishPasskeyRegistrationInput!) {
  finishPasskeyRegistration(input: $input) {
    identity { id email displayName }
    passkey { id name }
    session { id }
    accessToken refreshToken expiresIn
  }
}`;

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
/** The autofill request: `{ controller, settled }` while one is outstanding. */
let conditional = null;
/** Whether the browser offers passkeys in autofill (set once on load). */
let conditionalAvailable = false;

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

async function completeSignIn(payload) {
  saveTokens(payload);
  if (authorizationRequest) {
    await establishBrowserSession(payload.accessToken);
    showStatus('Signed in. Returning to the application…', 'success');
    location.assign(`${base}oauth2/authorize?authorization_request=${encodeURIComponent(authorizationRequest)}`);
    return;
  }
  // Single sign-on for applications later is a convenience; the account page works without it.
  await establishBrowserSession(payload.accessToken).catch(() => {});
  showStatus('Signed in. Opening your account…', 'success');
  location.assign(`${base}account`);
}

function startConditional() {
  if (conditional || busy || !conditionalAvailable) return;
  const controller = new AbortController();
  const settled = (async () => {
    try {
      const begin = await anonymous(BEGIN_SIGN_IN, { input: {} }, { signal: controller.signal });
      const { ceremonyId, options } = begin.beginPasskeySignIn;
      const credential = await getCredential(options, { mediation: 'conditional', signal: controller.signal });
      // The person picked a passkey from the autofill: this is now the running ceremony.
      conditional = null;
      setBusy(true);
      showStatus('Signing you in…');
      const finish = await anonymous(FINISH_SIGN_IN, { input: { ceremonyId, credential } });
      await completeSignIn(finish.finishPasskeySignIn);
    } catch (error) {
      if (conditional?.controller === controller) conditional = null;
      if (isAbort(error) || controller.signal.aborted) return;
      // The autofill was dismissed, timed out, or the device has no passkey for this site:
      // the buttons still work, and there is nothing the person needs to be told.
      if (error?.name === 'NotAllowedError') return;
      setBusy(false);
      showError(error, 'signin');
    }
  })();
  conditional = { controller, settled };
}

async function stopConditional() {
  const running = conditional;
  conditional = null;
  if (!running) return;
  running.controller.abort();
  await running.settled;
}

/** Runs one ceremony with the autofill request stopped, and restarts it if the ceremony fails. */
async function exclusive(ceremony, context) {
  if (busy) return;
  setBusy(true);
  await stopConditional();
  try {
    await ceremony();
  } catch (error) {
    setBusy(false);
    showError(error, context);
    startConditional();
  }
}

function signIn(email) {
  return exclusive(async () => {
    showStatus('Waiting for your passkey…');
    const input = email ? { email } : {};
    const begin = await anonymous(BEGIN_SIGN_IN, { input });
    const { ceremonyId, options } = begin.beginPasskeySignIn;
    const credential = await getCredential(options);
    showStatus('Signing you in…');
    const finish = await anonymous(FINISH_SIGN_IN, { input: { ceremonyId, credential } });
    await completeSignIn(finish.finishPasskeySignIn);
  }, 'signin');
}

function signUp(email, displayName) {
  return exclusive(async () => {
    showStatus('Follow your device’s prompt to create a passkey…');
    const begin = await anonymous(BEGIN_REGISTRATION, { input: { email, displayName } });
    const { ceremonyId, options } = begin.beginPasskeyRegistration;
    const credential = await createCredential(options);
    showStatus('Creating your account…');
    const finish = await anonymous(FINISH_REGISTRATION, { input: { ceremonyId, credential } });
    await completeSignIn(finish.finishPasskeyRegistration);
  }, 'signup');
}

/** A registration link (`?registration=<token>`): register a new passkey to that account. */
function recover(registrationToken) {
  return exclusive(async () => {
    showStatus('Follow your device’s prompt to create a passkey…');
    const begin = await anonymous(BEGIN_REGISTRATION, { input: { registrationToken } });
    const { ceremonyId, options } = begin.beginPasskeyRegistration;
    const credential = await createCredential(options);
    showStatus('Saving your new passkey…');
    const finish = await anonymous(FINISH_REGISTRATION, { input: { ceremonyId, credential } });
    history.replaceState(null, '', base);
    await completeSignIn(finish.finishPasskeyRegistration);
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
  if (loadTokens()) document.getElementById('signed-in-notice').hidden = false;
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
  conditionalAvailable = await conditionalMediationAvailable();
  setBusy(false);
  startConditional();
}

init();
