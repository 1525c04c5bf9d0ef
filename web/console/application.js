// One application (`/console/t/<slug>/applications/<id>`): its client id, issuer and discovery
// address; the client secret when it was just created or rotated (shown once, with Copy);
// rotating the secret; changing the name, redirect URIs (the server's refusal marks the box),
// scopes and token lifetimes; its claim mappings and access policy; deleting it; and
// ready-to-paste configuration for common client libraries (snippets.js).

import { endpointOf, graphql } from './api.js';
import { TYPE_NAMES } from './applications.js';
import { canWriteTenant } from './roles.js';
import { showSecret, takeSecret } from './secret.js';
import { issuerOf, snippetSections } from './snippets.js';
import { badge, card, checkbox, confirmAction, field, h, listFrom, none, onSubmit, parseJsonField, showStatus, time, withButton } from './ui.js';

const APPLICATION = `query Application($id: ID!) {
  application(id: $id) {
    id clientId name type confidential redirectUris postLogoutRedirectUris scopes
    accessTokenTtlSeconds refreshTokenTtlSeconds createdAt updatedAt secretRotatedAt
    claimMappings { claim source idToken accessToken }
    accessPolicy { allow organizationKinds organizationIds roles entitlements }
  }
}`;

const UPDATE = `mutation UpdateApplication($input: UpdateApplicationInput!) { updateApplication(input: $input) { application { id } } }`;
const ROTATE = `mutation RotateSecret($input: ApplicationIdInput!) { rotateApplicationSecret(input: $input) { clientSecret application { id secretRotatedAt } } }`;
const DELETE = `mutation DeleteApplication($input: ApplicationIdInput!) { deleteApplication(input: $input) { application { id } } }`;

const ALLOW_OPTIONS = [
  ['ANY', 'Anyone of the tenant'],
  ['CONSUMERS', 'Only people in no organization'],
  ['MEMBERS', 'Only members of organizations (matching the conditions below)'],
];

/** Seconds as "1 h", "30 d", or "the tenant's default". */
function duration(seconds) {
  if (seconds == null) return h('span', { className: 'muted' }, 'Tenant default');
  if (seconds % 86400 === 0) return `${seconds / 86400} d`;
  if (seconds % 3600 === 0) return `${seconds / 3600} h`;
  if (seconds % 60 === 0) return `${seconds / 60} min`;
  return `${seconds} s`;
}

function optionalInt(form, name) {
  const text = form.elements[name].value.trim();
  if (!text) return null;
  const value = Number(text);
  if (!Number.isInteger(value) || value < 0) throw Object.assign(new Error(`${name}: must be a whole number of seconds`), { code: 'BAD_USER_INPUT', field: name });
  return value;
}

/** An access policy's summary in words. */
export function policySummary(policy) {
  const parts = [ALLOW_OPTIONS.find(([value]) => value === policy.allow)?.[1] ?? policy.allow];
  if (policy.organizationKinds.length) parts.push(`kinds: ${policy.organizationKinds.join(', ')}`);
  if (policy.organizationIds.length) parts.push(`organizations: ${policy.organizationIds.length}`);
  if (policy.roles.length) parts.push(`roles: ${policy.roles.join(', ')}`);
  if (policy.entitlements.length) parts.push(`entitlements: ${policy.entitlements.join(', ')}`);
  return parts.join('; ');
}

