//! Organizations, the tenant's own roles and memberships as exports carry them and imports
//! bring them back. Imports match organizations by slug and roles by name: what exists is
//! kept as it is, so importing the same file twice changes nothing. The caller authorizes.

use super::directory::create_in;
use super::members::add_in;
use super::model::*;
use super::roles::create_role_in;
use super::store::{membership_in, roles_in};
use super::window::Window;
use crate::actor::Actor;
use crate::db::TenantTx;
use crate::error::Result;
use sea_orm::{ColumnTrait, QueryFilter};
use uuid::Uuid;

/// The roles the tenant defined (the built-in ones are everywhere).
pub(crate) async fn tenant_roles_in(tx: &TenantTx) -> Result<Vec<OrganizationRole>> {
    Ok(roles_in(tx)
        .await?
        .into_iter()
        .filter(|role| role.id.is_some())
        .collect())
}

/// The memberships of `identity_ids`.
pub(crate) async fn memberships_of_in(
    tx: &TenantTx,
    identity_ids: &[Uuid],
) -> Result<Vec<Membership>> {
    tx.find::<member_row::Entity>()
        .filter(member_row::Column::IdentityId.is_in(identity_ids.iter().copied()))
        .all()
        .await?
        .into_iter()
        .map(Membership::try_from)
        .collect()
}

/// The organization with `slug`, if any.
pub(crate) async fn by_slug_in(tx: &TenantTx, slug: &str) -> Result<Option<Organization>> {
    tx.find::<org_row::Entity>()
        .filter(org_row::Column::Slug.eq(slug))
        .one()
        .await?
        .map(Organization::try_from)
        .transpose()
}

/// The organization with `slug`, created from `new` if there is none; `true` if created.
pub(crate) async fn import_organization_in(
    tx: &TenantTx,
    actor: &Actor,
    new: NewOrganization,
) -> Result<(Organization, bool)> {
    match by_slug_in(tx, &new.slug).await? {
        Some(organization) => Ok((organization, false)),
        None => Ok((create_in(tx, actor, new).await?, true)),
    }
}

/// Defines `role` unless the tenant has a role of that name; `true` if defined.
pub(crate) async fn import_role_in(
    tx: &TenantTx,
    actor: &Actor,
    role: &OrganizationRole,
) -> Result<bool> {
    if roles_in(tx)
        .await?
        .iter()
        .any(|known| known.name == role.name)
    {
        return Ok(false);
    }
    create_role_in(
        tx,
        actor,
        &role.name,
        role.description.as_deref(),
        &role.permissions,
    )
    .await?;
    Ok(true)
}

/// Makes the identity a member with `roles` for `window` unless it is one already; `true` if
/// added.
pub(crate) async fn import_membership_in(
    tx: &TenantTx,
    actor: &Actor,
    organization_id: Uuid,
    identity_id: Uuid,
    roles: &[String],
    window: Window,
) -> Result<bool> {
    if membership_in(tx, organization_id, identity_id)
        .await?
        .is_some()
    {
        return Ok(false);
    }
    add_in(tx, actor, organization_id, identity_id, roles, window).await?;
    Ok(true)
}
