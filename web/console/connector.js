// One CRM connector (`/console/t/<slug>/connectors/<id>`): its settings (defaults filled
// in), field and contract mappings; test (calls the CRM with its settings), enable/disable,
// change (credentials write-only), delete; its deliveries ("sync events") with filters and
// replay of dead ones; backfills with live progress (polled every 2 s while running); and,
// for connectors that pull, the pull's cursor, last error and "pull now", and the records
// waiting for a verified address.

import { endpointOf, graphql } from './api.js';
import { DIRECTION_NAMES, KIND_NAMES, eventName, kindFields, kindValues, triggerChoices } from './connectors.js';
import { canWriteTenant } from './roles.js';
import { badge, card, confirmAction, disclosure, field, h, none, onSubmit, parseJsonField, replace, showStatus, table, time, withButton } from './ui.js';

const CONNECTOR = `query Connector($id: ID!) {
  crmConnector(id: $id) {
    id name kind direction triggers settings fieldMapping contractMapping onRemoteDelete enabled createdAt updatedAt webhookUrl
    pull { cursor nextPullAt lastPullAt lastError records }
  }
}`;

const DELIVERIES = `query Deliveries($filter: CrmSyncEventFilter, $after: String) {
  crmSyncEvents(first: 100, after: $after, filter: $filter) {
    totalCount
    pageInfo { hasNextPage endCursor }
    nodes { id eventId eventType subjectId status attempts nextAttemptAt lastError remoteId createdAt deliveredAt }
  }
}`;

const RUNS = `query Runs($id: ID!) { crmSyncRuns(connectorId: $id) { id total queued fullyQueued delivered dead pending finished startedAt queuedAt } }`;
const RUN = `query Run($id: ID!) { crmSyncRun(id: $id) { id total queued fullyQueued delivered dead pending finished startedAt queuedAt } }`;
const WAITING = `query Waiting($id: ID!) { crmWaitingRecords(connectorId: $id, first: 50) { totalCount nodes { id remoteId email reason receivedAt } } }`;

const M = {
  test: 'mutation Test($input: CrmConnectorIdInput!) { testCrmConnector(input: $input) { ok message } }',
  enable: 'mutation Enable($input: CrmConnectorIdInput!) { enableCrmConnector(input: $input) { connector { id enabled } } }',
  disable: 'mutation Disable($input: CrmConnectorIdInput!) { disableCrmConnector(input: $input) { connector { id enabled } } }',
  remove: 'mutation Delete($input: CrmConnectorIdInput!) { deleteCrmConnector(input: $input) { connector { id } } }',
  update: 'mutation Update($input: UpdateCrmConnectorInput!) { updateCrmConnector(input: $input) { connector { id } } }',
  backfill: 'mutation Backfill($input: RunCrmSyncInput!) { runCrmSync(input: $input) { syncRun { id } } }',
  pull: 'mutation Pull($input: CrmConnectorIdInput!) { pullCrmConnector(input: $input) { connector { id } } }',
  replay: 'mutation Replay($input: ReplayCrmSyncEventInput!) { replayCrmSyncEvent(input: $input) { syncEvent { id status } } }',
};

const STATUS_KINDS = { PENDING: 'warning', DELIVERED: 'success', DEAD: 'danger' };
const STATUS_NAMES = { PENDING: 'Pending', DELIVERED: 'Delivered', DEAD: 'Failed (dead)' };

/** Deliveries read at most (pages of 100, oldest first): the newest of them are shown. */
const DELIVERY_PAGES = 10;

