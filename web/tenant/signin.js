// The sign-in and sign-up page (/t/{slug}/): sign-in with a passkey, an emailed code or a
// password (with an authenticator app's code as a second factor where the account has one),
// as the tenant's `signInMethods` allow, and after a code or a password the offer to add a
// passkey; sign-up (with a passkey or a password) and account recovery (a new passkey or a new
// password) with an emailed code (proof.js proves the address, this module uses the proof);
// the links from emails (`?verify=`, `?registration=`, `?invitation=`); and the passkey step-up
// an application or an organization asks for (`?step_up=passkey`, from OpenID Connect
// `authorize`), where only the passkey sign-in is offered. The page is in the language an
// application asked for (`?ui_locales=`, from `authorize`), else the browser's, else the
// tenant's default.
//
// On load, where the browser supports it and the tenant allows passkeys, a conditional-mediation
// request is started so the tenant's passkeys show up in the email field's autofill. Only one WebAuthn request may run
// at a time: the SDK withdraws that request before any other ceremony, and this page starts
// it again when such a ceremony fails.

import {
  base,
  hidePasswords,
  latchkey,
  loadConfig,
  localizePage,
  markInvalid,
  passkeysSupported,
  passwordRules,
  setFlash,
  showError,
  showFlash,
  showStatus,
  storedTokens,
  wirePasswordToggles,
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
import { t } from './i18n.js';

const main = document.getElementById('main');
const entry = document.getElementById('entry');
const signInForm = document.getElementById('signin-form');
const signInEmail = document.getElementById('signin-email');
const passkeyButton = document.getElementById('signin-passkey-button');
const continueButton = document.getElementById('signin-email-button');
const codeButton = document.getElementById('signin-code-button');
const passwordInput = document.getElementById('signin-password');
const passwordButton = document.getElementById('signin-password-button');
const signUpSection = document.getElementById('signup-section');
const signUpForm = document.getElementById('signup-form');
const signUpEmail = document.getElementById('signup-email');
const recoverEmail = document.getElementById('recover-email');
const codeInput = document.getElementById('code-input');
const createName = document.getElementById('create-name');
const createPasswordInput = document.getElementById('create-password-input');
const createPasswordButton = document.getElementById('create-password-button');
const createButton = document.getElementById('create-button');
const secondFactorInput = document.getElementById('second-factor-input');
const resetPassword = document.getElementById('reset-password');
const resetSignOut = document.getElementById('reset-signout');
const replaceSignOut = document.getElementById('replace-signout');
const buttons = [...document.querySelectorAll('main button')];

/** A ceremony (begin → browser → finish) is running; other actions wait for it. */
let busy = false;
/** Whether the browser offers passkeys in autofill (set once on load). */
let autofillAvailable = false;
/** The tenant's `config.json` (defaults until it has loaded). */
let config = {
  selfSignUp: false,
  requireVerifiedEmail: true,
  recoveryRequiresApproval: false,
  requireSecondFactor: false,
  signInMethods: ['PASSKEY', 'EMAIL_CODE'],
};
/** Whether passkeys are offered for sign-in: the tenant allows them and the browser has WebAuthn. */
let usePasskeys = false;
/** Whether a password is offered for sign-in: the tenant allows it and no passkey step-up is asked for. */
let usePassword = false;

/** Whether the tenant allows signing in with `method` (`PASSKEY`, `EMAIL_CODE`, `PASSWORD`). */
function allows(method) {
  return Array.isArray(config.signInMethods) && config.signInMethods.includes(method);
}

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

/**
 * Set when a sign-in through an identity provider came back here (`?federation=<code>`): the
 * page collects the new session's tokens with the code (from this browser only: the server
 * checks the session's cookie) and opens the account.
 */
const federationHandoff = query.get('federation');

async function collectFederatedSignIn(code) {
  history.replaceState(null, '', base);
  const response = await fetch(`${base}federation/handoff`, {
    method: 'POST',
    credentials: 'same-origin',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ code }),
  });
  if (!response.ok) {
    showStatus(t('session.ended'), 'error');
    return false;
  }
  const tokens = await response.json();
  storedTokens.save({
    accessToken: tokens.accessToken,
    refreshToken: tokens.refreshToken,
    expiresAt: Date.now() + Math.max(0, Number(tokens.expiresIn) || 0) * 1000,
  });
  showStatus(t('signin.opening'), 'success');
  location.assign(`${base}account`);
  return true;
}

