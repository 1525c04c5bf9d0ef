//! Members of organizations: add, change roles, remove, list (one organization, the first
//! page of many at once, or one identity's memberships).

use super::access::*;
use super::events::*;
use super::grants::remove_grants_in;
use super::model::*;
use super::store::*;
use super::transitions;
use super::window::{AccessStatus, Window};
use crate::actor::{Actor, Permission, Principal};
use crate::authz::{Resource, authorize};
use crate::db::{Database, Query, TenantTx};
use crate::error::{Error, Result};
use crate::identities;
use crate::outbox::EventType;
use crate::page::{self, Page, PageRequest, keyset};
use crate::scope::TenantScope;
use crate::session_store;
use chrono::Utc;
use sea_orm::{ColumnTrait, Condition, QueryFilter, QuerySelect, Select, Set};
use serde_json::json;
use std::collections::HashMap;
use uuid::Uuid;

/// Adds an identity to an organization with `roles` for `window` (open-ended by default).
/// Tenant admins only (`WriteOrganizations`); members with `members:write` invite instead.
#[tracing::instrument(name = "core.add_member", skip_all, fields(tenant.id = %scope.tenant_id()))]
pub async fn add_member(
    db: &Database,
    scope: &TenantScope,
    actor: &Actor,
    organization_id: Uuid,
    identity_id: Uuid,
    roles: &[String],
    window: Window,
) -> Result<Member> {
    let tx = db.begin_tenant(scope).await?;
    authorize_in(&tx, actor, organization_id, Needs::WRITE_MEMBERS).await?;
    // An identity cannot pull another identity in: people join through invitations, which
    // they accept themselves.
    if matches!(*actor.principal(), Principal::Identity { .. }) {
        return Err(Error::Refused(
            "organization members invite people (inviteOrganizationMember); adding an identity directly is for tenant admins".into(),
        ));
    }
    let member = add_in(&tx, actor, organization_id, identity_id, roles, window).await?;
    tx.commit().await?;
    Ok(member)
}

/// [`add_member`] inside `tx`, audited and published (the caller has authorized it).
pub(crate) async fn add_in(
    tx: &TenantTx,
    actor: &Actor,
    organization_id: Uuid,
    identity_id: Uuid,
    roles: &[String],
    window: Window,
) -> Result<Member> {
    find_org(tx, organization_id).await?;
    if !matches!(
        identities::status_of(tx, identity_id).await?,
        Some(identities::IdentityStatus::Active | identities::IdentityStatus::Suspended)
    ) {
        return Err(Error::NotFound);
    }
    let membership =
        insert_membership_in(tx, actor, organization_id, identity_id, roles, window).await?;
    record(
        tx,
        actor,
        "organization.member.add",
        "organization",
        organization_id,
        json!({
            "identityId": identity_id,
            "roles": membership.roles,
            "validFrom": window.valid_from,
            "validUntil": window.valid_until,
        }),
    )
    .await?;
    member_of(tx, membership).await
}

/// What `updateOrganizationMember` changes; `None` leaves a field alone, `Some(None)` clears a
/// window's end.
#[derive(Clone, Debug, Default)]
pub struct MemberChanges {
    pub roles: Option<Vec<String>>,
    pub valid_from: Option<Option<chrono::DateTime<Utc>>>,
    pub valid_until: Option<Option<chrono::DateTime<Utc>>>,
}

