// The account page (/t/{slug}/account): profile, passkeys (add, rename, remove), the password
// and authenticator app (set or change the password, set up or remove the app, its recovery
// codes shown once), sessions (sign out elsewhere, sign out here) and recent security events;
// the profile form, the email change and the consents are profile.js's.
// Every change reloads the viewer, so what is shown is always what the server holds.

import {
  asSignedIn,
  authenticated,
  base,
  describeError,
  hidePasswords,
  latchkey,
  loadConfig,
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
import { showProfile, showProfileSettings } from './profile.js';

const VIEWER = `query Viewer {
  viewer {
    identity {
      id email displayName hasPassword totpEnrolled
      phone locale attributes consents { purpose granted version decidedAt }
    }
    passkeys(first: 100) { nodes { id name createdAt lastUsedAt backupState } }
    sessions(first: 100) { nodes { id createdAt lastUsedAt current userAgent } }
    securityEvents(first: 20) { action occurredAt ipAddress }
  }
}`;

/** What the security events' actions are called on the page; others are spelled out from the action. */
const EVENT_LABELS = {
  'passkey.register': 'Passkey added',
  'passkey.revoke': 'Passkey removed',
  'identity.recover': 'Account recovered',
  'identity.recovery_request.create': 'Account recovery requested',
  'identity.email_verified': 'Email address verified',
  'identity.sessions.revoke': 'Signed out everywhere',
  'password.set': 'Password set',
  'password.change': 'Password changed',
  'password.reset': 'Password reset',
  'totp.enable': 'Authenticator app added',
  'totp.remove': 'Authenticator app removed',
};

const RENAME_PASSKEY = `mutation RenamePasskey($input: RenamePasskeyInput!) {
  renamePasskey(input: $input) { passkey { id name } }
}`;

const REVOKE_PASSKEY = `mutation RevokePasskey($input: RevokePasskeyInput!) {
  revokePasskey(input: $input) { passkey { id } }
}`;

const REVOKE_SESSION = `mutation RevokeSession($input: RevokeSessionInput!) {
  revokeSession(input: $input) { session { id } }
}`;

const main = document.getElementById('main');
const passkeyList = document.getElementById('passkey-list');
const sessionList = document.getElementById('session-list');
const addPasskeyForm = document.getElementById('add-passkey-form');
const addPasskeyName = document.getElementById('add-passkey-name');
const passkeyTemplate = document.getElementById('passkey-template');
const sessionTemplate = document.getElementById('session-template');
const eventList = document.getElementById('event-list');
const eventTemplate = document.getElementById('event-template');

const passwordForm = document.getElementById('password-form');
const currentPassword = document.getElementById('current-password');
const newPassword = document.getElementById('new-password');
const signOutOthers = document.getElementById('signout-others');
const totpForm = document.getElementById('totp-enroll-form');
const totpCode = document.getElementById('totp-code');

/** The tenant's `config.json` (null until loaded, or when it could not be). */
let config = null;
/** The identity last loaded, with `hasPassword` and `totpEnrolled`. */
let identity = null;
/** An authenticator app being set up: `{ secret, otpauthUri }` until confirmed or cancelled. */
let enrollment = null;
/** The recovery codes of the app just set up, shown until the person says they saved them. */
let recoveryCodes = null;

const dateFormat = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });

function formatDate(value) {
  if (!value) return null;
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? null : dateFormat.format(date);
}

