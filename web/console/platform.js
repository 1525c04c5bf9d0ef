// Platform (operators, over `/platform/graphql`): every tenant with its status, creating one
// (its first owner API key shown once, with Copy), suspending and resuming, and one tenant's
// custom domains with the TXT record to publish and "verify".

import { endpointOf, graphql } from './api.js';
import { showSecret } from './secret.js';
import { badge, card, confirmAction, field, h, loading, none, onSubmit, replace, showStatus, table, time, withButton } from './ui.js';

const TENANTS = `query Tenants($after: String) {
  tenants(first: 100, after: $after) {
    totalCount
    pageInfo { hasNextPage endCursor }
    nodes { id slug name status createdAt domains requestsPerMinuteQuota }
  }
}`;

const TENANT = `query Tenant($slug: String!) {
  tenant(slug: $slug) {
    id slug name status createdAt updatedAt requestsPerMinuteQuota
    customDomains { domain verified verifiedAt txtRecordName txtRecordValue createdAt }
  }
}`;

const M = {
  create: 'mutation CreateTenant($input: CreateTenantInput!) { createTenant(input: $input) { adminApiKey tenant { id slug name } } }',
  suspend: 'mutation Suspend($input: TenantIdInput!) { suspendTenant(input: $input) { tenant { id status } } }',
  resume: 'mutation Resume($input: TenantIdInput!) { resumeTenant(input: $input) { tenant { id status } } }',
  addDomain: 'mutation AddDomain($input: AddTenantDomainInput!) { addTenantDomain(input: $input) { domain { domain txtRecordName txtRecordValue } } }',
  verifyDomain: 'mutation VerifyDomain($input: VerifyTenantDomainInput!) { verifyTenantDomain(input: $input) { domain { domain verified } } }',
  quota: 'mutation Quota($input: SetTenantQuotaInput!) { setTenantQuota(input: $input) { tenant { id requestsPerMinuteQuota } } }',
};

const endpoint = endpointOf(null);
const run = (name, input) => graphql(endpoint, M[name], { input });

function statusBadge(status) {
  return status === 'ACTIVE' ? badge('Active', 'success') : badge('Suspended', 'danger');
}

function suspendButton(tenant, after) {
  const suspended = tenant.status === 'SUSPENDED';
  const button = h(
    'button',
    { type: 'button', className: `button button-small${suspended ? '' : ' button-danger'}`, dataset: { write: '' }, 'aria-label': `${suspended ? 'Resume' : 'Suspend'} ${tenant.slug}` },
    suspended ? 'Resume' : 'Suspend',
  );
  button.addEventListener('click', () =>
    withButton(button, async () => {
      if (!suspended && !(await confirmAction({ title: `Suspend ${tenant.name}?`, message: 'Every request to its endpoints is refused until it is resumed.', confirm: 'Suspend' }))) return;
      await run(suspended ? 'resume' : 'suspend', { id: tenant.id });
      showStatus(`${tenant.name} is ${suspended ? 'active again' : 'suspended'}.`, 'success');
      await after();
    }),
  );
  return button;
}

export async function renderPlatformTenants(container, { setTitle }) {
  setTitle('Tenants', 'Platform');
  const list = h('div', { id: 'tenant-list' }, loading());
  const secretSlot = h('div', { id: 'tenant-secret-slot' });

  async function load() {
    const { nodes, totalCount } = (await graphql(endpoint, TENANTS)).tenants;
    replace(
      list,
      h('p', { className: 'muted' }, totalCount === 1 ? '1 tenant.' : `${totalCount} tenants.`),
      table({
        label: 'Tenants',
        columns: ['Name', 'Slug', 'Status', 'Custom domains', 'Quota', 'Created', 'Actions'],
        rows: nodes.map((tenant) =>
          h(
            'tr',
            { dataset: { tenantId: tenant.id, slug: tenant.slug } },
            h('td', {}, h('a', { href: `/console/platform/tenants/${encodeURIComponent(tenant.slug)}` }, tenant.name)),
            h('td', {}, h('code', {}, tenant.slug)),
            h('td', { className: 'tenant-status' }, statusBadge(tenant.status)),
            h('td', {}, tenant.domains.join(', ') || none()),
            h('td', {}, tenant.requestsPerMinuteQuota ? `${tenant.requestsPerMinuteQuota}/min` : none()),
            h('td', {}, time(tenant.createdAt)),
            h('td', {}, suspendButton(tenant, load)),
          ),
        ),
        empty: 'No tenant.',
      }),
    );
  }

  const form = h(
    'form',
    { id: 'create-tenant-form', className: 'stack', novalidate: true },
    h(
      'div',
      { className: 'grid-2' },
      field({ label: 'Name', name: 'name', id: 'create-tenant-name', required: true }),
      field({ label: 'Slug', name: 'slug', id: 'create-tenant-slug', required: true, spellcheck: 'false', autocapitalize: 'off', hint: '3 to 63 of a–z, 0–9 and dashes; its endpoints live under /t/<slug>/.' }),
    ),
    h('div', { className: 'actions' }, h('button', { id: 'create-tenant-submit', type: 'submit', className: 'button button-primary', dataset: { write: '' } }, 'Create tenant')),
  );
  onSubmit(form, async () => {
    const input = { name: form.elements.name.value.trim(), slug: form.elements.slug.value.trim() };
    const { createTenant } = await run('create', input);
    form.reset();
    showStatus(`Tenant ${createTenant.tenant.name} created.`, 'success');
    showSecret(secretSlot, {
      id: 'tenant-api-key',
      title: `Owner API key of ${createTenant.tenant.slug}`,
      value: createTenant.adminApiKey,
      note: 'Use it to invite the tenant’s first owner (inviteAdministrator) or to call its API.',
    });
    await load();
  });

  container.append(
    h('h1', {}, 'Tenants'),
    h('p', { className: 'lede' }, 'Every tenant of this deployment, from the platform API.'),
    secretSlot,
    h('section', { className: 'card', 'aria-labelledby': 'create-tenant-heading' }, h('h2', { id: 'create-tenant-heading' }, 'Create a tenant'), form),
    h('section', { 'aria-labelledby': 'tenant-list-heading' }, h('h2', { id: 'tenant-list-heading' }, 'Tenants'), list),
  );
  await load();
}

