// The account page (/t/{slug}/account): profile, passkeys (add, rename, remove), the password
// and authenticator app (set or change the password, set up or remove the app, its recovery
// codes shown once), sessions (sign out elsewhere, sign out here) and recent security events;
// the profile form, the email change and the consents are profile.js's.
// Every change reloads the viewer, so what is shown is always what the server holds.
// The page is in the language of the person's stored locale, else the browser's, else the
// tenant's default; it changes language when they save another locale (profile.js).

import {
  asSignedIn,
  authenticated,
  base,
  describeError,
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
import { currentLanguage, has, plural, t, translate } from './i18n.js';
import { showProfile, showProfileSettings } from './profile.js';

const VIEWER = `query Viewer {
  viewer {
    identity {
      id email displayName hasPassword totpEnrolled
      phone locale attributes consents { purpose granted version decidedAt }
      federatedLinks { providerId providerName email lastSignInAt }
    }
    passkeys(first: 100) { nodes { id name createdAt lastUsedAt backupState } }
    sessions(first: 100) { nodes { id createdAt lastUsedAt current userAgent } }
    securityEvents(first: 20) { action occurredAt ipAddress }
  }
}`;

const RENAME_PASSKEY = `mutation RenamePasskey($input: RenamePasskeyInput!) {
  renamePasskey(input: $input) { passkey { id name } }
}`;

const REVOKE_PASSKEY = `mutation RevokePasskey($input: RevokePasskeyInput!) {
  revokePasskey(input: $input) { passkey { id } }
}`;

const UNLINK_PROVIDER = `mutation UnlinkIdentityProvider($input: UnlinkIdentityProviderInput!) {
  unlinkIdentityProvider(input: $input) { unlinked }
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
/** The viewer last loaded (shown again when the page changes language). */
let viewer = null;
/** An authenticator app being set up: `{ secret, otpauthUri }` until confirmed or cancelled. */
let enrollment = null;
/** The recovery codes of the app just set up, shown until the person says they saved them. */
let recoveryCodes = null;

/** A time as the page shows it, in the page's language; null for none. */
function formatDate(value) {
  if (!value) return null;
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) return null;
  return new Intl.DateTimeFormat(currentLanguage(), { dateStyle: 'medium', timeStyle: 'short' }).format(date);
}

/** "Chrome on Linux" from a user agent string; the full string goes in a tooltip. */
function describeUserAgent(userAgent) {
  if (!userAgent) return t('account.unknownDevice');
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
  if (browser && system) return t('account.browserOnSystem', { browser, system });
  return browser ?? system ?? t('account.unknownDevice');
}

function setBusy(value) {
  main.setAttribute('aria-busy', String(value));
  for (const button of main.querySelectorAll('button')) button.disabled = value;
}

/** A copy of a `<template>`'s item, in the page's language. */
function itemFrom(template) {
  const item = template.content.firstElementChild.cloneNode(true);
  translate(item);
  return item;
}

function renderPasskeys(passkeys) {
  document.getElementById('passkey-count').textContent = plural('account.passkeyCount', passkeys.length);
  passkeyList.replaceChildren(
    ...passkeys.map((passkey, index) => {
      const item = itemFrom(passkeyTemplate);
      const name = passkey.name || t('account.passkey');
      item.dataset.passkeyId = passkey.id;
      item.querySelector('.passkey-name').textContent = name;
      const meta = [t('account.passkeyAdded', { date: formatDate(passkey.createdAt) ?? t('common.unknownTime') })];
      const lastUsed = formatDate(passkey.lastUsedAt);
      meta.push(lastUsed ? t('account.passkeyLastUsed', { date: lastUsed }) : t('account.passkeyNotUsed'));
      if (passkey.backupState) meta.push(t('account.passkeySynced'));
      item.querySelector('.passkey-meta').textContent = meta.join(' · ');

      const renameButton = item.querySelector('.passkey-rename');
      const revokeButton = item.querySelector('.passkey-revoke');
      renameButton.setAttribute('aria-label', t('account.renameNamed', { name }));
      revokeButton.setAttribute('aria-label', t('account.removeNamed', { name }));

      const form = item.querySelector('.rename-form');
      const input = item.querySelector('.rename-input');
      input.id = `rename-input-${index}`;
      item.querySelector('.rename-label').htmlFor = input.id;
      item.querySelector('.rename-label').textContent = t('account.newNameFor', { name });

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

/**
 * The providers the account signs in with (each with Unlink, which the server refuses when it
 * is the last way in), and links to the tenant-wide providers it is not linked to yet.
 */
function renderProviders(links) {
  const available = (Array.isArray(config?.identityProviders) ? config.identityProviders : []).filter(
    (provider) => !links.some((link) => link.providerId === provider.id),
  );
  document.getElementById('providers-section').hidden = links.length === 0 && available.length === 0;
  document.getElementById('provider-list').replaceChildren(
    ...links.map((link) => {
      const item = itemFrom(document.getElementById('provider-template'));
      const name = link.providerName;
      item.querySelector('.provider-name').textContent = name;
      const lastUsed = formatDate(link.lastSignInAt) ?? t('common.unknownTime');
      item.querySelector('.provider-meta').textContent = t('account.providerMeta', { email: link.email ?? '', date: lastUsed });
      const unlink = item.querySelector('.provider-unlink');
      unlink.setAttribute('aria-label', t('account.unlinkNamed', { name }));
      unlink.addEventListener('click', () => unlinkProvider(link.providerId, name));
      return item;
    }),
  );
  document.getElementById('provider-links').replaceChildren(
    ...available.map((provider) => {
      const link = document.createElement('a');
      link.className = 'button button-small button-secondary';
      link.href = `${base}federation/${encodeURIComponent(provider.id)}/start?intent=link`;
      link.textContent = t('account.linkProvider', { name: provider.name });
      return link;
    }),
  );
}

function renderSessions(sessions) {
  document.getElementById('session-count').textContent = plural('account.sessionCount', sessions.length);
  sessionList.replaceChildren(
    ...sessions.map((session) => {
      const item = itemFrom(sessionTemplate);
      item.dataset.sessionId = session.id;
      item.dataset.current = String(session.current === true);
      const device = describeUserAgent(session.userAgent);
      const deviceElement = item.querySelector('.session-device');
      deviceElement.textContent = device;
      if (session.userAgent) deviceElement.title = session.userAgent;
      item.querySelector('.session-current').hidden = session.current !== true;
      const meta = [t('account.sessionSignedIn', { date: formatDate(session.createdAt) ?? t('common.unknownTime') })];
      const lastUsed = formatDate(session.lastUsedAt);
      if (lastUsed) meta.push(t('account.sessionLastActive', { date: lastUsed }));
      item.querySelector('.session-meta').textContent = meta.join(' · ');
      const revokeButton = item.querySelector('.session-revoke');
      if (session.current) {
        // This device signs out with the page's own Sign out button.
        revokeButton.remove();
      } else {
        revokeButton.setAttribute(
          'aria-label',
          t('account.signOutSession', { device, date: formatDate(session.createdAt) ?? t('common.unknownTime') }),
        );
        revokeButton.addEventListener('click', () => revokeSession(session.id));
      }
      return item;
    }),
  );
}

/**
 * "Passkey added" for `passkey.register` (`event.<action>` in the catalogs); an action the
 * catalogs do not name, spelled out from the action ("Passkey register").
 */
function describeAction(action) {
  if (has(`event.${action}`)) return t(`event.${action}`);
  const words = String(action).replace(/[._]+/g, ' ').trim();
  return words ? words[0].toUpperCase() + words.slice(1) : t('account.eventOther');
}

function renderEvents(events) {
  document.getElementById('events-empty').hidden = events.length > 0;
  eventList.replaceChildren(
    ...events.map((event) => {
      const item = itemFrom(eventTemplate);
      item.dataset.action = event.action;
      item.querySelector('.event-action').textContent = describeAction(event.action);
      const meta = [formatDate(event.occurredAt) ?? t('account.eventUnknownTime')];
      if (event.ipAddress) meta.push(t('account.eventFrom', { address: event.ipAddress }));
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

  document.getElementById('password-state').textContent = t(identity.hasPassword ? 'account.passwordIsSet' : 'account.passwordNotSet');
  document.getElementById('totp-state').textContent = t(identity.totpEnrolled ? 'account.appOn' : 'account.appOff');

  document.getElementById('password-form-heading').textContent = t(
    identity.hasPassword ? 'account.changePasswordHeading' : 'account.setPasswordHeading',
  );
  document.getElementById('password-button').textContent = t(identity.hasPassword ? 'account.changePassword' : 'account.setPassword');
  document.getElementById('current-password-field').hidden = !identity.hasPassword;
  currentPassword.required = identity.hasPassword;
  document.getElementById('password-username').value = identity.email ?? '';
  document.getElementById('new-password-hint').textContent = passwordRules(config);

  const enrolling = enrollment !== null;
  const showingCodes = recoveryCodes !== null;
  const hint = document.getElementById('totp-hint');
  if (showingCodes) hint.textContent = t('account.appReady');
  else if (identity.totpEnrolled) hint.textContent = t('account.appHintOn');
  else if (!identity.hasPassword) hint.textContent = t('account.appHintNoPassword');
  else hint.textContent = t(config?.requireSecondFactor ? 'account.appHintRequired' : 'account.appHintOffer');
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

/** What this module shows in words of the page's language (the loaded `viewer`'s). */
function renderLists() {
  renderPasswordSection();
  renderPasskeys(viewer.passkeys.nodes);
  renderProviders(viewer.identity.federatedLinks ?? []);
  renderSessions(viewer.sessions.nodes);
  renderEvents(viewer.securityEvents ?? []);
}

function render(loaded) {
  viewer = loaded;
  identity = viewer.identity;
  document.getElementById('account-email').textContent = viewer.identity.email ?? '';
  document.getElementById('account-name').textContent = viewer.identity.displayName ?? '';
  renderLists();
  showProfile(viewer.identity);
}

async function reload() {
  const data = await authenticated(VIEWER, {});
  render(data.viewer);
}

// A new stored locale (profile.js): what this module built is shown again in the new language.
document.addEventListener('latchkey:languagechange', () => {
  if (viewer) renderLists();
});

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
    showStatus(t('account.enterPasskeyName'), 'error');
    return;
  }
  return change(
    () => authenticated(RENAME_PASSKEY, { input: { id, name } }),
    t('account.passkeyRenamed', { name }),
    'account',
    () => passkeyList.querySelector(`[data-passkey-id="${CSS.escape(id)}"] .passkey-rename`),
  );
}

function revokePasskey(id, name, count) {
  if (!window.confirm(t(count === 1 ? 'account.removeOnlyPasskey' : 'account.removePasskey', { name }))) return;
  return change(
    () => authenticated(REVOKE_PASSKEY, { input: { id } }),
    t('account.passkeyRemoved', { name }),
    'account',
    () => document.getElementById('passkeys-heading'),
  );
}

function unlinkProvider(providerId, name) {
  if (!window.confirm(t('account.unlinkConfirm', { name }))) return;
  return change(
    () => authenticated(UNLINK_PROVIDER, { input: { providerId } }),
    t('account.providerUnlinked', { name }),
    'account',
    () => document.getElementById('providers-heading'),
  );
}

function revokeSession(id) {
  return change(
    () => authenticated(REVOKE_SESSION, { input: { id } }),
    t('account.sessionSignedOut'),
    'account',
    () => document.getElementById('sessions-heading'),
  );
}

function addPasskey(passkeyName) {
  if (!passkeysSupported()) {
    showStatus(t('account.passkeysUnsupported'), 'error');
    return;
  }
  return change(
    async () => {
      showStatus(t('common.followPrompt'));
      // No name: the server's default.
      await asSignedIn(() => latchkey.addPasskey({ passkeyName: passkeyName || undefined }));
      addPasskeyName.value = '';
    },
    t('account.passkeyAddedNow'),
    'add-passkey',
  );
}

// ---------------------------------------------------------------------------------------
// Password and authenticator app

/** Sets the first password, or changes it (with the current one). */
function changePassword() {
  const hadPassword = identity.hasPassword;
  if (hadPassword && !currentPassword.value) {
    showStatus(t('account.enterCurrentPassword'), 'error');
    currentPassword.focus();
    return;
  }
  if (!newPassword.value) {
    showStatus(t('account.enterNewPassword'), 'error');
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
    [t(hadPassword ? 'account.passwordChanged' : 'account.passwordSet'), signOutOtherSessions ? t('account.othersSignedOut') : null]
      .filter(Boolean)
      .join(' '),
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
    t('account.appSetUp'),
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
  if (!window.confirm(t(config?.requireSecondFactor ? 'account.appRemoveConfirmRequired' : 'account.appRemoveConfirm'))) return;
  return change(
    () => asSignedIn(() => latchkey.removeTotp()),
    t('account.appRemoved'),
    'totp',
    () => document.getElementById('totp-heading'),
  );
}

async function copyRecoveryCodes() {
  try {
    await navigator.clipboard.writeText(`${recoveryCodes.join('\n')}\n`);
    showStatus(t('account.recoveryCodesCopied'), 'success');
  } catch {
    showStatus(t('account.recoveryCodesNotCopied'), 'error');
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
    setFlash('account.signedOut');
  } catch (error) {
    // The SDK forgets the tokens either way; say why the server may still list this session.
    setFlash('account.signedOutHere', { reason: describeError(error, 'account') });
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
  setBusy(true);
  // The page works without the tenant's name, colour and sign-in methods (the password section
  // then shows only for a person who has a password). Nothing is shown before the language is
  // known, which takes the person's stored locale.
  let failure = null;
  const [loadedConfig, data] = await Promise.all([
    loadConfig().catch(() => null),
    authenticated(VIEWER, {}).catch((error) => {
      failure = error;
      return null;
    }),
  ]);
  config = loadedConfig;
  await localizePage({ config, preferred: [data?.viewer.identity.locale], title: 'account.title' }).catch((error) => {
    failure ??= error;
  });
  showFlash();
  if (data) {
    render(data.viewer);
    showProfileSettings(config);
  }
  if (failure) showError(failure, 'account');
  setBusy(false);
}

init();
