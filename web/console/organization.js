// One organization (`/console/t/<slug>/organizations/<id>`): its profile and policies (domain
// policy, authentication policy, SSO requirement), members with their lasting roles, the
// roles granted for a window and the membership's own window; adding a member (an existing
// identity, by address) and inviting one by email; invitations (resend, revoke); verified
// domains with the TXT record to publish (verify, mark verified, remove); join requests
// (approve with roles, decline); entitlements (grant for a window, revoke).

import { endpointOf, graphql } from './api.js';
import { canWriteTenant } from './roles.js';
import { KIND_OPTIONS } from './organizations.js';
import {
  badge,
  card,
  confirmAction,
  disclosure,
  field,
  h,
  instantFrom,
  none,
  onSubmit,
  showStatus,
  table,
  time,
  uid,
  withButton,
} from './ui.js';

const ORGANIZATION = `query Organization($id: ID!) {
  organization(id: $id) {
    id name slug kind metadata externalId domainPolicy authenticationPolicy createdAt updatedAt
    entitlements { id key validFrom validUntil status source createdAt }
    domains { id domain verified verifiedAt verificationMethod txtRecordName txtRecordValue createdAt }
  }
  organizationRoles { name builtIn }
}`;

const MEMBERS = `query Members($id: ID!, $after: String) {
  organization(id: $id) {
    members(first: 100, after: $after) {
      totalCount
      pageInfo { hasNextPage endCursor }
      nodes {
        id roles rolesInForce validFrom validUntil status createdAt
        grants { id role validFrom validUntil status }
        identity { id email displayName }
      }
    }
  }
}`;

const INVITATIONS = `query Invitations($id: ID!) {
  organization(id: $id) {
    invitations(first: 100, pendingOnly: false) {
      nodes { id email roles status invitedBy createdAt sentAt expiresAt acceptedAt revokedAt validFrom validUntil }
    }
  }
}`;

const JOIN_REQUESTS = `query JoinRequests($id: ID!) {
  organization(id: $id) {
    joinRequests(first: 100) { nodes { id domain status createdAt decidedAt identity { id email displayName } } }
  }
}`;

const SSO = `query Sso($id: ID!) { organizationSsoRequirement(organizationId: $id) { __typename } }`;

const ENTITLEMENT_KEYS = `query EntitlementKeys { entitlements { key description } }`;

const FIND_IDENTITY = `query FindIdentity($email: String!) { identities(first: 1, filter: { email: $email }) { nodes { id email } } }`;

const M = {
  update: 'mutation UpdateOrganization($input: UpdateOrganizationInput!) { updateOrganization(input: $input) { organization { id } } }',
  remove: 'mutation DeleteOrganization($input: DeleteOrganizationInput!) { deleteOrganization(input: $input) { organization { id } } }',
  addMember: 'mutation AddMember($input: AddOrganizationMemberInput!) { addOrganizationMember(input: $input) { membership { id } } }',
  removeMember: 'mutation RemoveMember($input: RemoveOrganizationMemberInput!) { removeOrganizationMember(input: $input) { membership { id } } }',
  grantRole: 'mutation GrantRole($input: GrantOrganizationRoleInput!) { grantOrganizationRole(input: $input) { membership { id } } }',
  invite: 'mutation Invite($input: InviteOrganizationMemberInput!) { inviteOrganizationMember(input: $input) { invitation { id email roles status expiresAt } } }',
  resend: 'mutation Resend($input: InvitationIdInput!) { resendInvitation(input: $input) { invitation { id expiresAt } } }',
  revokeInvitation: 'mutation RevokeInvitation($input: InvitationIdInput!) { revokeInvitation(input: $input) { invitation { id status } } }',
  addDomain: 'mutation AddDomain($input: AddVerifiedDomainInput!) { addVerifiedDomain(input: $input) { domain { id domain txtRecordName txtRecordValue } } }',
  verifyDomain: 'mutation VerifyDomain($input: DomainIdInput!) { verifyDomain(input: $input) { domain { id verified } } }',
  markDomain: 'mutation MarkDomain($input: DomainIdInput!) { markDomainVerified(input: $input) { domain { id verified } } }',
  removeDomain: 'mutation RemoveDomain($input: DomainIdInput!) { removeVerifiedDomain(input: $input) { domain { id } } }',
  approve: 'mutation Approve($input: ApproveJoinRequestInput!) { approveJoinRequest(input: $input) { joinRequest { id status } } }',
  decline: 'mutation Decline($input: JoinRequestIdInput!) { declineJoinRequest(input: $input) { joinRequest { id status } } }',
  grantEntitlement: 'mutation GrantEntitlement($input: GrantEntitlementInput!) { grantEntitlement(input: $input) { entitlement { id key } } }',
  revokeEntitlement: 'mutation RevokeEntitlement($input: RevokeEntitlementInput!) { revokeEntitlement(input: $input) { entitlement { id key } } }',
};

