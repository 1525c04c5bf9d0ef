// The Administrators area of a tenant: who administers it with which role, the invitations
// not yet used, and, for owners only, inviting by email, changing a role and removing an
// administrator. The server refuses to remove or demote the last owner; its message shows.

import { endpointOf, graphql } from './api.js';
import { ROLES, canManageAdministrators } from './roles.js';
import { confirmAction, field, h, loading, onSubmit, replace, roleName, showStatus, table, time, withButton } from './ui.js';

const LIST = `query Administrators {
  administrators { id email displayName role createdAt lastSignInAt }
  administratorInvitations { id email role createdAt expiresAt }
}`;

// The input and enum type names are not spelled out: the role goes in as an enum literal (one
// of ROLES, checked), the rest as String and ID variables.
function roleLiteral(role) {
  if (!ROLES.includes(role)) throw new Error(`unknown role ${role}`);
  return role;
}

const INVITE = (role) => `mutation InviteAdministrator($email: String!) {
  inviteAdministrator(input: { email: $email, role: ${roleLiteral(role)} }) { invitation { id email role expiresAt } }
}`;

const UPDATE = (role) => `mutation UpdateAdministrator($id: ID!) {
  updateAdministrator(input: { id: $id, role: ${roleLiteral(role)} }) { administrator { id email role } }
}`;

const REMOVE = `mutation RemoveAdministrator($id: ID!) {
  removeAdministrator(input: { id: $id }) { removedAdministratorId }
}`;

const CANCEL = `mutation CancelAdministratorInvitation($id: ID!) {
  cancelAdministratorInvitation(input: { id: $id }) { cancelledInvitationId }
}`;

const ROLE_OPTIONS = ROLES.map((role) => [role, roleName(role)]);

const ROLE_HINT = 'Owner: everything, administrators included. Admin: everything but administrators. Viewer: reads only. Support: identities only.';

