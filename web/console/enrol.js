// The enrolment screen (`/console/enrol#token=…`): the link of an invitation, of a recovery or
// the first owner's link printed at first start. The token is read from the fragment (never
// sent in a request line, never in the Referer) and taken out of the address bar at once; the
// screen says what the link grants, asks for the address and a display name when the link
// names no address, and creates the passkey that signs the administrator in.

import { enrol, inspectEnrolment } from './session.js';
import { field, h, loading, onSubmit, replace, roleName, showError, showStatus, time } from './ui.js';

/** The token of the link this page was opened with, kept in memory once out of the address bar. */
let token = null;

function takeToken() {
  const fragment = new URLSearchParams(location.hash.slice(1));
  if (fragment.get('token')) {
    token = fragment.get('token');
    history.replaceState(null, '', '/console/enrol');
  }
  return token;
}

/** What the link grants, in a sentence or two. */
function grants(link) {
  const tenant = link.tenant ? `${link.tenant.name} (${link.tenant.slug})` : null;
  const parts = [];
  if (link.purpose === 'RECOVERY') {
    parts.push(`This link lets ${link.email ?? 'you'} create a new passkey for the console. Passkeys made before keep working until you remove them.`);
    return parts;
  }
  if (link.purpose === 'FIRST_OWNER') parts.push('This link makes you the first owner of this Latchkey deployment.');
  if (tenant && link.role) parts.push(`You are invited to administer ${tenant} as ${roleName(link.role)}.`);
  if (link.platformRole) parts.push(`You also become a platform ${roleName(link.platformRole).toLowerCase()}: you may create and manage tenants.`);
  if (!parts.length) parts.push('This link lets you enrol as an administrator.');
  return parts;
}

/**
 * Draws the enrolment screen; `onEnrolled(session, tenantSlug)` runs once the passkey is
 * created (the new session is signed in).
 */
export async function renderEnrol(container, { onEnrolled }) {
  const body = h('div', { className: 'narrow' }, h('h1', {}, 'Enrol as an administrator'), loading('Checking the link…'));
  container.append(body);

  const linkToken = takeToken();
  const invalid = (text) => {
    replace(
      body,
      h('h1', {}, 'Enrol as an administrator'),
      h('p', { id: 'enrol-invalid', className: 'notice notice-error' }, text),
      h('p', {}, h('a', { href: '/console' }, 'Go to the console sign-in')),
    );
  };
  if (!linkToken) {
    invalid('This page needs the whole link from your email. Open the link again, as it was sent.');
    return;
  }

  let link;
  try {
    link = await inspectEnrolment(linkToken);
  } catch (error) {
    if (error.code === 'NOT_FOUND') {
      invalid('This link was used or has expired; ask an owner for a new invitation.');
      showStatus(`This link was used or has expired (${error.code}).`, 'error');
    } else {
      invalid('The link could not be checked.');
      showError(error);
    }
    return;
  }

  const askEmail = !link.email;
  const askName = link.purpose !== 'RECOVERY';
  const form = h(
    'form',
    { id: 'enrol-form', className: 'stack', novalidate: true },
    askEmail
      ? field({ label: 'Email address', name: 'email', id: 'enrol-email', type: 'email', autocomplete: 'email', required: true, spellcheck: 'false', autocapitalize: 'off', hint: 'Where the console sends your recovery links.' })
      : null,
    askName
      ? field({ label: 'Display name', name: 'displayName', id: 'enrol-name', autocomplete: 'name', required: askEmail, optional: !askEmail, hint: 'How other administrators and the audit log name you.' })
      : null,
    h('div', { className: 'actions' }, h('button', { id: 'enrol-button', type: 'submit', className: 'button button-primary' }, 'Create passkey')),
  );

  onSubmit(form, async () => {
    const email = form.elements.email?.value.trim() ?? '';
    const displayName = form.elements.displayName?.value.trim() ?? '';
    if (askEmail && (!email || !form.elements.email.checkValidity())) {
      throw Object.assign(new Error('Enter your email address.'), { code: 'BAD_USER_INPUT', field: 'email' });
    }
    if (askEmail && !displayName) {
      throw Object.assign(new Error('Enter your name.'), { code: 'BAD_USER_INPUT', field: 'displayName' });
    }
    showStatus('Creating your passkey…');
    const session = await enrol({ token: linkToken, email: askEmail ? email : undefined, displayName: displayName || undefined });
    token = null;
    showStatus(`Your passkey is ready. Signed in as ${session.administrator.email}.`, 'success');
    onEnrolled(session, link.tenant?.slug ?? null);
  });

  replace(
    body,
    h('h1', {}, link.purpose === 'RECOVERY' ? 'Create a new passkey' : 'Enrol as an administrator'),
    h(
      'section',
      { className: 'card', 'aria-labelledby': 'enrol-grants-heading' },
      h('h2', { id: 'enrol-grants-heading' }, 'What this link gives you'),
      h('div', { id: 'enrol-grants' }, grants(link).map((text) => h('p', {}, text))),
      h(
        'dl',
        { className: 'facts' },
        link.email ? [h('dt', {}, 'Email address'), h('dd', { id: 'enrol-link-email' }, link.email)] : null,
        h('dt', {}, 'Link expires'),
        h('dd', {}, time(link.expiresAt)),
      ),
    ),
    h(
      'section',
      { className: 'card', 'aria-labelledby': 'enrol-form-heading' },
      h('h2', { id: 'enrol-form-heading' }, 'Your passkey'),
      h('p', {}, 'A passkey signs you in to the console with this device’s screen lock or a security key. No password.'),
      form,
    ),
  );
}
