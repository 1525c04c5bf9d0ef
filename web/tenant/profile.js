// The self-service part of the account page (/t/{slug}/account), beside account.js: the
// profile form (display name, phone, language and the attributes the tenant's `attributeSchema`
// lets people edit, from config.json, each rendered by its kind), changing the email address
// (a code to the new address, then `changeViewerEmail`; the old address gets a notice with an
// undo link, which signin.js handles on the sign-in page) and the consents (one checkbox
// per purpose of `consentPurposes`, granted or withdrawn at once). account.js hands it the
// identity it loads (`showProfile`) and the tenant's config.json (`showProfileSettings`); the
// cards are built here, their words from the page's catalog (i18n.js). Saving another
// language switches the page to it.

import { asSignedIn, describeError, latchkey, showError, showStatus, slug, switchLanguage } from './app.js';
import { currentLanguage, plural, t, translate } from './i18n.js';

/**
 * The tenant's config.json: `attributeSchema` (user-editable only), `consentPurposes` and
 * `locales` (the languages with a catalog).
 */
let config = { attributeSchema: [], consentPurposes: [], locales: [] };
/** The identity last loaded or answered by a change. */
let identity = null;
/** The code step of an email change: `{ challengeId, email, minutes }`. */
let pendingEmail = null;
let busy = false;

function formatDate(value) {
  const date = value ? new Date(value) : null;
  return date && !Number.isNaN(date.getTime())
    ? new Intl.DateTimeFormat(currentLanguage(), { dateStyle: 'medium', timeStyle: 'short' }).format(date)
    : t('common.unknownTime');
}

/** A language's name in that language ("Deutsch" for `de`), as the language list shows it. */
function languageName(tag) {
  const name = new Intl.DisplayNames([tag], { type: 'language' }).of(tag);
  return name[0].toLocaleUpperCase(tag) + name.slice(1);
}

/** `h('p', { class: 'hint' }, 'text', child…)`: an element with attributes (or properties, for `on…` and `hidden`). */
function h(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === null || value === undefined || value === false) continue;
    if (name.startsWith('on')) element.addEventListener(name.slice(2), value);
    else if (name === 'hidden') element.hidden = true;
    else element.setAttribute(name, value === true ? '' : String(value));
  }
  element.append(...children.filter((child) => child !== null && child !== undefined));
  return element;
}

/** A server message as a sentence, without the `field: ` it starts with. */
function reasonOf(error) {
  let message = String(error?.message ?? '').trim();
  if (error?.field && message.startsWith(`${error.field}: `)) message = message.slice(error.field.length + 2);
  if (!message) return '';
  message = message[0].toUpperCase() + message.slice(1);
  return /[.!?]$/.test(message) ? message : `${message}.`;
}

function setBusy(value) {
  busy = value;
  for (const element of document.querySelectorAll('[data-profile] button, [data-profile] input, [data-profile] select')) {
    element.disabled = value;
  }
}

/**
 * Runs a change with this module's controls disabled; answers whether it succeeded. An error
 * goes to `failed` (which answers whether it showed it), else to the status region; the
 * controls are enabled first, so that `failed` can focus the field it is about.
 */
async function run(action, failed) {
  if (busy) return false;
  setBusy(true);
  try {
    await action();
    setBusy(false);
    return true;
  } catch (error) {
    setBusy(false);
    if (!failed?.(error)) showError(error, 'account');
    return false;
  }
}

// ---------------------------------------------------------------------------------------
// A field with its label, hint and the error the server gives about it

/**
 * A `.field` for `control` named by the API `field` (`displayName`, `attributes.tier`), with a
 * label (text, or a `message`), a hint (a message key) and a place for its error, tied to the
 * control with `aria-describedby`.
 */
function field(fieldName, label, control, hint, { check = false } = {}) {
  const errorId = `${control.id}-error`;
  const hintElement = hint ? h('p', { class: 'hint', id: `${control.id}-hint`, 'data-i18n': hint }) : null;
  const error = h('p', { class: 'field-error', id: errorId, hidden: true });
  control.setAttribute('aria-describedby', [hintElement?.id, errorId].filter(Boolean).join(' '));
  const labelElement = h('label', { for: control.id }, label);
  return h(
    'div',
    { class: check ? 'field field-check' : 'field', 'data-field': fieldName },
    ...(check ? [control, labelElement] : [labelElement, control]),
    hintElement,
    error,
  );
}