/// Changes a member's lasting roles and window. Same permission as [`add_member`]. Sessions
/// scoped to the organization pick up new roles at their next refresh; a window that now
/// excludes the present ends the member's access at once.
#[tracing::instrument(name = "core.update_member", skip_all, fields(tenant.id = %scope.tenant_id()))]
pub async fn update_member(
    db: &Database,
    scope: &TenantScope,
    actor: &Actor,
    organization_id: Uuid,
    identity_id: Uuid,
    changes: MemberChanges,
) -> Result<Member> {
    let tx = db.begin_tenant(scope).await?;
    authorize_in(&tx, actor, organization_id, Needs::WRITE_MEMBERS).await?;
    let current = find_membership(&tx, organization_id, identity_id)
        .await?
        .ok_or(Error::NotFound)?;
    let before = Membership::try_from(current.clone())?;
    let roles = match &changes.roles {
        Some(roles) => check_roles(&tx, roles).await?,
        None => before.roles.clone(),
    };
    let window = Window::checked(
        changes.valid_from.unwrap_or(before.window.valid_from),
        changes.valid_until.unwrap_or(before.window.valid_until),
    )?;
    // Both the roles taken away and the roles given must be within the caller's own.
    let touched: Vec<String> = before.roles.iter().chain(roles.iter()).cloned().collect();
    check_may_grant(&tx, actor, organization_id, Some(identity_id), &touched).await?;
    let mut active: member_row::ActiveModel = current.into();
    active.roles = Set(json!(roles));
    active.valid_from = Set(window.valid_from);
    active.valid_until = Set(window.valid_until);
    active.updated_at = Set(Utc::now());
    let membership = Membership::try_from(tx.update(active).await?)?;
    record(
        &tx,
        actor,
        "organization.member.update",
        "organization",
        organization_id,
        json!({
            "identityId": identity_id,
            "roles": membership.roles,
            "validFrom": window.valid_from,
            "validUntil": window.valid_until,
        }),
    )
    .await?;
    publish_membership(&tx, actor, EventType::MembershipUpdated, &membership).await?;
    if window != before.window {
        let was_pending = before.window.status(tx.now()) == AccessStatus::Pending;
        transitions::schedule_membership_in(&tx, &membership, was_pending).await?;
    }
    let member = member_of(&tx, membership).await?;
    tx.commit().await?;
    Ok(member)
}

/// Sets a member's lasting roles to `roles` where they differ, as `by` says (an identity
/// provider's role mapping at a sign-in, a directory over SCIM); audited and published like
/// [`update_member`]. Nothing happens for someone who is not a member.
pub(crate) async fn sync_roles_in(
    tx: &TenantTx,
    actor: &Actor,
    organization_id: Uuid,
    identity_id: Uuid,
    roles: &[String],
    by: &str,
) -> Result<()> {
    let Some(current) = find_membership(tx, organization_id, identity_id).await? else {
        return Ok(());
    };
    let before = Membership::try_from(current.clone())?;
    let roles = check_roles(tx, roles).await?;
    if roles == before.roles {
        return Ok(());
    }
    let mut active: member_row::ActiveModel = current.into();
    active.roles = Set(json!(roles));
    active.updated_at = Set(Utc::now());
    let membership = Membership::try_from(tx.update(active).await?)?;
    record(
        tx,
        actor,
        "organization.member.update",
        "organization",
        organization_id,
        json!({ "identityId": identity_id, "roles": membership.roles, "by": by }),
    )
    .await?;
    publish_membership(tx, actor, EventType::MembershipUpdated, &membership).await
}

/// Replaces a member's lasting roles ([`update_member`] with only roles).
pub async fn update_member_roles(
    db: &Database,
    scope: &TenantScope,
    actor: &Actor,
    organization_id: Uuid,
    identity_id: Uuid,
    roles: &[String],
) -> Result<Member> {
    let changes = MemberChanges {
        roles: Some(roles.to_vec()),
        ..MemberChanges::default()
    };
    update_member(db, scope, actor, organization_id, identity_id, changes).await
}

/// Removes a member and revokes their sessions (and refresh tokens) scoped to the
/// organization. Same permission as [`add_member`]; members may also leave on their own.
#[tracing::instrument(name = "core.remove_member", skip_all, fields(tenant.id = %scope.tenant_id()))]
pub async fn remove_member(
    db: &Database,
    scope: &TenantScope,
    actor: &Actor,
    organization_id: Uuid,
    identity_id: Uuid,
) -> Result<Member> {
    let tx = db.begin_tenant(scope).await?;
    let leaving = matches!(*actor.principal(), Principal::Identity { id, .. } if id == identity_id);
    if !leaving {
        authorize_in(&tx, actor, organization_id, Needs::WRITE_MEMBERS).await?;
    }
    let current = find_membership(&tx, organization_id, identity_id)
        .await?
        .ok_or(Error::NotFound)?;
    let member = member_of(&tx, Membership::try_from(current)?).await?;
    if !leaving {
        check_may_grant(
            &tx,
            actor,
            organization_id,
            Some(identity_id),
            &member.membership.roles,
        )
        .await?;
    }
    remove_in(&tx, actor, &member.membership).await?;
    tx.commit().await?;
    Ok(member)
}

