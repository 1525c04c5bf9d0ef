// The Applications area: the tenant's OpenID Connect clients and registering one. A new
// confidential client's secret is handed to the application's page, shown there once
// (application.js). Redirect URIs are checked by the server; its refusal names the box.

import { endpointOf, graphql } from './api.js';
import { canWriteTenant } from './roles.js';
import { handOverSecret } from './secret.js';
import { badge, disclosure, field, h, listFrom, loading, onSubmit, replace, showStatus, table, time, withButton } from './ui.js';

const LIST = `query Applications($after: String) {
  applications(first: 100, after: $after) {
    totalCount
    pageInfo { hasNextPage endCursor }
    nodes { id clientId name type confidential redirectUris createdAt }
  }
}`;

const CREATE = `mutation CreateApplication($input: CreateApplicationInput!) {
  createApplication(input: $input) { application { id name clientId confidential } clientSecret }
}`;

export const TYPE_OPTIONS = [
  ['WEB', 'Web application (server side, confidential)'],
  ['SPA', 'Single-page application (public, PKCE)'],
  ['NATIVE', 'Native or mobile app (public, PKCE)'],
  ['MACHINE', 'Machine to machine (client credentials)'],
];

export const TYPE_NAMES = { WEB: 'Web', SPA: 'Single-page', NATIVE: 'Native', MACHINE: 'Machine' };

export async function renderApplications(container, { slug, role, setTitle, navigate }) {
  setTitle('Applications');
  const endpoint = endpointOf(slug);
  const base = `/console/t/${encodeURIComponent(slug)}/applications`;
  const writable = canWriteTenant(role);
  const results = h('div', { id: 'application-results' }, loading());
  const more = h('button', { id: 'application-more', type: 'button', className: 'button', hidden: true }, 'Show more');
  let after = null;
  let rows = [];

  function row(application) {
    return h(
      'tr',
      { dataset: { applicationId: application.id, clientId: application.clientId } },
      h('td', {}, h('a', { href: `${base}/${encodeURIComponent(application.id)}` }, application.name)),
      h('td', {}, h('code', {}, application.clientId)),
      h('td', {}, TYPE_NAMES[application.type] ?? application.type, ' ', application.confidential ? badge('Confidential') : badge('Public')),
      h('td', { className: 'wrap' }, application.redirectUris.length ? application.redirectUris.map((uri) => h('div', {}, h('code', {}, uri))) : h('span', { className: 'muted' }, 'None')),
      h('td', {}, time(application.createdAt)),
    );
  }

  async function load({ append = false } = {}) {
    const page = (await graphql(endpoint, LIST, { after: append ? after : null })).applications;
    rows = append ? rows.concat(page.nodes) : page.nodes;
    after = page.pageInfo.endCursor;
    replace(results, table({ label: 'Applications', columns: ['Name', 'Client id', 'Type', 'Redirect URIs', 'Created'], rows: rows.map(row), empty: 'No application yet.' }));
    more.hidden = !page.pageInfo.hasNextPage;
  }
  more.addEventListener('click', () => withButton(more, () => load({ append: true })));

  let createSection = null;
  if (writable) {
    const form = h(
      'form',
      { id: 'create-application-form', className: 'stack', novalidate: true },
      h(
        'div',
        { className: 'grid-2' },
        field({ label: 'Name', name: 'name', id: 'create-application-name', required: true, hint: 'Shown to people on the consent and sign-in pages.' }),
        field({ label: 'Type', name: 'type', id: 'create-application-type', type: 'select', options: TYPE_OPTIONS, value: 'WEB' }),
      ),
      field({
        label: 'Redirect URIs',
        name: 'redirectUris',
        id: 'create-application-redirects',
        type: 'textarea',
        rows: 3,
        optional: true,
        hint: 'One a line, exactly as the application sends them: https, no wildcard, no fragment (native apps: http://127.0.0.1 or a private scheme).',
      }),
      field({ label: 'Post-logout redirect URIs', name: 'postLogoutRedirectUris', id: 'create-application-logout-redirects', type: 'textarea', rows: 2, optional: true, hint: 'One a line.' }),
      field({ label: 'Scopes', name: 'scopes', id: 'create-application-scopes', optional: true, hint: 'Space separated; empty: the default (openid profile email …).', spellcheck: 'false' }),
      h('div', { className: 'actions' }, h('button', { id: 'create-application-submit', type: 'submit', className: 'button button-primary', dataset: { write: '' } }, 'Create application')),
    );
    onSubmit(form, async () => {
      const input = {
        name: form.elements.name.value.trim(),
        type: form.elements.type.value,
        redirectUris: listFrom(form.elements.redirectUris.value.replace(/\s+/g, '\n')),
        postLogoutRedirectUris: listFrom(form.elements.postLogoutRedirectUris.value.replace(/\s+/g, '\n')),
      };
      const scopes = form.elements.scopes.value.trim();
      if (scopes) input.scopes = scopes.split(/\s+/);
      const { createApplication } = await graphql(endpoint, CREATE, { input });
      const { application, clientSecret } = createApplication;
      if (clientSecret) handOverSecret(`application:${application.id}`, clientSecret);
      showStatus(`Application ${application.name} created.`, 'success');
      navigate(`${base}/${encodeURIComponent(application.id)}`, { keepStatus: true });
    });
    createSection = h(
      'section',
      { className: 'card', 'aria-labelledby': 'create-application-heading' },
      h('div', { className: 'section-header' }, h('h2', { id: 'create-application-heading' }, 'Register an application'), disclosure('create-application', 'New application', form)),
      form,
    );
  }

  container.append(
    h('h1', {}, 'Applications'),
    h('p', { className: 'lede' }, 'OpenID Connect clients of this tenant.'),
    createSection,
    h('section', { 'aria-labelledby': 'application-list-heading' }, h('h2', { id: 'application-list-heading' }, 'Registered applications'), results, h('div', { className: 'actions' }, more)),
  );
  await load();
}
