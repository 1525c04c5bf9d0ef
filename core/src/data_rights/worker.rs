//! The background work of each person's data, which every replica runs: erasing the accounts
//! whose grace period ended (claimed rows, so no two replicas erase the same one) and, every
//! [`RETENTION_INTERVAL`], the audit-log retention (removals, so running it twice is harmless).

use super::erasure::{Reason, erase_in};
use super::retention::prune_audit_logs;
use crate::actor::Actor;
use crate::catalogue::{self, TenantKey};
use crate::db::Database;
use crate::error::{Error, Result};
use crate::identities::deletion::{self, DueDeletion};
use chrono::{DateTime, Duration, Utc};

/// How often each replica looks for due deletions.
pub const POLL_INTERVAL: std::time::Duration = std::time::Duration::from_secs(1);

/// How often each replica applies the audit-log retention (measured by the database's clock).
const RETENTION_INTERVAL: Duration = Duration::hours(1);

/// Erases due accounts every [`POLL_INTERVAL`] and applies the retention every
/// [`RETENTION_INTERVAL`], until `stop` says so.
pub async fn run(db: Database, mut stop: tokio::sync::watch::Receiver<bool>) {
    let mut pruned_at: Option<DateTime<Utc>> = None;
    loop {
        if *stop.borrow() {
            return;
        }
        if let Err(error) = erase_due(&db, 50).await {
            tracing::warn!(%error, "due account deletions could not be processed; retrying");
        }
        if pruned_at.is_none_or(|at| db.now() - at >= RETENTION_INTERVAL) {
            match prune_audit_logs(&db).await {
                Ok(removed) => {
                    pruned_at = Some(db.now());
                    if removed > 0 {
                        tracing::info!(removed, "audit entries past their retention removed");
                    }
                }
                Err(error) => {
                    tracing::warn!(%error, "the audit-log retention could not be applied; retrying");
                }
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(POLL_INTERVAL) => {}
            _ = stop.changed() => {}
        }
    }
}

/// Claims up to `batch` due deletions of every tenant and erases their accounts; answers how
/// many were erased.
pub async fn erase_due(db: &Database, batch: i64) -> Result<usize> {
    let mut erased = 0;
    for due in deletion::claim_due(db, batch).await? {
        match erase_one(db, due).await {
            Ok(true) => erased += 1,
            Ok(false) => {}
            Err(error) => {
                tracing::warn!(identity.id = %due.identity_id, %error, "an account deletion failed; it is retried when its lease ends");
            }
        }
    }
    Ok(erased)
}

/// Erases one claimed account in its tenant's transaction; `false` when a sign-in cancelled
/// it meanwhile or its tenant is suspended (it waits).
async fn erase_one(db: &Database, due: DueDeletion) -> Result<bool> {
    let scope = match catalogue::resolve(db, TenantKey::Id(due.tenant_id)).await {
        Ok((scope, _)) => scope,
        Err(Error::TenantSuspended) => {
            deletion::postpone(db, due, db.now() + Duration::hours(1)).await?;
            return Ok(false);
        }
        Err(error) => return Err(error),
    };
    let tx = db.begin_tenant(&scope).await?;
    if !deletion::still_due_in(&tx, due.identity_id).await? {
        tx.commit().await?;
        return Ok(false);
    }
    match erase_in(
        &tx,
        &Actor::anonymous(None),
        due.identity_id,
        Reason::OwnerRequest,
    )
    .await
    {
        Ok(_) => {}
        // Erased by an administrator meanwhile: only the request is left.
        Err(Error::NotFound) => {
            deletion::forget_in(&tx, due.identity_id).await?;
        }
        Err(error) => return Err(error),
    }
    tx.commit().await?;
    Ok(true)
}