export async function renderAdministrators(container, { slug, role, session, setTitle }) {
  setTitle('Administrators');
  const endpoint = endpointOf(slug);
  const owner = canManageAdministrators(role);
  const me = session.administrator.id;

  const list = h('section', { id: 'administrators', className: 'card', 'aria-labelledby': 'administrators-heading' }, loading());
  const invitations = h('section', { id: 'invitations', className: 'card', 'aria-labelledby': 'invitations-heading' }, loading());

  function administratorRow(administrator) {
    const self = administrator.id === me;
    const cells = [
      h('td', {}, administrator.email, self ? h('span', { className: 'muted' }, ' (you)') : null),
      h('td', {}, administrator.displayName ?? h('span', { className: 'muted' }, '—')),
      h('td', { className: 'administrator-role' }, roleName(administrator.role)),
      h('td', {}, time(administrator.createdAt)),
      h('td', {}, time(administrator.lastSignInAt)),
    ];
    if (owner) {
      const selectId = `role-${administrator.id}`;
      const select = h(
        'select',
        { id: selectId, name: 'role', 'aria-label': `Role of ${administrator.email}` },
        ROLE_OPTIONS.map(([value, text]) => h('option', { value }, text)),
      );
      select.value = administrator.role;
      const change = h('button', { type: 'button', className: 'button', dataset: { write: '' }, 'aria-label': `Change role of ${administrator.email}` }, 'Change role');
      change.addEventListener('click', () =>
        withButton(change, async () => {
          if (select.value === administrator.role) {
            showStatus(`${administrator.email} already has the role ${roleName(administrator.role)}.`, 'info');
            return;
          }
          if (self) {
            const ok = await confirmAction({
              title: 'Change your own role?',
              message: `You become ${roleName(select.value)} on this tenant; your session ends and you sign in again.`,
              confirm: 'Change my role',
            });
            if (!ok) return;
          }
          const { updateAdministrator } = await graphql(endpoint, UPDATE(select.value), { id: administrator.id });
          showStatus(`${updateAdministrator.administrator.email} is now ${roleName(updateAdministrator.administrator.role)}.`, 'success');
          await load();
        }),
      );
      const remove = h('button', { type: 'button', className: 'button button-danger', dataset: { write: '' }, 'aria-label': `Remove ${administrator.email}` }, 'Remove');
      remove.addEventListener('click', () =>
        withButton(remove, async () => {
          const ok = await confirmAction({
            title: 'Remove this administrator?',
            message: `${administrator.email} loses access to this tenant at once; their console sessions end.`,
            confirm: 'Remove',
          });
          if (!ok) return;
          await graphql(endpoint, REMOVE, { id: administrator.id });
          showStatus(`${administrator.email} no longer administers this tenant.`, 'success');
          await load();
        }),
      );
      cells.push(h('td', {}, h('div', { className: 'row-actions' }, select, change, remove)));
    }
    return h('tr', { dataset: { administratorId: administrator.id, email: administrator.email } }, cells);
  }

  function invitationRow(invitation) {
    const cells = [
      h('td', {}, invitation.email),
      h('td', {}, roleName(invitation.role)),
      h('td', {}, time(invitation.createdAt)),
      h('td', {}, time(invitation.expiresAt)),
    ];
    if (owner) {
      const cancel = h('button', { type: 'button', className: 'button', dataset: { write: '' }, 'aria-label': `Cancel the invitation of ${invitation.email}` }, 'Cancel');
      cancel.addEventListener('click', () =>
        withButton(cancel, async () => {
          const ok = await confirmAction({
            title: 'Cancel this invitation?',
            message: `The link sent to ${invitation.email} stops working.`,
            confirm: 'Cancel the invitation',
          });
          if (!ok) return;
          await graphql(endpoint, CANCEL, { id: invitation.id });
          showStatus(`The invitation of ${invitation.email} is cancelled.`, 'success');
          await load();
        }),
      );
      cells.push(h('td', {}, cancel));
    }
    return h('tr', { dataset: { invitationId: invitation.id, email: invitation.email } }, cells);
  }

  async function load() {
    const data = await graphql(endpoint, LIST);
    replace(
      list,
      h('h2', { id: 'administrators-heading' }, 'Administrators'),
      h(
        'div',
        { id: 'administrator-list' },
        table({
          label: 'Administrators',
          columns: ['Email', 'Name', 'Role', 'Added', 'Last sign-in', ...(owner ? ['Actions'] : [])],
          rows: data.administrators.map(administratorRow),
          empty: 'No administrator.',
        }),
      ),
    );
    replace(
      invitations,
      h('h2', { id: 'invitations-heading' }, 'Pending invitations'),
      h(
        'div',
        { id: 'invitation-list' },
        table({
          label: 'Pending invitations',
          columns: ['Email', 'Role', 'Sent', 'Expires', ...(owner ? ['Actions'] : [])],
          rows: data.administratorInvitations.map(invitationRow),
          empty: 'No pending invitation.',
        }),
      ),
    );
  }

  let inviteSection = null;
  if (owner) {
    const form = h(
      'form',
      { id: 'invite-form', className: 'stack', novalidate: true },
      h(
        'div',
        { className: 'grid-2' },
        field({ label: 'Email address', name: 'email', id: 'invite-email', type: 'email', required: true, spellcheck: 'false', autocapitalize: 'off' }),
        field({ label: 'Role', name: 'role', id: 'invite-role', type: 'select', options: ROLE_OPTIONS, value: 'ADMIN', hint: ROLE_HINT }),
      ),
      h('div', { className: 'actions' }, h('button', { id: 'invite-button', type: 'submit', className: 'button button-primary', dataset: { write: '' } }, 'Send invitation')),
    );
    onSubmit(form, async () => {
      const email = form.elements.email.value.trim();
      if (!email) throw Object.assign(new Error('email: enter the address to invite'), { code: 'BAD_USER_INPUT', field: 'email' });
      const { inviteAdministrator } = await graphql(endpoint, INVITE(form.elements.role.value), { email });
      const invitation = inviteAdministrator.invitation;
      showStatus(`Invitation sent to ${invitation.email} as ${roleName(invitation.role)}.`, 'success');
      form.reset();
      form.elements.role.value = 'ADMIN';
      await load();
    });
    inviteSection = h(
      'section',
      { id: 'invite', className: 'card', 'aria-labelledby': 'invite-heading' },
      h('h2', { id: 'invite-heading' }, 'Invite an administrator'),
      h('p', {}, 'The address gets a link to enrol with a passkey. It works once, for a limited time.'),
      form,
    );
  }

  container.append(h('h1', {}, 'Administrators'), inviteSection, list, invitations);
  await load();
}
