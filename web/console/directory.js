// Directory: SCIM tokens (for an organization or the whole tenant; the token shown once,
// with Copy; revoke), import jobs (their progress and problems; a file is uploaded and
// imported with the command line or the upload API, see docs/import-export.md), and export
// jobs (start one, follow it, download the file once it is ready).

import { endpointOf, graphql } from './api.js';
import { canWriteTenant } from './roles.js';
import { showSecret } from './secret.js';
import { badge, card, checkbox, confirmAction, disclosure, field, h, listFrom, none, onSubmit, showStatus, table, time, withButton } from './ui.js';

const SCIM = `query ScimTokens { scimTokens { id name organizationId roles createdAt lastUsedAt revokedAt } }`;
const IMPORTS = `query Imports { identityImports { id status format source dryRun total processed created updated failed createdAt finishedAt errors { record field message } } }`;
const EXPORTS = `query Exports { identityExports { id status format passwordHashes processed error downloadPath createdAt finishedAt expiresAt } }`;

const M = {
  createScim: 'mutation CreateScim($input: CreateScimTokenInput!) { createScimToken(input: $input) { token scimToken { id name } } }',
  revokeScim: 'mutation RevokeScim($input: RevokeScimTokenInput!) { revokeScimToken(input: $input) { scimToken { id revokedAt } } }',
  startExport: 'mutation StartExport($input: StartIdentityExportInput!) { startIdentityExport(input: $input) { identityExport { id status } } }',
};

const JOB_KINDS = { SUCCEEDED: 'success', FAILED: 'danger', RUNNING: 'warning', VALIDATING: 'warning', PENDING: 'warning' };

function jobStatus(value) {
  const upper = String(value).toUpperCase();
  return badge(upper.charAt(0) + upper.slice(1).toLowerCase(), JOB_KINDS[upper] ?? 'neutral');
}

