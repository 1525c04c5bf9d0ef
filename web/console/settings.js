// The tenant's Settings: sign-in methods and rules, the WebAuthn relying party, token
// lifetimes and the signing algorithm, rate limits, branding (colour, languages) with a live
// preview of the hosted sign-in page's look drawn here from the form's values, data
// retention, and the signing keys with rotation. Each group is its own form and saves only its
// fields (`updateTenantSettings`); a refusal marks the box it names. Links lead to API keys and
// Administrators.

import { endpointOf, graphql } from './api.js';
import { canWriteTenant } from './roles.js';
import { badge, card, checkbox, confirmAction, field, h, listFrom, onSubmit, showStatus, table, time, withButton } from './ui.js';

const SETTINGS = `query Settings {
  tenant {
    id slug name
    settings {
      rpId rpName allowedOrigins effectiveRpId effectiveRpName effectiveOrigins userVerification
      selfSignUp requireVerifiedEmail recoveryRequiresApproval signInMethods requireSecondFactor
      accessTokenTtlSeconds refreshTokenTtlSeconds refreshTokenReuseSeconds signingAlgorithm
      primaryColor defaultLocale supportedLocales accountDeletionGraceDays auditLogRetentionDays
      rateLimits {
        signInPerIp signInPerIdentity signInPerIdentityAllIps signUpPerIp tokenPerClient tokenPerIp
        emailVerificationPerIp emailVerificationPerAddress emailVerificationPerAddressAllIps emailVerificationPerTenant
        passwordFailuresPerAccountAndIp passwordFailuresPerIp scimPerToken
      }
    }
  }
}`;

const UPDATE = `mutation UpdateSettings($input: UpdateTenantSettingsInput!) { updateTenantSettings(input: $input) { settings { primaryColor } } }`;
const KEYS = `query SigningKeys { signingKeys(first: 100) { nodes { id algorithm status createdAt activatedAt retiredAt } } }`;
const ROTATE = `mutation Rotate($input: RotateSigningKeyInput!) { rotateSigningKey(input: $input) { signingKeys { id status } } }`;

const METHODS = [
  ['PASSKEY', 'Passkeys'],
  ['EMAIL_CODE', 'Email codes'],
  ['PASSWORD', 'Passwords'],
  ['FEDERATED', 'Identity providers (federated)'],
];

const RATE_LIMITS = [
  ['signInPerIp', 'Sign-ins per IP'],
  ['signInPerIdentity', 'Sign-ins per identity and IP'],
  ['signInPerIdentityAllIps', 'Sign-ins per identity, all IPs'],
  ['signUpPerIp', 'Sign-ups per IP'],
  ['tokenPerClient', 'Token requests per client'],
  ['tokenPerIp', 'Token requests per IP'],
  ['emailVerificationPerIp', 'Email codes per IP'],
  ['emailVerificationPerAddress', 'Email codes per address and IP'],
  ['emailVerificationPerAddressAllIps', 'Email codes per address, all IPs'],
  ['emailVerificationPerTenant', 'Email codes for the tenant'],
  ['passwordFailuresPerAccountAndIp', 'Wrong passwords per account and IP'],
  ['passwordFailuresPerIp', 'Wrong passwords per IP'],
  ['scimPerToken', 'SCIM requests per token'],
];

/** Whether `colour` (`#rrggbb`) is light: then dark text reads on it, else white. */
export function isLight(colour) {
  const match = /^#?([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i.exec(colour ?? '');
  if (!match) return false;
  const channel = (hex) => {
    const value = parseInt(hex, 16) / 255;
    return value <= 0.03928 ? value / 12.92 : ((value + 0.055) / 1.055) ** 2.4;
  };
  const luminance = 0.2126 * channel(match[1]) + 0.7152 * channel(match[2]) + 0.0722 * channel(match[3]);
  // Black text wins when its contrast, (L + 0.05) / 0.05, beats white's, 1.05 / (L + 0.05):
  // the better of the two is always at least 4.58:1.
  return (luminance + 0.05) / 0.05 > 1.05 / (luminance + 0.05);
}