function clearFieldErrors(form) {
  for (const error of form.querySelectorAll('.field-error')) {
    error.hidden = true;
    error.textContent = '';
  }
  for (const control of form.querySelectorAll('[aria-invalid]')) control.removeAttribute('aria-invalid');
}

/** Shows `message` under the field named `fieldName` in `form`; answers whether there is one. */
function showFieldError(form, fieldName, message) {
  const wrapper = form.querySelector(`[data-field="${CSS.escape(fieldName)}"]`);
  if (!wrapper) return false;
  const error = wrapper.querySelector('.field-error');
  error.textContent = message;
  error.hidden = false;
  const control = wrapper.querySelector('input, select');
  control.setAttribute('aria-invalid', 'true');
  control.focus();
  return true;
}

/** An element holding message `key` of the catalog (filled in by `translate`). */
function message(key) {
  return h('span', { 'data-i18n': key });
}

// ---------------------------------------------------------------------------------------
// The profile form

const profileForm = h('form', { id: 'profile-form', class: 'stack-form', 'data-profile': true, novalidate: true });

function attributeControl(attribute) {
  const id = `profile-attribute-${attribute.name}`;
  // Named apart from the form's own fields: an attribute may be called `phone` too.
  const name = `attributes.${attribute.name}`;
  if (attribute.kind === 'BOOLEAN') return h('input', { id, name, type: 'checkbox' });
  if (attribute.kind === 'STRING' && attribute.allowedValues?.length) {
    return h(
      'select',
      { id, name },
      h('option', { value: '', 'data-i18n': 'profile.notSet' }),
      ...attribute.allowedValues.map((value) => h('option', { value }, value)),
    );
  }
  const type = { NUMBER: 'number', DATE: 'date' }[attribute.kind] ?? 'text';
  return h('input', {
    id,
    name,
    type,
    step: type === 'number' ? 'any' : null,
    inputmode: type === 'number' ? 'decimal' : null,
    maxlength: attribute.maxLength ?? null,
    autocomplete: 'off',
  });
}

function buildProfileForm() {
  const languages = h(
    'select',
    { id: 'profile-locale', name: 'locale' },
    h('option', { value: '', 'data-i18n': 'common.defaultLanguage' }),
    ...config.locales.map((tag) => h('option', { value: tag, lang: tag }, languageName(tag))),
  );
  profileForm.replaceChildren(
    h('h3', { id: 'profile-form-heading', 'data-i18n': 'profile.formHeading' }),
    field(
      'displayName',
      message('common.displayName'),
      h('input', { id: 'profile-display-name', name: 'displayName', type: 'text', maxlength: 200, autocomplete: 'name' }),
    ),
    field('phone', message('profile.phone'), h('input', { id: 'profile-phone', name: 'phone', type: 'tel', autocomplete: 'tel' }), 'profile.phoneHint'),
    field('locale', message('profile.language'), languages, 'profile.languageHint'),
    ...config.attributeSchema.map((attribute) =>
      field(`attributes.${attribute.name}`, attribute.label || attribute.name, attributeControl(attribute), null, {
        check: attribute.kind === 'BOOLEAN',
      }),
    ),
    h('button', { id: 'profile-save-button', type: 'submit', class: 'button button-primary', 'data-i18n': 'profile.save' }),
  );
  profileForm.setAttribute('aria-labelledby', 'profile-form-heading');
}

/** Puts the identity's values into the form. */
function fillProfileForm() {
  document.getElementById('profile-display-name').value = identity.displayName ?? '';
  document.getElementById('profile-phone').value = identity.phone ?? '';
  const locale = document.getElementById('profile-locale');
  if (identity.locale && ![...locale.options].some((option) => option.value === identity.locale)) {
    // A language set elsewhere (an administrator, an app) stays selectable as it is.
    locale.append(h('option', { value: identity.locale }, identity.locale));
  }
  locale.value = identity.locale ?? '';
  const attributes = identity.attributes ?? {};
  for (const attribute of config.attributeSchema) {
    const control = document.getElementById(`profile-attribute-${attribute.name}`);
    const value = attributes[attribute.name];
    if (attribute.kind === 'BOOLEAN') control.checked = value === true;
    else control.value = value === undefined || value === null ? '' : String(value);
  }
}

/**
 * What the form changes, as `updateViewerProfile`'s input: only the fields that differ from
 * the identity (an emptied one is null, which clears it), and only the attributes that
 * changed. Throws `{ field, message }` for a value the browser already knows is wrong.
 */