export async function renderDirectory(container, { slug, role, setTitle }) {
  setTitle('Directory');
  const endpoint = endpointOf(slug);
  const writable = canWriteTenant(role);
  const run = (name, input) => graphql(endpoint, M[name], { input });

  const scim = card('directory-scim', 'SCIM tokens');
  const imports = card('directory-imports', 'Import jobs');
  const exports = card('directory-exports', 'Export jobs');
  const secretSlot = h('div', { id: 'scim-secret-slot' });
  container.append(h('h1', {}, 'Directory'), h('p', { className: 'lede' }, 'Provisioning from a directory (SCIM), and identities imported and exported in bulk.'), secretSlot, scim.section, imports.section, exports.section);

  async function loadScim() {
    const tokens = (await graphql(endpoint, SCIM)).scimTokens;
    const rows = tokens.map((token) =>
      h(
        'tr',
        { dataset: { scimTokenId: token.id, name: token.name } },
        h('td', {}, token.name),
        h('td', {}, token.organizationId ? h('code', {}, token.organizationId) : 'Whole tenant'),
        h('td', {}, token.roles?.join(', ') || none()),
        h('td', {}, token.revokedAt ? badge('Revoked', 'danger') : badge('Active', 'success')),
        h('td', {}, time(token.createdAt)),
        h('td', {}, time(token.lastUsedAt)),
        writable
          ? h(
              'td',
              {},
              token.revokedAt
                ? ''
                : (() => {
                    const button = h('button', { type: 'button', className: 'button button-small button-danger', dataset: { write: '' }, 'aria-label': `Revoke ${token.name}` }, 'Revoke');
                    button.addEventListener('click', () =>
                      withButton(button, async () => {
                        if (!(await confirmAction({ title: 'Revoke this SCIM token?', message: `The directory using ${token.name} is refused from its next request.`, confirm: 'Revoke' }))) return;
                        await run('revokeScim', { id: token.id });
                        showStatus(`${token.name} was revoked.`, 'success');
                        await loadScim();
                      }),
                    );
                    return button;
                  })(),
            )
          : null,
      ),
    );
    let create = null;
    if (writable) {
      const form = h(
        'form',
        { id: 'create-scim-form', className: 'stack', novalidate: true },
        h(
          'div',
          { className: 'grid-2' },
          field({ label: 'Name', name: 'name', id: 'create-scim-name', required: true, hint: 'The directory, such as “Okta”.' }),
          field({ label: 'Organization id', name: 'organizationId', id: 'create-scim-organization', optional: true, spellcheck: 'false', hint: 'Empty: the whole tenant.' }),
        ),
        field({ label: 'Roles of provisioned members', name: 'roles', id: 'create-scim-roles', optional: true, hint: 'Comma separated (organization tokens).' }),
        h('div', { className: 'actions' }, h('button', { id: 'create-scim-submit', type: 'submit', className: 'button button-primary', dataset: { write: '' } }, 'Create SCIM token')),
      );
      onSubmit(form, async () => {
        const input = { name: form.elements.name.value.trim() };
        const organizationId = form.elements.organizationId.value.trim();
        if (organizationId) input.organizationId = organizationId;
        const roles = listFrom(form.elements.roles.value);
        if (roles.length) input.roles = roles;
        const { createScimToken } = await run('createScim', input);
        form.reset();
        showStatus(`SCIM token ${createScimToken.scimToken.name} created.`, 'success');
        showSecret(secretSlot, { id: 'scim-secret', title: `SCIM token “${createScimToken.scimToken.name}”`, value: createScimToken.token, note: `The directory sends it as a bearer token to ${location.origin}/t/${slug}/scim/v2.` });
        await loadScim();
      });
      create = h('div', { className: 'subsection' }, h('div', { className: 'section-header' }, h('h3', {}, 'Create a token'), disclosure('create-scim', 'New token', form)), form);
    }
    scim.fill(h('div', { id: 'scim-token-list' }, table({ label: 'SCIM tokens', columns: ['Name', 'For', 'Roles', 'State', 'Created', 'Last used', ...(writable ? ['Actions'] : [])], rows, empty: 'No SCIM token.' })), create);
  }

  async function loadImports() {
    const jobs = (await graphql(endpoint, IMPORTS)).identityImports;
    imports.fill(
      h('p', { className: 'muted' }, 'Upload a file and start an import with ', h('code', {}, 'latchkey import'), ' or the upload API and ', h('code', {}, 'startIdentityImport'), ' (docs/import-export.md); each job shows here.'),
      table({
        label: 'Import jobs',
        columns: ['Started', 'Format', 'Source', 'Status', 'Progress', 'Result', 'Problems'],
        rows: jobs.map((job) =>
          h(
            'tr',
            { dataset: { importId: job.id } },
            h('td', {}, time(job.createdAt)),
            h('td', {}, job.format, job.dryRun ? ' (dry run)' : ''),
            h('td', {}, job.source),
            h('td', {}, jobStatus(job.status)),
            h('td', {}, `${job.processed} / ${job.total}`),
            h('td', {}, `${job.created} created, ${job.updated} updated, ${job.failed} failed`),
            h('td', { className: 'wrap' }, job.errors.length ? h('ul', { className: 'plain' }, job.errors.slice(0, 5).map((problem) => h('li', {}, `Record ${problem.record}, ${problem.field}: ${problem.message}`))) : none()),
          ),
        ),
        empty: 'No import yet.',
      }),
    );
  }

  let exportTimer = null;
  async function loadExports() {
    const jobs = (await graphql(endpoint, EXPORTS)).identityExports;
    let start = null;
    if (writable) {
      const form = h(
        'form',
        { id: 'start-export-form', className: 'inline-form', novalidate: true },
        field({ label: 'Format', name: 'format', id: 'export-format', type: 'select', options: [['LATCHKEY', 'Latchkey JSON'], ['CSV', 'CSV']], value: 'LATCHKEY' }),
        checkbox({ label: 'Include password hashes', name: 'passwordHashes', id: 'export-hashes' }),
        h('div', { className: 'actions' }, h('button', { id: 'start-export-submit', type: 'submit', className: 'button button-primary', dataset: { write: '' } }, 'Start export')),
      );
      onSubmit(form, async () => {
        await run('startExport', { format: form.elements.format.value, passwordHashes: form.elements.passwordHashes.checked });
        showStatus('The export started; it is listed below until it is ready.', 'success');
        await loadExports();
      });
      start = form;
    }
    exports.fill(
      start,
      table({
        label: 'Export jobs',
        columns: ['Started', 'Format', 'Status', 'Identities', 'File'],
        rows: jobs.map((job) =>
          h(
            'tr',
            { dataset: { exportId: job.id, status: job.status } },
            h('td', {}, time(job.createdAt)),
            h('td', {}, job.format, job.passwordHashes ? ' with hashes' : ''),
            h('td', {}, jobStatus(job.status), job.error ? [' ', h('span', { className: 'field-error' }, job.error)] : null),
            h('td', {}, String(job.processed)),
            h('td', {}, job.downloadPath ? [h('a', { href: job.downloadPath, download: '' }, 'Download'), ' until ', time(job.expiresAt)] : none()),
          ),
        ),
        empty: 'No export yet.',
      }),
    );
    clearTimeout(exportTimer);
    if (jobs.some((job) => !['SUCCEEDED', 'FAILED'].includes(String(job.status).toUpperCase()))) {
      exportTimer = setTimeout(() => {
        if (exports.section.isConnected) loadExports().catch(exports.fail);
      }, 2000);
    }
  }

  await Promise.all([loadScim().catch(scim.fail), loadImports().catch(imports.fail), loadExports().catch(exports.fail)]);
}

