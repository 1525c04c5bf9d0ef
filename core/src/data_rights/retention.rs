//! The audit-log retention: each tenant's `audit_log_retention_days` (0 keeps every entry).

use crate::audit;
use crate::catalogue::{self, TenantKey};
use crate::db::Database;
use crate::error::{Error, Result};
use chrono::Duration;

/// How many entries one transaction removes.
const BATCH: u64 = 1000;

/// Removes, in every active tenant with a retention, the audit entries older than it; answers
/// how many went.
pub async fn prune_audit_logs(db: &Database) -> Result<u64> {
    let mut removed = 0;
    for tenant_id in catalogue::active_tenant_ids(db).await? {
        let (scope, tenant) = match catalogue::resolve(db, TenantKey::Id(tenant_id)).await {
            Ok(found) => found,
            // Suspended or gone since the list was read: its turn comes at the next round.
            Err(Error::TenantSuspended | Error::NotFound) => continue,
            Err(error) => return Err(error),
        };
        let days = tenant.settings.audit_log_retention_days;
        if days == 0 {
            continue;
        }
        let cutoff = db.now() - Duration::days(i64::from(days));
        loop {
            let tx = db.begin_tenant(&scope).await?;
            let pruned = audit::prune_in(&tx, cutoff, BATCH).await?;
            tx.commit().await?;
            removed += pruned;
            if pruned < BATCH {
                break;
            }
        }
    }
    Ok(removed)
}
