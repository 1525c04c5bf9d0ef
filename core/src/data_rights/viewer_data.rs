//! `exportViewerData`: everything Latchkey holds about the signed-in caller, as one JSON
//! document. Secrets are never in it (token, code and password hashes, the second factor's
//! secret, stored credentials): it says that they exist. The CRM links are added by the
//! control plane, which owns them.

use crate::audit::{self, Target};
use crate::db::Database;
use crate::error::Result;
use crate::identities::{self, deletion};
use crate::scope::TenantScope;
use crate::{
    Actor, consents, domains, email_change, email_proof, federation, invitations, organizations,
    passkeys, passwords, recovery, scim, session_store,
};
use serde_json::{Value, json};

/// The caller's data (an end user signed in; anyone else is `Unauthenticated`). The export is
/// audited.
#[tracing::instrument(name = "core.export_viewer_data", skip_all, fields(tenant.id = %scope.tenant_id()))]
pub async fn export_viewer_data(
    db: &Database,
    scope: &TenantScope,
    actor: &Actor,
) -> Result<Value> {
    let (id, _) = actor.signed_in()?;
    let tx = db.begin_tenant(scope).await?;
    let identity = identities::find_in(&tx, id).await?;
    let address = &identity.email_normalized;
    let audit_entries: Vec<Value> = audit::entries_about_in(&tx, id)
        .await?
        .into_iter()
        .map(|entry| {
            json!({
                "id": entry.id,
                "action": entry.action,
                "actorType": entry.actor_type,
                "actorId": entry.actor_id,
                "targetType": entry.target_type,
                "targetId": entry.target_id,
                "data": entry.data,
                "occurredAt": entry.occurred_at,
            })
        })
        .collect();
    let federated_links: Vec<Value> = federation::links_of_identity_in(&tx, id)
        .await?
        .into_iter()
        .map(|link| {
            json!({
                "providerId": link.provider_id,
                "subject": link.subject,
                "email": link.email,
                "createdAt": link.created_at,
                "lastSignInAt": link.last_sign_in_at,
            })
        })
        .collect();
    let mut identity_data = identities::event_data(&identity);
    identity_data["lastSignInAt"] = json!(identity.last_sign_in_at);
    let data = json!({
        "exportedAt": db.now(),
        "tenant": scope.slug(),
        "identity": identity_data,
        "pendingDeletion": deletion::pending_in(&tx, id).await?.map(|pending| json!({
            "requestedAt": pending.requested_at,
            "eraseAt": pending.erase_at,
        })),
        "passkeys": passkeys::passkeys_data_in(&tx, id).await?,
        "password": passwords::password_data_in(&tx, id).await?,
        "sessions": session_store::sessions_data_in(&tx, id).await?,
        "memberships": organizations::memberships_data_in(&tx, id).await?,
        "invitations": invitations::invitations_data_in(&tx, address).await?,
        "joinRequests": domains::join_requests_data_in(&tx, id).await?,
        "consentDecisions": consents::decisions_data_in(&tx, id).await?,
        "federatedLinks": federated_links,
        "directoryProvisioning": scim::provisioning_data_in(&tx, id).await?,
        "emailChanges": email_change::changes_data_in(&tx, id).await?,
        "emailVerifications": email_proof::challenges_data_in(&tx, address).await?,
        "recoveryRequests": recovery::requests_data_in(&tx, id).await?,
        "auditEntries": audit_entries,
    });
    let target = id.to_string();
    audit::record(
        &tx,
        actor,
        "identity.data_export",
        Some(Target {
            kind: "identity",
            id: &target,
        }),
        json!({}),
    )
    .await?;
    tx.commit().await?;
    Ok(data)
}
