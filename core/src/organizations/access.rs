//! What an identity may do in an organization, from the permissions its roles there carry:
//! the lookups behind [`crate::authz::Resource::Organization`], and the rule that nobody grants
//! roles beyond their own.

use super::model::*;
use super::relationships::{delegations_in, note_delegation};
use super::store::*;
use crate::actor::{Actor, Permission, Principal};
use crate::authz::{Resource, authorize};
use crate::db::TenantTx;
use crate::error::{Error, Result};
use sea_orm::{ColumnTrait, QueryFilter};
use uuid::Uuid;

/// What acting on an organization needs: tenant credentials the tenant permission, a member
/// the organization permission.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Needs(pub Permission, pub &'static str);

impl Needs {
    pub(crate) const READ_ORGANIZATION: Needs =
        Needs(Permission::ReadOrganizations, permission::READ_ORGANIZATION);
    pub(crate) const WRITE_ORGANIZATION: Needs = Needs(
        Permission::WriteOrganizations,
        permission::WRITE_ORGANIZATION,
    );
    pub(crate) const READ_MEMBERS: Needs =
        Needs(Permission::ReadOrganizations, permission::READ_MEMBERS);
    pub(crate) const WRITE_MEMBERS: Needs =
        Needs(Permission::WriteOrganizations, permission::WRITE_MEMBERS);
}

/// Whether the caller may act on organization `id` as `needs` says. Identities that are not
/// members get `NotFound`; members without the permission `PermissionDenied`.
pub(crate) async fn authorize_in(
    tx: &TenantTx,
    actor: &Actor,
    id: Uuid,
    Needs(tenant_permission, permission): Needs,
) -> Result<()> {
    let holds = match *actor.principal() {
        Principal::Identity {
            id: identity_id, ..
        } => match roles_held(tx, id, identity_id).await? {
            Some(roles) => Some(permissions_of(&roles_in(tx).await?, &roles)),
            None => None,
        },
        _ => None,
    };
    authorize(
        actor,
        tenant_permission,
        Resource::Organization {
            id,
            holds: holds.as_deref(),
            needs: permission,
        },
    )?;
    Ok(())
}

/// The roles `identity_id` holds in organization `organization_id` now: through its
/// membership in force (lasting and granted roles), or else as an admin of a partner with a
/// relationship in force to it (the relationships' roles; the transaction then names them in
/// its audit records). `None` when neither: outside its window a membership gives nothing.
async fn roles_held(
    tx: &TenantTx,
    organization_id: Uuid,
    identity_id: Uuid,
) -> Result<Option<Vec<String>>> {
    if let Some(roles) = member_roles_in(tx, organization_id, identity_id).await? {
        return Ok(Some(roles));
    }
    let mut delegations = delegations_in(tx, identity_id, Some(&[organization_id])).await?;
    Ok(delegations.remove(&organization_id).map(|delegation| {
        note_delegation(tx, identity_id, &delegation);
        delegation.roles
    }))
}

/// For an identity acting through its membership: it may hand out only roles whose
/// permissions it holds itself (nobody grants more than they have), and never change its own
/// roles. Tenant admins are not limited here.
pub(crate) async fn check_may_grant(
    tx: &TenantTx,
    actor: &Actor,
    organization_id: Uuid,
    target: Option<Uuid>,
    roles: &[String],
) -> Result<()> {
    let Principal::Identity { id, .. } = *actor.principal() else {
        return Ok(());
    };
    if target == Some(id) {
        return Err(Error::Refused(
            "members cannot change their own roles".into(),
        ));
    }
    let held = roles_held(tx, organization_id, id)
        .await?
        .ok_or(Error::NotFound)?;
    let all = roles_in(tx).await?;
    let own = permissions_of(&all, &held);
    let beyond = all
        .iter()
        .filter(|role| roles.contains(&role.name))
        .find(|role| role.permissions.iter().any(|p| !own.contains(p)));
    match beyond {
        Some(role) => Err(Error::Refused(format!(
            "role {:?} carries permissions you do not hold",
            role.name
        ))),
        None => Ok(()),
    }
}

/// Which of `organization_ids` the actor holds `permission` in (identities, by their roles
/// there), or all of them with `tenant_permission` (tenant credentials): two statements at
/// most. The batch form of [`authorize_in`]: an organization it leaves out is one that
/// [`authorize_in`] refuses.
pub(crate) async fn permitted_in(
    tx: &TenantTx,
    actor: &Actor,
    organization_ids: &[Uuid],
    tenant_permission: Permission,
    permission: &str,
) -> Result<Vec<Uuid>> {
    let allowed = |id: Uuid, holds: Option<&[String]>| {
        authorize(
            actor,
            tenant_permission,
            Resource::Organization {
                id,
                holds,
                needs: permission,
            },
        )
        .is_ok()
    };
    let Principal::Identity {
        id: identity_id, ..
    } = *actor.principal()
    else {
        return Ok(organization_ids
            .iter()
            .copied()
            .filter(|id| allowed(*id, None))
            .collect());
    };
    let now = tx.now();
    let memberships = in_force(tx.find::<member_row::Entity>(), now)
        .filter(member_row::Column::IdentityId.eq(identity_id))
        .filter(member_row::Column::OrganizationId.is_in(organization_ids.iter().copied()))
        .all()
        .await?;
    // The organizations without a membership may be customers of a partner the identity
    // administers.
    let others: Vec<Uuid> = organization_ids
        .iter()
        .copied()
        .filter(|id| memberships.iter().all(|m| m.organization_id != *id))
        .collect();
    let delegations = delegations_in(tx, identity_id, Some(&others)).await?;
    if memberships.is_empty() && delegations.is_empty() {
        return Ok(Vec::new());
    }
    let roles = roles_in(tx).await?;
    let mut permitted: Vec<Uuid> = delegations
        .into_iter()
        .filter(|(id, delegation)| allowed(*id, Some(&permissions_of(&roles, &delegation.roles))))
        .map(|(id, _)| id)
        .collect();
    let memberships = memberships
        .into_iter()
        .map(Membership::try_from)
        .collect::<Result<Vec<_>>>()?;
    let ids: Vec<Uuid> = memberships.iter().map(|m| m.id).collect();
    let grants = grants_of(tx, &ids).await?;
    for membership in memberships {
        let held = roles_in_force(&membership, &grants, now);
        if allowed(
            membership.organization_id,
            Some(&permissions_of(&roles, &held)),
        ) {
            permitted.push(membership.organization_id);
        }
    }
    Ok(permitted)
}
