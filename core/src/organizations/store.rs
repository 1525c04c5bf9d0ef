//! Organizations, memberships and roles inside a transaction: finding them, completing members
//! with their identities, inserting memberships, paging for backfills, and publishing their
//! events and audit records.

use super::events::publish_membership;
use super::model::*;
use super::transitions;
use super::window::{Window, earliest_end};
use crate::actor::Actor;
use crate::audit::{self, Target};
use crate::db::TenantTx;
use crate::error::{Error, Result, is_unique_violation};
use crate::identities;
use crate::outbox::EventType;
use crate::page::Page;
use chrono::Utc;
use sea_orm::{ColumnTrait, ExprTrait, QueryFilter, QueryOrder, QuerySelect, Set};
use serde_json::{Value, json};
use uuid::Uuid;

/// The member's context in an organization, `None` if the identity is not a member or its
/// membership is outside its window now.
pub(crate) async fn context_in(
    tx: &TenantTx,
    organization_id: Uuid,
    identity_id: Uuid,
) -> Result<Option<OrgContext>> {
    let Some(membership) = find_membership(tx, organization_id, identity_id).await? else {
        return Ok(None);
    };
    let membership = Membership::try_from(membership)?;
    let now = tx.now();
    if !membership.gives_access(now) {
        return Ok(None);
    }
    let grants = grants_of(tx, &[membership.id]).await?;
    let until = grants
        .iter()
        .filter(|grant| grant.window.is_active(now) && !membership.roles.contains(&grant.role))
        .fold(membership.window.valid_until, |until, grant| {
            earliest_end(until, grant.window.valid_until)
        });
    let org = Organization::try_from(find_org(tx, organization_id).await?)?;
    let held: Vec<_> = held_by_in(tx, organization_id)
        .await?
        .into_iter()
        .filter(|held| held.window.is_active(now))
        .collect();
    let until = held.iter().fold(until, |until, held| {
        earliest_end(until, held.window.valid_until)
    });
    let roles = roles_in_force(&membership, &grants, now);
    let mut permissions = permissions_of(&roles_in(tx).await?, &roles);
    permissions.sort();
    permissions.dedup();
    Ok(Some(OrgContext {
        id: org.id,
        kind: org.kind,
        permissions,
        roles,
        authentication_policy: org.authentication_policy,
        entitlements: held.into_iter().map(|held| held.key).collect(),
        until,
    }))
}

/// The roles `identity_id` holds in organization `organization_id` through its membership
/// now (lasting and granted), `None` without a membership in force.
pub(super) async fn member_roles_in(
    tx: &TenantTx,
    organization_id: Uuid,
    identity_id: Uuid,
) -> Result<Option<Vec<String>>> {
    let Some(row) = find_membership(tx, organization_id, identity_id).await? else {
        return Ok(None);
    };
    let membership = Membership::try_from(row)?;
    let now = tx.now();
    if !membership.gives_access(now) {
        return Ok(None);
    }
    let grants = grants_of(tx, &[membership.id]).await?;
    Ok(Some(roles_in_force(&membership, &grants, now)))
}

/// The member's context in the organization named by `reference` (its id or slug), `None` if
/// there is no such organization or the identity is not a member.
pub(crate) async fn context_by_reference(
    tx: &TenantTx,
    reference: &str,
    identity_id: Uuid,
) -> Result<Option<OrgContext>> {
    let by = match Uuid::parse_str(reference) {
        Ok(id) => org_row::Column::Id.eq(id),
        Err(_) => org_row::Column::Slug.eq(reference),
    };
    let Some(org) = tx.find::<org_row::Entity>().filter(by).one().await? else {
        return Ok(None);
    };
    context_in(tx, org.id, identity_id).await
}

/// Every entitlement an organization holds, any status, by key.
pub(crate) async fn held_by_in(
    tx: &TenantTx,
    organization_id: Uuid,
) -> Result<Vec<HeldEntitlement>> {
    Ok(tx
        .find::<held_row::Entity>()
        .filter(held_row::Column::OrganizationId.eq(organization_id))
        .order_by_asc(held_row::Column::Key)
        .all()
        .await?
        .into_iter()
        .map(HeldEntitlement::from)
        .collect())
}

