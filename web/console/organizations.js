// The Organizations area: the tenant's organizations (search by name or slug, kind), creating
// one, and the tenant's organization roles with their permissions (built-in and defined
// here; define a role, delete one no member holds). One organization's members,
// invitations, domains, join requests, entitlements and policies are in organization.js.

import { endpointOf, graphql } from './api.js';
import { canWriteTenant } from './roles.js';
import {
  badge,
  card,
  confirmAction,
  disclosure,
  field,
  h,
  listFrom,
  loading,
  none,
  onSubmit,
  parseJsonField,
  replace,
  showStatus,
  table,
  time,
  withButton,
} from './ui.js';

const SEARCH = `query Organizations($first: Int, $after: String, $filter: OrganizationFilter) {
  organizations(first: $first, after: $after, filter: $filter) {
    totalCount
    pageInfo { hasNextPage endCursor }
    nodes { id name slug kind externalId domainPolicy createdAt }
  }
}`;

const CREATE = `mutation CreateOrganization($input: CreateOrganizationInput!) {
  createOrganization(input: $input) { organization { id name slug } }
}`;

const ROLES = `query OrganizationRoles { organizationRoles { id name description permissions builtIn createdAt } }`;

const CREATE_ROLE = `mutation CreateOrganizationRole($input: CreateOrganizationRoleInput!) {
  createOrganizationRole(input: $input) { role { id name } }
}`;

const DELETE_ROLE = `mutation DeleteOrganizationRole($input: DeleteOrganizationRoleInput!) {
  deleteOrganizationRole(input: $input) { role { name } }
}`;

export const KIND_OPTIONS = [
  ['CUSTOMER', 'Customer'],
  ['PARTNER', 'Partner'],
];

/** A kebab-case slug from a name: "Acme Corp." → "acme-corp". */
export function slugFrom(name) {
  return name
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 63);
}

