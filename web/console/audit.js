// The Audit log: filter by action, target, actor and time range (the API's filter; an actor
// that is neither an administrator's address, an id nor an actor type is matched in the
// browser over the pages read, and the screen says so), page by page (oldest first, as the API answers), each administrator named by
// address; and "Export as JSON lines": every matching event (walking all pages) as a `.jsonl`
// file made in the browser (a Blob URL and an `<a download>`).

import { endpointOf, graphql } from './api.js';
import { field, h, instantFrom, loading, none, onSubmit, replace, showStatus, table, time, withButton } from './ui.js';

const EVENTS = `query AuditLog($first: Int, $after: String, $filter: AuditEventFilter) {
  auditEvents(first: $first, after: $after, filter: $filter) {
    totalCount
    pageInfo { hasNextPage endCursor }
    nodes { id actorType actorId action targetType targetId requestId data occurredAt }
  }
}`;

const ADMINISTRATORS = `query AuditAdministrators { administrators { id email displayName } }`;

const PAGE = 100;
/** At most this many events are read for one export (pages of 1000). */
const EXPORT_LIMIT = 100_000;

const FILTER_NAMES = ['action', 'targetId', 'actor', 'from', 'until'];

function filtersFrom(params) {
  return Object.fromEntries(FILTER_NAMES.map((name) => [name, params.get(name)?.trim() ?? '']));
}

const ACTOR_TYPES = ['administrator', 'api_key', 'identity', 'platform', 'crm_connector', 'scim_token', 'anonymous'];
const ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The actor as the API filters it: an administrator's address, an id, or a type; else null. */
function actorFilter(actor, administrators) {
  if (!actor) return {};
  const admin = [...administrators.values()].find((known) => known.email.toLowerCase() === actor.toLowerCase());
  if (admin) return { actorType: 'administrator', actorId: admin.id };
  if (ID.test(actor)) return { actorId: actor.toLowerCase() };
  if (ACTOR_TYPES.includes(actor)) return { actorType: actor };
  return null;
}

/** The API's filter. */
function apiFilter(filters, administrators) {
  const filter = { ...(actorFilter(filters.actor, administrators) ?? {}) };
  if (filters.action) filter.action = filters.action;
  if (filters.targetId) filter.targetId = filters.targetId;
  if (filters.from) filter.occurredAfter = instantFrom(filters.from);
  if (filters.until) filter.occurredBefore = instantFrom(filters.until);
  return Object.keys(filter).length ? filter : null;
}

/** The browser's part: an actor the API cannot filter by (text in an address, name, id or type). */
function matcher(filters, administrators) {
  const actor = filters.actor.toLowerCase();
  if (!actor || actorFilter(filters.actor, administrators)) return () => true;
  return (event) => {
    const admin = administrators.get(event.actorId);
    const haystack = [event.actorType, event.actorId, admin?.email, admin?.displayName].filter(Boolean).join(' ').toLowerCase();
    return haystack.includes(actor);
  };
}