/// The grants of `membership_ids` (any status), oldest first: one statement.
pub(super) async fn grants_of(tx: &TenantTx, membership_ids: &[Uuid]) -> Result<Vec<RoleGrant>> {
    if membership_ids.is_empty() {
        return Ok(Vec::new());
    }
    Ok(tx
        .find::<grant_row::Entity>()
        .filter(grant_row::Column::MembershipId.is_in(membership_ids.iter().copied()))
        .order_by_asc(grant_row::Column::Id)
        .all()
        .await?
        .into_iter()
        .map(RoleGrant::from)
        .collect())
}

/// Completes memberships with their organizations, identities and grants, and what they give
/// now: three queries whatever the number of memberships.
pub(super) async fn members_of(tx: &TenantTx, memberships: Vec<Membership>) -> Result<Vec<Member>> {
    let mut org_ids: Vec<Uuid> = memberships.iter().map(|m| m.organization_id).collect();
    org_ids.sort();
    org_ids.dedup();
    let mut identity_ids: Vec<Uuid> = memberships.iter().map(|m| m.identity_id).collect();
    identity_ids.sort();
    identity_ids.dedup();
    let organizations = tx
        .find::<org_row::Entity>()
        .filter(org_row::Column::Id.is_in(org_ids))
        .all()
        .await?
        .into_iter()
        .map(Organization::try_from)
        .collect::<Result<Vec<_>>>()?;
    let identities = identities::find_many_in(tx, &identity_ids).await?;
    let membership_ids: Vec<Uuid> = memberships.iter().map(|m| m.id).collect();
    let grants = grants_of(tx, &membership_ids).await?;
    let now = tx.now();
    memberships
        .into_iter()
        .map(|membership| {
            let organization = organizations
                .iter()
                .find(|o| o.id == membership.organization_id)
                .cloned()
                .ok_or_else(|| Error::internal("membership of a missing organization"))?;
            let identity = identities
                .iter()
                .find(|i| i.id == membership.identity_id)
                .cloned()
                .ok_or_else(|| Error::internal("membership of a missing identity"))?;
            Ok(Member {
                grants: grants
                    .iter()
                    .filter(|g| g.membership_id == membership.id)
                    .cloned()
                    .collect(),
                status: membership.window.status(now),
                roles_in_force: roles_in_force(&membership, &grants, now),
                read_at: now,
                membership,
                organization,
                identity,
            })
        })
        .collect()
}

pub(super) async fn complete_page(
    tx: &TenantTx,
    rows: Page<member_row::Model>,
) -> Result<Page<Member>> {
    let page = rows.try_map(Membership::try_from)?;
    let members = members_of(tx, page.items).await?;
    Ok(Page {
        items: members,
        has_next_page: page.has_next_page,
        total_count: page.total_count,
    })
}

pub(crate) async fn member_of(tx: &TenantTx, membership: Membership) -> Result<Member> {
    members_of(tx, vec![membership])
        .await?
        .pop()
        .ok_or_else(|| Error::internal("membership vanished"))
}

/// Every role of the tenant: built-ins first, then the tenant's own by creation.
pub(crate) async fn roles_in(tx: &TenantTx) -> Result<Vec<OrganizationRole>> {
    let custom = tx
        .find::<role_row::Entity>()
        .order_by_asc(role_row::Column::Id)
        .all()
        .await?;
    let mut roles: Vec<OrganizationRole> = built_in_roles().collect();
    for row in custom {
        roles.push(OrganizationRole::try_from(row)?);
    }
    Ok(roles)
}

/// Checks that every name in `roles` is a role of the tenant; sorted and deduplicated.
pub(crate) async fn check_roles(tx: &TenantTx, roles: &[String]) -> Result<Vec<String>> {
    let known = roles_in(tx).await?;
    let mut checked: Vec<String> = Vec::new();
    for role in roles {
        if !known.iter().any(|k| &k.name == role) {
            return Err(Error::validation(
                "roles",
                format!("{role:?} is not an organization role of this tenant"),
            ));
        }
        if !checked.contains(role) {
            checked.push(role.clone());
        }
    }
    if checked.is_empty() {
        return Err(Error::validation("roles", "must name at least one role"));
    }
    checked.sort();
    Ok(checked)
}

/// The organization `id` of the transaction's tenant.
pub(crate) async fn find_in(tx: &TenantTx, id: Uuid) -> Result<Organization> {
    Organization::try_from(find_org(tx, id).await?)
}

