//! Work inside a transaction that another crate's service opened (the control plane's CRM
//! runtime), for a caller that [`authorize`](crate::authz::authorize) allowed: every function
//! here takes the [`Grant`] and checks that it covers what it does, so none of them skips
//! authorization. Core services use the crate-private functions these wrap.

pub mod transfer;

use crate::actor::Permission;
use crate::audit::{self, Target};
use crate::authz::Grant;
use crate::db::TenantTx;
use crate::error::Result;
use crate::identities::{self, Identity};
use crate::invitations::{self, Invitation};
use crate::organizations::{self, HeldEntitlement, Membership, Organization};
use crate::outbox::{self, DomainEvent};
use serde_json::Value;
use uuid::Uuid;

/// One identity (deleted ones included), `NotFound` if it is not in the tenant.
pub async fn identity(tx: &TenantTx, grant: &Grant<'_>, id: Uuid) -> Result<Identity> {
    grant.require(Permission::ReadIdentities)?;
    identities::find_in(tx, id).await
}

/// One identity (deleted ones included), locked until the transaction ends, so that what the
/// caller decides from it (a CRM record waiting for its address to be verified) cannot miss a
/// change committing meanwhile. `NotFound` if it is not in the tenant.
pub async fn identity_for_update(tx: &TenantTx, grant: &Grant<'_>, id: Uuid) -> Result<Identity> {
    grant.require(Permission::ReadIdentities)?;
    identities::lock_in(tx, id).await
}

/// The live identity with this normalised email, if any.
pub async fn identity_by_email(
    tx: &TenantTx,
    grant: &Grant<'_>,
    normalized: &str,
) -> Result<Option<Identity>> {
    grant.require(Permission::ReadIdentities)?;
    identities::find_by_email(tx, normalized).await
}

/// Up to `limit` identities that are not deleted, by id, after `after`.
pub async fn identities_after(
    tx: &TenantTx,
    grant: &Grant<'_>,
    after: Option<Uuid>,
    limit: u64,
) -> Result<Vec<Identity>> {
    grant.require(Permission::ReadIdentities)?;
    identities::page_in(tx, after, limit).await
}

/// How many identities are not deleted.
pub async fn identity_count(tx: &TenantTx, grant: &Grant<'_>) -> Result<u64> {
    grant.require(Permission::ReadIdentities)?;
    identities::count_in(tx).await
}

/// One organization, `NotFound` if it is not in the tenant.
pub async fn organization(tx: &TenantTx, grant: &Grant<'_>, id: Uuid) -> Result<Organization> {
    grant.require(Permission::ReadOrganizations)?;
    organizations::find_in(tx, id).await
}

/// The organization with this external id, if any.
pub async fn organization_by_external_id(
    tx: &TenantTx,
    grant: &Grant<'_>,
    external_id: &str,
) -> Result<Option<Organization>> {
    grant.require(Permission::ReadOrganizations)?;
    organizations::find_by_external_id(tx, external_id).await
}

/// Up to `limit` organizations by id after `after`.
pub async fn organizations_after(
    tx: &TenantTx,
    grant: &Grant<'_>,
    after: Option<Uuid>,
    limit: u64,
) -> Result<Vec<Organization>> {
    grant.require(Permission::ReadOrganizations)?;
    organizations::page_in(tx, after, limit).await
}

/// Up to `limit` memberships by id after `after`.
pub async fn memberships_after(
    tx: &TenantTx,
    grant: &Grant<'_>,
    after: Option<Uuid>,
    limit: u64,
) -> Result<Vec<Membership>> {
    grant.require(Permission::ReadOrganizations)?;
    organizations::memberships_page_in(tx, after, limit).await
}

/// How many organizations and memberships there are.
pub async fn organization_counts(tx: &TenantTx, grant: &Grant<'_>) -> Result<(u64, u64)> {
    grant.require(Permission::ReadOrganizations)?;
    organizations::count_in(tx).await
}

