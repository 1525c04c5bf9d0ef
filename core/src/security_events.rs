//! What the account page shows a person about their own account's security: passkeys added
//! and removed, recoveries, a verified address, read from the audit log.

use crate::actor::{Actor, Principal};
use crate::audit::{self, AuditEvent};
use crate::db::Database;
use crate::error::{Error, Result};
use crate::passkeys::all_passkey_ids_of;
use crate::scope::TenantScope;

/// The audit actions that are security events of an account.
pub const SECURITY_ACTIONS: [&str; 13] = [
    "passkey.register",
    "passkey.revoke",
    "identity.recover",
    "identity.recovery_request.create",
    "identity.email_verified",
    "identity.sessions.revoke",
    "password.set",
    "password.change",
    "password.reset",
    "totp.enable",
    "totp.remove",
    "identity.email_change",
    "identity.email_change_undo",
];

/// The signed-in caller's newest security events (at most `first`, up to 100), newest first.
#[tracing::instrument(name = "core.own_security_events", skip_all, fields(tenant.id = %scope.tenant_id()))]
pub async fn own_security_events(
    db: &Database,
    scope: &TenantScope,
    actor: &Actor,
    first: u64,
) -> Result<Vec<AuditEvent>> {
    let Principal::Identity { id, .. } = *actor.principal() else {
        return Err(Error::Unauthenticated);
    };
    let tx = db.begin_tenant(scope).await?;
    let passkeys = all_passkey_ids_of(&tx, id).await?;
    let events =
        audit::events_about_in(&tx, id, &passkeys, &SECURITY_ACTIONS, first.min(100)).await?;
    tx.commit().await?;
    Ok(events)
}
