// The Identities area: search (text in the email or name, exact email, status, external id,
// organization, an attribute's value: the filters
// the `identities` query has), the results page by page, and creating an identity. The
// search is kept in the address (`?search=…&email=…&status=…`) so it survives a reload.

import { endpointOf, graphql } from './api.js';
import { canWriteIdentities } from './roles.js';
import { badge, field, h, loading, onSubmit, replace, showStatus, table, time } from './ui.js';

const SEARCH = `query SearchIdentities($first: Int, $after: String, $filter: IdentityFilter) {
  identities(first: $first, after: $after, filter: $filter) {
    totalCount
    pageInfo { hasNextPage endCursor }
    nodes { id email emailVerified displayName status createdAt }
  }
}`;

const CREATE = `mutation CreateIdentity($input: CreateIdentityInput!) {
  createIdentity(input: $input) { identity { id email } }
}`;

const STATUS_KINDS = { ACTIVE: 'success', SUSPENDED: 'warning', DELETED: 'danger' };

/** An identity's status as a badge. */
export function statusBadge(status) {
  return badge(status.charAt(0) + status.slice(1).toLowerCase(), STATUS_KINDS[status] ?? 'neutral');
}

/**
 * Parses the JSON of an attributes box: an object, or null when empty. A mistake is thrown as
 * a `BAD_USER_INPUT` about `attributes` so the form marks the box.
 */
export function parseAttributes(text) {
  if (!text.trim()) return null;
  let value;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw Object.assign(new Error(`attributes: is not valid JSON (${error.message})`), { code: 'BAD_USER_INPUT', field: 'attributes' });
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw Object.assign(new Error('attributes: must be a JSON object, such as {"tier": "gold"}'), { code: 'BAD_USER_INPUT', field: 'attributes' });
  }
  return value;
}

/** The search's parameters, as kept in the address. */
const PARAMS = ['search', 'email', 'status', 'externalId', 'organizationId', 'attributeName', 'attributeValue'];

function filterFrom(params) {
  const filter = {};
  for (const name of ['search', 'email', 'status', 'externalId', 'organizationId']) {
    const value = params.get(name)?.trim();
    if (value) filter[name] = value;
  }
  const attribute = params.get('attributeName')?.trim();
  if (attribute) filter.attribute = { name: attribute, value: params.get('attributeValue') ?? '' };
  return filter;
}

/** The organizations to search within, as select options (none when they cannot be read). */
async function organizationOptions(endpoint, select, chosen) {
  try {
    const data = await graphql(endpoint, 'query { organizations(first: 200) { nodes { id name } } }');
    for (const organization of data.organizations.nodes) {
      select.append(h('option', { value: organization.id, selected: organization.id === chosen }, organization.name));
    }
  } catch {
    // The search works without this filter.
  }
}

