// Access: the tenant's identity providers (OIDC, SAML, social presets; add with settings
// and write-only credentials, test, delete), entitlement keys (define, delete), claim
// mappings of every token, and the access policy of each application (changed on the
// application's page).

import { endpointOf, graphql } from './api.js';
import { policySummary } from './application.js';
import { canWriteTenant } from './roles.js';
import { card, confirmAction, disclosure, field, h, listFrom, none, onSubmit, parseJsonField, showStatus, table, time, withButton } from './ui.js';

const PROVIDERS = `query Providers { identityProviders { id name protocol preset organizationId domains settings startPath serviceProviderMetadataPath assertionConsumerServicePath createdAt } }`;
const ENTITLEMENTS = `query Entitlements { entitlements { key description createdAt } }`;
const CLAIMS = `query Claims { tenant { settings { claimMappings { claim source idToken accessToken } } } }`;
const POLICIES = `query Policies { applications(first: 100) { nodes { id name accessPolicy { allow organizationKinds organizationIds roles entitlements } } } }`;

const M = {
  createProvider: 'mutation CreateProvider($input: CreateIdentityProviderInput!) { createIdentityProvider(input: $input) { identityProvider { id name } } }',
  deleteProvider: 'mutation DeleteProvider($input: DeleteIdentityProviderInput!) { deleteIdentityProvider(input: $input) { identityProvider { id } } }',
  testProvider: 'mutation TestProvider($id: ID!) { testIdentityProvider(id: $id) { ok message } }',
  createEntitlement: 'mutation CreateEntitlement($input: CreateEntitlementInput!) { createEntitlement(input: $input) { entitlement { key } } }',
  deleteEntitlement: 'mutation DeleteEntitlement($input: DeleteEntitlementInput!) { deleteEntitlement(input: $input) { entitlement { key } } }',
  claims: 'mutation SaveClaims($input: UpdateTenantSettingsInput!) { updateTenantSettings(input: $input) { settings { claimMappings { claim } } } }',
};

const PRESETS = [
  ['GENERIC', 'Any OpenID Connect provider'],
  ['GOOGLE', 'Google'],
  ['MICROSOFT', 'Microsoft'],
  ['APPLE', 'Apple'],
  ['GITHUB', 'GitHub'],
];

function smallButton(label, aria, action, { danger = false } = {}) {
  const button = h('button', { type: 'button', className: `button button-small${danger ? ' button-danger' : ''}`, dataset: { write: '' }, 'aria-label': aria }, label);
  button.addEventListener('click', () => withButton(button, action));
  return button;
}