export async function renderConnector(container, { slug, role, params, setTitle, navigate }) {
  const id = params[0];
  const endpoint = endpointOf(slug);
  const listPath = `/console/t/${encodeURIComponent(slug)}/connectors`;
  const writable = canWriteTenant(role);
  const run = (name, input) => graphql(endpoint, M[name], { input });

  const heading = h('h1', {}, 'Connector');
  const details = card('connector-details', 'Connector');
  const edit = writable ? card('connector-edit', 'Change') : null;
  const deliveries = card('connector-deliveries', 'Deliveries');
  const backfills = card('connector-backfills', 'Backfills');
  const pull = card('connector-pull', 'Pull');
  container.append(h('p', { className: 'breadcrumb' }, h('a', { href: listPath }, '← CRM connectors')), heading, details.section, edit?.section, deliveries.section, backfills.section, pull.section);

  let connector = (await graphql(endpoint, CONNECTOR, { id })).crmConnector;
  setTitle(connector.name, 'CRM connectors');
  heading.textContent = connector.name;

  async function reload() {
    connector = (await graphql(endpoint, CONNECTOR, { id })).crmConnector;
    heading.textContent = connector.name;
    drawDetails();
    if (writable) drawEdit();
    drawPull();
  }

  // ---- Details and actions
  function drawDetails() {
    const actions = h('div', { className: 'actions' });
    const testResult = h('p', { id: 'connector-test-result', 'aria-live': 'polite' });
    if (writable) {
      const test = h('button', { id: 'connector-test', type: 'button', className: 'button', dataset: { write: '' } }, 'Test connection');
      test.addEventListener('click', () =>
        withButton(test, async () => {
          const { testCrmConnector } = await run('test', { id });
          testResult.className = testCrmConnector.ok ? 'notice notice-success' : 'notice notice-error';
          testResult.textContent = `${testCrmConnector.ok ? 'It works' : 'It failed'}: ${testCrmConnector.message}`;
        }),
      );
      const toggle = h('button', { id: 'connector-toggle-enabled', type: 'button', className: 'button', dataset: { write: '' } }, connector.enabled ? 'Disable' : 'Enable');
      toggle.addEventListener('click', () =>
        withButton(toggle, async () => {
          await run(connector.enabled ? 'disable' : 'enable', { id });
          showStatus(connector.enabled ? `${connector.name} is disabled; events wait for it.` : `${connector.name} is enabled.`, 'success');
          await reload();
        }),
      );
      const remove = h('button', { id: 'connector-delete', type: 'button', className: 'button button-danger', dataset: { write: '' } }, 'Delete');
      remove.addEventListener('click', () =>
        withButton(remove, async () => {
          if (!(await confirmAction({ title: 'Delete this connector?', message: `${connector.name} is deleted with its deliveries.`, confirm: 'Delete' }))) return;
          await run('remove', { id });
          showStatus(`${connector.name} was deleted.`, 'success');
          navigate(listPath, { keepStatus: true });
        }),
      );
      actions.append(test, toggle, remove);
    }
    details.fill(
      h(
        'dl',
        { className: 'facts' },
        h('dt', {}, 'Kind'),
        h('dd', {}, KIND_NAMES[connector.kind] ?? connector.kind),
        h('dt', {}, 'Direction'),
        h('dd', {}, DIRECTION_NAMES[connector.direction] ?? connector.direction),
        h('dt', {}, 'State'),
        h('dd', { id: 'connector-state' }, connector.enabled ? badge('Enabled', 'success') : badge('Disabled', 'warning')),
        h('dt', {}, 'Events'),
        h('dd', {}, connector.triggers.map(eventName).join(', ') || 'All events'),
        connector.webhookUrl ? [h('dt', {}, 'CRM webhooks to'), h('dd', {}, h('code', {}, connector.webhookUrl))] : null,
        connector.onRemoteDelete ? [h('dt', {}, 'On deletion in the CRM'), h('dd', {}, connector.onRemoteDelete)] : null,
        h('dt', {}, 'Created'),
        h('dd', {}, time(connector.createdAt)),
      ),
      h('h3', {}, 'Settings'),
      h('pre', { className: 'code', tabindex: '0', 'aria-label': 'Settings (JSON)' }, JSON.stringify(connector.settings, null, 2)),
      h('h3', {}, 'Field mapping'),
      h('pre', { id: 'connector-field-mapping', className: 'code', tabindex: '0', 'aria-label': 'Field mapping (JSON)' }, JSON.stringify(connector.fieldMapping, null, 2)),
      connector.contractMapping ? [h('h3', {}, 'Contract mapping'), h('pre', { className: 'code', tabindex: '0', 'aria-label': 'Contract mapping (JSON)' }, JSON.stringify(connector.contractMapping, null, 2))] : null,
      actions,
      testResult,
    );
  }

  function drawEdit() {
    const form = h(
      'form',
      { id: 'connector-edit-form', className: 'stack', novalidate: true },
      field({ label: 'Name', name: 'name', id: 'connector-edit-name', value: connector.name }),
      kindFields(connector.kind, 'connector-edit', { credentialsOptional: true, settings: connector.settings }),
      triggerChoices('connector-edit', connector.triggers),
      field({ label: 'Field mapping (JSON)', name: 'fieldMapping', id: 'connector-edit-field-mapping', type: 'textarea', rows: 5, value: JSON.stringify(connector.fieldMapping, null, 2) }),
      field({ label: 'Contract mapping (JSON)', name: 'contractMapping', id: 'connector-edit-contract-mapping', type: 'textarea', rows: 3, optional: true, value: connector.contractMapping ? JSON.stringify(connector.contractMapping, null, 2) : '' }),
      h('div', { className: 'actions' }, h('button', { id: 'connector-save', type: 'submit', className: 'button button-primary', dataset: { write: '' } }, 'Save')),
    );
    onSubmit(form, async () => {
      const { settings, credentials } = kindValues(form, connector.kind);
      const input = {
        id,
        name: form.elements.name.value.trim(),
        triggers: [...form.querySelectorAll('input[name="triggers"]:checked')].map((box) => box.value),
        fieldMapping: parseJsonField(form.elements.fieldMapping.value, 'fieldMapping', { fallback: {} }),
      };
      // Only the kind's own settings (the boxes start with the current values): defaults the
      // server filled in stay its own.
      if (Object.keys(settings).length) input.settings = settings;
      if (Object.keys(credentials).length) input.credentials = credentials;
      const contractMapping = parseJsonField(form.elements.contractMapping.value, 'contractMapping');
      if (contractMapping) input.contractMapping = contractMapping;
      await run('update', input);
      showStatus('Changes saved.', 'success');
      await reload();
    });
    edit.fill(h('div', { className: 'section-header' }, h('p', { className: 'muted' }, 'Settings, credentials, events and mappings.'), disclosure('connector-edit', 'Edit', form)), form);
  }

  // ---- Deliveries
  const filterForm = h(
    'form',
    { id: 'delivery-filter', className: 'search-form', role: 'search', 'aria-label': 'Filter deliveries', novalidate: true },
    field({ label: 'Status', name: 'status', id: 'delivery-filter-status', type: 'select', options: [['', 'Any'], ['PENDING', 'Pending'], ['DELIVERED', 'Delivered'], ['DEAD', 'Failed (dead)']] }),
    field({ label: 'Event type', name: 'eventType', id: 'delivery-filter-type', type: 'select', options: [['', 'Any'], ...TRIGGER_TYPES()] }),
    field({ label: 'Subject id', name: 'subjectId', id: 'delivery-filter-subject', optional: true, spellcheck: 'false' }),
    h('div', { className: 'actions' }, h('button', { id: 'delivery-refresh', type: 'submit', className: 'button button-primary' }, 'Show')),
  );
  const deliveryList = h('div', { id: 'delivery-list' });
  const deliverySummary = h('p', { id: 'delivery-count', className: 'muted', 'aria-live': 'polite' });

  async function loadDeliveries() {
    const filter = { connectorId: id };
    if (filterForm.elements.status.value) filter.status = filterForm.elements.status.value;
    const subject = filterForm.elements.subjectId.value.trim();
    if (subject) filter.subjectId = subject;
    let nodes = [];
    let after = null;
    let total = 0;
    let more = false;
    for (let page = 0; page < DELIVERY_PAGES; page += 1) {
      const answer = (await graphql(endpoint, DELIVERIES, { filter, after })).crmSyncEvents;
      nodes = nodes.concat(answer.nodes);
      total = answer.totalCount;
      after = answer.pageInfo.endCursor;
      more = answer.pageInfo.hasNextPage;
      if (!more) break;
    }
    const type = filterForm.elements.eventType.value;
    const shown = nodes.filter((item) => !type || item.eventType === type).reverse();
    deliverySummary.textContent = `${shown.length} shown of ${total} deliveries${type ? ` (event type filtered in the browser: the API filters by status and subject only)` : ''}${more ? `; only the oldest ${nodes.length} were read` : ''}. Newest first.`;
    const rows = shown.map((item) => {
      const cells = [
        h('td', {}, time(item.createdAt)),
        h('td', {}, h('code', {}, item.eventType)),
        h('td', {}, h('code', {}, item.subjectId)),
        h('td', { className: 'delivery-status' }, badge(STATUS_NAMES[item.status] ?? item.status, STATUS_KINDS[item.status] ?? 'neutral')),
        h('td', {}, String(item.attempts)),
        h('td', {}, item.status === 'DELIVERED' ? time(item.deliveredAt) : item.status === 'PENDING' ? ['next ', time(item.nextAttemptAt)] : none()),
        h('td', { className: 'wrap' }, item.lastError ?? none()),
      ];
      if (writable) {
        let replay = null;
        if (item.status === 'DEAD') {
          replay = h('button', { type: 'button', className: 'button button-small delivery-replay', dataset: { write: '' }, 'aria-label': `Replay the ${item.eventType} delivery` }, 'Replay');
          replay.addEventListener('click', () =>
            withButton(replay, async () => {
              await run('replay', { id: item.id });
              showStatus('The delivery is queued again from its first attempt.', 'success');
              await loadDeliveries();
            }),
          );
        }
        cells.push(h('td', {}, replay ?? none()));
      }
      return h('tr', { dataset: { deliveryId: item.id, status: item.status, eventType: item.eventType, subjectId: item.subjectId } }, cells);
    });
    replace(
      deliveryList,
      table({ label: 'Deliveries', columns: ['Queued', 'Event', 'Subject', 'Status', 'Attempts', 'Delivered / next', 'Last error', ...(writable ? ['Replay'] : [])], rows, empty: 'No delivery matches.' }),
    );
  }
  onSubmit(filterForm, loadDeliveries);

  // ---- Backfills
  let polling = null;
  const runList = h('div', { id: 'backfill-list' });

  function progress(item) {
    const done = item.delivered + item.dead;
    const bar = h('progress', { max: String(Math.max(1, item.total)), value: String(done), 'aria-label': `Backfill progress: ${done} of ${item.total}` });
    return h('span', { className: 'progress' }, bar, ` ${done} / ${item.total}`);
  }

  async function loadRuns() {
    const runs = (await graphql(endpoint, RUNS, { id })).crmSyncRuns;
    drawRuns(runs);
    const running = runs.filter((item) => !item.finished);
    if (running.length && !polling) pollRuns(running.map((item) => item.id));
  }

  function drawRuns(runs) {
    const rows = runs.map((item) =>
      h(
        'tr',
        { dataset: { runId: item.id, finished: String(item.finished) } },
        h('td', {}, time(item.startedAt)),
        h('td', {}, item.finished ? badge('Finished', 'success') : item.fullyQueued ? badge('Delivering', 'warning') : badge('Queueing', 'warning')),
        h('td', {}, progress(item)),
        h('td', {}, `${item.queued} queued, ${item.delivered} delivered, ${item.pending} pending, ${item.dead} failed`),
      ),
    );
    replace(runList, table({ label: 'Backfills', columns: ['Started', 'State', 'Progress', 'Counts'], rows, empty: 'No backfill yet.' }));
  }

  /** While a backfill runs, reads it again every 2 s (stops when it finishes or the screen is left). */
  function pollRuns() {
    polling = setInterval(async () => {
      if (!runList.isConnected) {
        clearInterval(polling);
        polling = null;
        return;
      }
      try {
        const runs = (await graphql(endpoint, RUNS, { id })).crmSyncRuns;
        drawRuns(runs);
        if (runs.every((item) => item.finished)) {
          clearInterval(polling);
          polling = null;
          await loadDeliveries();
        }
      } catch {
        clearInterval(polling);
        polling = null;
      }
    }, 2000);
  }

  let backfillButton = null;
  if (writable) {
    backfillButton = h('button', { id: 'connector-backfill', type: 'button', className: 'button', dataset: { write: '' } }, 'Run a backfill');
    backfillButton.addEventListener('click', () =>
      withButton(backfillButton, async () => {
        if (!(await confirmAction({ title: 'Run a backfill?', message: 'Every identity, organization and membership of the tenant is queued for this connector.', confirm: 'Run backfill' }))) return;
        const { runCrmSync } = await run('backfill', { connectorId: id });
        showStatus('The backfill started; its progress updates here.', 'success');
        const first = (await graphql(endpoint, RUN, { id: runCrmSync.syncRun.id })).crmSyncRun;
        await loadRuns();
        if (!first.finished && !polling) pollRuns();
      }),
    );
  }

  // ---- Pull
  function drawPull() {
    if (!connector.pull) {
      pull.fill(h('p', { className: 'muted' }, connector.direction === 'PUSH' ? 'This connector only pushes.' : 'No scheduled pull.'));
      return;
    }
    const p = connector.pull;
    let now = null;
    if (writable) {
      now = h('button', { id: 'connector-pull-now', type: 'button', className: 'button', dataset: { write: '' } }, 'Pull now');
      now.addEventListener('click', () =>
        withButton(now, async () => {
          await run('pull', { id });
          showStatus('The pull runs on the next dispatcher round.', 'success');
          await reload();
        }),
      );
    }
    const waiting = h('div', { id: 'connector-waiting' });
    pull.fill(
      h(
        'dl',
        { className: 'facts' },
        h('dt', {}, 'Cursor'),
        h('dd', {}, p.cursor ? h('code', { id: 'connector-pull-cursor' }, p.cursor) : none()),
        h('dt', {}, 'Last pull'),
        h('dd', {}, time(p.lastPullAt)),
        h('dt', {}, 'Next pull'),
        h('dd', {}, time(p.nextPullAt)),
        h('dt', {}, 'Records pulled'),
        h('dd', {}, String(p.records)),
        h('dt', {}, 'Last error'),
        h('dd', { id: 'connector-pull-error' }, p.lastError ? h('span', { className: 'field-error' }, p.lastError) : 'None'),
      ),
      now ? h('div', { className: 'actions' }, now) : null,
      h('h3', {}, 'Records waiting for a verified address'),
      waiting,
    );
    graphql(endpoint, WAITING, { id })
      .then(({ crmWaitingRecords }) =>
        replace(
          waiting,
          table({
            label: 'Waiting records',
            columns: ['Email', 'CRM id', 'Why', 'Received'],
            rows: crmWaitingRecords.nodes.map((item) => h('tr', {}, h('td', {}, item.email), h('td', {}, h('code', {}, item.remoteId)), h('td', {}, item.reason), h('td', {}, time(item.receivedAt)))),
            empty: 'None.',
          }),
        ),
      )
      .catch((error) => replace(waiting, h('p', { className: 'notice notice-error' }, `${error.message} (${error.code})`)));
  }

  drawDetails();
  if (writable) drawEdit();
  deliveries.fill(filterForm, deliverySummary, deliveryList);
  backfills.fill(h('p', { className: 'muted' }, 'A backfill queues every identity, organization and membership for this connector (events named …synced).'), backfillButton ? h('div', { className: 'actions' }, backfillButton) : null, runList);
  drawPull();
  await Promise.all([loadDeliveries().catch(deliveries.fail), loadRuns().catch(backfills.fail)]);
}

function TRIGGER_TYPES() {
  return [
    'identity.created',
    'identity.updated',
    'identity.deleted',
    'identity.synced',
    'organization.created',
    'organization.updated',
    'organization.deleted',
    'organization.synced',
    'membership.added',
    'membership.updated',
    'membership.removed',
    'membership.started',
    'membership.expired',
    'membership.synced',
    'membership.role_granted',
    'membership.role_expired',
    'entitlement.granted',
    'entitlement.revoked',
  ].map((type) => [type, type]);
}