function profileChanges() {
  const input = {};
  for (const [name, id, current] of [
    ['displayName', 'profile-display-name', identity.displayName],
    ['phone', 'profile-phone', identity.phone],
    ['locale', 'profile-locale', identity.locale],
  ]) {
    const value = document.getElementById(id).value.trim() || null;
    if (value !== (current ?? null)) input[name] = value;
  }
  const attributes = {};
  const stored = identity.attributes ?? {};
  for (const attribute of config.attributeSchema) {
    const control = document.getElementById(`profile-attribute-${attribute.name}`);
    const current = stored[attribute.name] ?? null;
    let value;
    if (attribute.kind === 'BOOLEAN') {
      // Unset reads as unticked: only ticking, or unticking a stored true, is a change.
      if (control.checked === (current === true)) continue;
      value = control.checked;
    } else if (attribute.kind === 'NUMBER') {
      if (control.validity.badInput) throw { field: `attributes.${attribute.name}`, message: t('profile.notANumber') };
      value = control.value.trim() === '' ? null : Number(control.value);
    } else {
      value = control.value.trim() === '' ? null : control.value.trim();
    }
    if (value !== current) attributes[attribute.name] = value;
  }
  if (Object.keys(attributes).length) input.attributes = attributes;
  return input;
}

function saveProfile() {
  clearFieldErrors(profileForm);
  let input;
  try {
    input = profileChanges();
  } catch (invalid) {
    showFieldError(profileForm, invalid.field, invalid.message);
    showStatus(t('profile.checkFields'), 'error');
    return;
  }
  if (Object.keys(input).length === 0) {
    showStatus(t('profile.unchanged'), 'info');
    return;
  }
  return run(
    async () => {
      showStatus('');
      identity = await asSignedIn(() => latchkey.updateViewerProfile(input));
      renderIdentity();
      // The page in the language just chosen (or, with none, the browser's or the tenant's).
      if ('locale' in input) await switchLanguage(identity.locale);
      showStatus(t('profile.saved'), 'success');
    },
    (error) => {
      if (error?.code !== 'BAD_USER_INPUT' || !error.field) return false;
      if (!showFieldError(profileForm, error.field, reasonOf(error))) return false;
      showStatus(t('profile.checkFields'), 'error');
      return true;
    },
  );
}

// ---------------------------------------------------------------------------------------
// Changing the email address

const emailCurrent = h('p', { id: 'email-change-current', class: 'hint' });
const newEmailInput = h('input', {
  id: 'new-email',
  name: 'email',
  type: 'email',
  inputmode: 'email',
  required: true,
  autocomplete: 'email',
  autocapitalize: 'off',
  spellcheck: 'false',
});
const emailForm = h(
  'form',
  { id: 'email-change-form', class: 'inline-form', 'data-profile': true, novalidate: true },
  field('email', message('emailChange.newEmail'), newEmailInput),
  h('button', { id: 'email-change-button', type: 'submit', class: 'button button-primary', 'data-i18n': 'code.send' }),
);
const emailCodeSent = h('p', { id: 'email-code-sent' });
const emailCodeInput = h('input', {
  id: 'email-code',
  name: 'code',
  type: 'text',
  inputmode: 'numeric',
  required: true,
  autocomplete: 'one-time-code',
  pattern: '[0-9 ]{6,7}',
  maxlength: 7,
  spellcheck: 'false',
});
const emailCodeForm = h(
  'form',
  { id: 'email-code-form', class: 'stack-form', 'data-profile': true, hidden: true, novalidate: true },
  emailCodeSent,
  field('code', message('code.label'), emailCodeInput, 'emailChange.codeHint'),
  h(
    'div',
    { class: 'button-row' },
    h('button', { id: 'email-code-button', type: 'submit', class: 'button button-primary', 'data-i18n': 'emailChange.button' }),
    h('button', {
      id: 'email-resend-button',
      type: 'button',
      class: 'button button-secondary',
      'data-i18n': 'code.resend',
      onclick: () => sendEmailCode(pendingEmail.email, true),
    }),
    h('button', {
      id: 'email-cancel-button',
      type: 'button',
      class: 'button button-secondary',
      'data-i18n': 'common.cancel',
      onclick: () => closeEmailCode(),
    }),
  ),
);
const emailCard = h(
  'section',
  { id: 'email-change-section', class: 'card', 'aria-labelledby': 'email-change-heading' },
  h('h2', { id: 'email-change-heading', tabindex: '-1', 'data-i18n': 'emailChange.heading' }),
  emailCurrent,
  emailForm,
  emailCodeForm,
);

/**
 * Keeps what the link in the email needs to name the address and purpose on the sign-in page
 * (proof.js reads it under the same key; no secret: the code is only in the email).
 */