/// Which of `ids` are organizations of the tenant (one statement, none for no ids).
pub(crate) async fn existing_in(tx: &TenantTx, ids: &[Uuid]) -> Result<Vec<Uuid>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    Ok(tx
        .find::<org_row::Entity>()
        .select_only()
        .column(org_row::Column::Id)
        .filter(org_row::Column::Id.is_in(ids.iter().copied()))
        .into_tuple()
        .all()
        .await?)
}

/// The organization with this external id, if any.
pub(crate) async fn find_by_external_id(
    tx: &TenantTx,
    external_id: &str,
) -> Result<Option<Organization>> {
    tx.find::<org_row::Entity>()
        .filter(org_row::Column::ExternalId.eq(external_id))
        .one()
        .await?
        .map(Organization::try_from)
        .transpose()
}

pub(super) async fn find_org(tx: &TenantTx, id: Uuid) -> Result<org_row::Model> {
    tx.find::<org_row::Entity>()
        .filter(org_row::Column::Id.eq(id))
        .one()
        .await?
        .ok_or(Error::NotFound)
}

pub(super) async fn find_membership(
    tx: &TenantTx,
    organization_id: Uuid,
    identity_id: Uuid,
) -> Result<Option<member_row::Model>> {
    Ok(tx
        .find::<member_row::Entity>()
        .filter(member_row::Column::OrganizationId.eq(organization_id))
        .filter(member_row::Column::IdentityId.eq(identity_id))
        .one()
        .await?)
}

pub(crate) async fn record(
    tx: &TenantTx,
    actor: &Actor,
    action: &str,
    kind: &'static str,
    id: Uuid,
    details: Value,
) -> Result<()> {
    let target = id.to_string();
    audit::record(
        tx,
        actor,
        action,
        Some(Target { kind, id: &target }),
        details,
    )
    .await
}

pub(super) fn conflict_on_unique(error: sea_orm::DbErr, message: &str) -> Error {
    if is_unique_violation(&error) {
        Error::Conflict(message.to_owned())
    } else {
        error.into()
    }
}

/// One organization inside `tx`, `NotFound` if it is not in the tenant.
pub(crate) async fn organization_in(tx: &TenantTx, id: Uuid) -> Result<Organization> {
    Organization::try_from(find_org(tx, id).await?)
}

/// Writes a membership with checked `roles` for `window` (and schedules the events of its
/// start and end); `Conflict` if the identity is a member already.
pub(crate) async fn insert_membership_in(
    tx: &TenantTx,
    actor: &Actor,
    organization_id: Uuid,
    identity_id: Uuid,
    roles: &[String],
    window: Window,
) -> Result<Membership> {
    let window = Window::checked(window.valid_from, window.valid_until)?;
    let roles = check_roles(tx, roles).await?;
    let now = Utc::now();
    let row = tx
        .insert(member_row::ActiveModel {
            tenant_id: Set(tx.tenant_id()),
            id: Set(Uuid::now_v7()),
            organization_id: Set(organization_id),
            identity_id: Set(identity_id),
            roles: Set(json!(roles)),
            created_at: Set(now),
            updated_at: Set(now),
            valid_from: Set(window.valid_from),
            valid_until: Set(window.valid_until),
            suspended_at: Set(None),
        })
        .await
        .map_err(|e| conflict_on_unique(e, "the identity is already a member"))?;
    let membership = Membership::try_from(row)?;
    publish_membership(tx, actor, EventType::MembershipAdded, &membership).await?;
    transitions::schedule_membership_in(tx, &membership, false).await?;
    Ok(membership)
}

/// Up to `limit` organizations by id after `after`, and how many there are (for backfills).
pub(crate) async fn page_in(
    tx: &TenantTx,
    after: Option<Uuid>,
    limit: u64,
) -> Result<Vec<Organization>> {
    let mut query = tx.find::<org_row::Entity>();
    if let Some(after) = after {
        query = query.filter(org_row::Column::Id.gt(after));
    }
    query
        .order_by_asc(org_row::Column::Id)
        .limit(limit)
        .all()
        .await?
        .into_iter()
        .map(Organization::try_from)
        .collect()
}

/// Up to `limit` memberships by id after `after` (for backfills).
pub(crate) async fn memberships_page_in(
    tx: &TenantTx,
    after: Option<Uuid>,
    limit: u64,
) -> Result<Vec<Membership>> {
    let mut query = tx.find::<member_row::Entity>();
    if let Some(after) = after {
        query = query.filter(member_row::Column::Id.gt(after));
    }
    query
        .order_by_asc(member_row::Column::Id)
        .limit(limit)
        .all()
        .await?
        .into_iter()
        .map(Membership::try_from)
        .collect()
}

