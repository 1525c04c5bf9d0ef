//! Roles granted within a membership for a window of their own (temporary elevated access,
//! such as a day of support access): granting, revoking, and removing them with their
//! membership.

use super::access::*;
use super::events::*;
use super::model::*;
use super::store::*;
use super::transitions;
use super::window::{AccessStatus, Window};
use crate::actor::Actor;
use crate::db::{Database, TenantTx};
use crate::error::{Error, Result};
use crate::outbox::EventType;
use crate::scope::TenantScope;
use chrono::Utc;
use sea_orm::{ColumnTrait, QueryFilter, QuerySelect, Set};
use serde_json::json;
use uuid::Uuid;

/// What `grantOrganizationRole` takes.
#[derive(Clone, Debug)]
pub struct NewGrant {
    pub membership_id: Uuid,
    pub role: String,
    pub window: Window,
}

/// Which grants `revokeOrganizationRole` removes: one, or every grant of a role in a
/// membership.
#[derive(Clone, Debug)]
pub enum GrantSelector {
    Grant(Uuid),
    Role { membership_id: Uuid, role: String },
}

/// A grant with the member it belongs to, as the mutations answer it.
#[derive(Clone, Debug)]
pub struct GrantChange {
    pub grants: Vec<RoleGrant>,
    pub member: Member,
}

/// The membership `id`, `NotFound` if it is not the tenant's.
async fn membership_in(tx: &TenantTx, id: Uuid) -> Result<Membership> {
    tx.find::<member_row::Entity>()
        .filter(member_row::Column::Id.eq(id))
        .one()
        .await?
        .ok_or(Error::NotFound)
        .and_then(Membership::try_from)
}

/// Gives a membership `role` for `window`: tenant admins, or members with `members:write` for
/// roles within their own. A role the tenant does not define, a membership that has expired
/// or a window that ends before it starts is `BAD_USER_INPUT` naming the field.
#[tracing::instrument(name = "core.grant_organization_role", skip_all, fields(tenant.id = %scope.tenant_id()))]
pub async fn grant_role(
    db: &Database,
    scope: &TenantScope,
    actor: &Actor,
    grant: NewGrant,
) -> Result<GrantChange> {
    let tx = db.begin_tenant(scope).await?;
    let membership = membership_in(&tx, grant.membership_id).await?;
    authorize_in(&tx, actor, membership.organization_id, Needs::WRITE_MEMBERS).await?;
    if !roles_in(&tx).await?.iter().any(|r| r.name == grant.role) {
        return Err(Error::validation(
            "role",
            format!(
                "{:?} is not an organization role of this tenant",
                grant.role
            ),
        ));
    }
    let now = tx.now();
    if membership.window.status(now) == AccessStatus::Expired {
        return Err(Error::validation(
            "membershipId",
            "the membership has expired: extend it (updateOrganizationMember validUntil) before granting roles in it",
        ));
    }
    let window = Window::checked(grant.window.valid_from, grant.window.valid_until)?;
    check_may_grant(
        &tx,
        actor,
        membership.organization_id,
        Some(membership.identity_id),
        std::slice::from_ref(&grant.role),
    )
    .await?;
    let row = tx
        .insert(grant_row::ActiveModel {
            tenant_id: Set(tx.scope().tenant_id()),
            id: Set(Uuid::now_v7()),
            membership_id: Set(membership.id),
            role: Set(grant.role.clone()),
            valid_from: Set(window.valid_from),
            valid_until: Set(window.valid_until),
            created_at: Set(Utc::now()),
        })
        .await?;
    let granted = RoleGrant::from(row);
    if granted.window.valid_from.is_none_or(|from| from <= now) {
        let mut data = membership_event_data(&membership);
        data["grant"] = grant_event_data(&granted);
        data["effectiveAt"] = json!(now);
        let event = EventType::MembershipRoleGranted;
        publish_membership_data(&tx, actor, event, &membership, data).await?;
    }
    transitions::schedule_grant_in(&tx, &granted).await?;
    record(
        &tx,
        actor,
        "organization.member.grant_role",
        "organization",
        membership.organization_id,
        json!({
            "identityId": membership.identity_id,
            "grant": grant_event_data(&granted),
        }),
    )
    .await?;
    let member = member_of(&tx, membership).await?;
    tx.commit().await?;
    Ok(GrantChange {
        grants: vec![granted],
        member,
    })
}