function rememberForLink(challengeId, email) {
  try {
    localStorage.setItem(`latchkey.${slug}.verification`, JSON.stringify({ challengeId, email, purpose: 'EMAIL_CHANGE' }));
  } catch {
    // The link then still works; it just cannot name the address before Confirm.
  }
}

function sendEmailCode(email, again = false) {
  clearFieldErrors(emailForm);
  clearFieldErrors(emailCodeForm);
  if (!email) {
    showFieldError(emailForm, 'email', t('emailChange.enterAddress'));
    return;
  }
  if (email.toLowerCase() === identity.email?.toLowerCase()) {
    showFieldError(emailForm, 'email', t('emailChange.sameAddress'));
    return;
  }
  return run(
    async () => {
      const { challengeId, expiresIn } = await latchkey.startEmailVerification({ email, purpose: 'EMAIL_CHANGE' });
      pendingEmail = { challengeId, email, minutes: Math.max(1, Math.round(Number(expiresIn) / 60) || 1) };
      rememberForLink(challengeId, email);
      showCodeSent();
      emailCodeInput.value = '';
      emailForm.hidden = true;
      emailCodeForm.hidden = false;
      showStatus(again ? t('code.resent') : '', again ? 'success' : 'info');
    },
    (error) => error?.code === 'BAD_USER_INPUT' && error.field === 'email' && showFieldError(emailForm, 'email', reasonOf(error)),
  ).then((done) => {
    if (done) emailCodeInput.focus();
  });
}

/** The code step's sentence: where the code went, and for how long it works. */
function showCodeSent() {
  emailCodeSent.textContent = plural('emailChange.codeSent', pendingEmail.minutes, { email: pendingEmail.email });
}

function closeEmailCode() {
  pendingEmail = null;
  emailCodeForm.hidden = true;
  emailForm.hidden = false;
  clearFieldErrors(emailCodeForm);
  newEmailInput.focus();
}

function confirmEmailChange(code) {
  clearFieldErrors(emailCodeForm);
  if (!code.trim()) {
    showFieldError(emailCodeForm, 'code', t('emailChange.enterCode'));
    return;
  }
  const { challengeId } = pendingEmail;
  return run(
    async () => {
      showStatus('');
      const { emailProof } = await latchkey.completeEmailVerification({ challengeId, code });
      identity = await asSignedIn(() => latchkey.changeViewerEmail({ emailProof }));
      try {
        localStorage.removeItem(`latchkey.${slug}.verification`);
      } catch {
        // Nothing to forget.
      }
      pendingEmail = null;
      newEmailInput.value = '';
      emailCodeForm.hidden = true;
      emailForm.hidden = false;
      renderIdentity();
      showStatus(t('emailChange.changed', { email: identity.email }), 'success');
      document.getElementById('email-change-heading').focus();
    },
    (error) => {
      if (error?.code !== 'BAD_USER_INPUT') return false;
      if (error.field === 'code') {
        showFieldError(emailCodeForm, 'code', describeError(error, 'verify-code'));
        emailCodeInput.select();
        return true;
      }
      if (error.field === 'challengeId' || error.field === 'emailProof') {
        // The code or its proof no longer works (expired, or the address was taken meanwhile):
        // back to the address.
        const refusal = /another account/i.test(error.message ?? '')
          ? t('emailChange.taken')
          : error.field === 'emailProof'
            ? t('emailChange.proofExpired')
            : describeError(error, 'verify-code');
        closeEmailCode();
        showFieldError(emailForm, 'email', refusal);
        showStatus(refusal, 'error');
        return true;
      }
      return false;
    },
  );
}

// ---------------------------------------------------------------------------------------
// Consents

const consentList = h('ul', { id: 'consent-list', class: 'items', 'data-profile': true });
const consentCard = h(
  'section',
  { id: 'consents-section', class: 'card', 'aria-labelledby': 'consents-heading', hidden: true },
  h('h2', { id: 'consents-heading', 'data-i18n': 'consents.heading' }),
  h('p', { class: 'hint', 'data-i18n': 'consents.hint' }),
  consentList,
);