/// How many organizations and memberships the tenant has.
pub(crate) async fn count_in(tx: &TenantTx) -> Result<(u64, u64)> {
    let organizations = tx.find::<org_row::Entity>().count().await?;
    let memberships = tx.find::<member_row::Entity>().count().await?;
    Ok((organizations, memberships))
}

/// Only the memberships whose window holds `now`.
pub(super) fn in_force<Q: QueryFilter>(query: Q, now: chrono::DateTime<Utc>) -> Q {
    query
        .filter(member_row::Column::SuspendedAt.is_null())
        .filter(
            member_row::Column::ValidFrom
                .is_null()
                .or(member_row::Column::ValidFrom.lte(now)),
        )
        .filter(
            member_row::Column::ValidUntil
                .is_null()
                .or(member_row::Column::ValidUntil.gt(now)),
        )
}

/// Members by `filter` at `now`.
pub(super) fn filtered<Q: QueryFilter>(
    query: Q,
    filter: MemberFilter,
    now: chrono::DateTime<Utc>,
) -> Q {
    use super::window::AccessStatus;
    let query = match filter.status {
        None => query,
        Some(AccessStatus::Active) => in_force(query, now),
        Some(AccessStatus::Pending) => query.filter(member_row::Column::ValidFrom.gt(now)),
        Some(AccessStatus::Expired) => query.filter(member_row::Column::ValidUntil.lte(now)),
    };
    match filter.expiring_before {
        Some(before) => query.filter(member_row::Column::ValidUntil.lt(before)),
        None => query,
    }
}

/// Whether `identity_id` has a membership of the organization, whatever its status.
/// The identity's membership of the organization, whatever its window.
pub(crate) async fn membership_in(
    tx: &TenantTx,
    organization_id: Uuid,
    identity_id: Uuid,
) -> Result<Option<Membership>> {
    find_membership(tx, organization_id, identity_id)
        .await?
        .map(Membership::try_from)
        .transpose()
}

/// The memberships of an organization, or of an identity, or both (any window), oldest first.
pub(crate) async fn memberships_where_in(
    tx: &TenantTx,
    organization_id: Option<Uuid>,
    identity_id: Option<Uuid>,
) -> Result<Vec<Membership>> {
    let mut query = tx.find::<member_row::Entity>();
    if let Some(id) = organization_id {
        query = query.filter(member_row::Column::OrganizationId.eq(id));
    }
    if let Some(id) = identity_id {
        query = query.filter(member_row::Column::IdentityId.eq(id));
    }
    query
        .order_by_asc(member_row::Column::Id)
        .all()
        .await?
        .into_iter()
        .map(Membership::try_from)
        .collect()
}

/// The names of the tenant's organization roles, built-ins first.
pub(crate) async fn role_names_in(tx: &TenantTx) -> Result<Vec<String>> {
    Ok(roles_in(tx).await?.into_iter().map(|r| r.name).collect())
}

pub(crate) async fn is_member_in(
    tx: &TenantTx,
    organization_id: Uuid,
    identity_id: Uuid,
) -> Result<bool> {
    Ok(find_membership(tx, organization_id, identity_id)
        .await?
        .is_some())
}

/// The organizations `identity_id` belongs to now (its membership in force), by name (at most
/// `limit`).
pub(crate) async fn organizations_of_in(
    tx: &TenantTx,
    identity_id: Uuid,
    limit: u64,
) -> Result<Vec<Organization>> {
    let org_ids: Vec<Uuid> = in_force(tx.find::<member_row::Entity>(), tx.now())
        .select_only()
        .column(member_row::Column::OrganizationId)
        .filter(member_row::Column::IdentityId.eq(identity_id))
        .limit(limit)
        .into_tuple()
        .all()
        .await?;
    let mut organizations = tx
        .find::<org_row::Entity>()
        .filter(org_row::Column::Id.is_in(org_ids))
        .all()
        .await?
        .into_iter()
        .map(Organization::try_from)
        .collect::<Result<Vec<_>>>()?;
    organizations.sort_by_key(|organization| organization.name.to_lowercase());
    Ok(organizations)
}