/** "Chrome on Linux" from a user agent string; the full string goes in a tooltip. */
function describeUserAgent(userAgent) {
  if (!userAgent) return 'Unknown device';
  const browser =
    [
      [/Edg(e|A|iOS)?\//, 'Edge'],
      [/OPR\//, 'Opera'],
      [/Firefox\/|FxiOS\//, 'Firefox'],
      [/Chrome\/|CriOS\/|Chromium\//, 'Chrome'],
      [/Safari\//, 'Safari'],
    ].find(([pattern]) => pattern.test(userAgent))?.[1] ?? null;
  const system =
    [
      [/iPhone|iPad|iPod/, 'iOS'],
      [/Android/, 'Android'],
      [/CrOS/, 'ChromeOS'],
      [/Mac OS X|Macintosh/, 'macOS'],
      [/Windows/, 'Windows'],
      [/Linux/, 'Linux'],
    ].find(([pattern]) => pattern.test(userAgent))?.[1] ?? null;
  if (browser && system) return `${browser} on ${system}`;
  return browser ?? system ?? 'Unknown device';
}

function setBusy(value) {
  main.setAttribute('aria-busy', String(value));
  for (const button of main.querySelectorAll('button')) button.disabled = value;
}

function setCount(id, count, one, many) {
  document.getElementById(id).textContent = `(${count} ${count === 1 ? one : many})`;
}

function renderPasskeys(passkeys) {
  setCount('passkey-count', passkeys.length, 'passkey', 'passkeys');
  passkeyList.replaceChildren(
    ...passkeys.map((passkey, index) => {
      const item = passkeyTemplate.content.firstElementChild.cloneNode(true);
      const name = passkey.name || 'Passkey';
      item.dataset.passkeyId = passkey.id;
      item.querySelector('.passkey-name').textContent = name;
      const meta = [`Added ${formatDate(passkey.createdAt) ?? 'at an unknown time'}`];
      const lastUsed = formatDate(passkey.lastUsedAt);
      meta.push(lastUsed ? `last used ${lastUsed}` : 'not used yet');
      if (passkey.backupState) meta.push('synced across devices');
      item.querySelector('.passkey-meta').textContent = meta.join(' · ');

      const renameButton = item.querySelector('.passkey-rename');
      const revokeButton = item.querySelector('.passkey-revoke');
      renameButton.setAttribute('aria-label', `Rename ${name}`);
      revokeButton.setAttribute('aria-label', `Remove ${name}`);

      const form = item.querySelector('.rename-form');
      const input = item.querySelector('.rename-input');
      input.id = `rename-input-${index}`;
      item.querySelector('.rename-label').htmlFor = input.id;
      item.querySelector('.rename-label').textContent = `New name for ${name}`;

      renameButton.addEventListener('click', () => {
        form.hidden = false;
        input.value = name;
        input.focus();
        input.select();
      });
      item.querySelector('.rename-cancel').addEventListener('click', () => {
        form.hidden = true;
        renameButton.focus();
      });
      form.addEventListener('submit', (event) => {
        event.preventDefault();
        renamePasskey(passkey.id, input.value.trim());
      });
      revokeButton.addEventListener('click', () => revokePasskey(passkey.id, name, passkeys.length));
      return item;
    }),
  );
}

function renderSessions(sessions) {
  setCount('session-count', sessions.length, 'session', 'sessions');
  sessionList.replaceChildren(
    ...sessions.map((session) => {
      const item = sessionTemplate.content.firstElementChild.cloneNode(true);
      item.dataset.sessionId = session.id;
      item.dataset.current = String(session.current === true);
      const device = describeUserAgent(session.userAgent);
      const deviceElement = item.querySelector('.session-device');
      deviceElement.textContent = device;
      if (session.userAgent) deviceElement.title = session.userAgent;
      item.querySelector('.session-current').hidden = session.current !== true;
      const meta = [`Signed in ${formatDate(session.createdAt) ?? 'at an unknown time'}`];
      const lastUsed = formatDate(session.lastUsedAt);
      if (lastUsed) meta.push(`last active ${lastUsed}`);
      item.querySelector('.session-meta').textContent = meta.join(' · ');
      const revokeButton = item.querySelector('.session-revoke');
      if (session.current) {
        // This device signs out with the page's own Sign out button.
        revokeButton.remove();
      } else {
        revokeButton.setAttribute('aria-label', `Sign out ${device}, signed in ${formatDate(session.createdAt) ?? ''}`.trim());
        revokeButton.addEventListener('click', () => revokeSession(session.id));
      }
      return item;
    }),
  );
}

/** "Passkey added" for `passkey.register`; an action the page does not know, as "Passkey register". */
function describeAction(action) {
  if (EVENT_LABELS[action]) return EVENT_LABELS[action];
  const words = String(action).replace(/[._]+/g, ' ').trim();
  return words ? words[0].toUpperCase() + words.slice(1) : 'Security event';
}

function renderEvents(events) {
  document.getElementById('events-empty').hidden = events.length > 0;
  eventList.replaceChildren(
    ...events.map((event) => {
      const item = eventTemplate.content.firstElementChild.cloneNode(true);
      item.dataset.action = event.action;
      item.querySelector('.event-action').textContent = describeAction(event.action);
      const meta = [formatDate(event.occurredAt) ?? 'At an unknown time'];
      if (event.ipAddress) meta.push(`from ${event.ipAddress}`);
      item.querySelector('.event-meta').textContent = meta.join(' · ');
      return item;
    }),
  );
}

/** The base32 key in groups of four, as authenticator apps show and accept it. */
function groupedSecret(secret) {
  return secret.replace(/(.{4})(?=.)/g, '$1 ');
}

/**
 * The password and authenticator-app section: shown where the tenant allows password sign-in
 * or the person has a password. An app can be set up once there is a password (it is the
 * password's second factor).
 */
function renderPasswordSection() {
  const allowed = Array.isArray(config?.signInMethods) && config.signInMethods.includes('PASSWORD');
  const section = document.getElementById('password-section');
  section.hidden = !allowed && !identity.hasPassword;
  if (section.hidden) return;
  section.dataset.hasPassword = String(identity.hasPassword);
  section.dataset.totpEnrolled = String(identity.totpEnrolled);

  document.getElementById('password-state').textContent = identity.hasPassword
    ? 'Set: you can sign in with your email address and password.'
    : 'Not set: you sign in without a password.';
  document.getElementById('totp-state').textContent = identity.totpEnrolled
    ? 'On: signing in with your password also asks for a code from the app.'
    : 'Off';

  document.getElementById('password-form-heading').textContent = identity.hasPassword
    ? 'Change your password'
    : 'Set a password';
  document.getElementById('password-button').textContent = identity.hasPassword ? 'Change password' : 'Set password';
  document.getElementById('current-password-field').hidden = !identity.hasPassword;
  currentPassword.required = identity.hasPassword;
  document.getElementById('password-username').value = identity.email ?? '';
  document.getElementById('new-password-hint').textContent = passwordRules(config);

  const enrolling = enrollment !== null;
  const showingCodes = recoveryCodes !== null;
  const hint = document.getElementById('totp-hint');
  if (showingCodes) hint.textContent = 'Your authenticator app is set up.';
  else if (identity.totpEnrolled) {
    hint.textContent = 'Signing in with your password asks for the 6-digit code your app shows, or one of your recovery codes.';
  } else if (!identity.hasPassword) {
    hint.textContent = 'An authenticator app protects sign-in with a password. Set a password first to use one.';
  } else {
    hint.textContent = config?.requireSecondFactor
      ? 'This service asks for a code from an authenticator app when you sign in with your password. Set one up to keep signing in with your password.'
      : 'Add a second step to signing in with your password: a code from an app on your phone, so a stolen password alone does not get into your account.';
  }
  document.getElementById('totp-start-button').hidden =
    identity.totpEnrolled || !identity.hasPassword || enrolling || showingCodes;
  document.getElementById('totp-remove-button').hidden = !identity.totpEnrolled || showingCodes;

  totpForm.hidden = !enrolling;
  if (enrolling) {
    document.getElementById('totp-secret').textContent = groupedSecret(enrollment.secret);
    document.getElementById('totp-secret').dataset.secret = enrollment.secret;
    document.getElementById('totp-uri').textContent = enrollment.otpauthUri;
    document.getElementById('totp-link').href = enrollment.otpauthUri;
  }

  document.getElementById('recovery-codes').hidden = !showingCodes;
  if (showingCodes) {
    document.getElementById('recovery-code-list').replaceChildren(
      ...recoveryCodes.map((code) => {
        const item = document.createElement('li');
        const text = document.createElement('code');
        text.textContent = code;
        item.append(text);
        return item;
      }),
    );
  }
}

function render(viewer) {
  identity = viewer.identity;
  document.getElementById('account-email').textContent = viewer.identity.email ?? '';
  document.getElementById('account-name').textContent = viewer.identity.displayName ?? '';
  renderPasswordSection();
  renderPasskeys(viewer.passkeys.nodes);
  renderSessions(viewer.sessions.nodes);
  renderEvents(viewer.securityEvents ?? []);
  showProfile(viewer.identity);
}

async function reload() {
  const data = await authenticated(VIEWER, {});
  render(data.viewer);
}

/** Runs a change, reloads the account, and announces the outcome. */
async function change(action, success, context, focusAfter) {
  setBusy(true);
  try {
    await action();
    await reload();
    if (success) showStatus(success, 'success');
    focusAfter?.()?.focus();
  } catch (error) {
    showError(error, context);
  } finally {
    setBusy(false);
  }
}

function renamePasskey(id, name) {
  if (!name) {
    showStatus('Please enter a name for the passkey.', 'error');
    return;
  }
  return change(
    () => authenticated(RENAME_PASSKEY, { input: { id, name } }),
    `Passkey renamed to “${name}”.`,
    'account',
    () => passkeyList.querySelector(`[data-passkey-id="${CSS.escape(id)}"] .passkey-rename`),
  );
}

function revokePasskey(id, name, count) {
  const warning =
    count === 1
      ? `Remove “${name}”? It is your only passkey: you will not be able to sign in again without one.`
      : `Remove “${name}”? You will no longer be able to sign in with it.`;
  if (!window.confirm(warning)) return;
  return change(
    () => authenticated(REVOKE_PASSKEY, { input: { id } }),
    `Passkey “${name}” removed.`,
    'account',
    () => document.getElementById('passkeys-heading'),
  );
}

function revokeSession(id) {
  return change(
    () => authenticated(REVOKE_SESSION, { input: { id } }),
    'That session has been signed out.',
    'account',
    () => document.getElementById('sessions-heading'),
  );
}

function addPasskey(passkeyName) {
  if (!passkeysSupported()) {
    showStatus('This browser does not support passkeys.', 'error');
    return;
  }
  return change(
    async () => {
      showStatus('Follow your device’s prompt to create a passkey…');
      // No name: the server's default.
      await asSignedIn(() => latchkey.addPasskey({ passkeyName: passkeyName || undefined }));
      addPasskeyName.value = '';
    },
    'Passkey added.',
    'add-passkey',
  );
}

// ---------------------------------------------------------------------------------------
// Password and authenticator app

/** Sets the first password, or changes it (with the current one). */
function changePassword() {
  const hadPassword = identity.hasPassword;
  if (hadPassword && !currentPassword.value) {
    showStatus('Enter your current password.', 'error');
    currentPassword.focus();
    return;
  }
  if (!newPassword.value) {
    showStatus('Enter the new password.', 'error');
    newPassword.focus();
    return;
  }
  currentPassword.removeAttribute('aria-invalid');
  newPassword.removeAttribute('aria-invalid');
  const signOutOtherSessions = signOutOthers.checked;
  return change(
    async () => {
      try {
        await asSignedIn(() =>
          latchkey.changePassword({
            currentPassword: hadPassword ? currentPassword.value : undefined,
            newPassword: newPassword.value,
            signOutOtherSessions,
          }),
        );
      } catch (error) {
        if (error?.field === 'newPassword' || error?.field === 'password') markInvalid(newPassword);
        else if (error?.field === 'currentPassword' || error?.code === 'FORBIDDEN') markInvalid(currentPassword);
        throw error;
      }
      hidePasswords(passwordForm);
      passwordForm.reset();
    },
    (hadPassword ? 'Your password has been changed.' : 'Your password is set: you can sign in with it.') +
      (signOutOtherSessions ? ' Your other sessions were signed out.' : ''),
    'password-change',
    () => document.getElementById('password-heading'),
  );
}

function startTotpEnrollment() {
  return change(
    async () => {
      enrollment = await asSignedIn(() => latchkey.beginTotpEnrollment());
      totpCode.value = '';
      totpCode.removeAttribute('aria-invalid');
    },
    '',
    'totp',
    () => totpCode,
  );
}

function finishTotpEnrollment(code) {
  totpCode.removeAttribute('aria-invalid');
  return change(
    async () => {
      try {
        ({ recoveryCodes } = await asSignedIn(() => latchkey.finishTotpEnrollment({ code })));
      } catch (error) {
        if (error?.field === 'code') markInvalid(totpCode);
        throw error;
      }
      enrollment = null;
    },
    'Your authenticator app is set up. Save your recovery codes below.',
    'totp',
    () => document.getElementById('totp-heading'),
  );
}

function cancelTotpEnrollment() {
  enrollment = null;
  renderPasswordSection();
  document.getElementById('totp-start-button').focus();
}

function removeTotp() {
  const warning = config?.requireSecondFactor
    ? 'Remove your authenticator app? Your recovery codes stop working too, and you cannot sign in with your password until you set up an app again.'
    : 'Remove your authenticator app? Signing in with your password will no longer ask for a code, and your recovery codes stop working.';
  if (!window.confirm(warning)) return;
  return change(
    () => asSignedIn(() => latchkey.removeTotp()),
    'Your authenticator app has been removed.',
    'totp',
    () => document.getElementById('totp-heading'),
  );
}

async function copyRecoveryCodes() {
  try {
    await navigator.clipboard.writeText(`${recoveryCodes.join('\n')}\n`);
    showStatus('The recovery codes are copied. Paste them somewhere safe, such as a password manager.', 'success');
  } catch {
    showStatus('The codes could not be copied here. Select them and copy them, or write them down.', 'error');
  }
}

function recoveryCodesSaved() {
  recoveryCodes = null;
  renderPasswordSection();
  showStatus('');
  document.getElementById('totp-heading').focus();
}

async function signOut() {
  setBusy(true);
  try {
    await latchkey.signOut();
    setFlash('You have signed out.', 'info');
  } catch (error) {
    // The SDK forgets the tokens either way; say why the server may still list this session.
    setFlash(`You have signed out on this device. ${describeError(error, 'account')}`, 'info');
  }
  location.assign(base);
}

addPasskeyForm.addEventListener('submit', (event) => {
  event.preventDefault();
  addPasskey(addPasskeyName.value.trim());
});

document.getElementById('signout-button').addEventListener('click', signOut);

passwordForm.addEventListener('submit', (event) => {
  event.preventDefault();
  changePassword();
});
document.getElementById('totp-start-button').addEventListener('click', startTotpEnrollment);
totpForm.addEventListener('submit', (event) => {
  event.preventDefault();
  finishTotpEnrollment(totpCode.value);
});
document.getElementById('totp-cancel-button').addEventListener('click', cancelTotpEnrollment);
document.getElementById('totp-remove-button').addEventListener('click', removeTotp);
document.getElementById('recovery-copy-button').addEventListener('click', copyRecoveryCodes);
document.getElementById('recovery-done-button').addEventListener('click', recoveryCodesSaved);
wirePasswordToggles();

async function init() {
  if (!storedTokens.load()) {
    location.replace(base);
    return;
  }
  showFlash();
  setBusy(true);
  // The page works without the tenant's name, colour and sign-in methods (the password section
  // then shows only for a person who has a password).
  const loaded = loadConfig('Your account').catch(() => null);
  try {
    const [loadedConfig] = await Promise.all([loaded, reload()]);
    config = loadedConfig;
    if (identity) renderPasswordSection();
    showProfileSettings(config);
  } catch (error) {
    showError(error, 'account');
  } finally {
    setBusy(false);
  }
}

init();
