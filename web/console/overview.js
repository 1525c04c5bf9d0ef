// The tenant's overview: sign-ins per day by method, failed sign-ins and new identities per
// day (`tenantActivity`), active sessions, and CRM deliveries pending and failed
// (`crmSyncEvents`). Each figure says where it comes from. The per-day figures are a table
// (the data) and a bar chart drawn with elements whose widths are set through the CSSOM (no
// style attribute, which the CSP forbids); the chart repeats the table and is hidden from
// assistive technology. Each query is asked for on its own: a role that may not read one still
// sees the rest.

import { endpointOf, graphql } from './api.js';
import { card, describeError, field, h, roleName } from './ui.js';

const ACTIVITY = `query TenantActivity($days: Int) {
  tenantActivity(days: $days) {
    activeSessions
    days { date failedSignIns newIdentities signIns { method count } }
  }
}`;

const DELIVERIES = `query DeliveryCounts {
  pending: crmSyncEvents(first: 1, filter: { status: PENDING }) { totalCount }
  dead: crmSyncEvents(first: 1, filter: { status: DEAD }) { totalCount }
}`;

/** How sign-in methods are named for people; others show as they come. */
const METHOD_NAMES = {
  passkey: 'Passkey',
  password: 'Password',
  email_code: 'Email code',
  federated: 'Federated',
  recovery: 'Recovery',
  magic_link: 'Email link',
};

/** The methods with a colour of their own in the chart (the rest share `other`). */
const COLOURED = ['passkey', 'password', 'email_code', 'federated', 'recovery'];

export function methodName(method) {
  return METHOD_NAMES[method] ?? method;
}

const dayFormat = new Intl.DateTimeFormat(undefined, { weekday: 'short', month: 'short', day: 'numeric', timeZone: 'UTC' });

function dayLabel(date) {
  const parsed = new Date(`${date}T00:00:00Z`);
  return Number.isNaN(parsed.getTime()) ? date : dayFormat.format(parsed);
}

function figure(id, label, value, from) {
  return h(
    'li',
    { id, className: 'figure card' },
    h('span', { className: 'figure-label' }, label),
    value,
    h('span', { className: 'figure-source' }, from),
  );
}

function number(value) {
  return h('span', { className: 'figure-value' }, String(value));
}

function unavailable(error) {
  return h('span', { className: 'figure-value figure-unavailable' }, 'Not available', h('span', { className: 'figure-reason' }, describeError(error)));
}

/** The methods that appear in `days`, the known ones first, in a stable order. */
function methodsOf(days) {
  const seen = new Set();
  for (const day of days) for (const { method } of day.signIns) seen.add(method);
  const known = Object.keys(METHOD_NAMES).filter((method) => seen.has(method));
  const others = [...seen].filter((method) => !known.includes(method)).sort();
  return [...known, ...others];
}

function countOf(day, method) {
  return day.signIns.find((item) => item.method === method)?.count ?? 0;
}

function totalOf(day) {
  return day.signIns.reduce((sum, item) => sum + item.count, 0);
}

/** The table of the per-day figures (newest first), with a total row. */
function activityTable(days, methods) {
  const rows = [...days].reverse().map((day) =>
    h(
      'tr',
      { dataset: { date: day.date } },
      h('th', { scope: 'row' }, h('time', { datetime: day.date }, dayLabel(day.date))),
      methods.map((method) => h('td', { className: 'number', dataset: { method } }, String(countOf(day, method)))),
      h('td', { className: 'number', dataset: { total: '' } }, String(totalOf(day))),
      h('td', { className: 'number', dataset: { failed: '' } }, String(day.failedSignIns)),
      h('td', { className: 'number', dataset: { newIdentities: '' } }, String(day.newIdentities)),
    ),
  );
  const sum = (pick) => days.reduce((total, day) => total + pick(day), 0);
  return h(
    'div',
    { className: 'table-wrap', role: 'region', 'aria-label': 'Sign-ins per day (table)', tabindex: '0' },
    h(
      'table',
      { id: 'sign-in-table', className: 'numbers' },
      h('caption', { className: 'visually-hidden' }, 'Sign-ins per day by method, failed sign-ins and new identities, newest day first (UTC)'),
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          h('th', { scope: 'col' }, 'Day (UTC)'),
          methods.map((method) => h('th', { scope: 'col', className: 'number' }, methodName(method))),
          h('th', { scope: 'col', className: 'number' }, 'All sign-ins'),
          h('th', { scope: 'col', className: 'number' }, 'Failed sign-ins'),
          h('th', { scope: 'col', className: 'number' }, 'New identities'),
        ),
      ),
      h('tbody', {}, rows),
      h(
        'tfoot',
        {},
        h(
          'tr',
          { id: 'sign-in-totals' },
          h('th', { scope: 'row' }, 'Total'),
          methods.map((method) => h('td', { className: 'number', dataset: { method } }, String(sum((day) => countOf(day, method))))),
          h('td', { className: 'number', dataset: { total: '' } }, String(sum(totalOf))),
          h('td', { className: 'number', dataset: { failed: '' } }, String(sum((day) => day.failedSignIns))),
          h('td', { className: 'number', dataset: { newIdentities: '' } }, String(sum((day) => day.newIdentities))),
        ),
      ),
    ),
  );
}

/**
 * Bars per day: sign-ins stacked by method, failed sign-ins beside them. Widths are shares of
 * the busiest day, set with `style.setProperty` (the CSSOM, allowed by the CSP).
 */