/** Set when the person opened an invitation link (`?invitation=<token>`); see `authorizationRequest`. */
let invitation = query.get('invitation');

/**
 * Set when an application asked for a phishing-resistant sign-in (`acr_values=phr`) or an
 * organization requires passkeys, and the person's session came from another method: the
 * provider sends them back here with `?step_up=passkey`, and only a passkey signs in.
 */
const stepUp = query.get('step_up') === 'passkey';

const ACCEPT_INVITATION = `mutation AcceptInvitation($token: String!) {
  acceptInvitation(input: { token: $token }) { membership { roles organization { name } } }
}`;

/**
 * After a ceremony (the SDK has stored the tokens): accept the invitation the person came
 * with, then back to the application or on to the account (showing `notice` there).
 */
async function completeSignIn({ accessToken }, notice) {
  if (notice) setFlash(notice, {}, 'success');
  if (invitation) {
    const { acceptInvitation } = await latchkey.graphql(ACCEPT_INVITATION, { token: invitation });
    history.replaceState(null, '', base);
    setFlash('signin.joined', { organization: acceptInvitation.membership.organization.name }, 'success');
  }
  if (authorizationRequest) {
    await establishBrowserSession(accessToken);
    showStatus(t('signin.returning'), 'success');
    location.assign(`${base}oauth2/authorize?authorization_request=${encodeURIComponent(authorizationRequest)}`);
    return;
  }
  // Single sign-on for applications later is a convenience; the account page works without it.
  await establishBrowserSession(accessToken).catch(() => {});
  showStatus(t('signin.opening'), 'success');
  location.assign(`${base}account`);
}

/** Offers the passkeys in the email field's autofill, until one is picked or another ceremony starts. */
function startAutofill() {
  // Not while the email section is shown: the email field it fills in is hidden.
  if (busy || !usePasskeys || !autofillAvailable || entry.hidden) return;
  const onCredential = () => {
    // The person picked a passkey from the autofill: this is now the running ceremony.
    setBusy(true);
    showStatus(t('signin.signingIn'));
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
    showStatus(t('signin.waitingForPasskey'));
    const onCredential = () => showStatus(t('signin.signingIn'));
    await completeSignIn(await latchkey.signIn({ email, onCredential }));
  }, 'signin');
}

// ---------------------------------------------------------------------------------------
// Sign-in with an emailed code

/** Sign-in with a code, step 1: a code to the address, if it has an account. */
function startCodeSignIn(email) {
  if (!email) {
    showStatus(t('signin.enterEmailForCode'), 'error');
    signInEmail.focus();
    return;
  }
  return exclusive(async () => {
    await sendCode('SIGN_IN', email, destination());
    setBusy(false);
    showStatus('');
  }, 'signin');
}

/** The session of a code or password sign-in, kept while the page offers to add a passkey. */
let codeSignIn = null;

/**
 * After a sign-in with a code or a password (`method`: `EMAIL_CODE`, `PASSWORD`): offers to
 * add a passkey on this device (where passkeys are offered at all), else goes on as after any
 * sign-in.
 */
async function offerPasskey(signedIn, method = 'EMAIL_CODE') {
  if (!usePasskeys) {
    await completeSignIn(signedIn);
    return;
  }
  codeSignIn = signedIn;
  showStatus('');
  hidePasswords();
  const email = signedIn.identity?.email;
  document.getElementById('offer-text').textContent = email ? t('offer.textAs', { email }) : t('offer.text');
  document.getElementById('offer-hint').textContent = t(method === 'PASSWORD' ? 'offer.hintAfterPassword' : 'offer.hintAfterCode');
  showStep('offer', t('offer.heading'));
}