export async function renderOrganizations(container, { slug, role, setTitle, navigate }) {
  setTitle('Organizations');
  const endpoint = endpointOf(slug);
  const base = `/console/t/${encodeURIComponent(slug)}/organizations`;
  const params = new URLSearchParams(location.search);
  const writable = canWriteTenant(role);

  const searchForm = h(
    'form',
    { id: 'organization-search', className: 'search-form', role: 'search', 'aria-label': 'Search organizations', novalidate: true },
    field({ label: 'Name or slug contains', name: 'search', id: 'organization-search-text', type: 'search', value: params.get('search') ?? '' }),
    field({ label: 'Kind', name: 'kind', id: 'organization-search-kind', type: 'select', value: params.get('kind') ?? '', options: [['', 'Any'], ...KIND_OPTIONS] }),
    h('div', { className: 'actions' }, h('button', { type: 'submit', className: 'button button-primary' }, 'Search')),
  );
  const summary = h('p', { id: 'organization-count', className: 'muted', 'aria-live': 'polite' });
  const results = h('div', { id: 'organization-results' }, loading());
  const more = h('button', { id: 'organization-more', type: 'button', className: 'button', hidden: true }, 'Show more');
  let after = null;
  let rows = [];

  function row(organization) {
    return h(
      'tr',
      { dataset: { organizationId: organization.id, slug: organization.slug } },
      h('td', {}, h('a', { href: `${base}/${encodeURIComponent(organization.id)}` }, organization.name)),
      h('td', {}, h('code', {}, organization.slug)),
      h('td', {}, organization.kind === 'PARTNER' ? badge('Partner', 'warning') : badge('Customer')),
      h('td', {}, organization.externalId ?? none()),
      h('td', {}, time(organization.createdAt)),
    );
  }

  async function load({ append = false } = {}) {
    const current = new URLSearchParams(location.search);
    const filter = {};
    if (current.get('search')) filter.search = current.get('search');
    if (current.get('kind')) filter.kind = current.get('kind');
    const page = (await graphql(endpoint, SEARCH, { first: 50, after: append ? after : null, filter: Object.keys(filter).length ? filter : null })).organizations;
    rows = append ? rows.concat(page.nodes) : page.nodes;
    after = page.pageInfo.endCursor;
    summary.textContent = page.totalCount === 1 ? '1 organization matches.' : `${page.totalCount} organizations match.`;
    replace(results, table({ label: 'Organizations', columns: ['Name', 'Slug', 'Kind', 'External id', 'Created'], rows: rows.map(row), empty: 'No organization matches.' }));
    more.hidden = !page.pageInfo.hasNextPage;
  }

  onSubmit(searchForm, async (form) => {
    const next = new URLSearchParams();
    for (const name of ['search', 'kind']) {
      const value = form.elements[name].value.trim();
      if (value) next.set(name, value);
    }
    history.replaceState(null, '', next.toString() ? `${base}?${next}` : base);
    await load();
  });
  more.addEventListener('click', () => withButton(more, () => load({ append: true })));

  let createSection = null;
  if (writable) {
    const form = h(
      'form',
      { id: 'create-organization-form', className: 'stack', novalidate: true },
      h(
        'div',
        { className: 'grid-2' },
        field({ label: 'Name', name: 'name', id: 'create-organization-name', required: true }),
        field({ label: 'Slug', name: 'slug', id: 'create-organization-slug', required: true, spellcheck: 'false', autocapitalize: 'off', hint: 'Lower-case letters, digits and dashes; filled in from the name.' }),
        field({ label: 'Kind', name: 'kind', id: 'create-organization-kind', type: 'select', options: KIND_OPTIONS, value: 'CUSTOMER', hint: 'A partner may be given delegated administration of customers.' }),
        field({ label: 'External id', name: 'externalId', id: 'create-organization-external-id', optional: true, hint: 'Its id in another system, such as a CRM account.' }),
      ),
      field({ label: 'Metadata (JSON object)', name: 'metadata', id: 'create-organization-metadata', type: 'textarea', rows: 3, optional: true, placeholder: '{"plan": "enterprise"}' }),
      h('div', { className: 'actions' }, h('button', { id: 'create-organization-submit', type: 'submit', className: 'button button-primary', dataset: { write: '' } }, 'Create organization')),
    );
    let slugTouched = false;
    form.elements.slug.addEventListener('input', () => {
      slugTouched = true;
    });
    form.elements.name.addEventListener('input', () => {
      if (!slugTouched) form.elements.slug.value = slugFrom(form.elements.name.value);
    });
    onSubmit(form, async () => {
      const input = { name: form.elements.name.value.trim(), slug: form.elements.slug.value.trim(), kind: form.elements.kind.value };
      if (!input.name) throw Object.assign(new Error('name: enter a name'), { code: 'BAD_USER_INPUT', field: 'name' });
      const externalId = form.elements.externalId.value.trim();
      if (externalId) input.externalId = externalId;
      const metadata = parseJsonField(form.elements.metadata.value, 'metadata');
      if (metadata) input.metadata = metadata;
      const { createOrganization } = await graphql(endpoint, CREATE, { input });
      showStatus(`Organization ${createOrganization.organization.name} created.`, 'success');
      navigate(`${base}/${encodeURIComponent(createOrganization.organization.id)}`, { keepStatus: true });
    });
    createSection = h(
      'section',
      { className: 'card', 'aria-labelledby': 'create-organization-heading' },
      h('div', { className: 'section-header' }, h('h2', { id: 'create-organization-heading' }, 'Create an organization'), disclosure('create-organization', 'New organization', form)),
      form,
    );
  }

  const roles = card('organization-roles', 'Organization roles and permissions');

  async function loadRoles() {
    const { organizationRoles } = await graphql(endpoint, ROLES);
    const roleRows = organizationRoles.map((item) =>
      h(
        'tr',
        { dataset: { role: item.name } },
        h('td', {}, h('code', {}, item.name), item.builtIn ? [' ', badge('Built in')] : null),
        h('td', { className: 'wrap' }, item.description ?? none()),
        h('td', { className: 'wrap' }, item.permissions.length ? item.permissions.map((permission, index) => [index ? ' ' : '', h('code', {}, permission)]) : none()),
        writable
          ? h(
              'td',
              {},
              item.builtIn
                ? none()
                : (() => {
                    const button = h('button', { type: 'button', className: 'button button-danger button-small', dataset: { write: '' }, 'aria-label': `Delete role ${item.name}` }, 'Delete');
                    button.addEventListener('click', () =>
                      withButton(button, async () => {
                        if (!(await confirmAction({ title: 'Delete this role?', message: `The role ${item.name} is deleted. A role some member holds cannot be deleted.`, confirm: 'Delete role' }))) return;
                        await graphql(endpoint, DELETE_ROLE, { input: { id: item.id } });
                        showStatus(`The role ${item.name} was deleted.`, 'success');
                        await loadRoles();
                      }),
                    );
                    return button;
                  })(),
            )
          : null,
      ),
    );
    let createRole = null;
    if (writable) {
      const form = h(
        'form',
        { id: 'create-role-form', className: 'stack', novalidate: true },
        h(
          'div',
          { className: 'grid-2' },
          field({ label: 'Role name', name: 'name', id: 'create-role-name', required: true, spellcheck: 'false', hint: 'Such as billing:admin.' }),
          field({ label: 'Description', name: 'description', id: 'create-role-description', optional: true }),
        ),
        field({ label: 'Permissions', name: 'permissions', id: 'create-role-permissions', type: 'textarea', rows: 2, optional: true, hint: 'Comma or line separated, such as members:read, invoices:write.' }),
        h('div', { className: 'actions' }, h('button', { id: 'create-role-submit', type: 'submit', className: 'button button-primary', dataset: { write: '' } }, 'Define role')),
      );
      onSubmit(form, async () => {
        const input = { name: form.elements.name.value.trim(), permissions: listFrom(form.elements.permissions.value) };
        const description = form.elements.description.value.trim();
        if (description) input.description = description;
        await graphql(endpoint, CREATE_ROLE, { input });
        showStatus(`The role ${input.name} was defined.`, 'success');
        await loadRoles();
      });
      createRole = h('div', { className: 'subsection' }, h('div', { className: 'section-header' }, h('h3', {}, 'Define a role'), disclosure('create-role', 'New role', form)), form);
    }
    roles.fill(
      h('p', { className: 'muted' }, 'Roles members hold in every organization of this tenant; tokens carry a member’s roles and their permissions.'),
      h('div', { id: 'organization-role-list' }, table({ label: 'Organization roles', columns: ['Role', 'Description', 'Permissions', ...(writable ? ['Actions'] : [])], rows: roleRows, empty: 'No role.' })),
      createRole,
    );
  }

  container.append(
    h('h1', {}, 'Organizations'),
    createSection,
    h('section', { className: 'card', 'aria-labelledby': 'organization-search-heading' }, h('h2', { id: 'organization-search-heading' }, 'Search'), searchForm),
    h('section', { 'aria-labelledby': 'organization-results-heading' }, h('h2', { id: 'organization-results-heading' }, 'Results'), summary, results, h('div', { className: 'actions' }, more)),
    roles.section,
  );
  await Promise.all([load(), loadRoles().catch(roles.fail)]);
}
