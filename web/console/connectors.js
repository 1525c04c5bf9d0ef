// The CRM connectors area: the tenant's connectors (kind, direction, enabled) and creating one
// per kind, with its settings and write-only credentials (the boxes change with the kind),
// the events it delivers, its field mapping and, for connectors that pull, its contract
// mapping and what a deletion in the CRM does. One connector's test, deliveries, backfills
// and pull are in connector.js.

import { endpointOf, graphql } from './api.js';
import { canWriteTenant } from './roles.js';
import { badge, checkbox, disclosure, field, h, loading, onSubmit, parseJsonField, replace, showStatus, table, time } from './ui.js';

const LIST = `query Connectors {
  crmConnectors(first: 100) { totalCount nodes { id name kind direction enabled triggers createdAt pull { lastError } } }
}`;

const CREATE = `mutation CreateConnector($input: CreateCrmConnectorInput!) {
  createCrmConnector(input: $input) { connector { id name } }
}`;

export const KIND_NAMES = { WEBHOOK: 'Webhook', HUBSPOT: 'HubSpot', SALESFORCE: 'Salesforce', DYNAMICS365: 'Dynamics 365 (Dataverse)' };

export const DIRECTION_NAMES = { PUSH: 'Push to the CRM', PULL: 'Pull from the CRM', BOTH: 'Push and pull' };

/** The domain events a connector may deliver (`DomainEventType`). */
export const TRIGGERS = [
  'IDENTITY_CREATED',
  'IDENTITY_UPDATED',
  'IDENTITY_DELETED',
  'ORGANIZATION_CREATED',
  'ORGANIZATION_UPDATED',
  'ORGANIZATION_DELETED',
  'MEMBERSHIP_ADDED',
  'MEMBERSHIP_UPDATED',
  'MEMBERSHIP_REMOVED',
  'MEMBERSHIP_STARTED',
  'MEMBERSHIP_EXPIRED',
  'MEMBERSHIP_ROLE_GRANTED',
  'MEMBERSHIP_ROLE_EXPIRED',
  'ENTITLEMENT_GRANTED',
  'ENTITLEMENT_REVOKED',
];

/** `IDENTITY_CREATED` → `identity.created`, as deliveries name their event. */
export function eventName(trigger) {
  const [subject, ...rest] = trigger.toLowerCase().split('_');
  return `${subject}.${rest.join('_')}`;
}

/**
 * The settings and credentials each kind takes (CreateCrmConnectorInput): `[key, label,
 * { required, hint, type } ]`. Box names are `settings.<key>` and `credentials.<key>`, so a
 * refusal naming `settings.url` marks its box.
 */
export const KIND_FIELDS = {
  WEBHOOK: {
    settings: [['url', 'Receiver URL', { required: true, type: 'url', hint: 'Where events are POSTed, signed with the secret (Latchkey-Signature).' }]],
    credentials: [['secret', 'Signing secret', { required: true, hint: 'The receiver checks the HMAC-SHA256 signature with it.' }]],
  },
  HUBSPOT: {
    settings: [['baseUrl', 'API base URL', { hint: 'Empty: https://api.hubapi.com.' }]],
    credentials: [['token', 'Private app token', { required: true }]],
  },
  SALESFORCE: {
    settings: [
      ['instanceUrl', 'Instance URL', { required: true, type: 'url' }],
      ['tokenUrl', 'Token URL', { type: 'url', hint: 'Empty: the instance’s.' }],
      ['apiVersion', 'API version', { hint: 'Such as v61.0.' }],
      ['contactExternalIdField', 'Contact external id field', { required: true, hint: 'Such as Latchkey_Id__c.' }],
      ['accountExternalIdField', 'Account external id field', { required: true }],
    ],
    credentials: [
      ['clientId', 'Client id', { required: true }],
      ['clientSecret', 'Client secret', { required: true }],
    ],
  },
  DYNAMICS365: {
    settings: [
      ['baseUrl', 'Environment URL', { required: true, type: 'url', hint: 'Such as https://org.crm.dynamics.com.' }],
      ['tokenUrl', 'Token URL', { required: true, type: 'url' }],
      ['scope', 'Scope', { hint: 'Empty: <environment URL>/.default.' }],
      ['contactKey', 'Contact alternate key', { required: true }],
      ['accountKey', 'Account alternate key', { required: true }],
    ],
    credentials: [
      ['clientId', 'Client id', { required: true }],
      ['clientSecret', 'Client secret', { required: true }],
    ],
  },
};

