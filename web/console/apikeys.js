// API keys of the tenant: the list (revoked ones included), creating one with its roles (the
// secret shown once, with Copy), and revoking one. Owner keys are for owners to make.

import { endpointOf, graphql } from './api.js';
import { ROLES, canWriteTenant } from './roles.js';
import { showSecret } from './secret.js';
import { badge, checkbox, confirmAction, field, h, loading, onSubmit, replace, roleName, showStatus, table, time, withButton } from './ui.js';

const LIST = `query ApiKeys { apiKeys(first: 100) { nodes { id name prefix roles createdBy createdAt lastUsedAt revokedAt } } }`;
const CREATE = `mutation CreateApiKey($input: CreateApiKeyInput!) { createApiKey(input: $input) { secret apiKey { id name prefix roles } } }`;
const REVOKE = `mutation RevokeApiKey($input: RevokeApiKeyInput!) { revokeApiKey(input: $input) { apiKey { id revokedAt } } }`;

export async function renderApiKeys(container, { slug, role, setTitle }) {
  setTitle('API keys');
  const endpoint = endpointOf(slug);
  const writable = canWriteTenant(role);
  const list = h('div', { id: 'api-key-list' }, loading());
  const secretSlot = h('div', { id: 'api-key-secret-slot' });

  async function load() {
    const { nodes } = (await graphql(endpoint, LIST)).apiKeys;
    const rows = nodes.map((key) => {
      const cells = [
        h('td', {}, key.name),
        h('td', {}, h('code', {}, `${key.prefix}…`)),
        h('td', {}, key.roles.map(roleName).join(', ')),
        h('td', {}, key.revokedAt ? badge('Revoked', 'danger') : badge('Active', 'success')),
        h('td', {}, time(key.createdAt)),
        h('td', {}, time(key.lastUsedAt)),
      ];
      if (writable) {
        let revoke = null;
        if (!key.revokedAt) {
          revoke = h('button', { type: 'button', className: 'button button-small button-danger', dataset: { write: '' }, 'aria-label': `Revoke the key ${key.name}` }, 'Revoke');
          revoke.addEventListener('click', () =>
            withButton(revoke, async () => {
              if (!(await confirmAction({ title: 'Revoke this API key?', message: `${key.name} stops working at once.`, confirm: 'Revoke' }))) return;
              await graphql(endpoint, REVOKE, { input: { id: key.id } });
              showStatus(`The key ${key.name} was revoked.`, 'success');
              await load();
            }),
          );
        }
        cells.push(h('td', {}, revoke ?? ''));
      }
      return h('tr', { dataset: { apiKeyId: key.id, name: key.name } }, cells);
    });
    replace(list, table({ label: 'API keys', columns: ['Name', 'Prefix', 'Roles', 'State', 'Created', 'Last used', ...(writable ? ['Actions'] : [])], rows, empty: 'No API key.' }));
  }

  let create = null;
  if (writable) {
    const form = h(
      'form',
      { id: 'create-api-key-form', className: 'stack', novalidate: true },
      field({ label: 'Name', name: 'name', id: 'create-api-key-name', required: true, hint: 'What uses it, such as “billing service”.' }),
      h(
        'fieldset',
        { className: 'choices' },
        h('legend', {}, 'Roles'),
        ROLES.filter((item) => item !== 'OWNER' || role === 'OWNER').map((item) => checkbox({ label: roleName(item), name: 'roles', id: `create-api-key-role-${item}`, value: item, checked: item === 'VIEWER' })),
      ),
      h('div', { className: 'actions' }, h('button', { id: 'create-api-key-submit', type: 'submit', className: 'button button-primary', dataset: { write: '' } }, 'Create API key')),
    );
    onSubmit(form, async () => {
      const input = { name: form.elements.name.value.trim(), roles: [...form.querySelectorAll('input[name="roles"]:checked')].map((box) => box.value) };
      if (!input.name) throw Object.assign(new Error('name: enter a name'), { code: 'BAD_USER_INPUT', field: 'name' });
      const { createApiKey } = await graphql(endpoint, CREATE, { input });
      showStatus(`API key ${createApiKey.apiKey.name} created.`, 'success');
      form.reset();
      showSecret(secretSlot, { id: 'api-key-secret', title: `API key “${createApiKey.apiKey.name}”`, value: createApiKey.secret, note: 'Send it as Authorization: Bearer <key> to this tenant’s GraphQL API.' });
      await load();
    });
    create = h('section', { className: 'card', 'aria-labelledby': 'create-api-key-heading' }, h('h2', { id: 'create-api-key-heading' }, 'Create an API key'), form);
  }

  container.append(
    h('h1', {}, 'API keys'),
    h('p', { className: 'lede' }, 'Keys for servers that call this tenant’s GraphQL API. A key acts with its roles; the audit log names it.'),
    secretSlot,
    create,
    h('section', { 'aria-labelledby': 'api-key-list-heading' }, h('h2', { id: 'api-key-list-heading' }, 'Keys'), list),
  );
  await load();
}