/// The identity's membership of the organization (whatever its window), if any.
pub async fn membership(
    tx: &TenantTx,
    grant: &Grant<'_>,
    organization_id: Uuid,
    identity_id: Uuid,
) -> Result<Option<Membership>> {
    grant.require(Permission::ReadOrganizations)?;
    organizations::membership_in(tx, organization_id, identity_id).await
}

/// The memberships of an organization, or of an identity, or both (any window).
pub async fn memberships(
    tx: &TenantTx,
    grant: &Grant<'_>,
    organization_id: Option<Uuid>,
    identity_id: Option<Uuid>,
) -> Result<Vec<Membership>> {
    grant.require(Permission::ReadOrganizations)?;
    organizations::memberships_where_in(tx, organization_id, identity_id).await
}

/// The pending invitations into an organization, or for an address, or both.
pub async fn pending_invitations(
    tx: &TenantTx,
    grant: &Grant<'_>,
    organization_id: Option<Uuid>,
    email_normalized: Option<&str>,
) -> Result<Vec<Invitation>> {
    grant.require(Permission::ReadOrganizations)?;
    invitations::pending_in(tx, organization_id, email_normalized).await
}

/// The names of the tenant's organization roles and its entitlement keys: what a mapping
/// may name.
pub async fn role_names_and_entitlement_keys(
    tx: &TenantTx,
    grant: &Grant<'_>,
) -> Result<(Vec<String>, Vec<String>)> {
    grant.require(Permission::ReadOrganizations)?;
    let roles = organizations::role_names_in(tx).await?;
    let keys = organizations::entitlements_in(tx).await?;
    Ok((roles, keys.into_iter().map(|e| e.key).collect()))
}

/// The entitlements the organization holds (any status), by key.
pub async fn organization_entitlements(
    tx: &TenantTx,
    grant: &Grant<'_>,
    organization_id: Uuid,
) -> Result<Vec<HeldEntitlement>> {
    grant.require(Permission::ReadOrganizations)?;
    organizations::entitlements_held_in(tx, organization_id).await
}

/// The entitlement keys the organization holds now, sorted.
pub async fn entitlements_in_force(
    tx: &TenantTx,
    grant: &Grant<'_>,
    organization_id: Uuid,
) -> Result<Vec<String>> {
    grant.require(Permission::ReadOrganizations)?;
    organizations::entitlements_in_force_in(tx, organization_id).await
}

/// Whether the identity has a membership of the organization (whatever its window).
pub async fn is_member(
    tx: &TenantTx,
    grant: &Grant<'_>,
    organization_id: Uuid,
    identity_id: Uuid,
) -> Result<bool> {
    grant.require(Permission::ReadOrganizations)?;
    organizations::is_member_in(tx, organization_id, identity_id).await
}

/// Whether an invitation to the organization waits for this normalised email.
pub async fn invitation_pending(
    tx: &TenantTx,
    grant: &Grant<'_>,
    organization_id: Uuid,
    email_normalized: &str,
) -> Result<bool> {
    grant.require(Permission::ReadOrganizations)?;
    invitations::pending_for(tx, organization_id, email_normalized).await
}

/// One domain event of the outbox.
pub async fn event(tx: &TenantTx, grant: &Grant<'_>, id: Uuid) -> Result<DomainEvent> {
    grant.require(Permission::ReadAuditEvents)?;
    outbox::find_in(tx, id).await
}

/// Writes a domain event that repeats a subject's current state (`identity.synced` for a
/// connector's backfill); its subscribers are not told.
pub async fn record_event(
    tx: &TenantTx,
    grant: &Grant<'_>,
    event_type: &str,
    subject_type: &str,
    subject_id: Uuid,
    data: Value,
) -> Result<DomainEvent> {
    grant.require(Permission::ManageConnectors)?;
    outbox::insert_in(
        tx,
        grant.actor(),
        event_type,
        subject_type,
        subject_id,
        data,
    )
    .await
}

/// Records what the granted caller did in the audit log.
pub async fn audit(
    tx: &TenantTx,
    grant: &Grant<'_>,
    action: &str,
    target: Option<Target<'_>>,
    data: Value,
) -> Result<()> {
    audit::record(tx, grant.actor(), action, target, data).await
}
