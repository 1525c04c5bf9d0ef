// Shared code for the hosted pages of one tenant (served at /t/{slug}/): the pages' client of
// the tenant API, tenant configuration and page chrome (its language among them), and error
// messages a person can act on. The API, the passkey ceremonies and the session's tokens are
// the JavaScript SDK's (sdk/js/latchkey.js, served beside this file); the words are the
// catalogs' (i18n.js). Plain ES modules, no build step.

import { chooseLanguage, currentLanguage, has, loadCatalog, plural, t, translate } from './i18n.js';
import { Latchkey, localStorageTokens } from './latchkey.js';

/** The tenant's slug, from `/t/{slug}/…`. */
export const slug = location.pathname.split('/')[2] ?? '';

/** `/t/{slug}/`, the base every page, asset and API path hangs from. */
export const base = `/t/${slug}/`;

const flashKey = `latchkey.${slug}.flash`;

/**
 * This tenant's session: `{ accessToken, refreshToken, expiresAt }` in `localStorage` under
 * `latchkey.{slug}.tokens`, the key an app on this origin gives the SDK to share it.
 */
export const storedTokens = localStorageTokens(`latchkey.${slug}.tokens`);

/** The pages' one client: it shares refreshes between callers, and with other tabs under a Web Lock. */
export const latchkey = new Latchkey({ issuer: `${location.origin}/t/${slug}`, storage: storedTokens });

// ---------------------------------------------------------------------------------------
// Tenant configuration and page chrome

/** Loads `config.json` and applies the tenant's colour to the page (the `--brand` property). */
export async function loadConfig() {
  const response = await fetch(`${base}config.json`, { headers: { accept: 'application/json' } });
  if (!response.ok) throw new Error(`config.json answered ${response.status}`);
  const config = await response.json();
  if (typeof config.primaryColor === 'string' && /^#[0-9a-f]{3,8}$/i.test(config.primaryColor)) {
    document.documentElement.style.setProperty('--brand', config.primaryColor);
  }
  return config;
}

/** What `localizePage` was last given, for `switchLanguage`. */
let shown = { config: null, title: '' };

/**
 * Shows the page in the first language with a catalog among `preferred` (the signed-in
 * person's stored locale, or the languages an application asked for), then the browser's
 * languages, then the tenant's `defaultLocale` (`config`, the tenant's config.json or null;
 * its `locales` are the languages with a catalog): loads that catalog, sets `<html lang>`,
 * puts the text into the markup, shows the tenant's name in the elements with
 * `data-tenant-name` and titles the page `{title} · {name}` (`title`, a message key). Should
 * the catalog not load, English is tried before the error is thrown.
 */
export async function localizePage({ config, preferred = [], title }) {
  shown = { config, title };
  const tag = chooseLanguage([...preferred, ...navigator.languages], config?.locales ?? [], config?.defaultLocale);
  try {
    await loadCatalog(`${base}locales/${tag}.json`, tag).catch((error) => {
      if (tag === 'en') throw error;
      return loadCatalog(`${base}locales/en.json`, 'en');
    });
    translate();
  } finally {
    // Shown either way (style.css hides the page until then), with whatever text it has.
    document.documentElement.lang = currentLanguage();
  }
  const name = config?.name;
  for (const element of document.querySelectorAll('[data-tenant-name]')) {
    if (name) element.textContent = name;
  }
  document.title = name ? `${t(title)} · ${name}` : t(title);
}

/**
 * Shows the page again in the language for `locale` (the person's new stored locale, or null
 * for none), chosen as `localizePage` does; then tells the page's modules to show what they
 * built in it (the `latchkey:languagechange` event on `document`).
 */
export async function switchLanguage(locale) {
  await localizePage({ ...shown, preferred: [locale] });
  document.dispatchEvent(new Event('latchkey:languagechange'));
}

// ---------------------------------------------------------------------------------------
// Status region

let statusRegion = null;

/**
 * Shows a message in the page's `#status` live region. `kind` is `info`, `success` or
 * `error`; an empty message clears the region.
 */
export function showStatus(message, kind = 'info') {
  statusRegion ??= document.getElementById('status');
  if (!statusRegion) return;
  statusRegion.dataset.kind = message ? kind : '';
  statusRegion.textContent = message ?? '';
}

/** Shows an error's message (see `describeError`) unless it is a deliberate abort. */
export function showError(error, context) {
  const message = describeError(error, context);
  if (message) showStatus(message, 'error');
  else showStatus('');
}

/**
 * Keeps a message (its key and values) for the next page of this tenant, shown once by
 * `showFlash` in that page's language.
 */