const STATUS_KINDS = { ACTIVE: 'success', PENDING: 'warning', EXPIRED: 'neutral', ACCEPTED: 'success', REVOKED: 'danger', APPROVED: 'success', DECLINED: 'danger' };

function status(value) {
  return badge(value.charAt(0) + value.slice(1).toLowerCase(), STATUS_KINDS[value] ?? 'neutral');
}

/** A window as "from … until …", or "always". */
export function windowOf({ validFrom, validUntil }) {
  if (!validFrom && !validUntil) return h('span', { className: 'muted' }, 'No end');
  return h('span', {}, validFrom ? ['from ', time(validFrom)] : null, validFrom && validUntil ? ' ' : null, validUntil ? ['until ', time(validUntil)] : null);
}

/** Checkboxes for organization roles: a fieldset named `legend`, controls named `name`. */
function rolePicker(roles, { legend, name, checked = ['org:member'], id = uid(name) }) {
  return h(
    'fieldset',
    { className: 'choices', id, 'aria-describedby': `${id}-error` },
    h('legend', {}, legend),
    roles.map((item) => {
      const boxId = `${id}-${item.name.replace(/[^a-zA-Z0-9_-]/g, '-')}`;
      return h('div', { className: 'checkbox' }, h('input', { id: boxId, type: 'checkbox', name, value: item.name, checked: checked.includes(item.name) }), h('label', { for: boxId }, item.name));
    }),
    h('p', { id: `${id}-error`, className: 'field-error', hidden: true }),
  );
}

function checkedValues(form, name) {
  return [...form.querySelectorAll(`input[name="${name}"]:checked`)].map((input) => input.value);
}

/** From and until boxes (datetime-local, the browser's time zone). */
function windowFields(prefix) {
  return h(
    'div',
    { className: 'grid-2' },
    field({ label: 'From', name: 'validFrom', id: `${prefix}-from`, type: 'datetime-local', optional: true, hint: 'Your local time; empty: now.' }),
    field({ label: 'Until', name: 'validUntil', id: `${prefix}-until`, type: 'datetime-local', optional: true, hint: 'Empty: no end.' }),
  );
}

function windowInput(form) {
  const input = {};
  const from = instantFrom(form.elements.validFrom.value);
  const until = instantFrom(form.elements.validUntil.value);
  if (from) input.validFrom = from;
  if (until) input.validUntil = until;
  return input;
}