function activityChart(days, methods) {
  const busiest = Math.max(1, ...days.map((day) => Math.max(totalOf(day), day.failedSignIns)));
  const percent = (value) => `${((value / busiest) * 100).toFixed(2)}%`;
  const bar = (className, value) => {
    const element = h('span', { className: `bar ${className}` });
    element.style.setProperty('width', percent(value));
    return element;
  };
  const colour = (method) => (COLOURED.includes(method) ? `bar-${method.replace(/_/g, '-')}` : 'bar-other');
  return h(
    'div',
    { className: 'chart', 'aria-hidden': 'true' },
    h(
      'ul',
      { className: 'chart-legend' },
      methods.map((method) => h('li', {}, h('span', { className: `swatch ${colour(method)}` }), methodName(method))),
      h('li', {}, h('span', { className: 'swatch bar-failed' }), 'Failed'),
    ),
    days.map((day) =>
      h(
        'div',
        { className: 'chart-row' },
        h('span', { className: 'chart-label' }, dayLabel(day.date)),
        h(
          'span',
          { className: 'chart-bars' },
          h('span', { className: 'bar-stack' }, methods.map((method) => bar(colour(method), countOf(day, method)))),
          h('span', { className: 'bar-stack' }, bar('bar-failed', day.failedSignIns)),
        ),
        h('span', { className: 'chart-value' }, `${totalOf(day)} / ${day.failedSignIns}`),
      ),
    ),
  );
}

export async function renderOverview(container, { slug, tenant, role, setTitle, navigate }) {
  setTitle('Overview');
  const endpoint = endpointOf(slug);
  const params = new URLSearchParams(location.search);
  const days = [7, 14, 30, 90].includes(Number(params.get('days'))) ? Number(params.get('days')) : 14;

  const list = h('ul', { id: 'overview-figures', className: 'figures' });
  const activity = card('overview-activity', `Sign-ins, last ${days} days`);
  const period = field({
    label: 'Period',
    name: 'days',
    id: 'overview-days',
    type: 'select',
    value: String(days),
    options: [['7', 'Last 7 days'], ['14', 'Last 14 days'], ['30', 'Last 30 days'], ['90', 'Last 90 days']],
  });
  period.querySelector('select').addEventListener('change', (event) => {
    navigate(`${location.pathname}?days=${encodeURIComponent(event.target.value)}`, { replace: true });
  });

  container.append(
    h('h1', {}, `Overview of ${tenant.name}`),
    h('p', { className: 'lede' }, `Your role on this tenant: ${roleName(role)}.`),
    h('div', { className: 'toolbar' }, period),
    h('section', { 'aria-labelledby': 'figures-heading' }, h('h2', { id: 'figures-heading' }, 'Figures'), list),
    activity.section,
  );

  const [activityResult, deliveryResult] = await Promise.allSettled([graphql(endpoint, ACTIVITY, { days }), graphql(endpoint, DELIVERIES)]);

  if (activityResult.status === 'fulfilled') {
    const { days: perDay, activeSessions } = activityResult.value.tenantActivity;
    const sum = (pick) => perDay.reduce((total, day) => total + pick(day), 0);
    list.append(
      figure('figure-sign-ins', `Sign-ins, ${days} days`, number(sum(totalOf)), ['From the sessions the sign-ins started, by their method (', h('code', {}, 'tenantActivity'), ').']),
      figure('figure-failed', `Failed sign-ins, ${days} days`, number(sum((day) => day.failedSignIns)), ['From the audit log’s ', h('code', {}, 'passkey.sign_in_rejected'), ', ', h('code', {}, 'password.sign_in_rejected'), ' and ', h('code', {}, 'federation.refused'), ' entries (', h('code', {}, 'tenantActivity'), ').']),
      figure('figure-new-identities', `New identities, ${days} days`, number(sum((day) => day.newIdentities)), ['Identities created per day (', h('code', {}, 'tenantActivity'), ').']),
      figure('figure-active-sessions', 'Active sessions', number(activeSessions), ['Sessions neither expired nor revoked, browser and application sessions (', h('code', {}, 'tenantActivity.activeSessions'), ').']),
    );
    const methods = methodsOf(perDay);
    activity.fill(
      h(
        'p',
        { className: 'source' },
        'Sign-ins by method come from the sessions they started (an application’s session hangs from its browser session and is not counted again); failed sign-ins from the audit log’s refusals (passkey, password, federated); new identities from the identities created that day. Days are UTC; today is included. From ',
        h('code', {}, `tenantActivity(days: ${days})`),
        '.',
      ),
      methods.length ? activityChart(perDay, methods) : h('p', { className: 'empty' }, 'No sign-in in this period.'),
      activityTable(perDay, methods),
    );
  } else {
    list.append(figure('figure-sign-ins', 'Sign-ins', unavailable(activityResult.reason), 'From tenantActivity.'));
    activity.fail(activityResult.reason);
  }

  if (deliveryResult.status === 'fulfilled') {
    const { pending, dead } = deliveryResult.value;
    list.append(
      figure('figure-crm-pending', 'CRM deliveries pending', number(pending.totalCount), ['Deliveries to CRM connectors not yet made (', h('code', {}, 'crmSyncEvents(status: PENDING)'), ').']),
      figure('figure-crm-failed', 'CRM deliveries failed', number(dead.totalCount), ['Deliveries that gave up after their retries (', h('code', {}, 'crmSyncEvents(status: DEAD)'), ').']),
    );
  } else {
    list.append(figure('figure-crm', 'CRM deliveries', unavailable(deliveryResult.reason), 'From crmSyncEvents.'));
  }
}