export async function renderApplication(container, { slug, role, params, setTitle, navigate }) {
  const id = params[0];
  const endpoint = endpointOf(slug);
  const listPath = `/console/t/${encodeURIComponent(slug)}/applications`;
  const writable = canWriteTenant(role);

  const heading = h('h1', {}, 'Application');
  const secretSlot = h('div', { id: 'application-secret', 'aria-live': 'polite' });
  const details = card('application-details', 'Client');
  const edit = writable ? card('application-edit', 'Settings') : null;
  const policy = card('application-policy', 'Claim mappings and access policy');
  const snippets = card('application-snippets', 'Configuration for your client library');
  container.append(h('p', { className: 'breadcrumb' }, h('a', { href: listPath }, '← Applications')), heading, secretSlot, details.section, edit?.section, policy.section, snippets.section);

  const [{ application: loaded }, issuer] = await Promise.all([graphql(endpoint, APPLICATION, { id }), issuerOf(slug)]);
  let application = loaded;
  setTitle(application.name, 'Applications');
  heading.textContent = application.name;

  const handed = takeSecret(`application:${id}`);
  if (handed) {
    showSecret(secretSlot, { id: 'client-secret', title: 'Client secret', value: handed, note: `The secret of ${application.name}, for its server side only.` });
  }

  function drawDetails() {
    let rotate = null;
    if (writable && application.confidential) {
      rotate = h('button', { id: 'application-rotate-secret', type: 'button', className: 'button', dataset: { write: '' } }, 'Rotate secret');
      rotate.addEventListener('click', () =>
        withButton(rotate, async () => {
          if (!(await confirmAction({ title: 'Rotate the client secret?', message: 'A new secret replaces the current one; the application must be given the new one.', confirm: 'Rotate' }))) return;
          const { rotateApplicationSecret } = await graphql(endpoint, ROTATE, { input: { id } });
          application = { ...application, secretRotatedAt: rotateApplicationSecret.application.secretRotatedAt };
          showStatus('The client secret was rotated.', 'success');
          showSecret(secretSlot, { id: 'client-secret', title: 'New client secret', value: rotateApplicationSecret.clientSecret });
          drawDetails();
        }),
      );
    }
    let remove = null;
    if (writable) {
      remove = h('button', { id: 'application-delete', type: 'button', className: 'button button-danger', dataset: { write: '' } }, 'Delete application');
      remove.addEventListener('click', () =>
        withButton(remove, async () => {
          if (!(await confirmAction({ title: 'Delete this application?', message: `${application.name} is deleted and what was issued to it is revoked.`, confirm: 'Delete' }))) return;
          await graphql(endpoint, DELETE, { input: { id } });
          showStatus(`${application.name} was deleted.`, 'success');
          navigate(listPath, { keepStatus: true });
        }),
      );
    }
    details.fill(
      h(
        'dl',
        { className: 'facts' },
        h('dt', {}, 'Client id'),
        h('dd', {}, h('code', { id: 'application-client-id' }, application.clientId)),
        h('dt', {}, 'Type'),
        h('dd', {}, TYPE_NAMES[application.type] ?? application.type, ' ', application.confidential ? badge('Confidential: has a secret') : badge('Public: no secret, PKCE')),
        h('dt', {}, 'Issuer'),
        h('dd', {}, h('code', { id: 'application-issuer' }, issuer)),
        h('dt', {}, 'Discovery'),
        h('dd', {}, h('code', {}, `${issuer}/.well-known/openid-configuration`)),
        h('dt', {}, 'Redirect URIs'),
        h('dd', {}, application.redirectUris.length ? application.redirectUris.map((uri) => h('div', {}, h('code', {}, uri))) : none()),
        h('dt', {}, 'Scopes'),
        h('dd', {}, application.scopes.join(' ') || none()),
        h('dt', {}, 'Access token lifetime'),
        h('dd', {}, duration(application.accessTokenTtlSeconds)),
        h('dt', {}, 'Refresh token lifetime'),
        h('dd', {}, duration(application.refreshTokenTtlSeconds)),
        application.confidential ? [h('dt', {}, 'Secret rotated'), h('dd', {}, time(application.secretRotatedAt))] : null,
        h('dt', {}, 'Created'),
        h('dd', {}, time(application.createdAt)),
      ),
      rotate || remove ? h('div', { className: 'actions' }, rotate, remove) : null,
    );
  }

  function drawEdit() {
    const form = h(
      'form',
      { id: 'application-edit-form', className: 'stack', novalidate: true },
      field({ label: 'Name', name: 'name', id: 'application-name', value: application.name }),
      field({ label: 'Redirect URIs', name: 'redirectUris', id: 'application-redirects', type: 'textarea', rows: 3, value: application.redirectUris.join('\n'), hint: 'One a line, exactly as the application sends them.' }),
      field({ label: 'Post-logout redirect URIs', name: 'postLogoutRedirectUris', id: 'application-logout-redirects', type: 'textarea', rows: 2, value: application.postLogoutRedirectUris.join('\n') }),
      field({ label: 'Scopes', name: 'scopes', id: 'application-scopes', value: application.scopes.join(' '), hint: 'Space separated.', spellcheck: 'false' }),
      h(
        'div',
        { className: 'grid-2' },
        field({ label: 'Access token lifetime (seconds)', name: 'accessTokenTtlSeconds', id: 'application-access-ttl', type: 'number', min: '0', value: application.accessTokenTtlSeconds ?? '', optional: true, hint: 'Empty: the tenant’s default.' }),
        field({ label: 'Refresh token lifetime (seconds)', name: 'refreshTokenTtlSeconds', id: 'application-refresh-ttl', type: 'number', min: '0', value: application.refreshTokenTtlSeconds ?? '', optional: true, hint: 'Empty: the tenant’s default.' }),
      ),
      h('div', { className: 'actions' }, h('button', { id: 'application-save', type: 'submit', className: 'button button-primary', dataset: { write: '' } }, 'Save')),
    );
    onSubmit(form, async () => {
      const input = {
        id,
        name: form.elements.name.value.trim(),
        redirectUris: listFrom(form.elements.redirectUris.value.replace(/\s+/g, '\n')),
        postLogoutRedirectUris: listFrom(form.elements.postLogoutRedirectUris.value.replace(/\s+/g, '\n')),
        scopes: form.elements.scopes.value.trim().split(/\s+/).filter(Boolean),
      };
      const access = optionalInt(form, 'accessTokenTtlSeconds');
      const refresh = optionalInt(form, 'refreshTokenTtlSeconds');
      if (access !== null) input.accessTokenTtlSeconds = access;
      if (refresh !== null) input.refreshTokenTtlSeconds = refresh;
      await graphql(endpoint, UPDATE, { input });
      showStatus('Changes saved.', 'success');
      await reload();
    });
    edit.fill(form);
  }

  function drawPolicy() {
    const rows = application.claimMappings.map((mapping) =>
      h('tr', {}, h('td', {}, h('code', {}, mapping.claim)), h('td', {}, h('code', {}, mapping.source)), h('td', {}, mapping.idToken ? 'Yes' : 'No'), h('td', {}, mapping.accessToken ? 'Yes' : 'No')),
    );
    const facts = h(
      'dl',
      { className: 'facts' },
      h('dt', {}, 'Who may sign in'),
      h('dd', { id: 'application-policy-summary' }, policySummary(application.accessPolicy)),
    );
    const mappingsTable = rows.length
      ? h(
          'div',
          { className: 'table-wrap', role: 'region', 'aria-label': 'Claim mappings (table)', tabindex: '0' },
          h('table', {}, h('thead', {}, h('tr', {}, ['Claim', 'Source', 'ID token', 'Access token'].map((name) => h('th', { scope: 'col' }, name)))), h('tbody', {}, rows)),
        )
      : h('p', { className: 'empty' }, 'No claim mapping of its own (the tenant’s apply).');
    let form = null;
    if (writable) {
      const current = application.accessPolicy;
      form = h(
        'form',
        { id: 'application-policy-form', className: 'stack', novalidate: true },
        h('h3', {}, 'Change'),
        field({ label: 'Who may sign in', name: 'allow', id: 'policy-allow', type: 'select', options: ALLOW_OPTIONS, value: current.allow }),
        h(
          'fieldset',
          { className: 'choices' },
          h('legend', {}, 'Organization kinds (members only)'),
          checkbox({ label: 'Customer', name: 'organizationKinds', id: 'policy-kind-customer', value: 'CUSTOMER', checked: current.organizationKinds.includes('CUSTOMER') }),
          checkbox({ label: 'Partner', name: 'organizationKinds', id: 'policy-kind-partner', value: 'PARTNER', checked: current.organizationKinds.includes('PARTNER') }),
        ),
        h(
          'div',
          { className: 'grid-2' },
          field({ label: 'Roles', name: 'roles', id: 'policy-roles', value: current.roles.join(', '), optional: true, hint: 'Comma separated; a member needs one of them.' }),
          field({ label: 'Entitlements', name: 'entitlements', id: 'policy-entitlements', value: current.entitlements.join(', '), optional: true, hint: 'Comma separated; the organization needs one of them.' }),
        ),
        field({ label: 'Organization ids', name: 'organizationIds', id: 'policy-organizations', type: 'textarea', rows: 2, value: current.organizationIds.join('\n'), optional: true }),
        field({
          label: 'Claim mappings (JSON array)',
          name: 'claimMappings',
          id: 'policy-claim-mappings',
          type: 'textarea',
          rows: 4,
          value: JSON.stringify(application.claimMappings, null, 2),
          hint: 'Such as [{"claim": "tier", "source": "identity.attributes.tier", "idToken": true, "accessToken": true}].',
        }),
        h('div', { className: 'actions' }, h('button', { type: 'submit', className: 'button button-primary', dataset: { write: '' } }, 'Save policy and mappings')),
      );
      onSubmit(form, async () => {
        const claimMappings = parseJsonField(form.elements.claimMappings.value, 'claimMappings', { fallback: [], object: false });
        if (!Array.isArray(claimMappings)) throw Object.assign(new Error('claimMappings: must be a JSON array'), { code: 'BAD_USER_INPUT', field: 'claimMappings' });
        const accessPolicy = {
          allow: form.elements.allow.value,
          organizationKinds: [...form.querySelectorAll('input[name="organizationKinds"]:checked')].map((input) => input.value),
          organizationIds: listFrom(form.elements.organizationIds.value),
          roles: listFrom(form.elements.roles.value),
          entitlements: listFrom(form.elements.entitlements.value),
        };
        await graphql(endpoint, UPDATE, { input: { id, accessPolicy, claimMappings } });
        showStatus('The access policy and claim mappings are saved.', 'success');
        await reload();
      });
    }
    policy.fill(facts, h('h3', {}, 'Claim mappings'), mappingsTable, form);
  }

  async function reload() {
    application = (await graphql(endpoint, APPLICATION, { id })).application;
    heading.textContent = application.name;
    drawDetails();
    if (writable) drawEdit();
    drawPolicy();
    snippets.fill(h('p', { className: 'muted' }, 'Built from this tenant’s issuer and the client id. The secret is read from the LATCHKEY_CLIENT_SECRET environment variable, never written here.'), snippetSections(application, issuer));
  }
  await reload();
}