/// Removes `membership` inside `tx` with its grants and the sessions scoped to its
/// organization, audited and published (the caller has authorized it).
pub(crate) async fn remove_in(tx: &TenantTx, actor: &Actor, membership: &Membership) -> Result<()> {
    let (organization_id, identity_id) = (membership.organization_id, membership.identity_id);
    remove_grants_in(tx, membership.id).await?;
    tx.delete_many::<member_row::Entity>()
        .filter(member_row::Column::Id.eq(membership.id))
        .exec()
        .await?;
    let revoked =
        session_store::revoke_organization_sessions_in(tx, organization_id, Some(identity_id))
            .await?;
    record(
        tx,
        actor,
        "organization.member.remove",
        "organization",
        organization_id,
        json!({ "identityId": identity_id, "revokedSessions": revoked }),
    )
    .await?;
    publish_membership(tx, actor, EventType::MembershipRemoved, membership).await
}

/// Suspends (`suspended`) or reactivates a membership inside `tx`: a suspended one keeps its
/// roles and window but gives no access, and its sessions scoped to the organization end at
/// once. Audited and published as `membership.updated`; nothing happens when it is already
/// so (the caller has authorized it).
pub(crate) async fn set_suspended_in(
    tx: &TenantTx,
    actor: &Actor,
    membership: &Membership,
    suspended: bool,
) -> Result<Membership> {
    if membership.suspended_at.is_some() == suspended {
        return Ok(membership.clone());
    }
    let current = find_membership(tx, membership.organization_id, membership.identity_id)
        .await?
        .ok_or(Error::NotFound)?;
    let now = Utc::now();
    let mut active: member_row::ActiveModel = current.into();
    active.suspended_at = Set(suspended.then_some(now));
    active.updated_at = Set(now);
    let updated = Membership::try_from(tx.update(active).await?)?;
    let (organization_id, identity_id) = (updated.organization_id, updated.identity_id);
    if suspended {
        session_store::revoke_organization_sessions_in(tx, organization_id, Some(identity_id))
            .await?;
    }
    record(
        tx,
        actor,
        if suspended {
            "organization.member.suspend"
        } else {
            "organization.member.resume"
        },
        "organization",
        organization_id,
        json!({ "identityId": identity_id }),
    )
    .await?;
    publish_membership(tx, actor, EventType::MembershipUpdated, &updated).await?;
    Ok(updated)
}

/// An organization's members (every status unless `filter` says otherwise), oldest first:
/// tenant admins or members with `members:read`.
#[tracing::instrument(name = "core.list_members", skip_all, fields(tenant.id = %scope.tenant_id()))]
pub async fn list_members(
    db: &Database,
    scope: &TenantScope,
    actor: &Actor,
    organization_id: Uuid,
    filter: MemberFilter,
    page: PageRequest,
) -> Result<Page<Member>> {
    let tx = db.begin_tenant(scope).await?;
    authorize_in(&tx, actor, organization_id, Needs::READ_MEMBERS).await?;
    let query = tx
        .find::<member_row::Entity>()
        .filter(member_row::Column::OrganizationId.eq(organization_id));
    let page = members_page(&tx, query, filter, page).await?;
    tx.commit().await?;
    Ok(page)
}

/// One page of the memberships `query` selects, narrowed by `filter` at the transaction's time
/// and completed.
async fn members_page(
    tx: &TenantTx,
    query: Query<'_, Select<member_row::Entity>>,
    filter: MemberFilter,
    page: PageRequest,
) -> Result<Page<Member>> {
    let query = filtered(query, filter, tx.now());
    let rows = keyset(query, member_row::Column::Id, page).await?;
    complete_page(tx, rows).await
}

