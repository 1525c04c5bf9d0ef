// One identity (`/console/t/<slug>/identities/<id>`): its profile and attributes, passkeys,
// live sessions (revoke one, revoke all), its audit trail (`auditEvents` filtered by target),
// and, for roles that write identities, suspend/resume, delete, a verification email, a
// recovery link by email (`createRegistrationLink` with `sendEmail`), and editing the profile.

import { endpointOf, graphql } from './api.js';
import { parseAttributes, statusBadge } from './identities.js';
import { canWriteIdentities } from './roles.js';
import { badge, confirmAction, field, h, loading, onSubmit, replace, showStatus, table, time, withButton } from './ui.js';

const IDENTITY = `query Identity($id: ID!) {
  identity(id: $id) {
    id email emailVerified displayName phone status attributes externalId locale
    createdAt updatedAt lastSignInAt deletedAt passkeyCount hasPassword totpEnrolled
  }
}`;

const PASSKEYS = `query Passkeys($id: ID!) {
  passkeys(identityId: $id, first: 100) { nodes { id name createdAt lastUsedAt backupEligible backupState } }
}`;

const SESSIONS = `query Sessions($id: ID!) {
  sessions(identityId: $id, first: 100) { totalCount nodes { id authMethod createdAt lastUsedAt expiresAt userAgent ipAddress } }
}`;

const AUDIT = `query AuditTrail($id: String!) {
  auditEvents(first: 100, filter: { targetId: $id }) { totalCount nodes { id actorType actorId action data occurredAt } }
}`;

const MUTATIONS = {
  suspend: 'mutation Suspend($id: ID!) { suspendIdentity(input: { id: $id }) { identity { id status } } }',
  resume: 'mutation Resume($id: ID!) { resumeIdentity(input: { id: $id }) { identity { id status } } }',
  remove: 'mutation Delete($id: ID!) { deleteIdentity(input: { id: $id }) { deletedIdentityId } }',
  verify: 'mutation Verify($id: ID!) { sendVerificationEmail(input: { identityId: $id }) { challengeId expiresIn } }',
  recovery: 'mutation Recovery($id: ID!) { createRegistrationLink(input: { identityId: $id, sendEmail: true }) { expiresAt } }',
  revokeSession: 'mutation RevokeSession($id: ID!) { revokeSession(input: { id: $id }) { session { id revokedAt } } }',
  revokeAll: 'mutation RevokeAll($id: ID!) { revokeIdentitySessions(input: { identityId: $id }) { revokedCount } }',
  revokePasskey: 'mutation RevokePasskey($id: ID!) { revokePasskey(input: { id: $id }) { __typename } }',
  update: 'mutation Update($input: UpdateIdentityInput!) { updateIdentity(input: $input) { identity { id } } }',
};

function yesNo(value) {
  return value ? 'Yes' : 'No';
}

function none() {
  return h('span', { className: 'muted' }, '—');
}