export async function renderAccess(container, { slug, role, setTitle }) {
  setTitle('Access');
  const endpoint = endpointOf(slug);
  const base = `/console/t/${encodeURIComponent(slug)}`;
  const writable = canWriteTenant(role);
  const run = (name, variables) => graphql(endpoint, M[name], variables);

  const providers = card('access-providers', 'Identity providers');
  const entitlements = card('access-entitlements', 'Entitlements');
  const claims = card('access-claims', 'Claim mappings');
  const policies = card('access-policies', 'Access policies');
  container.append(
    h('h1', {}, 'Access'),
    h('p', { className: 'lede' }, 'How people sign in through other providers, what organizations are entitled to, and what tokens carry.'),
    providers.section,
    entitlements.section,
    claims.section,
    policies.section,
  );

  async function loadProviders() {
    const list = (await graphql(endpoint, PROVIDERS)).identityProviders;
    const result = h('p', { id: 'provider-test-result', 'aria-live': 'polite' });
    const rows = list.map((provider) =>
      h(
        'tr',
        { dataset: { providerId: provider.id, name: provider.name } },
        h('td', {}, provider.name),
        h('td', {}, provider.protocol, provider.preset !== 'GENERIC' ? ` (${provider.preset.charAt(0)}${provider.preset.slice(1).toLowerCase()})` : ''),
        h('td', {}, provider.organizationId ? h('a', { href: `${base}/organizations/${encodeURIComponent(provider.organizationId)}` }, 'An organization’s SSO') : 'Whole tenant'),
        h('td', { className: 'wrap' }, provider.domains.join(', ') || none()),
        h('td', { className: 'wrap' }, h('code', {}, provider.startPath), provider.assertionConsumerServicePath ? [h('br'), 'ACS ', h('code', {}, provider.assertionConsumerServicePath)] : null),
        writable
          ? h(
              'td',
              {},
              h(
                'div',
                { className: 'row-actions' },
                smallButton('Test', `Test ${provider.name}`, async () => {
                  const { testIdentityProvider } = await run('testProvider', { id: provider.id });
                  result.className = testIdentityProvider.ok ? 'notice notice-success' : 'notice notice-error';
                  result.textContent = `${provider.name}: ${testIdentityProvider.ok ? 'it works' : 'it failed'}: ${testIdentityProvider.message}`;
                }),
                smallButton(
                  'Delete',
                  `Delete ${provider.name}`,
                  async () => {
                    if (!(await confirmAction({ title: 'Delete this provider?', message: `${provider.name} and every link to it are deleted; identities stay.`, confirm: 'Delete' }))) return;
                    await run('deleteProvider', { input: { id: provider.id } });
                    showStatus(`${provider.name} was deleted.`, 'success');
                    await loadProviders();
                  },
                  { danger: true },
                ),
              ),
            )
          : null,
      ),
    );
    let create = null;
    if (writable) {
      const form = h(
        'form',
        { id: 'create-provider-form', className: 'stack', novalidate: true },
        h(
          'div',
          { className: 'grid-2' },
          field({ label: 'Name', name: 'name', id: 'create-provider-name', required: true, hint: 'Shown on the sign-in button.' }),
          field({ label: 'Protocol', name: 'protocol', id: 'create-provider-protocol', type: 'select', options: [['OIDC', 'OpenID Connect'], ['SAML', 'SAML 2.0']], value: 'OIDC' }),
          field({ label: 'Preset', name: 'preset', id: 'create-provider-preset', type: 'select', options: PRESETS, value: 'GENERIC' }),
          field({ label: 'Organization id', name: 'organizationId', id: 'create-provider-organization', optional: true, spellcheck: 'false', hint: 'Empty: for the whole tenant; an organization’s id: its enterprise SSO.' }),
        ),
        field({ label: 'Domains', name: 'domains', id: 'create-provider-domains', optional: true, hint: 'Comma separated: verified domains of the organization it answers for.' }),
        field({ label: 'Settings (JSON)', name: 'settings', id: 'create-provider-settings', type: 'textarea', rows: 3, placeholder: '{"issuer": "https://accounts.example.com"}', hint: 'OIDC: {"issuer", "scopes"?}; GitHub: {"scopes"?}; SAML: {"metadataUrl"} or {"metadataXml"}.' }),
        field({ label: 'Credentials (JSON, write-only)', name: 'credentials', id: 'create-provider-credentials', type: 'textarea', rows: 3, placeholder: '{"clientId": "…", "clientSecret": "…"}', hint: 'Sealed and never shown again. SAML: {}.' }),
        field({ label: 'Role mapping (JSON)', name: 'roleMapping', id: 'create-provider-role-mapping', type: 'textarea', rows: 2, optional: true, hint: '{"claim": "groups", "rules": [{"value", "roles"}], "defaultRoles": []} (organization providers).' }),
        h('div', { className: 'actions' }, h('button', { id: 'create-provider-submit', type: 'submit', className: 'button button-primary', dataset: { write: '' } }, 'Add provider')),
      );
      onSubmit(form, async () => {
        const input = {
          name: form.elements.name.value.trim(),
          protocol: form.elements.protocol.value,
          preset: form.elements.preset.value,
          domains: listFrom(form.elements.domains.value),
          settings: parseJsonField(form.elements.settings.value, 'settings', { fallback: {} }),
          credentials: parseJsonField(form.elements.credentials.value, 'credentials', { fallback: {} }),
        };
        const organizationId = form.elements.organizationId.value.trim();
        if (organizationId) input.organizationId = organizationId;
        const roleMapping = parseJsonField(form.elements.roleMapping.value, 'roleMapping');
        if (roleMapping) input.roleMapping = roleMapping;
        await run('createProvider', { input });
        showStatus(`${input.name} was added.`, 'success');
        await loadProviders();
      });
      create = h('div', { className: 'subsection' }, h('div', { className: 'section-header' }, h('h3', {}, 'Add a provider'), disclosure('create-provider', 'New provider', form)), form);
    }
    providers.fill(
      h('p', { className: 'muted' }, 'Its discovery document and keys are read when it is added: a provider that cannot be reached is refused with the reason.'),
      h('div', { id: 'provider-list' }, table({ label: 'Identity providers', columns: ['Name', 'Protocol', 'For', 'Domains', 'Paths', ...(writable ? ['Actions'] : [])], rows, empty: 'No identity provider.' })),
      result,
      create,
    );
  }

  async function loadEntitlements() {
    const list = (await graphql(endpoint, ENTITLEMENTS)).entitlements;
    const rows = list.map((item) =>
      h(
        'tr',
        { dataset: { key: item.key } },
        h('td', {}, h('code', {}, item.key)),
        h('td', { className: 'wrap' }, item.description ?? none()),
        h('td', {}, time(item.createdAt)),
        writable
          ? h(
              'td',
              {},
              smallButton(
                'Delete',
                `Delete ${item.key}`,
                async () => {
                  if (!(await confirmAction({ title: 'Delete this entitlement?', message: `${item.key} is deleted. A key some organization holds cannot be deleted.`, confirm: 'Delete' }))) return;
                  await run('deleteEntitlement', { input: { key: item.key } });
                  showStatus(`${item.key} was deleted.`, 'success');
                  await loadEntitlements();
                },
                { danger: true },
              ),
            )
          : null,
      ),
    );
    let create = null;
    if (writable) {
      const form = h(
        'form',
        { id: 'create-entitlement-form', className: 'inline-form', novalidate: true },
        field({ label: 'Key', name: 'key', id: 'create-entitlement-key', required: true, spellcheck: 'false', placeholder: 'feature:sso' }),
        field({ label: 'Description', name: 'description', id: 'create-entitlement-description', optional: true }),
        h('div', { className: 'actions' }, h('button', { id: 'create-entitlement-submit', type: 'submit', className: 'button button-primary', dataset: { write: '' } }, 'Define')),
      );
      onSubmit(form, async () => {
        const input = { key: form.elements.key.value.trim() };
        const description = form.elements.description.value.trim();
        if (description) input.description = description;
        await run('createEntitlement', { input });
        showStatus(`${input.key} was defined.`, 'success');
        form.reset();
        await loadEntitlements();
      });
      create = form;
    }
    entitlements.fill(
      h('p', { className: 'muted' }, 'Keys organizations are granted for a window (on an organization’s page); tokens and access policies can require them.'),
      h('div', { id: 'entitlement-list' }, table({ label: 'Entitlements', columns: ['Key', 'Description', 'Created', ...(writable ? ['Actions'] : [])], rows, empty: 'No entitlement key.' })),
      create,
    );
  }

  async function loadClaims() {
    const mappings = (await graphql(endpoint, CLAIMS)).tenant.settings.claimMappings;
    const rows = mappings.map((mapping) => h('tr', {}, h('td', {}, h('code', {}, mapping.claim)), h('td', {}, h('code', {}, mapping.source)), h('td', {}, mapping.idToken ? 'Yes' : 'No'), h('td', {}, mapping.accessToken ? 'Yes' : 'No')));
    let form = null;
    if (writable) {
      form = h(
        'form',
        { id: 'claims-form', className: 'stack', novalidate: true },
        field({
          label: 'Claim mappings (JSON array)',
          name: 'claimMappings',
          id: 'claims-json',
          type: 'textarea',
          rows: 5,
          value: JSON.stringify(mappings, null, 2),
          hint: 'Sources: identity.email, identity.displayName, identity.attributes.<name>, organization.slug, organization.metadata.<key>… Claims Latchkey sets itself are refused.',
        }),
        h('div', { className: 'actions' }, h('button', { id: 'claims-save', type: 'submit', className: 'button button-primary', dataset: { write: '' } }, 'Save claim mappings')),
      );
      onSubmit(form, async () => {
        const claimMappings = parseJsonField(form.elements.claimMappings.value, 'claimMappings', { fallback: [], object: false });
        if (!Array.isArray(claimMappings)) throw Object.assign(new Error('claimMappings: must be a JSON array'), { code: 'BAD_USER_INPUT', field: 'claimMappings' });
        await run('claims', { input: { claimMappings } });
        showStatus('The claim mappings are saved.', 'success');
        await loadClaims();
      });
    }
    claims.fill(
      h('p', { className: 'muted' }, 'Extra claims in every application’s tokens (an application may add its own).'),
      table({ label: 'Claim mappings', columns: ['Claim', 'Source', 'ID token', 'Access token'], rows, empty: 'No claim mapping.' }),
      form,
    );
  }

  async function loadPolicies() {
    const { nodes } = (await graphql(endpoint, POLICIES)).applications;
    policies.fill(
      h('p', { className: 'muted' }, 'Who may sign in to each application; change one on the application’s page.'),
      table({
        label: 'Access policies',
        columns: ['Application', 'Policy'],
        rows: nodes.map((application) => h('tr', {}, h('td', {}, h('a', { href: `${base}/applications/${encodeURIComponent(application.id)}` }, application.name)), h('td', { className: 'wrap' }, policySummary(application.accessPolicy)))),
        empty: 'No application.',
      }),
    );
  }

  await Promise.all([loadProviders().catch(providers.fail), loadEntitlements().catch(entitlements.fail), loadClaims().catch(claims.fail), loadPolicies().catch(policies.fail)]);
}