function addOfferedPasskey() {
  return exclusive(async () => {
    showStatus(t('common.followPrompt'));
    await latchkey.addPasskey({ onCredential: () => showStatus(t('common.savingPasskey')) });
    await completeSignIn(codeSignIn, 'offer.ready');
  }, 'add-passkey');
}

// ---------------------------------------------------------------------------------------
// Sign-in with a password, and the authenticator app's code after it

/**
 * Runs `action`; when it fails with an error about `input`'s value (`BAD_USER_INPUT` about
 * one of `fields`, or with `forbidden` any refusal, as of a wrong password), marks that field
 * before the error is shown.
 */
async function markingErrors(input, fields, action, { forbidden = false } = {}) {
  try {
    return await action();
  } catch (error) {
    if ((error?.code === 'BAD_USER_INPUT' && fields.includes(error.field)) || (forbidden && error?.code === 'FORBIDDEN')) {
      markInvalid(input);
    }
    throw error;
  }
}

/** Back from the email section to the sign-in and sign-up cards, with the focus on `field`. */
function backToSignIn(field = signInEmail) {
  closeSteps();
  hidePasswords();
  secondFactor = null;
  field.focus();
  startAutofill();
}

function passwordSignIn(email, password) {
  if (!email) {
    showStatus(t('signin.enterEmail'), 'error');
    signInEmail.focus();
    return;
  }
  if (!password) {
    showStatus(t('signin.enterPassword'), 'error');
    passwordInput.focus();
    return;
  }
  passwordInput.removeAttribute('aria-invalid');
  return exclusive(async () => {
    showStatus(t('signin.signingIn'));
    const result = await markingErrors(passwordInput, ['password'], () => latchkey.signInWithPassword({ email, password }), {
      forbidden: true,
    });
    if (result.secondFactorRequired) {
      showSecondFactor(result.secondFactorToken);
      setBusy(false);
      return;
    }
    await offerPasskey(result, 'PASSWORD');
    setBusy(false);
  }, 'password');
}

/** The second step of a password sign-in: `{ token, recovery }`, the token `signInWithPassword` answered. */
let secondFactor = null;

/** Switches the second step between the app’s 6-digit code (`on` false) and a recovery code. */
function useRecoveryCode(on) {
  secondFactor.recovery = on;
  secondFactorInput.value = '';
  secondFactorInput.removeAttribute('aria-invalid');
  secondFactorInput.inputMode = on ? 'text' : 'numeric';
  secondFactorInput.autocomplete = on ? 'off' : 'one-time-code';
  document.getElementById('second-factor-label').textContent = t(on ? 'secondFactor.recoveryCode' : 'code.label');
  document.getElementById('second-factor-hint').textContent = t(on ? 'secondFactor.recoveryHint' : 'secondFactor.appHint');
  document.getElementById('second-factor-switch').textContent = t(on ? 'secondFactor.useApp' : 'secondFactor.useRecoveryCode');
}

function showSecondFactor(token) {
  secondFactor = { token, recovery: false };
  useRecoveryCode(false);
  showStatus('');
  hidePasswords();
  document.getElementById('second-factor-text').textContent = t('secondFactor.text');
  showStep('second-factor', t('secondFactor.heading'));
  secondFactorInput.focus();
}