/** The boxes of a kind's settings and credentials, ids `<prefix>-setting-<key>` and `<prefix>-credential-<key>`. */
export function kindFields(kind, prefix, { credentialsOptional = false, settings = {} } = {}) {
  const spec = KIND_FIELDS[kind];
  return [
    h('h3', {}, 'Settings'),
    h(
      'div',
      { className: 'grid-2' },
      spec.settings.map(([key, label, options]) =>
        field({ label, name: `settings.${key}`, id: `${prefix}-setting-${key}`, type: options.type ?? 'text', required: !!options.required, optional: !options.required, hint: options.hint, spellcheck: 'false', value: settings[key] ?? '' }),
      ),
    ),
    h('h3', {}, 'Credentials'),
    h('p', { className: 'muted' }, credentialsOptional ? 'Write-only: never shown again. Leave empty to keep the current ones.' : 'Write-only: stored sealed and never shown again.'),
    h(
      'div',
      { className: 'grid-2' },
      spec.credentials.map(([key, label, options]) =>
        field({ label, name: `credentials.${key}`, id: `${prefix}-credential-${key}`, type: 'password', autocomplete: 'off', required: !credentialsOptional && !!options.required, optional: credentialsOptional || !options.required, hint: options.hint }),
      ),
    ),
  ];
}

/** The settings and credentials objects typed into `form` for `kind` (empty boxes left out). */
export function kindValues(form, kind) {
  const read = (group) =>
    Object.fromEntries(
      KIND_FIELDS[kind][group]
        .map(([key]) => [key, form.elements[`${group}.${key}`]?.value.trim() ?? ''])
        .filter(([, value]) => value !== ''),
    );
  return { settings: read('settings'), credentials: read('credentials') };
}

export function triggerChoices(prefix, checked = []) {
  return h(
    'fieldset',
    { className: 'choices choices-columns' },
    h('legend', {}, 'Events to deliver'),
    h('p', { className: 'hint' }, 'None ticked: every event.'),
    TRIGGERS.map((trigger) => checkbox({ label: eventName(trigger), name: 'triggers', id: `${prefix}-trigger-${trigger}`, value: trigger, checked: checked.includes(trigger) })),
  );
}