function renderConsents() {
  consentCard.hidden = config.consentPurposes.length === 0;
  const decisions = new Map((identity.consents ?? []).map((consent) => [consent.purpose, consent]));
  consentList.replaceChildren(
    ...config.consentPurposes.map((purpose) => {
      const decision = decisions.get(purpose.key);
      const id = `consent-${purpose.key}`;
      const checkbox = h('input', { id, type: 'checkbox', name: purpose.key, 'aria-describedby': `${id}-meta` });
      checkbox.checked = decision?.granted === true;
      checkbox.addEventListener('change', () => setConsent(purpose, checkbox.checked));
      const meta = [];
      if (!decision) meta.push(t('consents.notDecided'));
      else {
        meta.push(t(decision.granted ? 'consents.grantedOn' : 'consents.withdrawnOn', { date: formatDate(decision.decidedAt) }));
        if (decision.version !== purpose.version) meta.push(t('consents.outdated', { version: decision.version }));
      }
      return h(
        'li',
        {
          class: 'item',
          'data-purpose': purpose.key,
          'data-granted': decision ? String(decision.granted) : null,
          'data-version': decision ? String(decision.version) : null,
        },
        h(
          'div',
          { class: 'field-check consent' },
          checkbox,
          h(
            'label',
            { for: id },
            `${purpose.title} `,
            h('span', { class: 'meta consent-version' }, `(${t('consents.version', { version: purpose.version })})`),
          ),
          h('p', { class: 'hint consent-meta', id: `${id}-meta` }, meta.join(' · ')),
        ),
      );
    }),
  );
}

function setConsent(purpose, granted) {
  if (busy) {
    // Another change is under way: the box goes back to what the server holds.
    renderConsents();
    return;
  }
  return run(
    async () => {
      identity = await asSignedIn(() => latchkey.setViewerConsent({ purpose: purpose.key, granted }));
      renderConsents();
      showStatus(t(granted ? 'consents.granted' : 'consents.withdrawn', { title: purpose.title }), 'success');
      document.getElementById(`consent-${purpose.key}`)?.focus();
    },
    () => {
      // Refused: the box shows what the server holds.
      renderConsents();
      return false;
    },
  );
}

// ---------------------------------------------------------------------------------------
// Wiring

/** After a change: the identity the server answered, in this module's cards and the Profile card's details. */
function renderIdentity() {
  document.getElementById('account-email').textContent = identity.email ?? '';
  document.getElementById('account-name').textContent = identity.displayName ?? '';
  filledKey = null;
  render();
}

profileForm.addEventListener('submit', (event) => {
  event.preventDefault();
  saveProfile();
});
emailForm.addEventListener('submit', (event) => {
  event.preventDefault();
  sendEmailCode(newEmailInput.value.trim());
});
emailCodeForm.addEventListener('submit', (event) => {
  event.preventDefault();
  confirmEmailChange(emailCodeInput.value);
});

/** The profile fields of `identity`, to tell whether the form needs filling again. */
function profileKey(value) {
  return JSON.stringify([value.displayName, value.phone, value.locale, value.attributes]);
}

/** What the form was last filled with (a reload of the page's data leaves unsaved edits alone otherwise). */
let filledKey = null;
/** Whether the settings have come (`showProfileSettings`), and the cards are in the page. */
let settingsShown = false;
let cardsShown = false;

function render() {
  if (!identity || !settingsShown) return;
  if (!cardsShown) {
    buildProfileForm();
    const profileCard = document.getElementById('profile-heading').closest('section');
    profileCard.append(profileForm);
    profileCard.after(emailCard, consentCard);
    for (const built of [profileForm, emailCard, consentCard]) translate(built);
    cardsShown = true;
  }
  emailCurrent.textContent = t('emailChange.current', { email: identity.email ?? '' });
  if (pendingEmail) showCodeSent();
  if (profileKey(identity) !== filledKey) {
    fillProfileForm();
    filledKey = profileKey(identity);
  }
  renderConsents();
  document.getElementById('main').dataset.profileReady = 'true';
}

/**
 * The identity as account.js loaded it (`viewer { identity { … phone locale attributes consents
 * { purpose granted version decidedAt } } }`), each time it does.
 */
export function showProfile(loaded) {
  identity = loaded;
  render();
}

/**
 * The tenant's config.json once account.js has it (null when it could not be loaded: then
 * the form has no attributes and there are no consents to show).
 */
export function showProfileSettings(loaded) {
  config = {
    attributeSchema: Array.isArray(loaded?.attributeSchema) ? loaded.attributeSchema : [],
    consentPurposes: Array.isArray(loaded?.consentPurposes) ? loaded.consentPurposes : [],
    locales: Array.isArray(loaded?.locales) ? loaded.locales : [],
  };
  settingsShown = true;
  render();
}

// The page in another language (a saved locale): the sentences this module writes again.
document.addEventListener('latchkey:languagechange', render);