/// Removes grants before their end. Same permission as [`grant_role`]. Lasting roles are
/// changed with `updateOrganizationMember`, not here.
#[tracing::instrument(name = "core.revoke_organization_role", skip_all, fields(tenant.id = %scope.tenant_id()))]
pub async fn revoke_role(
    db: &Database,
    scope: &TenantScope,
    actor: &Actor,
    selector: GrantSelector,
) -> Result<GrantChange> {
    let tx = db.begin_tenant(scope).await?;
    let (membership_id, mut query) = match &selector {
        GrantSelector::Grant(id) => {
            let row = tx
                .find::<grant_row::Entity>()
                .filter(grant_row::Column::Id.eq(*id))
                .one()
                .await?
                .ok_or(Error::NotFound)?;
            let query = tx.find::<grant_row::Entity>();
            (
                row.membership_id,
                query.filter(grant_row::Column::Id.eq(*id)),
            )
        }
        GrantSelector::Role {
            membership_id,
            role,
        } => {
            let query = tx.find::<grant_row::Entity>();
            (
                *membership_id,
                query
                    .filter(grant_row::Column::MembershipId.eq(*membership_id))
                    .filter(grant_row::Column::Role.eq(role.as_str())),
            )
        }
    };
    let membership = membership_in(&tx, membership_id).await?;
    authorize_in(&tx, actor, membership.organization_id, Needs::WRITE_MEMBERS).await?;
    query = query.filter(grant_row::Column::MembershipId.eq(membership_id));
    let revoked: Vec<RoleGrant> = query
        .all()
        .await?
        .into_iter()
        .map(RoleGrant::from)
        .collect();
    if revoked.is_empty() {
        let reason = match &selector {
            GrantSelector::Role { role, .. } if membership.roles.contains(role) => format!(
                "{role:?} is a lasting role of the membership, not a grant: change it with updateOrganizationMember"
            ),
            _ => "the membership has no grant of this role".to_owned(),
        };
        return Err(Error::validation("role", reason));
    }
    let roles: Vec<String> = revoked.iter().map(|g| g.role.clone()).collect();
    check_may_grant(
        &tx,
        actor,
        membership.organization_id,
        Some(membership.identity_id),
        &roles,
    )
    .await?;
    let ids: Vec<Uuid> = revoked.iter().map(|g| g.id).collect();
    tx.delete_many::<grant_row::Entity>()
        .filter(grant_row::Column::Id.is_in(ids.iter().copied()))
        .exec()
        .await?;
    for grant in &revoked {
        transitions::forget_in(&tx, membership.id, Some(grant.id)).await?;
    }
    let mut data = membership_event_data(&membership);
    data["revokedGrants"] = json!(revoked.iter().map(grant_event_data).collect::<Vec<_>>());
    publish_membership_data(&tx, actor, EventType::MembershipUpdated, &membership, data).await?;
    record(
        &tx,
        actor,
        "organization.member.revoke_role",
        "organization",
        membership.organization_id,
        json!({ "identityId": membership.identity_id, "grants": ids }),
    )
    .await?;
    let member = member_of(&tx, membership).await?;
    tx.commit().await?;
    Ok(GrantChange {
        grants: revoked,
        member,
    })
}

/// Removes a membership's grants and what is pending for it (the membership goes).
pub(super) async fn remove_grants_in(tx: &TenantTx, membership_id: Uuid) -> Result<()> {
    tx.delete_many::<grant_row::Entity>()
        .filter(grant_row::Column::MembershipId.eq(membership_id))
        .exec()
        .await?;
    transitions::forget_in(tx, membership_id, None).await
}

/// [`remove_grants_in`] for every membership of an organization (it goes).
pub(super) async fn remove_organization_grants_in(
    tx: &TenantTx,
    organization_id: Uuid,
) -> Result<()> {
    let memberships: Vec<Uuid> = tx
        .find::<member_row::Entity>()
        .select_only()
        .column(member_row::Column::Id)
        .filter(member_row::Column::OrganizationId.eq(organization_id))
        .into_tuple()
        .all()
        .await?;
    for membership_id in memberships {
        remove_grants_in(tx, membership_id).await?;
    }
    Ok(())
}
