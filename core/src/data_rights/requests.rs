//! An owner's request to delete their account (`deleteViewerAccount`): it needs a fresh
//! sign-in; with the tenant's grace period it waits (every session ends, a notice goes to
//! the address, and signing in again cancels it), without one the account is erased at once.

use super::erasure::{Reason, erase_in};
use crate::error::{Error, Result};
use crate::identities::{self, PendingDeletion, deletion};
use crate::mail::Recipient;
use crate::notices::{Notice, send_notice};
use crate::passkeys::Ceremonies;
use crate::session_store;
use chrono::Duration;

/// How recent the caller's sign-in must be to delete their account.
pub const FRESH_SIGN_IN: Duration = Duration::minutes(10);

/// What `deleteViewerAccount` did.
#[derive(Clone, Debug)]
pub enum AccountDeletion {
    /// The account is erased at `erase_at` unless its owner signs in before.
    Scheduled(PendingDeletion),
    /// The tenant has no grace period: the account is gone.
    Erased,
}

/// `deleteViewerAccount`: the signed-in caller's account, after a sign-in within
/// [`FRESH_SIGN_IN`] (the browser session's, for an application's tokens).
#[tracing::instrument(name = "core.delete_viewer_account", skip_all, fields(tenant.id = %c.scope.tenant_id()))]
pub async fn delete_viewer_account(c: &Ceremonies<'_>) -> Result<AccountDeletion> {
    let (identity_id, session_id) = c.actor.signed_in()?;
    let now = c.clock.now();
    let tx = c.db.begin_tenant(c.scope).await?;
    let session = session_store::find_session_in(&tx, session_id)
        .await?
        .ok_or(Error::Unauthenticated)?;
    let signed_in_at = match session.parent_session_id {
        Some(parent) => session_store::find_session_in(&tx, parent)
            .await?
            .map_or(session.created_at, |browser| browser.created_at),
        None => session.created_at,
    };
    if now - signed_in_at > FRESH_SIGN_IN {
        return Err(Error::Refused(format!(
            "deleting the account needs a recent sign-in: sign in again and delete it within {} minutes",
            FRESH_SIGN_IN.num_minutes()
        )));
    }
    let grace = c.issuer.settings.account_deletion_grace_days;
    if grace == 0 {
        erase_in(&tx, c.actor, identity_id, Reason::OwnerRequest).await?;
        tx.commit().await?;
        return Ok(AccountDeletion::Erased);
    }
    let identity = identities::find_in(&tx, identity_id).await?;
    let pending = deletion::schedule_in(
        &tx,
        c.actor,
        identity_id,
        now + Duration::days(i64::from(grace)),
    )
    .await?;
    session_store::revoke_all_in(&tx, identity_id, "deletion_requested").await?;
    tx.commit().await?;
    let date = pending.erase_at.format("%Y-%m-%d").to_string();
    send_notice(
        &c.mail,
        &Recipient::identity(&identity),
        Notice::AccountDeletionScheduled {
            date: &date,
            days: (pending.erase_at - now).num_days().max(1),
        },
    )
    .await;
    Ok(AccountDeletion::Scheduled(pending))
}