function intOf(form, name, { optional = false } = {}) {
  const text = form.elements[name].value.trim();
  if (!text && optional) return null;
  const value = Number(text);
  if (!text || !Number.isInteger(value) || value < 0) throw Object.assign(new Error(`${name}: must be a whole number`), { code: 'BAD_USER_INPUT', field: name });
  return value;
}

export async function renderSettings(container, { slug, role, tenant, setTitle }) {
  setTitle('Settings');
  const endpoint = endpointOf(slug);
  const writable = canWriteTenant(role);
  const base = `/console/t/${encodeURIComponent(slug)}`;
  let settings = (await graphql(endpoint, SETTINGS)).tenant.settings;
  const save = (input) => graphql(endpoint, UPDATE, { input });
  const disabled = !writable;

  function group(id, title, controls, toInput, intro) {
    const form = h(
      'form',
      { id: `${id}-form`, className: 'stack', novalidate: true },
      intro ? h('p', { className: 'muted' }, intro) : null,
      controls,
      writable ? h('div', { className: 'actions' }, h('button', { id: `${id}-save`, type: 'submit', className: 'button button-primary', dataset: { write: '' } }, 'Save')) : null,
    );
    if (disabled) for (const control of form.querySelectorAll('input, select, textarea')) control.disabled = true;
    onSubmit(form, async () => {
      await save(toInput(form));
      settings = (await graphql(endpoint, SETTINGS)).tenant.settings;
      showStatus(`${title}: saved.`, 'success');
    });
    return h('section', { id, className: 'card', 'aria-labelledby': `${id}-heading` }, h('h2', { id: `${id}-heading` }, title), form);
  }

  // ---- Sign-in
  const signIn = group(
    'settings-sign-in',
    'Sign-in methods',
    [
      h(
        'fieldset',
        { className: 'choices' },
        h('legend', {}, 'Methods people may use'),
        METHODS.map(([value, label]) => checkbox({ label, name: 'signInMethods', id: `settings-method-${value}`, value, checked: settings.signInMethods.includes(value) })),
      ),
      checkbox({ label: 'People may sign up themselves', name: 'selfSignUp', id: 'settings-self-sign-up', checked: settings.selfSignUp }),
      checkbox({ label: 'A verified email address is required', name: 'requireVerifiedEmail', id: 'settings-require-verified', checked: settings.requireVerifiedEmail }),
      checkbox({ label: 'Account recovery needs an administrator’s approval', name: 'recoveryRequiresApproval', id: 'settings-recovery-approval', checked: settings.recoveryRequiresApproval }),
      checkbox({ label: 'Password sign-ins need a second factor', name: 'requireSecondFactor', id: 'settings-second-factor', checked: settings.requireSecondFactor }),
    ],
    (form) => ({
      signInMethods: [...form.querySelectorAll('input[name="signInMethods"]:checked')].map((box) => box.value),
      selfSignUp: form.elements.selfSignUp.checked,
      requireVerifiedEmail: form.elements.requireVerifiedEmail.checked,
      recoveryRequiresApproval: form.elements.recoveryRequiresApproval.checked,
      requireSecondFactor: form.elements.requireSecondFactor.checked,
    }),
  );

  // ---- Relying party
  const relyingParty = group(
    'settings-relying-party',
    'Passkeys: relying party',
    h(
      'div',
      { className: 'grid-2' },
      field({ label: 'Relying party id', name: 'rpId', id: 'settings-rp-id', value: settings.rpId ?? '', optional: true, spellcheck: 'false', hint: `Empty: ${settings.effectiveRpId}. A domain; passkeys are bound to it.` }),
      field({ label: 'Relying party name', name: 'rpName', id: 'settings-rp-name', value: settings.rpName ?? '', optional: true, hint: `Empty: ${settings.effectiveRpName}.` }),
      field({ label: 'Allowed origins', name: 'allowedOrigins', id: 'settings-origins', type: 'textarea', rows: 2, value: settings.allowedOrigins.join('\n'), optional: true, hint: `One a line, port included. In force: ${settings.effectiveOrigins.join(', ')}.` }),
      field({ label: 'User verification', name: 'userVerification', id: 'settings-user-verification', type: 'select', value: settings.userVerification, options: [['REQUIRED', 'Required'], ['PREFERRED', 'Preferred']] }),
    ),
    (form) => ({
      rpId: form.elements.rpId.value.trim() || null,
      rpName: form.elements.rpName.value.trim() || null,
      allowedOrigins: listFrom(form.elements.allowedOrigins.value),
      userVerification: form.elements.userVerification.value,
    }),
  );

  // ---- Tokens
  const tokens = group(
    'settings-tokens',
    'Token lifetimes',
    h(
      'div',
      { className: 'grid-2' },
      field({ label: 'Access token lifetime (seconds)', name: 'accessTokenTtlSeconds', id: 'settings-access-ttl', type: 'number', min: '1', value: String(settings.accessTokenTtlSeconds) }),
      field({ label: 'Refresh token lifetime (seconds)', name: 'refreshTokenTtlSeconds', id: 'settings-refresh-ttl', type: 'number', min: '1', value: String(settings.refreshTokenTtlSeconds) }),
      field({ label: 'Refresh token reuse window (seconds)', name: 'refreshTokenReuseSeconds', id: 'settings-reuse', type: 'number', min: '0', value: String(settings.refreshTokenReuseSeconds), hint: 'A spent refresh token presented again within it answers the same new one.' }),
      field({ label: 'Signing algorithm', name: 'signingAlgorithm', id: 'settings-algorithm', type: 'select', value: settings.signingAlgorithm, options: [['ES256', 'ES256 (P-256)'], ['EDDSA', 'EdDSA (Ed25519)']] }),
    ),
    (form) => ({
      accessTokenTtlSeconds: intOf(form, 'accessTokenTtlSeconds'),
      refreshTokenTtlSeconds: intOf(form, 'refreshTokenTtlSeconds'),
      refreshTokenReuseSeconds: intOf(form, 'refreshTokenReuseSeconds'),
      signingAlgorithm: form.elements.signingAlgorithm.value,
    }),
  );

  // ---- Rate limits
  const limits = group(
    'settings-rate-limits',
    'Rate limits',
    h('div', { className: 'grid-3' }, RATE_LIMITS.map(([name, label]) => field({ label, name, id: `settings-limit-${name}`, type: 'number', min: '0', value: String(settings.rateLimits[name]) }))),
    (form) => ({ rateLimits: Object.fromEntries(RATE_LIMITS.map(([name]) => [name, intOf(form, name)])) }),
    'Requests allowed per window, before the answer is RATE_LIMITED.',
  );

  // ---- Branding with its preview
  const preview = h('div', { id: 'branding-preview', className: 'preview', role: 'img', 'aria-labelledby': 'branding-preview-caption' });
  const previewTitle = h('p', { className: 'preview-title' }, tenant.name);
  const previewButton = h('span', { id: 'branding-preview-button', className: 'preview-button' }, 'Sign in with a passkey');
  const previewLink = h('span', { className: 'preview-link' }, 'Email me a code');
  preview.append(h('div', { className: 'preview-bar' }), h('div', { className: 'preview-body' }, previewTitle, h('span', { className: 'preview-input' }, 'you@example.com'), previewButton, previewLink));
  function paint(colour) {
    preview.style.setProperty('--preview-accent', colour);
    preview.style.setProperty('--preview-accent-text', isLight(colour) ? '#000000' : '#ffffff');
  }
  const colourField = field({ label: 'Primary colour', name: 'primaryColor', id: 'settings-primary-color', type: 'color', value: settings.primaryColor, hint: 'Buttons and links of the hosted pages.' });
  const colourText = h('output', { id: 'settings-primary-color-value', for: 'settings-primary-color' }, settings.primaryColor);
  colourField.append(colourText);
  const colourInput = colourField.querySelector('input');
  colourInput.addEventListener('input', () => {
    paint(colourInput.value);
    colourText.textContent = colourInput.value;
  });
  paint(settings.primaryColor);
  const branding = group(
    'settings-branding',
    'Branding',
    [
      h(
        'div',
        { className: 'branding' },
        h(
          'div',
          { className: 'stack' },
          colourField,
          field({ label: 'Default language', name: 'defaultLocale', id: 'settings-locale', type: 'select', value: settings.defaultLocale, options: settings.supportedLocales.map((tag) => [tag, tag]) }),
        ),
        h('figure', { className: 'preview-figure' }, preview, h('figcaption', { id: 'branding-preview-caption' }, 'Preview of the hosted sign-in page with this colour')),
      ),
    ],
    (form) => ({ primaryColor: form.elements.primaryColor.value, defaultLocale: form.elements.defaultLocale.value }),
  );

  // ---- Data
  const data = group(
    'settings-data',
    'Data retention',
    h(
      'div',
      { className: 'grid-2' },
      field({ label: 'Account deletion grace (days)', name: 'accountDeletionGraceDays', id: 'settings-grace', type: 'number', min: '0', value: String(settings.accountDeletionGraceDays), hint: '0: an account is erased at once when its owner deletes it.' }),
      field({ label: 'Audit log retention (days)', name: 'auditLogRetentionDays', id: 'settings-audit-retention', type: 'number', min: '1', value: String(settings.auditLogRetentionDays) }),
    ),
    (form) => ({ accountDeletionGraceDays: intOf(form, 'accountDeletionGraceDays'), auditLogRetentionDays: intOf(form, 'auditLogRetentionDays') }),
  );

  // ---- Signing keys
  const keys = card('settings-signing-keys', 'Signing keys');
  async function loadKeys() {
    const { nodes } = (await graphql(endpoint, KEYS)).signingKeys;
    let rotate = null;
    if (writable) {
      const algorithm = h('select', { id: 'rotate-algorithm', 'aria-label': 'Algorithm of the new key' }, h('option', { value: '' }, 'Same algorithm'), h('option', { value: 'ES256' }, 'ES256'), h('option', { value: 'EDDSA' }, 'EdDSA'));
      const button = h('button', { id: 'rotate-signing-key', type: 'button', className: 'button', dataset: { write: '' } }, 'Rotate signing key');
      button.addEventListener('click', () =>
        withButton(button, async () => {
          if (!(await confirmAction({ title: 'Rotate the signing key?', message: 'A new key signs tokens from now on; tokens already issued stay valid until they expire.', confirm: 'Rotate' }))) return;
          await graphql(endpoint, ROTATE, { input: { algorithm: algorithm.value || null } });
          showStatus('The signing key was rotated.', 'success');
          await loadKeys();
        }),
      );
      rotate = h('div', { className: 'actions' }, algorithm, button);
    }
    keys.fill(
      h('p', { className: 'muted' }, 'Published at the tenant’s JWKS address; a rotation keeps the old key for tokens already issued.'),
      rotate,
      h(
        'div',
        { id: 'signing-key-list' },
        table({
          label: 'Signing keys',
          columns: ['Key id', 'Algorithm', 'Status', 'Created', 'Active since', 'Retired'],
          rows: nodes.map((key) =>
            h('tr', { dataset: { keyId: key.id, status: key.status } }, h('td', {}, h('code', {}, key.id)), h('td', {}, key.algorithm), h('td', {}, badge(key.status, key.status === 'active' ? 'success' : 'neutral')), h('td', {}, time(key.createdAt)), h('td', {}, time(key.activatedAt)), h('td', {}, time(key.retiredAt))),
          ),
          empty: 'No key yet: one is made at the first token.',
        }),
      ),
    );
  }

  container.append(
    h('h1', {}, 'Settings'),
    h(
      'p',
      { className: 'lede' },
      writable ? 'Each group saves on its own. ' : 'Your role may read these settings, not change them. ',
      'See also ',
      h('a', { href: `${base}/api-keys` }, 'API keys'),
      ' and ',
      h('a', { href: `${base}/administrators` }, 'Administrators'),
      '.',
    ),
    branding,
    signIn,
    relyingParty,
    tokens,
    limits,
    data,
    keys.section,
  );
  await loadKeys().catch(keys.fail);
}