function completeSecondFactor(code) {
  if (!code.trim()) {
    showStatus(t(secondFactor.recovery ? 'secondFactor.enterRecoveryCode' : 'secondFactor.enterAppCode'), 'error');
    secondFactorInput.focus();
    return;
  }
  secondFactorInput.removeAttribute('aria-invalid');
  return exclusive(async () => {
    showStatus(t('common.checkingCode'));
    let signedIn;
    try {
      signedIn = await latchkey.completeSecondFactor({ secondFactorToken: secondFactor.token, code });
    } catch (error) {
      // A wrong code: try again, unless it was the last try; anything else about the sign-in
      // (an expired token): back to the password.
      if (error?.field === 'code' && !/last try/i.test(error.message ?? '')) markInvalid(secondFactorInput);
      else if (!['RATE_LIMITED', 'UNAVAILABLE', 'NETWORK'].includes(error?.code)) backToSignIn(passwordInput);
      throw error;
    }
    secondFactor = null;
    await offerPasskey(signedIn, 'PASSWORD');
    setBusy(false);
  }, 'second-factor');
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

/**
 * What the recovery the person started is for: `passkey` ("Lost your passkey?") or `password`
 * ("Forgot your password?"); null for a link opened in a browser that did not ask for it.
 */
let recoveryIntent = null;

/** Recovery, step 1: a code to the address, if it has an account. */
function startRecovery(email) {
  return exclusive(async () => {
    await sendCode('RECOVERY', email, { ...destination(), intent: recoveryIntent });
    setBusy(false);
    showStatus('');
  }, 'recover');
}

/** Recovery's first step for `intent` (`passkey` or `password`). */
function showRecoverStep(intent) {
  recoveryIntent = intent;
  recoverEmail.value = signInEmail.value.trim();
  document.getElementById('recover-hint').textContent = t(intent === 'password' ? 'recover.hintPassword' : 'recover.hintPasskey');
  showStep('recover', headingFor('RECOVERY', intent));
  recoverEmail.focus();
}

/** Step 2: the code typed in, or the link's Confirm button; then on with the proof. */
function confirmAddress(exchange, context) {
  return exclusive(async () => {
    showStatus(t('common.checkingCode'));
    const proof = await exchange();
    await useProof(proof);
    setBusy(false);
  }, context);
}

/** Step 3, by what the code was for (a sign-in code gave a session, any other a proof). */
async function useProof(proof) {
  if (proof.purpose === 'SIGN_IN' && proof.signedIn) {
    await offerPasskey(proof.signedIn);
    return;
  }
  address = { emailProof: proof.emailProof, email: proof.email };
  switch (proof.purpose) {
    case 'SIGN_UP':
      showCreateStep();
      return;
    case 'RECOVERY':
      // Where an administrator approves recoveries, a proof alone resets no password either:
      // the request is filed as for a lost passkey.
      if (recoveryIntent === 'password' && allows('PASSWORD') && !config.recoveryRequiresApproval) {
        showResetStep();
        return;
      }
      if (config.recoveryRequiresApproval) {
        showStatus(t('recover.sending'));
        await latchkey.requestAccountRecovery({ emailProof: proof.emailProof });
        showDone(headingFor('RECOVERY'), t('recover.requested', { email: proof.email }));
        return;
      }
      showReplaceStep();
      return;
    case 'VERIFY_ADDRESS':
      showDone(t('proof.verifiedHeading'), t('proof.verified', { email: proof.email }));
      return;
    case 'EMAIL_CHANGE':
      // The link of a code asked for on the account page: the account moves to the address
      // where this browser is signed in; elsewhere the proof has no account to move.
      if (!storedTokens.load()) {
        showDone(t('emailChange.heading'), t('emailChange.linkSignedOut'));
        return;
      }
      await latchkey.changeViewerEmail({ emailProof: proof.emailProof });
      setFlash('emailChange.changed', { email: proof.email }, 'success');
      location.assign(`${base}account`);
      return;
    default:
      showDone(t('proof.confirmedHeading'), t('proof.confirmed', { email: proof.email }));
  }
}

function showDone(title, text) {
  showStatus('');
  document.getElementById('done-text').textContent = text;
  showStep('done', title);
}

/**
 * Whether the create step offers a password: the tenant allows password sign-in, and the
 * address is proven (`signUpWithPassword` takes only a proof).
 */
function offersPasswordSignUp() {
  return allows('PASSWORD') && !!address?.emailProof;
}

/** The sign-up's last step, for `address`: a passkey, or a password where the tenant allows it. */
function showCreateStep() {
  showStatus('');
  const withPassword = offersPasswordSignUp();
  const withPasskey = passkeysSupported();
  document.getElementById('create-password').hidden = !withPassword;
  document.getElementById('create-passkey').hidden = !withPasskey;
  document.getElementById('create-username').value = address.email;
  document.getElementById('create-password-hint').textContent = passwordRules(config);
  createPasswordInput.value = '';
  createPasswordInput.removeAttribute('aria-invalid');
  const text = withPassword ? (withPasskey ? 'create.textPasskeyOrPassword' : 'create.textPassword') : 'create.textPasskey';
  document.getElementById('create-text').textContent = t(address.emailProof ? text : 'create.textUnverified', {
    email: address.email,
  });
  showStep('create', headingFor('SIGN_UP'));
  createName.focus();
}

function signUpWithPassword(displayName, password) {
  if (!password) {
    showStatus(t('create.enterPassword'), 'error');
    createPasswordInput.focus();
    return;
  }
  const { emailProof } = address;
  createPasswordInput.removeAttribute('aria-invalid');
  return exclusive(async () => {
    showStatus(t('signup.creating'));
    const signedIn = await markingErrors(createPasswordInput, ['password'], () =>
      latchkey.signUpWithPassword({ emailProof, password, displayName }),
    );
    hidePasswords();
    await completeSignIn(signedIn, config.requireSecondFactor ? 'signup.readySetUpApp' : 'signup.ready');
  }, 'password-signup');
}

/** Recovery with a new passkey, for `address` (a `RECOVERY` proof). */
function showReplaceStep() {
  showStatus('');
  document.getElementById('replace-text').textContent = t('replace.text', { email: address.email });
  document.getElementById('replace-password-button').parentElement.hidden = !allows('PASSWORD');
  showStep('replace', headingFor('RECOVERY'));
}

/** Recovery with a new password, for `address` (a `RECOVERY` proof). */
function showResetStep() {
  showStatus('');
  document.getElementById('reset-text').textContent = t('reset.text', { email: address.email });
  document.getElementById('reset-username').value = address.email;
  document.getElementById('reset-password-hint').textContent = passwordRules(config);
  resetPassword.value = '';
  resetPassword.removeAttribute('aria-invalid');
  // A new passkey instead, where recoveries create one (not where an administrator approves them).
  document.getElementById('reset-passkey-button').parentElement.hidden =
    !passkeysSupported() || config.recoveryRequiresApproval;
  showStep('reset', headingFor('RECOVERY', 'password'));
  resetPassword.focus();
}

/**
 * Sets the new password. It does not sign in: the page goes back to sign-in with the address
 * filled in, for the person to sign in with the new password.
 */
function resetAccountPassword(newPassword, signOutEverywhere) {
  if (!newPassword) {
    showStatus(t('reset.enterPassword'), 'error');
    resetPassword.focus();
    return;
  }
  const { emailProof, email } = address;
  resetPassword.removeAttribute('aria-invalid');
  return exclusive(async () => {
    showStatus(t('reset.saving'));
    await markingErrors(resetPassword, ['newPassword', 'password'], () =>
      latchkey.resetPassword({ emailProof, newPassword, signOutEverywhere }),
    );
    address = null;
    recoveryIntent = null;
    signInEmail.value = email;
    passwordInput.value = '';
    setBusy(false);
    backToSignIn(passwordInput);
    showStatus(t(signOutEverywhere ? 'reset.doneEverywhere' : 'reset.done'), 'success');
  }, 'password-reset');
}

function signUp(displayName) {
  const { emailProof, email } = address;
  return exclusive(async () => {
    showStatus(t('common.followPrompt'));
    const onCredential = () => showStatus(t('signup.creating'));
    const proven = emailProof ? { emailProof } : { email };
    await completeSignIn(await latchkey.signUp({ ...proven, displayName, onCredential }));
  }, 'signup');
}

function replacePasskey(signOutEverywhere) {
  const { emailProof } = address;
  return exclusive(async () => {
    showStatus(t('common.followPrompt'));
    const onCredential = () => showStatus(t('common.savingPasskey'));
    const signedIn = await latchkey.recover({ emailProof, signOutEverywhere, onCredential });
    await completeSignIn(signedIn, signOutEverywhere ? 'replace.readyElsewhere' : 'replace.ready');
  }, 'recover');
}

// ---------------------------------------------------------------------------------------
// Links from emails

/** A registration link (`?registration=<token>`): register a new passkey to that account. */
function registerFromLink(registrationToken) {
  return exclusive(async () => {
    showStatus(t('common.followPrompt'));
    const onCredential = () => showStatus(t('common.savingPasskey'));
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
  recoveryIntent ??= before.intent;
  document.getElementById('link-form').addEventListener('submit', (event) => {
    event.preventDefault();
    confirmAddress(async () => {
      const proof = await confirmLink(challengeId, code, { mayBeSignIn: allows('EMAIL_CODE') });
      // The code is spent: no copy of it stays in the address bar or the history.
      history.replaceState(null, '', base);
      return proof;
    }, 'verify-link');
  });
}

/**
 * The undo link in the notice of an email change (`?undo_email_change=<token>`): shows a
 * button, and only its click moves the account back to its old address (a mail scanner that
 * opens the link changes nothing). Every session of the account ends, this device's too when
 * it was signed in to it: the person signs in again.
 */
function openUndoLink(token) {
  showStep('undo', t('emailChange.undoHeading'));
  document.getElementById('undo-form').addEventListener('submit', (event) => {
    event.preventDefault();
    exclusive(async () => {
      try {
        await latchkey.undoEmailChange({ token });
      } catch (error) {
        if (error?.code === 'BAD_USER_INPUT' && error.field === 'token') throw new Error(t('emailChange.undoFailed'));
        throw error;
      }
      // The token is spent: no copy of it stays in the address bar or the history.
      history.replaceState(null, '', base);
      // A session of this account on this device has ended: the SDK finds out and forgets it.
      if (storedTokens.load()) await latchkey.refresh().catch(() => {});
      document.getElementById('signed-in-notice').hidden = !storedTokens.load();
      setBusy(false);
      backToSignIn();
      showStatus(t('emailChange.undone'), 'success');
    }, 'account');
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
const undoEmailChangeToken = query.get('undo_email_change');

/** Where a sign-in with identity provider `id` starts, carrying the parked request and the address. */
function federationStart(id, email) {
  const params = new URLSearchParams();
  if (authorizationRequest) params.set('authorization_request', authorizationRequest);
  if (email) params.set('login_hint', email);
  const search = params.toString();
  return `${base}federation/${encodeURIComponent(id)}/start${search ? `?${search}` : ''}`;
}

/**
 * Shows the tenant-wide identity providers (config.json `identityProviders`, present when the
 * tenant's sign-in methods include `FEDERATED`) as "Continue with …" links; not on a step-up.
 */
function showIdentityProviders() {
  const providers = Array.isArray(config.identityProviders) ? config.identityProviders : [];
  const links = providers.map((provider) => {
    const link = document.createElement('a');
    link.className = 'button button-secondary';
    link.href = federationStart(provider.id, '');
    link.dataset.provider = provider.id;
    link.textContent = t('signin.continueWith', { name: provider.name });
    return link;
  });
  document.getElementById('federation-buttons').replaceChildren(...links);
  document.getElementById('federation-section').hidden = links.length === 0 || stepUp;
}

/**
 * Home-realm discovery: when some organization signs its people in with SSO
 * (config.json `enterpriseSso`), the provider that answers for the address's domain, if any.
 */
async function organizationProvider(email) {
  if (config.enterpriseSso !== true || stepUp || !email.includes('@')) return null;
  const response = await fetch(`${base}federation/discover?email=${encodeURIComponent(email)}`, {
    headers: { accept: 'application/json' },
  });
  if (!response.ok) return null;
  return (await response.json()).providerId ?? null;
}

signInForm.addEventListener('submit', async (event) => {
  event.preventDefault();
  const email = signInEmail.value.trim();
  // An address of an organization with SSO goes to its provider, whatever was pressed.
  const provider = await organizationProvider(email).catch(() => null);
  if (provider) {
    showStatus(t('signin.ssoRedirect'));
    location.assign(federationStart(provider, email));
    return;
  }
  switch (event.submitter) {
    case codeButton:
      startCodeSignIn(email);
      return;
    case passwordButton:
      passwordSignIn(email, passwordInput.value);
      return;
    case continueButton:
      signIn(email);
      return;
    default:
      // Enter in a field (the form's first button, never shown): the password when one was
      // typed or passkeys are not offered, else a passkey, else a code, as the tenant allows.
      if (usePassword && (passwordInput.value || !usePasskeys)) passwordSignIn(email, passwordInput.value);
      else if (usePasskeys || stepUp) signIn(email);
      else startCodeSignIn(email);
  }
});

passkeyButton.addEventListener('click', () => signIn(''));

signUpForm.addEventListener('submit', (event) => {
  event.preventDefault();
  startSignUp(signUpEmail.value.trim());
});

document.getElementById('lost-passkey-button').addEventListener('click', () => showRecoverStep('passkey'));

document.getElementById('forgot-password-button').addEventListener('click', () => showRecoverStep('password'));

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
    showStatus(t('code.resent'), 'success');
  }, 'verify-code'),
);

document.getElementById('create-form').addEventListener('submit', (event) => {
  event.preventDefault();
  const displayName = createName.value.trim();
  const withPassword =
    event.submitter === createPasswordButton ||
    // Enter in a field: the password when one was typed (or when it is the only way).
    (event.submitter !== createButton &&
      offersPasswordSignUp() &&
      (createPasswordInput.value !== '' || !passkeysSupported()));
  if (withPassword) signUpWithPassword(displayName, createPasswordInput.value);
  else signUp(displayName);
});

document.getElementById('second-factor-form').addEventListener('submit', (event) => {
  event.preventDefault();
  completeSecondFactor(secondFactorInput.value);
});

document.getElementById('second-factor-switch').addEventListener('click', () => {
  useRecoveryCode(!secondFactor.recovery);
  secondFactorInput.focus();
});

document.getElementById('reset-form').addEventListener('submit', (event) => {
  event.preventDefault();
  resetAccountPassword(resetPassword.value, resetSignOut.checked);
});

document.getElementById('reset-passkey-button').addEventListener('click', showReplaceStep);

document.getElementById('replace-form').addEventListener('submit', (event) => {
  event.preventDefault();
  replacePasskey(replaceSignOut.checked);
});

document.getElementById('replace-password-button').addEventListener('click', showResetStep);

document.getElementById('offer-form').addEventListener('submit', (event) => {
  event.preventDefault();
  addOfferedPasskey();
});

document.getElementById('offer-skip-button').addEventListener('click', () =>
  exclusive(() => completeSignIn(codeSignIn), 'signin'),
);

document.getElementById('email-back-button').addEventListener('click', () => {
  if (verifyChallenge || undoEmailChangeToken) history.replaceState(null, '', base);
  showStatus('');
  address = null;
  recoveryIntent = null;
  backToSignIn();
});

wirePasswordToggles();

/**
 * Shows the sign-in methods the tenant allows: the passkey button, autofill and recovery of a
 * lost passkey with `PASSKEY` (where the browser has WebAuthn), "Email me a code" with
 * `EMAIL_CODE`, the password field, its Sign in button and "Forgot your password?" with
 * `PASSWORD`. Without passkeys or a password, the code is the form's one action. A step-up
 * (`?step_up=passkey`) shows the passkey sign-in only.
 */
function showSignInMethods() {
  usePasskeys = allows('PASSKEY') && passkeysSupported();
  usePassword = allows('PASSWORD') && !stepUp;
  const useCodes = allows('EMAIL_CODE') && !stepUp;
  const shown = { PASSKEY: usePasskeys, EMAIL_CODE: useCodes, PASSWORD: usePassword };
  for (const element of document.querySelectorAll('#signin-section [data-method]')) {
    element.hidden = !shown[element.dataset.method];
  }
  const hint = document.getElementById('signin-email-hint');
  const lede = document.getElementById('lede');
  if (stepUp) {
    showStepUp();
    return;
  }
  if (usePassword) {
    // The password is the form's main action; passkeys and codes are the other buttons.
    continueButton.dataset.i18n = 'signin.continueWithPasskey';
    hint.dataset.i18n = usePasskeys
      ? useCodes
        ? 'signin.emailHintPasswordPasskeyCode'
        : 'signin.emailHintPasswordPasskey'
      : useCodes
        ? 'signin.emailHintPasswordCode'
        : 'signin.emailHintPassword';
    lede.dataset.i18n = usePasskeys ? 'signin.ledePasskeyFirst' : 'signin.ledeEmail';
    if (!usePasskeys) signInEmail.autocomplete = 'username';
    return;
  }
  if (usePasskeys) {
    if (shown.EMAIL_CODE) hint.dataset.i18n = 'signin.emailHintPasskeyCode';
    return;
  }
  signInEmail.autocomplete = 'email';
  codeButton.classList.replace('button-secondary', 'button-primary');
  hint.dataset.i18n = 'signin.emailHintCode';
  lede.dataset.i18n = 'signin.ledeCode';
}

/**
 * The step-up page: only the passkey sign-in, saying why. Sign-up, recovery and the notice
 * of the session already on this device (which signed in another way) are hidden.
 */
function showStepUp() {
  signUpSection.hidden = true;
  document.getElementById('lost-passkey-button').parentElement.hidden = true;
  document.getElementById('signed-in-notice').hidden = true;
  document.getElementById('lede').dataset.i18n = 'stepUp.lede';
  document.getElementById('signin-email-hint').dataset.i18n = 'signin.emailHint';
  const notice = document.getElementById('step-up-notice');
  notice.hidden = false;
  notice.dataset.i18n = usePasskeys
    ? 'stepUp.notice'
    : allows('PASSKEY')
      ? 'stepUp.noticeNoBrowserSupport'
      : 'stepUp.noticeNotOffered';
  if (!usePasskeys) notice.classList.add('notice-error');
}

/**
 * The languages an application asked for (OpenID Connect `ui_locales`, space-separated, passed
 * on by `authorize`), best first.
 */
const uiLocales = (query.get('ui_locales') ?? '').split(' ').filter(Boolean);

async function init() {
  // Nothing runs before the tenant's settings are known (they decide the steps and the language).
  setBusy(true);
  if (storedTokens.load()) document.getElementById('signed-in-notice').hidden = false;
  let failure = null;
  let loaded = null;
  try {
    loaded = await loadConfig();
    config = { ...config, ...loaded };
    signUpSection.hidden = config.selfSignUp !== true;
    document.getElementById('signup-email-hint').hidden = config.requireVerifiedEmail === false;
  } catch (error) {
    failure = error;
  }
  showSignInMethods();
  await localizePage({ config: loaded, preferred: uiLocales, title: 'signin.title' }).catch((error) => {
    failure ??= error;
  });
  showIdentityProviders();
  showFlash();
  if (invitation) showStatus(t('signin.invited'));
  if (failure) showError(failure);
  if (federationHandoff && (await collectFederatedSignIn(federationHandoff).catch(() => false))) return;
  if (verifyChallenge) openVerifyLink(verifyChallenge, query.get('code') ?? '');
  if (undoEmailChangeToken) openUndoLink(undoEmailChangeToken);
  if (!passkeysSupported()) {
    document.getElementById('unsupported-notice').hidden = false;
    // Recovery of a passkey and registration links create passkeys, and sign-up does unless
    // it can take a password (with a proven address); a code or a password still signs in.
    if (!allows('PASSWORD') || config.requireVerifiedEmail === false || stepUp) signUpSection.hidden = true;
    if (stepUp || (!allows('EMAIL_CODE') && !allows('PASSWORD'))) return;
  }
  autofillAvailable = usePasskeys && (await latchkey.isConditionalMediationAvailable());
  setBusy(false);
  startAutofill();
}

init();
