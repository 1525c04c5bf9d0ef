// The Audit log: filter by action and target (the API's filter), by actor and time range
// (filtered in the browser over the pages read: the API has no such filter, and the screen
// says so), page by page (oldest first, as the API answers), each administrator named by
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

/** The API's part of the filter. */
function apiFilter(filters) {
  const filter = {};
  if (filters.action) filter.action = filters.action;
  if (filters.targetId) filter.targetId = filters.targetId;
  return Object.keys(filter).length ? filter : null;
}

/** The browser's part: actor (type, id or administrator address contains) and time range. */
function matcher(filters, administrators) {
  const actor = filters.actor.toLowerCase();
  const from = filters.from ? new Date(filters.from).getTime() : null;
  const until = filters.until ? new Date(filters.until).getTime() : null;
  return (event) => {
    if (actor) {
      const admin = administrators.get(event.actorId);
      const haystack = [event.actorType, event.actorId, admin?.email, admin?.displayName].filter(Boolean).join(' ').toLowerCase();
      if (!haystack.includes(actor)) return false;
    }
    const at = new Date(event.occurredAt).getTime();
    if (from !== null && at < from) return false;
    if (until !== null && at > until) return false;
    return true;
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
    field({ label: 'Actor', name: 'actor', id: 'audit-actor', value: filters.actor, spellcheck: 'false', hint: 'Address, name, id or type contains.' }),
    field({ label: 'From', name: 'from', id: 'audit-from', type: 'datetime-local', value: filters.from }),
    field({ label: 'Until', name: 'until', id: 'audit-until', type: 'datetime-local', value: filters.until }),
    h('div', { className: 'actions' }, h('button', { id: 'audit-apply', type: 'submit', className: 'button button-primary' }, 'Filter')),
  );
  const note = h(
    'p',
    { id: 'audit-filter-note', className: 'muted' },
    'Action and target are filtered by the server; actor and time range in this browser, over the pages read (so a page may show fewer than ',
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
    const page = (await graphql(endpoint, EVENTS, { first: PAGE, after: append ? after : null, filter: apiFilter(current) })).auditEvents;
    read = (append ? read : 0) + page.nodes.length;
    const kept = page.nodes.filter(matches);
    shown = append ? shown.concat(kept) : kept;
    after = page.pageInfo.endCursor;
    summary.textContent = `${page.totalCount} events match the action and target; ${read} read, ${shown.length} shown.`;
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
        const page = (await graphql(endpoint, EVENTS, { first: 1000, after: cursor, filter: apiFilter(current) })).auditEvents;
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