export function setFlash(key, values = {}, kind = 'info') {
  try {
    sessionStorage.setItem(flashKey, JSON.stringify({ key, values, kind }));
  } catch {
    // Storage can be unavailable (private modes, quotas); a lost notice is not worth failing for.
  }
}

/** Shows and forgets the message left by `setFlash`, if any. */
export function showFlash() {
  try {
    const raw = sessionStorage.getItem(flashKey);
    if (!raw) return;
    sessionStorage.removeItem(flashKey);
    const { key, values, kind } = JSON.parse(raw);
    showStatus(t(key, values), kind);
  } catch {
    // See setFlash.
  }
}

// ---------------------------------------------------------------------------------------
// The signed-in person

/** Ends this page's session locally and goes to the sign-in page with a notice (a message key and its values). */
export function signedOutRedirect(notice = 'session.ended', values = {}) {
  storedTokens.save(null);
  setFlash(notice, values);
  location.assign(base);
}

/**
 * Runs `call` (an SDK call that needs the session) as the signed-in person. When nobody is
 * signed in, or the session has ended (the SDK refreshed a refused access token once, and
 * that failed too), the stored tokens are cleared and the browser goes to the sign-in page.
 * The returned promise then never settles.
 */
export async function asSignedIn(call) {
  if (!storedTokens.load()) {
    signedOutRedirect('session.signIn');
    return new Promise(() => {});
  }
  try {
    return await call();
  } catch (error) {
    if (error?.code !== 'UNAUTHENTICATED') throw error;
    signedOutRedirect();
    return new Promise(() => {});
  }
}

/** Runs a GraphQL operation as the signed-in person; see `asSignedIn`. */
export function authenticated(query, variables) {
  return asSignedIn(() => latchkey.graphql(query, variables));
}

/** Whether this browser has WebAuthn at all. */
export function passkeysSupported() {
  return typeof window.PublicKeyCredential === 'function' && !!navigator.credentials;
}

// ---------------------------------------------------------------------------------------
// Passwords

/**
 * Makes every "Show password" button (`.password-toggle`, `aria-controls` naming its field)
 * show and hide its field's text. The label stays the same; `aria-pressed` says whether the
 * password is shown.
 */
export function wirePasswordToggles(root = document) {
  for (const button of root.querySelectorAll('.password-toggle')) {
    const input = document.getElementById(button.getAttribute('aria-controls'));
    if (!input) continue;
    button.addEventListener('click', () => {
      const show = input.type === 'password';
      input.type = show ? 'text' : 'password';
      button.setAttribute('aria-pressed', String(show));
      input.focus();
    });
  }
}

/** Hides the text of every shown password again (after it was used, or the step closed). */
export function hidePasswords(root = document) {
  for (const button of root.querySelectorAll('.password-toggle[aria-pressed="true"]')) {
    const input = document.getElementById(button.getAttribute('aria-controls'));
    if (input) input.type = 'password';
    button.setAttribute('aria-pressed', 'false');
  }
}

/**
 * What a new password must be, as the server checks it (NIST SP 800-63B): a length, and not
 * common, breached or made of the person's own details. No rules about kinds of characters.
 * The minimum is 8 where the tenant requires a second factor (`requireSecondFactor`), else 15.
 */
export function passwordRules(config) {
  return t('password.rules', { minimum: config?.requireSecondFactor === true ? 8 : 15 });
}

/** Marks `input` as the field an error is about (`aria-invalid`), focused and selected. */
export function markInvalid(input) {
  input.setAttribute('aria-invalid', 'true');
  input.focus();
  input.select?.();
}

// ---------------------------------------------------------------------------------------
// Errors

/** A server message as a sentence: a capital first letter and a full stop. */
function sentence(message) {
  const text = String(message ?? '').trim();
  if (!text) return '';
  const capitalized = text[0].toUpperCase() + text.slice(1);
  return /[.!?]$/.test(capitalized) ? capitalized : `${capitalized}.`;
}

/**
 * A `BAD_USER_INPUT` message (`newPassword: is too short: …`) as a sentence about the field
 * ("The new password is too short: …"; `error.field.<field>` in the catalogs). The reason is
 * the server's, as it words it.
 */
function fieldSentence(error) {
  const message = String(error.message ?? '');
  const prefix = `${error.field}: `;
  if (error.field && message.startsWith(prefix)) {
    const reason = message.slice(prefix.length);
    const named = `error.field.${error.field}`;
    return sentence(has(named) ? t(named, { reason }) : reason);
  }
  return sentence(message);
}

/** Tries left, as the server words them ("4 tries left"), or null. */
function triesLeft(message) {
  return /(\d+)\s+(?:more\s+)?(?:tries|try|attempts?)\b/i.exec(message ?? '')?.[1] ?? null;
}

