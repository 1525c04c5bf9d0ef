// The account page (/t/{slug}/account): profile, passkeys (add, rename, remove), sessions
// (sign out elsewhere, sign out here) and recent security events. Every change reloads the
// viewer, so what is shown is always what the server holds.

import {
  asSignedIn,
  authenticated,
  base,
  describeError,
  latchkey,
  loadConfig,
  passkeysSupported,
  setFlash,
  showError,
  showFlash,
  showStatus,
  storedTokens,
} from './app.js';

const VIEWER = `query Viewer {
  viewer {
    identity { id email displayName }
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

function render(viewer) {
  document.getElementById('account-email').textContent = viewer.identity.email ?? '';
  document.getElementById('account-name').textContent = viewer.identity.displayName ?? '';
  renderPasskeys(viewer.passkeys.nodes);
  renderSessions(viewer.sessions.nodes);
  renderEvents(viewer.securityEvents ?? []);
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

async function init() {
  if (!storedTokens.load()) {
    location.replace(base);
    return;
  }
  showFlash();
  setBusy(true);
  loadConfig('Your account').catch(() => {
    // The page works without the tenant's name and colour.
  });
  try {
    await reload();
  } catch (error) {
    showError(error, 'account');
  } finally {
    setBusy(false);
  }
}

init();