export async function renderAudit(container, { slug, tenant, setTitle }) {
  setTitle('Audit log');
  const endpoint = endpointOf(slug);
  const base = `/console/t/${encodeURIComponent(slug)}/audit`;
  const filters = filtersFrom(new URLSearchParams(location.search));

  const form = h(
    'form',
    { id: 'audit-filter', className: 'search-form', role: 'search', 'aria-label': 'Filter the audit log', novalidate: true },
    field({ label: 'Action', name: 'action', id: 'audit-action', value: filters.action, spellcheck: 'false', hint: 'Exact, such as identity.create.' }),
    field({ label: 'Target id', name: 'targetId', id: 'audit-target', value: filters.targetId, spellcheck: 'false' }),
    field({ label: 'Actor', name: 'actor', id: 'audit-actor', value: filters.actor, spellcheck: 'false', hint: 'An administrator’s address, an id, or a type (administrator, api_key, identity…); other text is looked for in them.' }),
    field({ label: 'From', name: 'from', id: 'audit-from', type: 'datetime-local', value: filters.from }),
    field({ label: 'Before', name: 'until', id: 'audit-until', type: 'datetime-local', value: filters.until }),
    h('div', { className: 'actions' }, h('button', { id: 'audit-apply', type: 'submit', className: 'button button-primary' }, 'Filter')),
  );
  const note = h(
    'p',
    { id: 'audit-filter-note', className: 'muted' },
    'The server filters by action, target, actor and time range. Actor text that is no administrator’s address, id or type is looked for in this browser, over the pages read (so a page may show fewer than ',
    String(PAGE),
    ' rows).',
  );
  const summary = h('p', { id: 'audit-count', className: 'muted', 'aria-live': 'polite' });
  const results = h('div', { id: 'audit-results' }, loading());
  const more = h('button', { id: 'audit-more', type: 'button', className: 'button', hidden: true }, 'Next page');
  const exportButton = h('button', { id: 'audit-export', type: 'button', className: 'button' }, 'Export as JSON lines');
  const exportLink = h('p', { id: 'audit-export-result', 'aria-live': 'polite' });

  container.append(
    h('h1', {}, 'Audit log'),
    h('p', { className: 'lede' }, 'Who did what in ', tenant.name, ', oldest first. Administrators are named by their address; API keys, identities and connectors by id.'),
    h('section', { className: 'card', 'aria-labelledby': 'audit-filter-heading' }, h('h2', { id: 'audit-filter-heading' }, 'Filter'), form, note),
    h(
      'section',
      { 'aria-labelledby': 'audit-results-heading' },
      h('div', { className: 'section-header' }, h('h2', { id: 'audit-results-heading' }, 'Events'), exportButton),
      exportLink,
      summary,
      results,
      h('div', { className: 'actions' }, more),
    ),
  );

  let administrators = new Map();
  try {
    administrators = new Map((await graphql(endpoint, ADMINISTRATORS)).administrators.map((admin) => [admin.id, admin]));
  } catch {
    // Without the list, administrators are shown by id.
  }

  function actorCell(event) {
    const admin = event.actorType === 'administrator' ? administrators.get(event.actorId) : null;
    return h(
      'td',
      { className: 'wrap audit-actor' },
      h('span', { className: 'muted' }, event.actorType),
      ' ',
      admin ? [h('span', { className: 'audit-admin' }, admin.displayName ? `${admin.displayName} <${admin.email}>` : admin.email), ' '] : null,
      event.actorId ? h('code', {}, event.actorId) : null,
    );
  }

  let after = null;
  let shown = [];
  let read = 0;

  async function load({ append = false } = {}) {
    const current = filtersFrom(new URLSearchParams(location.search));
    const matches = matcher(current, administrators);
    const page = (await graphql(endpoint, EVENTS, { first: PAGE, after: append ? after : null, filter: apiFilter(current, administrators) })).auditEvents;
    read = (append ? read : 0) + page.nodes.length;
    const kept = page.nodes.filter(matches);
    shown = append ? shown.concat(kept) : kept;
    after = page.pageInfo.endCursor;
    summary.textContent = `${page.totalCount} events match on the server; ${read} read, ${shown.length} shown.`;
    replace(
      results,
      table({
        label: 'Audit events',
        columns: ['When', 'Action', 'Actor', 'Target', 'Details'],
        rows: shown.map((event) =>
          h(
            'tr',
            { dataset: { eventId: event.id, action: event.action, actorId: event.actorId ?? '' } },
            h('td', {}, time(event.occurredAt)),
            h('td', {}, h('code', {}, event.action)),
            actorCell(event),
            h('td', { className: 'wrap' }, event.targetType ? [h('span', { className: 'muted' }, event.targetType), ' '] : null, event.targetId ? h('code', {}, event.targetId) : none()),
            h('td', { className: 'wrap' }, Object.keys(event.data ?? {}).length ? h('code', {}, JSON.stringify(event.data)) : none()),
          ),
        ),
        empty: 'No event matches.',
      }),
    );
    more.hidden = !page.pageInfo.hasNextPage;
  }

  onSubmit(form, async () => {
    const next = new URLSearchParams();
    for (const name of FILTER_NAMES) {
      const value = form.elements[name].value.trim();
      if (value) next.set(name, value);
    }
    if (next.get('from') && !instantFrom(next.get('from'))) throw Object.assign(new Error('from: is not a date and time'), { code: 'BAD_USER_INPUT', field: 'from' });
    history.replaceState(null, '', next.toString() ? `${base}?${next}` : base);
    await load();
  });
  more.addEventListener('click', () => withButton(more, () => load({ append: true })));

  let lastUrl = null;
  exportButton.addEventListener('click', () =>
    withButton(exportButton, async () => {
      const current = filtersFrom(new URLSearchParams(location.search));
      const matches = matcher(current, administrators);
      const lines = [];
      let cursor = null;
      let total = 0;
      for (;;) {
        exportLink.textContent = `Reading events… ${total} so far.`;
        const page = (await graphql(endpoint, EVENTS, { first: 1000, after: cursor, filter: apiFilter(current, administrators) })).auditEvents;
        total += page.nodes.length;
        for (const event of page.nodes) if (matches(event)) lines.push(JSON.stringify(event));
        cursor = page.pageInfo.endCursor;
        if (!page.pageInfo.hasNextPage || total >= EXPORT_LIMIT) break;
      }
      if (lastUrl) URL.revokeObjectURL(lastUrl);
      lastUrl = URL.createObjectURL(new Blob(lines.length ? [`${lines.join('\n')}\n`] : [], { type: 'application/jsonl' }));
      const name = `${slug}-audit-${new Date().toISOString().slice(0, 10)}.jsonl`;
      const link = h('a', { id: 'audit-export-link', href: lastUrl, download: name }, `Download ${name}`);
      replace(exportLink, `${lines.length} events exported${total >= EXPORT_LIMIT ? ` (the first ${EXPORT_LIMIT} read)` : ''}. `, link);
      link.click();
      showStatus(`${lines.length} events exported as JSON lines.`, 'success');
    }),
  );

  await load();
}