export async function renderConnectors(container, { slug, role, setTitle, navigate }) {
  setTitle('CRM connectors');
  const endpoint = endpointOf(slug);
  const base = `/console/t/${encodeURIComponent(slug)}/connectors`;
  const writable = canWriteTenant(role);
  const results = h('div', { id: 'connector-results' }, loading());

  async function load() {
    const { nodes } = (await graphql(endpoint, LIST)).crmConnectors;
    const rows = nodes.map((connector) =>
      h(
        'tr',
        { dataset: { connectorId: connector.id, name: connector.name } },
        h('td', {}, h('a', { href: `${base}/${encodeURIComponent(connector.id)}` }, connector.name)),
        h('td', {}, KIND_NAMES[connector.kind] ?? connector.kind),
        h('td', {}, DIRECTION_NAMES[connector.direction] ?? connector.direction),
        h('td', {}, connector.enabled ? badge('Enabled', 'success') : badge('Disabled', 'warning'), connector.pull?.lastError ? [' ', badge('Pull failing', 'danger')] : null),
        h('td', { className: 'wrap' }, connector.triggers.length === TRIGGERS.length || !connector.triggers.length ? 'All events' : connector.triggers.map(eventName).join(', ')),
        h('td', {}, time(connector.createdAt)),
      ),
    );
    replace(results, table({ label: 'CRM connectors', columns: ['Name', 'Kind', 'Direction', 'State', 'Events', 'Created'], rows, empty: 'No connector yet.' }));
  }

  let createSection = null;
  if (writable) {
    const kindBoxes = h('div', { id: 'create-connector-kind-fields', className: 'stack' });
    const form = h(
      'form',
      { id: 'create-connector-form', className: 'stack', novalidate: true },
      h(
        'div',
        { className: 'grid-2' },
        field({ label: 'Name', name: 'name', id: 'create-connector-name', required: true }),
        field({ label: 'Kind', name: 'kind', id: 'create-connector-kind', type: 'select', options: Object.entries(KIND_NAMES), value: 'WEBHOOK' }),
        field({ label: 'Direction', name: 'direction', id: 'create-connector-direction', type: 'select', options: Object.entries(DIRECTION_NAMES), value: 'PUSH', hint: 'Webhooks only push.' }),
        field({
          label: 'When a contact or company is deleted in the CRM',
          name: 'onRemoteDelete',
          id: 'create-connector-remote-delete',
          type: 'select',
          value: '',
          options: [['', 'Default (remove the membership)'], ['UNLINK', 'Unlink the record'], ['REMOVE_MEMBERSHIP', 'Remove the membership'], ['SUSPEND_IDENTITY', 'Suspend the identity']],
          hint: 'Connectors that pull only.',
        }),
      ),
      kindBoxes,
      triggerChoices('create-connector'),
      field({
        label: 'Field mapping (JSON)',
        name: 'fieldMapping',
        id: 'create-connector-field-mapping',
        type: 'textarea',
        rows: 4,
        optional: true,
        hint: '{ "identity": { "<CRM field>": "<Latchkey field>" }, "organization": { … } }; empty: the kind’s default.',
        placeholder: '{"identity": {"email": "email", "firstname": "displayName"}}',
      }),
      field({ label: 'Contract mapping (JSON)', name: 'contractMapping', id: 'create-connector-contract-mapping', type: 'textarea', rows: 3, optional: true, hint: '{ "products": { "<SKU>": { "roles": [], "entitlements": [] } }, "contactRoles": { … } }.' }),
      h('div', { className: 'actions' }, h('button', { id: 'create-connector-submit', type: 'submit', className: 'button button-primary', dataset: { write: '' } }, 'Create connector')),
    );
    const drawKind = () => replace(kindBoxes, kindFields(form.elements.kind.value, 'connector'));
    form.elements.kind.addEventListener('change', drawKind);
    drawKind();
    onSubmit(form, async () => {
      const kind = form.elements.kind.value;
      const { settings, credentials } = kindValues(form, kind);
      const input = {
        name: form.elements.name.value.trim(),
        kind,
        direction: form.elements.direction.value,
        triggers: [...form.querySelectorAll('input[name="triggers"]:checked')].map((box) => box.value),
        settings,
        credentials,
      };
      const fieldMapping = parseJsonField(form.elements.fieldMapping.value, 'fieldMapping');
      if (fieldMapping) input.fieldMapping = fieldMapping;
      const contractMapping = parseJsonField(form.elements.contractMapping.value, 'contractMapping');
      if (contractMapping) input.contractMapping = contractMapping;
      if (form.elements.onRemoteDelete.value) input.onRemoteDelete = form.elements.onRemoteDelete.value;
      const { createCrmConnector } = await graphql(endpoint, CREATE, { input });
      showStatus(`Connector ${createCrmConnector.connector.name} created and enabled.`, 'success');
      navigate(`${base}/${encodeURIComponent(createCrmConnector.connector.id)}`, { keepStatus: true });
    });
    createSection = h(
      'section',
      { className: 'card', 'aria-labelledby': 'create-connector-heading' },
      h('div', { className: 'section-header' }, h('h2', { id: 'create-connector-heading' }, 'Create a connector'), disclosure('create-connector', 'New connector', form)),
      form,
    );
  }

  container.append(
    h('h1', {}, 'CRM connectors'),
    h('p', { className: 'lede' }, 'Identities, organizations and memberships delivered to a CRM or a webhook as they change, and records pulled back.'),
    createSection,
    h('section', { 'aria-labelledby': 'connector-list-heading' }, h('h2', { id: 'connector-list-heading' }, 'Connectors'), results),
  );
  await load();
}
