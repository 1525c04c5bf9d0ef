//! What imports and exports (the `latchkey-transfer` crate) do inside their own
//! transactions, each function checking that the grant covers it. Imports write in batches:
//! the identities a batch names are read at once, new ones inserted in one statement.

use crate::actor::Permission;
use crate::authz::Grant;
use crate::db::TenantTx;
use crate::error::Result;
use crate::federation::{self, FederatedLink};
use crate::identities::{self, Identity, ImportedIdentity};
use crate::organizations::{
    self, Membership, NewOrganization, Organization, OrganizationRole, Window,
};
use crate::passkeys::{self, PortablePasskey};
use crate::passwords;
use chrono::{DateTime, Utc};
use std::collections::HashMap;
use uuid::Uuid;

/// The identities that are not deleted whose normalized address, external id or id is among
/// the given ones (what an import matches its records to).
pub async fn matching_identities(
    tx: &TenantTx,
    grant: &Grant<'_>,
    emails_normalized: &[String],
    external_ids: &[String],
    ids: &[Uuid],
) -> Result<Vec<Identity>> {
    grant.require(Permission::WriteIdentities)?;
    identities::matching_in(tx, emails_normalized, external_ids, ids).await
}

/// Which of `ids` an identity has (deleted ones included): they cannot be created again.
pub async fn taken_identity_ids(
    tx: &TenantTx,
    grant: &Grant<'_>,
    ids: &[Uuid],
) -> Result<Vec<Uuid>> {
    grant.require(Permission::WriteIdentities)?;
    identities::taken_ids_in(tx, ids).await
}

/// Inserts the identities of `batch` in one statement (audited once per import by the caller).
pub async fn insert_identities(
    tx: &TenantTx,
    grant: &Grant<'_>,
    batch: &[ImportedIdentity],
) -> Result<()> {
    grant.require(Permission::WriteIdentities)?;
    identities::insert_many_in(tx, batch).await
}

/// Overwrites `current` with what an import says; `false` if nothing differed.
pub async fn overwrite_identity(
    tx: &TenantTx,
    grant: &Grant<'_>,
    current: &Identity,
    imported: &ImportedIdentity,
    now: DateTime<Utc>,
) -> Result<bool> {
    grant.require(Permission::WriteIdentities)?;
    identities::overwrite_in(tx, grant.actor(), current, imported, now).await
}

/// Stores imported password hashes for the identities that have no password yet.
pub async fn import_password_hashes(
    tx: &TenantTx,
    grant: &Grant<'_>,
    hashes: Vec<(Uuid, String)>,
    now: DateTime<Utc>,
) -> Result<u64> {
    grant.require(Permission::WriteIdentities)?;
    passwords::import_hashes_in(tx, hashes, now).await
}

/// The password hashes of `identity_ids` (exports that ask for them): tenant managers only.
pub async fn password_hashes(
    tx: &TenantTx,
    grant: &Grant<'_>,
    identity_ids: &[Uuid],
) -> Result<HashMap<Uuid, String>> {
    grant.require(Permission::ManageTenant)?;
    passwords::hashes_of_in(tx, identity_ids).await
}

/// Stores imported passkeys, leaving out credential ids the tenant has.
pub async fn import_passkeys(
    tx: &TenantTx,
    grant: &Grant<'_>,
    passkeys: Vec<(Uuid, PortablePasskey)>,
) -> Result<u64> {
    grant.require(Permission::WriteIdentities)?;
    passkeys::import_in(tx, passkeys).await
}

/// The active passkeys of `identity_ids`.
pub async fn passkeys_of(
    tx: &TenantTx,
    grant: &Grant<'_>,
    identity_ids: &[Uuid],
) -> Result<Vec<(Uuid, PortablePasskey)>> {
    grant.require(Permission::ReadIdentities)?;
    passkeys::portable_of_in(tx, identity_ids).await
}

/// The federated links of `identity_ids`.
pub async fn federated_links_of(
    tx: &TenantTx,
    grant: &Grant<'_>,
    identity_ids: &[Uuid],
) -> Result<Vec<FederatedLink>> {
    grant.require(Permission::ReadIdentities)?;
    federation::links_of_identities_in(tx, identity_ids).await
}

/// The memberships of `identity_ids`.
pub async fn memberships_of(
    tx: &TenantTx,
    grant: &Grant<'_>,
    identity_ids: &[Uuid],
) -> Result<Vec<Membership>> {
    grant.require(Permission::ReadOrganizations)?;
    organizations::memberships_of_in(tx, identity_ids).await
}

/// The roles the tenant defined.
pub async fn tenant_roles(tx: &TenantTx, grant: &Grant<'_>) -> Result<Vec<OrganizationRole>> {
    grant.require(Permission::ReadOrganizations)?;
    organizations::tenant_roles_in(tx).await
}

/// The organization with `slug`, if any (what an import's memberships name).
pub async fn organization_by_slug(
    tx: &TenantTx,
    grant: &Grant<'_>,
    slug: &str,
) -> Result<Option<Organization>> {
    grant.require(Permission::WriteOrganizations)?;
    organizations::by_slug_in(tx, slug).await
}

/// The organization with `new.slug`, created if there is none; `true` if created.
pub async fn import_organization(
    tx: &TenantTx,
    grant: &Grant<'_>,
    new: NewOrganization,
) -> Result<(Organization, bool)> {
    grant.require(Permission::WriteOrganizations)?;
    organizations::import_organization_in(tx, grant.actor(), new).await
}

/// Defines `role` unless the tenant has one of that name; `true` if defined.
pub async fn import_role(
    tx: &TenantTx,
    grant: &Grant<'_>,
    role: &OrganizationRole,
) -> Result<bool> {
    grant.require(Permission::WriteOrganizations)?;
    organizations::import_role_in(tx, grant.actor(), role).await
}

/// Adds the membership unless the identity is a member already; `true` if added.
pub async fn import_membership(
    tx: &TenantTx,
    grant: &Grant<'_>,
    organization_id: Uuid,
    identity_id: Uuid,
    roles: &[String],
    window: Window,
) -> Result<bool> {
    grant.require(Permission::WriteOrganizations)?;
    organizations::import_membership_in(
        tx,
        grant.actor(),
        organization_id,
        identity_id,
        roles,
        window,
    )
    .await
}