export async function renderOrganization(container, { slug, role, params, setTitle, navigate }) {
  const id = params[0];
  const endpoint = endpointOf(slug);
  const listPath = `/console/t/${encodeURIComponent(slug)}/organizations`;
  const writable = canWriteTenant(role);
  const run = (name, input) => graphql(endpoint, M[name], { input });

  const heading = h('h1', {}, 'Organization');
  const profile = card('organization-profile', 'Profile and policies');
  const members = card('organization-members', 'Members');
  const invitations = card('organization-invitations', 'Invitations');
  const domains = card('organization-domains', 'Verified domains');
  const joinRequests = card('organization-join-requests', 'Join requests');
  const entitlements = card('organization-entitlements', 'Entitlements');

  container.append(
    h('p', { className: 'breadcrumb' }, h('a', { href: listPath }, '← Organizations')),
    heading,
    profile.section,
    members.section,
    invitations.section,
    domains.section,
    joinRequests.section,
    entitlements.section,
  );

  const { organization, organizationRoles } = await graphql(endpoint, ORGANIZATION, { id });
  let current = organization;
  setTitle(organization.name, 'Organizations');
  heading.textContent = organization.name;

  // ---- Profile and policies
  async function drawProfile() {
    let sso = null;
    try {
      sso = (await graphql(endpoint, SSO, { id })).organizationSsoRequirement;
    } catch {
      sso = undefined;
    }
    const facts = h(
      'dl',
      { className: 'facts' },
      h('dt', {}, 'Slug'),
      h('dd', {}, h('code', {}, current.slug)),
      h('dt', {}, 'Kind'),
      h('dd', {}, current.kind === 'PARTNER' ? 'Partner' : 'Customer'),
      h('dt', {}, 'External id'),
      h('dd', {}, current.externalId ?? none()),
      h('dt', {}, 'Domain policy'),
      h('dd', { id: 'organization-domain-policy' }, { NONE: 'None', AUTO_JOIN: 'People of a verified domain join at sign-in', REQUEST_TO_JOIN: 'People of a verified domain ask to join' }[current.domainPolicy] ?? current.domainPolicy),
      h('dt', {}, 'Authentication policy'),
      h('dd', {}, current.authenticationPolicy === 'PASSKEY' ? 'Members must sign in with a passkey' : 'Any sign-in method'),
      h('dt', {}, 'Single sign-on'),
      h('dd', {}, sso === undefined ? none() : sso ? 'Required through its identity provider (see Access)' : 'Not required'),
      h('dt', {}, 'Created'),
      h('dd', {}, time(current.createdAt)),
      h('dt', {}, 'Organization id'),
      h('dd', {}, h('code', {}, current.id)),
    );
    const metadata = Object.keys(current.metadata ?? {}).length ? h('pre', { className: 'code', tabindex: '0', 'aria-label': 'Metadata (JSON)' }, JSON.stringify(current.metadata, null, 2)) : null;
    let editing = null;
    if (writable) {
      const form = h(
        'form',
        { id: 'organization-edit-form', className: 'stack', novalidate: true },
        h(
          'div',
          { className: 'grid-2' },
          field({ label: 'Name', name: 'name', id: 'organization-edit-name', value: current.name }),
          field({ label: 'Slug', name: 'slug', id: 'organization-edit-slug', value: current.slug, spellcheck: 'false' }),
          field({ label: 'Kind', name: 'kind', id: 'organization-edit-kind', type: 'select', options: KIND_OPTIONS, value: current.kind }),
          field({
            label: 'Domain policy',
            name: 'domainPolicy',
            id: 'organization-edit-domain-policy',
            type: 'select',
            value: current.domainPolicy,
            options: [['NONE', 'None'], ['AUTO_JOIN', 'Join automatically'], ['REQUEST_TO_JOIN', 'Request to join']],
            hint: 'What happens when someone of a verified domain signs in.',
          }),
          field({ label: 'Authentication policy', name: 'authenticationPolicy', id: 'organization-edit-authentication', type: 'select', value: current.authenticationPolicy, options: [['ANY', 'Any method'], ['PASSKEY', 'Passkeys only']] }),
        ),
        h(
          'div',
          { className: 'actions' },
          h('button', { type: 'submit', className: 'button button-primary', dataset: { write: '' } }, 'Save'),
          (() => {
            const button = h('button', { id: 'organization-delete', type: 'button', className: 'button button-danger', dataset: { write: '' } }, 'Delete organization');
            button.addEventListener('click', () =>
              withButton(button, async () => {
                if (!(await confirmAction({ title: 'Delete this organization?', message: `${current.name} and its memberships are deleted; sessions scoped to it are revoked.`, confirm: 'Delete' }))) return;
                await run('remove', { id });
                showStatus(`${current.name} was deleted.`, 'success');
                navigate(listPath, { keepStatus: true });
              }),
            );
            return button;
          })(),
        ),
      );
      onSubmit(form, async () => {
        const input = { id };
        for (const name of ['name', 'slug', 'kind', 'domainPolicy', 'authenticationPolicy']) {
          const value = form.elements[name].value.trim();
          if (value !== current[name]) input[name] = value;
        }
        await run('update', input);
        showStatus('Changes saved.', 'success');
        current = (await graphql(endpoint, ORGANIZATION, { id })).organization;
        heading.textContent = current.name;
        await drawProfile();
      });
      editing = h('div', { className: 'subsection' }, h('div', { className: 'section-header' }, h('h3', {}, 'Change'), disclosure('organization-edit', 'Edit', form)), form);
    }
    profile.fill(facts, metadata, editing);
  }

  // ---- Members
  async function loadMembers() {
    const page = (await graphql(endpoint, MEMBERS, { id })).organization.members;
    const rows = page.nodes.map((membership) => {
      const cells = [
        h('td', {}, membership.identity.email, membership.identity.displayName ? h('span', { className: 'muted' }, ` (${membership.identity.displayName})`) : null),
        h('td', {}, membership.roles.map((name, index) => [index ? ' ' : '', h('code', {}, name)])),
        h(
          'td',
          { className: 'wrap' },
          membership.grants.length
            ? h('ul', { className: 'plain' }, membership.grants.map((grant) => h('li', {}, h('code', {}, grant.role), ' ', windowOf(grant), ' ', status(grant.status))))
            : none(),
        ),
        h('td', {}, windowOf(membership)),
        h('td', {}, status(membership.status)),
      ];
      if (writable) {
        const remove = h('button', { type: 'button', className: 'button button-danger button-small', dataset: { write: '' }, 'aria-label': `Remove ${membership.identity.email}` }, 'Remove');
        remove.addEventListener('click', () =>
          withButton(remove, async () => {
            if (!(await confirmAction({ title: 'Remove this member?', message: `${membership.identity.email} leaves ${current.name}.`, confirm: 'Remove member' }))) return;
            await run('removeMember', { organizationId: id, identityId: membership.identity.id });
            showStatus(`${membership.identity.email} was removed.`, 'success');
            await loadMembers();
          }),
        );
        const grantSelect = h(
          'select',
          { 'aria-label': `Role to grant ${membership.identity.email} for a day` },
          organizationRoles.map((item) => h('option', { value: item.name }, item.name)),
        );
        const grant = h('button', { type: 'button', className: 'button button-small', dataset: { write: '' }, 'aria-label': `Grant for 24 h: the chosen role to ${membership.identity.email}` }, 'Grant for 24 h');
        grant.addEventListener('click', () =>
          withButton(grant, async () => {
            await run('grantRole', { membershipId: membership.id, role: grantSelect.value, validUntil: new Date(Date.now() + 86_400_000).toISOString() });
            showStatus(`${membership.identity.email} holds ${grantSelect.value} for the next 24 hours.`, 'success');
            await loadMembers();
          }),
        );
        cells.push(h('td', {}, h('div', { className: 'row-actions' }, grantSelect, grant, remove)));
      }
      return h('tr', { dataset: { membershipId: membership.id, email: membership.identity.email } }, cells);
    });

    let add = null;
    if (writable) {
      const form = h(
        'form',
        { id: 'add-member-form', className: 'stack', novalidate: true },
        field({ label: 'Identity’s email address', name: 'identityEmail', id: 'add-member-email', type: 'email', required: true, spellcheck: 'false', autocapitalize: 'off', hint: 'An identity of this tenant.' }),
        rolePicker(organizationRoles, { legend: 'Roles', name: 'roles', id: 'add-member-roles' }),
        windowFields('add-member'),
        h('div', { className: 'actions' }, h('button', { id: 'add-member-submit', type: 'submit', className: 'button button-primary', dataset: { write: '' } }, 'Add member')),
      );
      onSubmit(form, async () => {
        const email = form.elements.identityEmail.value.trim();
        const found = (await graphql(endpoint, FIND_IDENTITY, { email })).identities.nodes[0];
        if (!found) throw Object.assign(new Error('identityEmail: no identity of this tenant has this address'), { code: 'NOT_FOUND', field: 'identityEmail' });
        await run('addMember', { organizationId: id, identityId: found.id, roles: checkedValues(form, 'roles'), ...windowInput(form) });
        showStatus(`${found.email} is a member of ${current.name}.`, 'success');
        await loadMembers();
      });
      add = h('div', { className: 'subsection' }, h('div', { className: 'section-header' }, h('h3', {}, 'Add an existing identity'), disclosure('add-member', 'Add member', form)), form);
    }
    members.fill(
      h('p', { className: 'muted' }, page.totalCount === 1 ? '1 member.' : `${page.totalCount} members.`, ' Lasting roles, roles granted for a window, and the membership’s own window.'),
      h('div', { id: 'member-list' }, table({ label: 'Members', columns: ['Identity', 'Roles', 'Granted for a window', 'Membership window', 'Status', ...(writable ? ['Actions'] : [])], rows, empty: 'No member yet.' })),
      add,
    );
  }

  // ---- Invitations
  async function loadInvitations() {
    const { nodes } = (await graphql(endpoint, INVITATIONS, { id })).organization.invitations;
    const rows = nodes.map((invitation) => {
      const cells = [
        h('td', {}, invitation.email),
        h('td', {}, invitation.roles.map((name, index) => [index ? ' ' : '', h('code', {}, name)])),
        h('td', {}, status(invitation.status)),
        h('td', {}, time(invitation.sentAt)),
        h('td', {}, time(invitation.expiresAt)),
        h('td', {}, windowOf(invitation)),
      ];
      if (writable) {
        const actions = h('div', { className: 'row-actions' });
        if (invitation.status === 'PENDING' || invitation.status === 'EXPIRED') {
          const resend = h('button', { type: 'button', className: 'button button-small', dataset: { write: '' }, 'aria-label': `Resend the invitation to ${invitation.email}` }, 'Resend');
          resend.addEventListener('click', () =>
            withButton(resend, async () => {
              await run('resend', { id: invitation.id });
              showStatus(`The invitation went to ${invitation.email} again, with a new link.`, 'success');
              await loadInvitations();
            }),
          );
          actions.append(resend);
        }
        if (invitation.status === 'PENDING') {
          const revoke = h('button', { type: 'button', className: 'button button-danger button-small', dataset: { write: '' }, 'aria-label': `Revoke the invitation of ${invitation.email}` }, 'Revoke');
          revoke.addEventListener('click', () =>
            withButton(revoke, async () => {
              await run('revokeInvitation', { id: invitation.id });
              showStatus(`The invitation of ${invitation.email} was revoked.`, 'success');
              await loadInvitations();
            }),
          );
          actions.append(revoke);
        }
        cells.push(h('td', {}, actions));
      }
      return h('tr', { dataset: { invitationId: invitation.id, email: invitation.email } }, cells);
    });
    let invite = null;
    if (writable) {
      const form = h(
        'form',
        { id: 'invite-member-form', className: 'stack', novalidate: true },
        field({ label: 'Email address', name: 'email', id: 'invite-member-email', type: 'email', required: true, spellcheck: 'false', autocapitalize: 'off', hint: 'Gets a link to join; they sign up first if they have no account.' }),
        rolePicker(organizationRoles, { legend: 'Roles', name: 'roles', id: 'invite-member-roles' }),
        windowFields('invite-member'),
        h('div', { className: 'actions' }, h('button', { id: 'invite-member-submit', type: 'submit', className: 'button button-primary', dataset: { write: '' } }, 'Send invitation')),
      );
      onSubmit(form, async () => {
        const email = form.elements.email.value.trim();
        if (!email) throw Object.assign(new Error('email: enter the address to invite'), { code: 'BAD_USER_INPUT', field: 'email' });
        const { inviteOrganizationMember } = await run('invite', { organizationId: id, email, roles: checkedValues(form, 'roles'), ...windowInput(form) });
        showStatus(`Invitation sent to ${inviteOrganizationMember.invitation.email}.`, 'success');
        form.reset();
        await loadInvitations();
      });
      invite = h('div', { className: 'subsection' }, h('h3', {}, 'Invite by email'), form);
    }
    invitations.fill(invite, h('div', { id: 'org-invitation-list' }, table({ label: 'Invitations', columns: ['Email', 'Roles', 'Status', 'Sent', 'Expires', 'Membership window', ...(writable ? ['Actions'] : [])], rows, empty: 'No invitation.' })));
  }

  // ---- Domains
  function drawDomains() {
    const rows = current.domains.map((domain) => {
      const cells = [
        h('td', {}, h('code', {}, domain.domain)),
        h('td', {}, domain.verified ? badge(domain.verificationMethod === 'MANUAL' ? 'Verified by hand' : 'Verified', 'success') : badge('Waiting for DNS', 'warning')),
        h(
          'td',
          { className: 'wrap' },
          domain.verified
            ? time(domain.verifiedAt)
            : h('dl', { className: 'facts dns-record' }, h('dt', {}, 'Type'), h('dd', {}, 'TXT'), h('dt', {}, 'Name'), h('dd', {}, h('code', {}, domain.txtRecordName)), h('dt', {}, 'Value'), h('dd', {}, h('code', {}, domain.txtRecordValue))),
        ),
      ];
      if (writable) {
        const actions = h('div', { className: 'row-actions' });
        const button = (label, name, text, danger = false) => {
          const element = h('button', { type: 'button', className: `button button-small${danger ? ' button-danger' : ''}`, dataset: { write: '' }, 'aria-label': `${label} ${domain.domain}` }, label);
          element.addEventListener('click', () =>
            withButton(element, async () => {
              if (danger && !(await confirmAction({ title: 'Remove this domain?', message: `${domain.domain} no longer belongs to ${current.name}.`, confirm: 'Remove' }))) return;
              await run(name, { id: domain.id });
              showStatus(text, 'success');
              await reloadOrganization();
            }),
          );
          actions.append(element);
        };
        if (!domain.verified) {
          button('Verify', 'verifyDomain', `${domain.domain} is verified.`);
          button('Mark verified', 'markDomain', `${domain.domain} is marked verified.`);
        }
        button('Remove', 'removeDomain', `${domain.domain} was removed.`, true);
        cells.push(h('td', {}, actions));
      }
      return h('tr', { dataset: { domain: domain.domain } }, cells);
    });
    let add = null;
    if (writable) {
      const form = h(
        'form',
        { id: 'add-domain-form', className: 'inline-form', novalidate: true },
        field({ label: 'Domain', name: 'domain', id: 'add-domain-name', required: true, spellcheck: 'false', autocapitalize: 'off', placeholder: 'example.com' }),
        h('div', { className: 'actions' }, h('button', { id: 'add-domain-submit', type: 'submit', className: 'button button-primary', dataset: { write: '' } }, 'Add domain')),
      );
      onSubmit(form, async () => {
        const { addVerifiedDomain } = await run('addDomain', { organizationId: id, domain: form.elements.domain.value.trim() });
        showStatus(`Publish the TXT record ${addVerifiedDomain.domain.txtRecordName} to verify ${addVerifiedDomain.domain.domain}.`, 'success');
        form.reset();
        await reloadOrganization();
      });
      add = form;
    }
    domains.fill(
      h('p', { className: 'muted' }, 'A domain is verified once its TXT record is published in DNS (then Verify). People of a verified domain may join by the domain policy.'),
      h('div', { id: 'domain-list' }, table({ label: 'Verified domains', columns: ['Domain', 'Status', 'DNS record to publish / verified', ...(writable ? ['Actions'] : [])], rows, empty: 'No domain.' })),
      add,
    );
  }

  async function reloadOrganization() {
    current = (await graphql(endpoint, ORGANIZATION, { id })).organization;
    drawDomains();
    drawEntitlements();
  }

  // ---- Join requests
  async function loadJoinRequests() {
    const { nodes } = (await graphql(endpoint, JOIN_REQUESTS, { id })).organization.joinRequests;
    const rows = nodes.map((request) => {
      const cells = [h('td', {}, request.identity.email), h('td', {}, h('code', {}, request.domain)), h('td', {}, status(request.status)), h('td', {}, time(request.createdAt)), h('td', {}, time(request.decidedAt))];
      if (writable) {
        const actions = h('div', { className: 'row-actions' });
        if (request.status === 'PENDING') {
          const approve = h('button', { type: 'button', className: 'button button-small button-primary', dataset: { write: '' }, 'aria-label': `Approve ${request.identity.email} as org:member` }, 'Approve');
          approve.addEventListener('click', () =>
            withButton(approve, async () => {
              await run('approve', { id: request.id, roles: ['org:member'] });
              showStatus(`${request.identity.email} joined ${current.name}.`, 'success');
              await Promise.all([loadJoinRequests(), loadMembers()]);
            }),
          );
          const decline = h('button', { type: 'button', className: 'button button-small button-danger', dataset: { write: '' }, 'aria-label': `Decline ${request.identity.email}` }, 'Decline');
          decline.addEventListener('click', () =>
            withButton(decline, async () => {
              await run('decline', { id: request.id });
              showStatus(`The request of ${request.identity.email} was declined.`, 'success');
              await loadJoinRequests();
            }),
          );
          actions.append(approve, decline);
        }
        cells.push(h('td', {}, actions));
      }
      return h('tr', { dataset: { joinRequestId: request.id } }, cells);
    });
    joinRequests.fill(
      h('p', { className: 'muted' }, 'People of a verified domain ask to join when the domain policy is “request to join”. Approving makes them members with the role org:member; change their roles under Members.'),
      table({ label: 'Join requests', columns: ['Identity', 'Domain', 'Status', 'Asked', 'Decided', ...(writable ? ['Actions'] : [])], rows, empty: 'No join request.' }),
    );
  }

  // ---- Entitlements
  let entitlementKeys = null;
  async function drawEntitlements() {
    const rows = current.entitlements.map((entitlement) => {
      const cells = [h('td', {}, h('code', {}, entitlement.key)), h('td', {}, windowOf(entitlement)), h('td', {}, status(entitlement.status)), h('td', {}, entitlement.source ?? none())];
      if (writable) {
        const revoke = h('button', { type: 'button', className: 'button button-small button-danger', dataset: { write: '' }, 'aria-label': `Revoke ${entitlement.key}` }, 'Revoke');
        revoke.addEventListener('click', () =>
          withButton(revoke, async () => {
            await run('revokeEntitlement', { organizationId: id, key: entitlement.key });
            showStatus(`${current.name} no longer holds ${entitlement.key}.`, 'success');
            await reloadOrganization();
          }),
        );
        cells.push(h('td', {}, revoke));
      }
      return h('tr', { dataset: { key: entitlement.key } }, cells);
    });
    let grant = null;
    if (writable) {
      entitlementKeys ??= await graphql(endpoint, ENTITLEMENT_KEYS)
        .then((data) => data.entitlements)
        .catch(() => []);
      if (entitlementKeys.length) {
        const form = h(
          'form',
          { id: 'grant-entitlement-form', className: 'stack', novalidate: true },
          field({ label: 'Entitlement', name: 'key', id: 'grant-entitlement-key', type: 'select', options: entitlementKeys.map((item) => [item.key, item.description ? `${item.key} — ${item.description}` : item.key]) }),
          windowFields('grant-entitlement'),
          h('div', { className: 'actions' }, h('button', { type: 'submit', className: 'button button-primary', dataset: { write: '' } }, 'Grant')),
        );
        onSubmit(form, async () => {
          await run('grantEntitlement', { organizationId: id, key: form.elements.key.value, ...windowInput(form) });
          showStatus(`${current.name} holds ${form.elements.key.value}.`, 'success');
          await reloadOrganization();
        });
        grant = h('div', { className: 'subsection' }, h('h3', {}, 'Grant an entitlement'), form);
      } else {
        grant = h('p', { className: 'muted' }, 'Define entitlement keys under Access to grant them.');
      }
    }
    entitlements.fill(table({ label: 'Entitlements', columns: ['Key', 'Window', 'Status', 'Source', ...(writable ? ['Actions'] : [])], rows, empty: 'No entitlement.' }), grant);
  }

  await Promise.all([
    drawProfile().catch(profile.fail),
    loadMembers().catch(members.fail),
    loadInvitations().catch(invitations.fail),
    Promise.resolve().then(drawDomains).catch(domains.fail),
    loadJoinRequests().catch(joinRequests.fail),
    drawEntitlements().catch(entitlements.fail),
  ]);
}