/// The first page (`first` members, oldest first) of each of `organization_ids` whose
/// members the actor may list, in a fixed number of SQL statements whatever the number of
/// organizations (for the GraphQL DataLoader). Organizations missing from the answer are not
/// listable by the actor; [`list_members`] says why.
#[tracing::instrument(name = "core.first_members", skip_all, fields(tenant.id = %scope.tenant_id()))]
pub async fn first_members(
    db: &Database,
    scope: &TenantScope,
    actor: &Actor,
    organization_ids: &[Uuid],
    first: u64,
) -> Result<HashMap<Uuid, Page<Member>>> {
    let tx = db.begin_tenant(scope).await?;
    let allowed = permitted_in(
        &tx,
        actor,
        organization_ids,
        Permission::ReadOrganizations,
        permission::READ_MEMBERS,
    )
    .await?;
    let pages = first_member_pages(&tx, Partition::Organization, &allowed, first).await?;
    tx.commit().await?;
    Ok(pages)
}

/// The first page (`first` memberships, oldest first) of each of `identity_ids` the actor may
/// see (its own, or all with `ReadOrganizations`), in a fixed number of SQL statements (for the
/// GraphQL DataLoader). Identities missing from the answer are not visible to the actor;
/// [`identity_memberships`] says why.
#[tracing::instrument(name = "core.first_identity_memberships", skip_all, fields(tenant.id = %scope.tenant_id()))]
pub async fn first_identity_memberships(
    db: &Database,
    scope: &TenantScope,
    actor: &Actor,
    identity_ids: &[Uuid],
    first: u64,
) -> Result<HashMap<Uuid, Page<Member>>> {
    let allowed: Vec<Uuid> = identity_ids
        .iter()
        .copied()
        .filter(|id| {
            authorize(actor, Permission::ReadOrganizations, Resource::OwnedBy(*id)).is_ok()
        })
        .collect();
    if allowed.is_empty() {
        return Ok(HashMap::new());
    }
    let tx = db.begin_tenant(scope).await?;
    let pages = first_member_pages(&tx, Partition::Identity, &allowed, first).await?;
    tx.commit().await?;
    Ok(pages)
}

/// Which side of a membership a batch of first pages is grouped by.
#[derive(Clone, Copy)]
enum Partition {
    Organization,
    Identity,
}

impl Partition {
    fn column(self) -> member_row::Column {
        match self {
            Partition::Organization => member_row::Column::OrganizationId,
            Partition::Identity => member_row::Column::IdentityId,
        }
    }

    fn key(self, membership: &Membership) -> Uuid {
        match self {
            Partition::Organization => membership.organization_id,
            Partition::Identity => membership.identity_id,
        }
    }
}

/// The first `first` memberships (oldest first) of each of `ids` on the `by` side, with the
/// totals, in four statements whatever the number of ids.
async fn first_member_pages(
    tx: &TenantTx,
    by: Partition,
    ids: &[Uuid],
    first: u64,
) -> Result<HashMap<Uuid, Page<Member>>> {
    let (rows, pages) = page::first_pages(
        tx.find::<member_row::Entity>(),
        by.column(),
        member_row::Column::Id,
        ids,
        first,
    )
    .await?;
    let memberships = rows
        .into_iter()
        .map(Membership::try_from)
        .collect::<Result<Vec<_>>>()?;
    let members = members_of(tx, memberships).await?;
    Ok(pages.split(members, |member| by.key(&member.membership)))
}

/// The organizations an identity belongs to (its memberships, every status unless `filter`
/// says otherwise), oldest first: the identity itself, or tenant admins with
/// `ReadOrganizations`.
#[tracing::instrument(name = "core.identity_memberships", skip_all, fields(tenant.id = %scope.tenant_id()))]
pub async fn identity_memberships(
    db: &Database,
    scope: &TenantScope,
    actor: &Actor,
    identity_id: Uuid,
    filter: MemberFilter,
    page: PageRequest,
) -> Result<Page<Member>> {
    authorize(
        actor,
        Permission::ReadOrganizations,
        Resource::OwnedBy(identity_id),
    )?;
    let tx = db.begin_tenant(scope).await?;
    let query = tx
        .find::<member_row::Entity>()
        .filter(member_row::Column::IdentityId.eq(identity_id));
    let page = members_page(&tx, query, filter, page).await?;
    tx.commit().await?;
    Ok(page)
}