export async function renderIdentity(container, { slug, role, params, setTitle, navigate }) {
  const id = params[0];
  const endpoint = endpointOf(slug);
  const listPath = `/console/t/${encodeURIComponent(slug)}/identities`;
  const writable = canWriteIdentities(role);
  const run = (name, variables) => graphql(endpoint, MUTATIONS[name], variables);

  const heading = h('h1', {}, 'Identity');
  const profile = h('section', { id: 'identity-profile', className: 'card', 'aria-labelledby': 'profile-heading' }, loading());
  const actions = writable ? h('section', { id: 'identity-actions', className: 'card', 'aria-labelledby': 'actions-heading' }) : null;
  const passkeys = h('section', { id: 'identity-passkeys', className: 'card', 'aria-labelledby': 'passkeys-heading' }, loading());
  const sessions = h('section', { id: 'identity-sessions', className: 'card', 'aria-labelledby': 'sessions-heading' }, loading());
  const audit = h('section', { id: 'identity-audit', className: 'card', 'aria-labelledby': 'audit-heading' }, loading());
  const edit = writable ? h('section', { id: 'identity-edit', className: 'card', 'aria-labelledby': 'edit-heading' }) : null;

  container.append(
    h('p', { className: 'breadcrumb' }, h('a', { href: listPath }, '← Identities')),
    heading,
    profile,
    actions,
    edit,
    passkeys,
    sessions,
    audit,
  );

  let identity = null;

  async function loadProfile() {
    identity = (await graphql(endpoint, IDENTITY, { id })).identity;
    setTitle(identity.email, 'Identities');
    heading.textContent = identity.displayName ? `${identity.displayName}` : identity.email;
    replace(
      profile,
      h('h2', { id: 'profile-heading' }, 'Profile'),
      h(
        'dl',
        { className: 'facts' },
        h('dt', {}, 'Email'),
        h('dd', { id: 'identity-email' }, identity.email, ' ', identity.emailVerified ? badge('Verified', 'success') : badge('Not verified', 'warning')),
        h('dt', {}, 'Status'),
        h('dd', { id: 'identity-status' }, statusBadge(identity.status)),
        h('dt', {}, 'Display name'),
        h('dd', {}, identity.displayName ?? none()),
        h('dt', {}, 'Phone'),
        h('dd', {}, identity.phone ?? none()),
        h('dt', {}, 'External id'),
        h('dd', {}, identity.externalId ?? none()),
        h('dt', {}, 'Language'),
        h('dd', {}, identity.locale ?? none()),
        h('dt', {}, 'Created'),
        h('dd', {}, time(identity.createdAt)),
        h('dt', {}, 'Updated'),
        h('dd', {}, time(identity.updatedAt)),
        h('dt', {}, 'Last sign-in'),
        h('dd', {}, time(identity.lastSignInAt)),
        identity.deletedAt ? [h('dt', {}, 'Deleted'), h('dd', {}, time(identity.deletedAt))] : null,
        h('dt', {}, 'Passkeys'),
        h('dd', {}, String(identity.passkeyCount)),
        h('dt', {}, 'Password'),
        h('dd', {}, yesNo(identity.hasPassword)),
        h('dt', {}, 'Authenticator app'),
        h('dd', {}, yesNo(identity.totpEnrolled)),
        h('dt', {}, 'Identity id'),
        h('dd', {}, h('code', {}, identity.id)),
      ),
      h('h3', {}, 'Attributes'),
      Object.keys(identity.attributes ?? {}).length
        ? h('pre', { id: 'identity-attributes', className: 'code', tabindex: '0', 'aria-label': 'Attributes (JSON)' }, JSON.stringify(identity.attributes, null, 2))
        : h('p', { id: 'identity-attributes', className: 'empty' }, 'No attributes.'),
    );
    if (writable) drawActions();
    if (writable) drawEdit();
  }

  function actionButton(label, idName, action, { danger = false } = {}) {
    const button = h('button', { id: idName, type: 'button', className: danger ? 'button button-danger' : 'button', dataset: { write: '' } }, label);
    button.addEventListener('click', () => withButton(button, action));
    return button;
  }

  function drawActions() {
    const deleted = identity.status === 'DELETED';
    replace(
      actions,
      h('h2', { id: 'actions-heading' }, 'Actions'),
      h(
        'div',
        { className: 'actions' },
        deleted
          ? null
          : identity.status === 'SUSPENDED'
            ? actionButton('Resume', 'identity-resume', async () => {
                await run('resume', { id });
                showStatus(`${identity.email} is active again.`, 'success');
                await loadProfile();
              })
            : actionButton('Suspend', 'identity-suspend', async () => {
                const ok = await confirmAction({ title: 'Suspend this identity?', message: `${identity.email} will not be able to sign in until resumed.`, confirm: 'Suspend' });
                if (!ok) return;
                await run('suspend', { id });
                showStatus(`${identity.email} is suspended.`, 'success');
                await loadProfile();
              }),
        deleted || identity.emailVerified
          ? null
          : actionButton('Send verification email', 'identity-send-verification', async () => {
              await run('verify', { id });
              showStatus(`A verification email went to ${identity.email}.`, 'success');
            }),
        deleted
          ? null
          : actionButton('Email a recovery link', 'identity-send-recovery', async () => {
              const { createRegistrationLink } = await run('recovery', { id });
              showStatus(`A link to create a new passkey went to ${identity.email}; it works until ${new Date(createRegistrationLink.expiresAt).toLocaleString()}.`, 'success');
            }),
        deleted
          ? null
          : actionButton(
              'Delete',
              'identity-delete',
              async () => {
                const ok = await confirmAction({
                  title: 'Delete this identity?',
                  message: `${identity.email} is deleted: it can no longer sign in, and its address becomes free for a new identity.`,
                  confirm: 'Delete',
                });
                if (!ok) return;
                await run('remove', { id });
                showStatus(`${identity.email} was deleted.`, 'success');
                navigate(listPath, { keepStatus: true });
              },
              { danger: true },
            ),
      ),
    );
  }

  function drawEdit() {
    const form = h(
      'form',
      { id: 'identity-edit-form', className: 'stack', novalidate: true },
      h(
        'div',
        { className: 'grid-2' },
        field({ label: 'Display name', name: 'displayName', id: 'edit-identity-name', value: identity.displayName ?? '' }),
        field({ label: 'Phone', name: 'phone', id: 'edit-identity-phone', type: 'tel', value: identity.phone ?? '', hint: 'E.164, such as +14155550100.' }),
        field({ label: 'External id', name: 'externalId', id: 'edit-identity-external-id', value: identity.externalId ?? '' }),
      ),
      field({
        label: 'Attributes (JSON object)',
        name: 'attributes',
        id: 'edit-identity-attributes',
        type: 'textarea',
        rows: 4,
        value: JSON.stringify(identity.attributes ?? {}, null, 2),
        hint: 'Replaces the whole attribute object.',
      }),
      h('div', { className: 'actions' }, h('button', { type: 'submit', className: 'button button-primary', dataset: { write: '' } }, 'Save changes')),
    );
    onSubmit(form, async () => {
      const input = { id };
      for (const name of ['displayName', 'phone', 'externalId']) {
        const value = form.elements[name].value.trim();
        const before = identity[name] ?? '';
        if (value !== before) input[name] = value || null;
      }
      input.attributes = parseAttributes(form.elements.attributes.value) ?? {};
      await run('update', { input });
      showStatus('Changes saved.', 'success');
      await loadProfile();
    });
    replace(edit, h('h2', { id: 'edit-heading' }, 'Edit profile'), form);
  }

  async function loadPasskeys() {
    const { nodes } = (await graphql(endpoint, PASSKEYS, { id })).passkeys;
    const rows = nodes.map((passkey) =>
      h(
        'tr',
        { dataset: { passkeyId: passkey.id } },
        h('td', {}, passkey.name),
        h('td', {}, time(passkey.createdAt)),
        h('td', {}, time(passkey.lastUsedAt)),
        h('td', {}, passkey.backupState ? 'Synced' : passkey.backupEligible ? 'Can sync' : 'This device only'),
        writable
          ? h(
              'td',
              {},
              actionButton(
                'Revoke',
                null,
                async () => {
                  const ok = await confirmAction({ title: 'Revoke this passkey?', message: `“${passkey.name}” stops working at once.`, confirm: 'Revoke passkey' });
                  if (!ok) return;
                  await run('revokePasskey', { id: passkey.id });
                  showStatus(`The passkey “${passkey.name}” was revoked.`, 'success');
                  await Promise.all([loadPasskeys(), loadProfile()]);
                },
                { danger: true },
              ),
            )
          : null,
      ),
    );
    replace(
      passkeys,
      h('h2', { id: 'passkeys-heading' }, 'Passkeys'),
      table({
        label: 'Passkeys',
        columns: ['Name', 'Created', 'Last used', 'Sync', ...(writable ? ['Actions'] : [])],
        rows,
        empty: 'No passkey.',
      }),
    );
  }

  async function loadSessions() {
    const { nodes } = (await graphql(endpoint, SESSIONS, { id })).sessions;
    const rows = nodes.map((session) =>
      h(
        'tr',
        { dataset: { sessionId: session.id } },
        h('td', {}, session.authMethod),
        h('td', {}, time(session.createdAt)),
        h('td', {}, time(session.lastUsedAt)),
        h('td', {}, time(session.expiresAt)),
        h('td', { className: 'wrap' }, session.userAgent ?? none()),
        h('td', {}, session.ipAddress ?? none()),
        writable
          ? h(
              'td',
              {},
              actionButton('Revoke', null, async () => {
                await run('revokeSession', { id: session.id });
                showStatus('The session was revoked.', 'success');
                await loadSessions();
              }),
            )
          : null,
      ),
    );
    for (const button of rows.flatMap((row) => [...row.querySelectorAll('button')])) {
      button.classList.add('session-revoke');
      button.setAttribute('aria-label', 'Revoke this session');
    }
    const revokeAll =
      writable && nodes.length
        ? actionButton(
            'Revoke all sessions',
            'revoke-all-sessions',
            async () => {
              const ok = await confirmAction({ title: 'Revoke every session?', message: `${identity?.email ?? 'This identity'} is signed out on every device.`, confirm: 'Revoke all' });
              if (!ok) return;
              const { revokeIdentitySessions } = await run('revokeAll', { id });
              showStatus(revokeIdentitySessions.revokedCount === 1 ? '1 session was revoked.' : `${revokeIdentitySessions.revokedCount} sessions were revoked.`, 'success');
              await loadSessions();
            },
            { danger: true },
          )
        : null;
    replace(
      sessions,
      h('div', { className: 'section-header' }, h('h2', { id: 'sessions-heading' }, 'Sessions'), revokeAll),
      h(
        'div',
        { id: 'session-list' },
        table({
          label: 'Sessions',
          columns: ['Method', 'Started', 'Last used', 'Expires', 'Device', 'IP address', ...(writable ? ['Actions'] : [])],
          rows,
          empty: 'No live session.',
        }),
      ),
    );
  }

  async function loadAudit() {
    const { nodes, totalCount } = (await graphql(endpoint, AUDIT, { id })).auditEvents;
    const rows = [...nodes].reverse().map((event) =>
      h(
        'tr',
        {},
        h('td', {}, time(event.occurredAt)),
        h('td', {}, h('code', {}, event.action)),
        h('td', {}, event.actorType, event.actorId ? [' ', h('code', {}, event.actorId)] : null),
        h('td', { className: 'wrap' }, Object.keys(event.data ?? {}).length ? h('code', {}, JSON.stringify(event.data)) : none()),
      ),
    );
    replace(
      audit,
      h('h2', { id: 'audit-heading' }, 'Audit trail'),
      totalCount > nodes.length ? h('p', { className: 'muted' }, `The first ${nodes.length} of ${totalCount} events, newest first.`) : null,
      table({ label: 'Audit trail', columns: ['When', 'Action', 'Actor', 'Details'], rows, empty: 'No event names this identity.' }),
    );
  }

  /** Each section shows its own refusal, so a role that may read some of them sees those. */
  function guard(section, headingId, title, promise) {
    return promise.catch((error) => {
      replace(section, h('h2', { id: headingId }, title), h('p', { className: 'notice notice-error' }, `${error.message} (${error.code})`));
      if (section === profile) throw error;
    });
  }

  await Promise.all([
    guard(profile, 'profile-heading', 'Profile', loadProfile()),
    guard(passkeys, 'passkeys-heading', 'Passkeys', loadPasskeys()),
    guard(sessions, 'sessions-heading', 'Sessions', loadSessions()),
    guard(audit, 'audit-heading', 'Audit trail', loadAudit()),
  ]);
}