export async function renderIdentities(container, { slug, role, setTitle, navigate }) {
  setTitle('Identities');
  const endpoint = endpointOf(slug);
  const base = `/console/t/${encodeURIComponent(slug)}/identities`;
  const params = new URLSearchParams(location.search);
  const writable = canWriteIdentities(role);

  const searchForm = h(
    'form',
    { id: 'identity-search', className: 'search-form', role: 'search', 'aria-label': 'Search identities', novalidate: true },
    field({ label: 'Name or email contains', name: 'search', id: 'identity-search-text', type: 'search', value: params.get('search') ?? '' }),
    field({ label: 'Exact email', name: 'email', id: 'identity-search-email', type: 'email', value: params.get('email') ?? '', spellcheck: 'false', autocapitalize: 'off' }),
    field({
      label: 'Status',
      name: 'status',
      id: 'identity-search-status',
      type: 'select',
      value: params.get('status') ?? '',
      options: [['', 'Any but deleted'], ['ACTIVE', 'Active'], ['SUSPENDED', 'Suspended'], ['DELETED', 'Deleted']],
    }),
    field({ label: 'External id', name: 'externalId', id: 'identity-search-external-id', value: params.get('externalId') ?? '', spellcheck: 'false', autocapitalize: 'off' }),
    field({
      label: 'Member of organization',
      name: 'organizationId',
      id: 'identity-search-organization',
      type: 'select',
      value: params.get('organizationId') ?? '',
      options: [['', 'Any']],
    }),
    field({ label: 'Attribute', name: 'attributeName', id: 'identity-search-attribute', value: params.get('attributeName') ?? '', spellcheck: 'false', autocapitalize: 'off', hint: 'Its name, such as plan.' }),
    field({ label: 'Attribute value', name: 'attributeValue', id: 'identity-search-attribute-value', value: params.get('attributeValue') ?? '' }),
    h('div', { className: 'actions' }, h('button', { type: 'submit', className: 'button button-primary' }, 'Search')),
  );
  organizationOptions(endpoint, searchForm.elements.organizationId, params.get('organizationId'));

  const summary = h('p', { id: 'identity-count', className: 'muted', 'aria-live': 'polite' });
  const results = h('div', { id: 'identity-results' }, loading());
  const more = h('button', { id: 'identity-more', type: 'button', className: 'button', hidden: true }, 'Show more');

  let after = null;
  let rows = [];

  function row(identity) {
    return h(
      'tr',
      { dataset: { identityId: identity.id } },
      h('td', {}, h('a', { href: `${base}/${encodeURIComponent(identity.id)}` }, identity.email)),
      h('td', {}, identity.displayName ?? h('span', { className: 'muted' }, '—')),
      h('td', {}, statusBadge(identity.status)),
      h('td', {}, time(identity.createdAt)),
    );
  }

  async function load({ append = false } = {}) {
    const filter = filterFrom(new URLSearchParams(location.search));
    const data = await graphql(endpoint, SEARCH, { first: 50, after: append ? after : null, filter: Object.keys(filter).length ? filter : null });
    const page = data.identities;
    rows = append ? rows.concat(page.nodes) : page.nodes;
    after = page.pageInfo.endCursor;
    summary.textContent = page.totalCount === 1 ? '1 identity matches.' : `${page.totalCount} identities match.`;
    replace(
      results,
      table({ label: 'Identities', columns: ['Email', 'Name', 'Status', 'Created'], rows: rows.map(row), empty: 'No identity matches this search.' }),
    );
    more.hidden = !page.pageInfo.hasNextPage;
  }

  onSubmit(searchForm, async (form) => {
    const next = new URLSearchParams();
    for (const name of PARAMS) {
      const value = form.elements[name].value.trim();
      if (value) next.set(name, value);
    }
    const query = next.toString();
    history.replaceState(null, '', query ? `${base}?${query}` : base);
    await load();
  });
  more.addEventListener('click', async () => {
    more.disabled = true;
    try {
      await load({ append: true });
    } finally {
      more.disabled = false;
    }
  });

  let createSection = null;
  if (writable) {
    const createForm = h(
      'form',
      { id: 'create-identity-form', className: 'stack', novalidate: true, hidden: true },
      h(
        'div',
        { className: 'grid-2' },
        field({ label: 'Email address', name: 'email', id: 'create-identity-email', type: 'email', required: true, spellcheck: 'false', autocapitalize: 'off' }),
        field({ label: 'Display name', name: 'displayName', id: 'create-identity-name', optional: true }),
        field({ label: 'Phone', name: 'phone', id: 'create-identity-phone', type: 'tel', optional: true, hint: 'E.164, such as +14155550100.' }),
        field({ label: 'External id', name: 'externalId', id: 'create-identity-external-id', optional: true, hint: 'Its id in another system, such as a CRM.' }),
      ),
      field({ label: 'Attributes (JSON object)', name: 'attributes', id: 'create-identity-attributes', type: 'textarea', rows: 3, optional: true, placeholder: '{"tier": "gold"}' }),
      h(
        'div',
        { className: 'checkbox' },
        h('input', { id: 'create-identity-verified', name: 'emailVerified', type: 'checkbox' }),
        h('label', { for: 'create-identity-verified' }, 'The address is already verified'),
      ),
      h('div', { className: 'actions' }, h('button', { id: 'create-identity-submit', type: 'submit', className: 'button button-primary', dataset: { write: '' } }, 'Create identity')),
    );
    const toggle = h(
      'button',
      { id: 'create-identity-toggle', type: 'button', className: 'button', 'aria-expanded': 'false', 'aria-controls': 'create-identity-form', dataset: { write: '' } },
      'New identity',
    );
    toggle.addEventListener('click', () => {
      const open = createForm.hidden;
      createForm.hidden = !open;
      toggle.setAttribute('aria-expanded', String(open));
      if (open) createForm.elements.email.focus();
    });
    onSubmit(createForm, async (form) => {
      const input = {
        email: form.elements.email.value.trim(),
        emailVerified: form.elements.emailVerified.checked,
      };
      for (const name of ['displayName', 'phone', 'externalId']) {
        const value = form.elements[name].value.trim();
        if (value) input[name] = value;
      }
      const attributes = parseAttributes(form.elements.attributes.value);
      if (attributes) input.attributes = attributes;
      const { createIdentity } = await graphql(endpoint, CREATE, { input });
      showStatus(`Identity ${createIdentity.identity.email} created.`, 'success');
      navigate(`${base}/${encodeURIComponent(createIdentity.identity.id)}`, { keepStatus: true });
    });
    createSection = h(
      'section',
      { className: 'card', 'aria-labelledby': 'create-identity-heading' },
      h('div', { className: 'section-header' }, h('h2', { id: 'create-identity-heading' }, 'Create an identity'), toggle),
      createForm,
    );
  }

  container.append(
    h('h1', {}, 'Identities'),
    createSection,
    h('section', { className: 'card', 'aria-labelledby': 'identity-search-heading' }, h('h2', { id: 'identity-search-heading' }, 'Search'), searchForm),
    h('section', { 'aria-labelledby': 'identity-results-heading' }, h('h2', { id: 'identity-results-heading' }, 'Results'), summary, results, h('div', { className: 'actions' }, more)),
  );
  await load();
}