export async function renderPlatformTenant(container, { params, setTitle }) {
  const slug = params[0];
  const heading = h('h1', {}, slug);
  const details = card('platform-tenant', 'Tenant');
  const domains = card('platform-domains', 'Custom domains');
  container.append(h('p', { className: 'breadcrumb' }, h('a', { href: '/console/platform/tenants' }, '← Tenants')), heading, details.section, domains.section);

  async function load() {
    const { tenant } = await graphql(endpoint, TENANT, { slug });
    setTitle(tenant.name, 'Platform');
    heading.textContent = tenant.name;
    const quota = h(
      'form',
      { id: 'tenant-quota-form', className: 'inline-form', novalidate: true },
      field({ label: 'Requests per minute', name: 'requestsPerMinute', id: 'tenant-quota', type: 'number', min: '1', value: tenant.requestsPerMinuteQuota ?? '', optional: true, hint: 'Empty: no quota.' }),
      h('div', { className: 'actions' }, h('button', { type: 'submit', className: 'button', dataset: { write: '' } }, 'Set quota')),
    );
    onSubmit(quota, async () => {
      const text = quota.elements.requestsPerMinute.value.trim();
      await run('quota', { tenantId: tenant.id, requestsPerMinute: text ? Number(text) : null });
      showStatus('The quota is set.', 'success');
      await load();
    });
    details.fill(
      h(
        'dl',
        { className: 'facts' },
        h('dt', {}, 'Slug'),
        h('dd', {}, h('code', {}, tenant.slug)),
        h('dt', {}, 'Status'),
        h('dd', { id: 'platform-tenant-status' }, statusBadge(tenant.status)),
        h('dt', {}, 'Created'),
        h('dd', {}, time(tenant.createdAt)),
        h('dt', {}, 'Tenant id'),
        h('dd', {}, h('code', {}, tenant.id)),
      ),
      h('div', { className: 'actions' }, suspendButton(tenant, load)),
      quota,
    );
    const add = h(
      'form',
      { id: 'add-tenant-domain-form', className: 'inline-form', novalidate: true },
      field({ label: 'Domain', name: 'domain', id: 'add-tenant-domain', required: true, spellcheck: 'false', autocapitalize: 'off', placeholder: 'login.example.com' }),
      h('div', { className: 'actions' }, h('button', { id: 'add-tenant-domain-submit', type: 'submit', className: 'button button-primary', dataset: { write: '' } }, 'Add domain')),
    );
    onSubmit(add, async () => {
      const { addTenantDomain } = await run('addDomain', { tenantId: tenant.id, domain: add.elements.domain.value.trim() });
      showStatus(`Publish the TXT record ${addTenantDomain.domain.txtRecordName}, then verify ${addTenantDomain.domain.domain}.`, 'success');
      await load();
    });
    domains.fill(
      h('p', { className: 'muted' }, 'A custom domain answers for the tenant once its TXT record is found. Point the domain at this deployment too.'),
      table({
        label: 'Custom domains',
        columns: ['Domain', 'Status', 'TXT record to publish', 'Actions'],
        rows: tenant.customDomains.map((domain) => {
          let verify = null;
          if (!domain.verified) {
            verify = h('button', { type: 'button', className: 'button button-small', dataset: { write: '' }, 'aria-label': `Verify ${domain.domain}` }, 'Verify');
            verify.addEventListener('click', () =>
              withButton(verify, async () => {
                await run('verifyDomain', { tenantId: tenant.id, domain: domain.domain });
                showStatus(`${domain.domain} is verified.`, 'success');
                await load();
              }),
            );
          }
          return h(
            'tr',
            { dataset: { domain: domain.domain } },
            h('td', {}, h('code', {}, domain.domain)),
            h('td', {}, domain.verified ? badge('Verified', 'success') : badge('Waiting for DNS', 'warning')),
            h('td', { className: 'wrap' }, h('dl', { className: 'facts dns-record' }, h('dt', {}, 'Name'), h('dd', {}, h('code', {}, domain.txtRecordName)), h('dt', {}, 'Value'), h('dd', {}, h('code', {}, domain.txtRecordValue)))),
            h('td', {}, verify ?? time(domain.verifiedAt)),
          );
        }),
        empty: 'No custom domain.',
      }),
      add,
    );
  }
  await load();
}
