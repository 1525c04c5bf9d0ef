//! Erasing an account: everything the modules hold about it, then the identity; the audit
//! log keeps a pseudonymous record and connectors get `identity.deleted`.

use crate::actor::{Actor, Permission};
use crate::authz::{Resource, authorize};
use crate::db::{Database, TenantTx};
use crate::error::Result;
use crate::identities::{self, deletion};
use crate::outbox::{self, EventType};
use crate::scope::TenantScope;
use crate::{
    audit, consents, domains, email_change, email_proof, federation, invitations, organizations,
    passkeys, passwords, recovery, scim, session_store,
};
use serde_json::json;
use uuid::Uuid;

/// Why an account is erased, as the audit log and the `identity.deleted` event say it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Reason {
    /// Its owner asked (`deleteViewerAccount`).
    OwnerRequest,
    /// An administrator erased it (`eraseIdentity`).
    Administrator,
}

impl Reason {
    fn as_str(self) -> &'static str {
        match self {
            Reason::OwnerRequest => "owner_request",
            Reason::Administrator => "administrator",
        }
    }
}

/// What an erasure leaves: the pseudonym the audit log now names the account by.
#[derive(Clone, Debug)]
pub struct ErasedIdentity {
    pub id: Uuid,
    pub pseudonym: String,
}

/// `eraseIdentity`: erases an identity at once, whatever its status (a soft-deleted one too).
/// Requires `WriteIdentities`.
#[tracing::instrument(name = "core.erase_identity", skip_all, fields(tenant.id = %scope.tenant_id()))]
pub async fn erase_identity(
    db: &Database,
    scope: &TenantScope,
    actor: &Actor,
    id: Uuid,
) -> Result<ErasedIdentity> {
    authorize(actor, Permission::WriteIdentities, Resource::Tenant)?;
    let tx = db.begin_tenant(scope).await?;
    let erased = erase_in(&tx, actor, id, Reason::Administrator).await?;
    tx.commit().await?;
    Ok(erased)
}

/// Erases `identity_id` inside `tx`. `actor` did it: an administrator, or for
/// [`Reason::OwnerRequest`] the owner (whose audit entries then name the pseudonym) or the
/// worker acting on their request.
pub(super) async fn erase_in(
    tx: &TenantTx,
    actor: &Actor,
    identity_id: Uuid,
    reason: Reason,
) -> Result<ErasedIdentity> {
    let identity = identities::find_in(tx, identity_id).await?;
    // A soft-deleted account's address may belong to a live account now: what is found by
    // address (codes, invitations, entries naming it) is then that account's and stays.
    let address = match identities::find_by_email(tx, &identity.email_normalized).await? {
        Some(live) if live.id != identity_id => None,
        _ => Some(identity.email_normalized.as_str()),
    };
    let pseudonym = format!("erased-{}", Uuid::new_v4().simple());

    session_store::erase_sessions_in(tx, identity_id).await?;
    passkeys::erase_registration_links_in(tx, identity_id).await?;
    passkeys::erase_passkeys_in(tx, identity_id).await?;
    passwords::erase_password_in(tx, identity_id).await?;
    recovery::erase_requests_in(tx, identity_id).await?;
    email_change::erase_changes_in(tx, identity_id).await?;
    consents::erase_decisions_in(tx, identity_id).await?;
    domains::erase_join_requests_in(tx, identity_id).await?;
    federation::erase_links_in(tx, identity_id).await?;
    scim::erase_provisioning_in(tx, identity_id).await?;
    let memberships = organizations::erase_memberships_in(tx, identity_id).await?;
    if let Some(address) = address {
        email_proof::erase_challenges_in(tx, address).await?;
        invitations::erase_invitations_in(tx, address).await?;
    }
    deletion::forget_in(tx, identity_id).await?;

    audit::pseudonymize_in(tx, identity_id, address.unwrap_or_default(), &pseudonym).await?;
    let mut subjects = memberships;
    subjects.push(identity_id);
    outbox::scrub_subjects_in(tx, &subjects).await?;
    identities::erase_row_in(tx, identity_id).await?;

    let by_owner = reason == Reason::OwnerRequest;
    audit::record_erasure(
        tx,
        (!by_owner).then_some(actor),
        &pseudonym,
        json!({ "reason": reason.as_str() }),
    )
    .await?;
    // Connectors find their record by its link, or by the external id; the address is not
    // kept, not even in this event.
    outbox::publish(
        tx,
        actor,
        EventType::IdentityDeleted,
        ("identity", identity_id),
        json!({
            "id": identity_id,
            "externalId": identity.external_id,
            "erased": true,
            "reason": reason.as_str(),
        }),
        &[],
    )
    .await?;
    Ok(ErasedIdentity {
        id: identity_id,
        pseudonym,
    })
}