/// What expires soon: the memberships in force now that end before `before`, or that have a
/// grant in force ending before it; oldest first. Tenant admins (`ReadOrganizations`).
#[tracing::instrument(name = "core.expiring_access", skip_all, fields(tenant.id = %scope.tenant_id()))]
pub async fn expiring_access(
    db: &Database,
    scope: &TenantScope,
    actor: &Actor,
    before: chrono::DateTime<Utc>,
    page: PageRequest,
) -> Result<Page<Member>> {
    authorize(actor, Permission::ReadOrganizations, Resource::Tenant)?;
    let tx = db.begin_tenant(scope).await?;
    let now = tx.now();
    let granted: Vec<Uuid> = tx
        .find::<grant_row::Entity>()
        .select_only()
        .column(grant_row::Column::MembershipId)
        .filter(grant_row::Column::ValidUntil.lt(before))
        .filter(grant_row::Column::ValidUntil.gt(now))
        .filter(
            Condition::any()
                .add(grant_row::Column::ValidFrom.is_null())
                .add(grant_row::Column::ValidFrom.lte(now)),
        )
        .into_tuple()
        .all()
        .await?;
    let query = in_force(tx.find::<member_row::Entity>(), now).filter(
        Condition::any()
            .add(member_row::Column::ValidUntil.lt(before))
            .add(member_row::Column::Id.is_in(granted)),
    );
    let rows = keyset(query, member_row::Column::Id, page).await?;
    let page = complete_page(&tx, rows).await?;
    tx.commit().await?;
    Ok(page)
}

/// The memberships of `identity_id` with their organizations' names, roles, windows and
/// temporary role grants, for its owner's data export.
pub(crate) async fn memberships_data_in(
    tx: &TenantTx,
    identity_id: Uuid,
) -> Result<Vec<serde_json::Value>> {
    let rows = tx
        .find::<member_row::Entity>()
        .filter(member_row::Column::IdentityId.eq(identity_id))
        .all()
        .await?;
    let mut memberships = Vec::with_capacity(rows.len());
    for row in rows {
        let organization = organization_in(tx, row.organization_id).await?;
        let grants: Vec<serde_json::Value> = tx
            .find::<grant_row::Entity>()
            .filter(grant_row::Column::MembershipId.eq(row.id))
            .all()
            .await?
            .into_iter()
            .map(|grant| {
                json!({
                    "role": grant.role,
                    "validFrom": grant.valid_from,
                    "validUntil": grant.valid_until,
                })
            })
            .collect();
        memberships.push(json!({
            "organization": {
                "id": organization.id,
                "name": organization.name,
                "slug": organization.slug,
            },
            "roles": row.roles,
            "validFrom": row.valid_from,
            "validUntil": row.valid_until,
            "suspendedAt": row.suspended_at,
            "roleGrants": grants,
            "createdAt": row.created_at,
        }));
    }
    Ok(memberships)
}

/// Removes every membership of `identity_id` with its role grants and pending transitions
/// (its account is being erased; the erasure's own event stands for them). Answers the
/// memberships' ids.
pub(crate) async fn erase_memberships_in(tx: &TenantTx, identity_id: Uuid) -> Result<Vec<Uuid>> {
    let ids: Vec<Uuid> = tx
        .find::<member_row::Entity>()
        .select_only()
        .column(member_row::Column::Id)
        .filter(member_row::Column::IdentityId.eq(identity_id))
        .into_tuple()
        .all()
        .await?;
    for id in &ids {
        remove_grants_in(tx, *id).await?;
    }
    tx.delete_many::<member_row::Entity>()
        .filter(member_row::Column::IdentityId.eq(identity_id))
        .exec()
        .await?;
    Ok(ids)
}

/// The ids of `organization_id`'s members (whatever their windows say), as a statement that
/// narrows a query on identities in the same transaction.
pub(crate) fn member_ids_in(
    tx: &TenantTx,
    organization_id: Uuid,
) -> sea_orm::sea_query::SelectStatement {
    use sea_orm::QuerySelect;
    tx.find::<member_row::Entity>()
        .select_only()
        .column(member_row::Column::IdentityId)
        .filter(member_row::Column::OrganizationId.eq(organization_id))
        .into_statement()
}