/** Contexts of the password and authenticator-app steps, whose server messages are shown as they are. */
const PASSWORD_CONTEXTS = new Set(['password', 'password-signup', 'password-reset', 'password-change', 'second-factor', 'totp']);

/**
 * What went wrong with a code from an authenticator app, or a recovery code (the second step
 * of a password sign-in, `second-factor`, or confirming a new app, `totp`).
 */
function describeSecondFactorError(error, context) {
  if (error.field === 'code') {
    const left = /last try/i.test(error.message ?? '') ? '0' : triesLeft(error.message);
    const advice = t(context === 'totp' ? 'error.appCodeAdviceSetup' : 'error.appCodeAdvice');
    if (left === '0') return t('error.appCodeWrongLast');
    return left ? plural('error.appCodeWrongLeft', Number(left), { advice }) : t('error.appCodeWrong', { advice });
  }
  if (error.field === 'secondFactorToken') return t('error.secondFactorExpired');
  return null;
}

/** What went wrong with an emailed code or its proof (`BAD_USER_INPUT` about those fields). */
function describeProofError(error, context) {
  switch (error.field) {
    case 'code': {
      // The server says how many tries are left ("is wrong; 4 tries left"), or that it was the last.
      const message = error.message ?? '';
      const left = triesLeft(message);
      if (left === '0' || /last try/i.test(message)) return t('error.codeWrongLast');
      return left ? plural('error.codeWrongLeft', Number(left)) : t('error.codeWrong');
    }
    case 'challengeId':
      return t(context === 'verify-link' ? 'error.linkExpired' : 'error.codeExpired');
    case 'emailProof':
      return t('error.proofExpired');
    default:
      return null;
  }
}

/**
 * A sentence for a person about what went wrong (an SDK `LatchkeyError`, by its `code`), or
 * `''` for a ceremony the page stopped itself. `context` is `signin`, `signup`, `recover`,
 * `verify-code`, `verify-link`, `add-passkey` or `account`, or for passwords and authenticator
 * apps `password` (sign-in), `password-signup`, `password-reset`, `password-change`,
 * `second-factor` (the code after a password) or `totp` (setting up an app).
 */
export function describeError(error, context = 'signin') {
  const passwords = PASSWORD_CONTEXTS.has(context);
  switch (error?.code) {
    case 'ABORTED':
      return '';
    case 'BAD_USER_INPUT':
      if (context === 'second-factor' || context === 'totp') {
        const described = describeSecondFactorError(error, context);
        if (described) return described;
      }
      // A password the rules refuse: the server says why (too short, too common, breached…).
      if (passwords) return describeProofError(error, context) ?? (fieldSentence(error) || t('error.checkInput'));
      return describeProofError(error, context) ?? error.message ?? t('error.checkInput');
    case 'FORBIDDEN':
      if (context === 'password' && /not right/i.test(error.message ?? '')) return t('error.wrongPassword');
      if (context === 'second-factor' && /expired|too many|no longer/i.test(error.message ?? '')) {
        return describeSecondFactorError({ field: 'secondFactorToken' }, context);
      }
      // The tenant requires a second factor that the account does not have, password sign-in
      // is not allowed, a wrong current password: the server's message says what to do.
      if (passwords) return sentence(error.message) || t('error.notAllowed');
      // A code is refused when its challenge saw too many wrong codes (a sign-in code also
      // when the tenant stopped allowing sign-in with codes: the message says so).
      if ((context === 'verify-code' || context === 'verify-link') && /too many/i.test(error.message ?? '')) {
        return t('error.tooManyCodes');
      }
      return error.message || t('error.notAllowed');
    case 'RATE_LIMITED':
      return error.retryAfter
        ? plural('error.rateLimited', Math.max(1, Math.ceil(Number(error.retryAfter) || 1)))
        : t('error.rateLimitedWait');
    case 'UNAVAILABLE':
      return t('error.unavailable');
    case 'UNAUTHENTICATED':
      return t('session.ended');
    case 'NETWORK':
      return t('error.network');
    case 'INTERNAL':
      return error.message && !/^internal/i.test(error.message) ? error.message : t('error.internal');
    case 'NOT_ALLOWED':
      return t(context === 'signin' ? 'error.noPasskeyUsed' : 'error.passkeyNotCreated');
    case 'PASSKEY_EXISTS':
      return t(context === 'add-passkey' ? 'error.passkeyOnKey' : 'error.passkeyOnDevice');
    case 'NOT_SUPPORTED':
      return t('error.passkeyKindUnsupported');
    case 'WEBAUTHN':
      if (error.cause?.name === 'SecurityError') return t('error.wrongSite');
      return error.message || t('error.unknown');
    default:
      return error?.message || t('error.unknown');
  }
}
