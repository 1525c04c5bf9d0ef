//! Deletions end users asked for (`deleteViewerAccount`) that wait out the tenant's grace
//! period: one `account_deletions` row per account, until the worker of `data_rights` erases
//! the account when it is due, or a sign-in cancels it. The rows are a queue any replica
//! claims (`DispatchTx::claim_due`).

use crate::actor::Actor;
use crate::audit::{self, Target};
use crate::db::{Database, DueClaim, TenantTx};
use crate::error::Result;
use chrono::{DateTime, Duration, SubsecRound, Utc};
use sea_orm::{ColumnTrait, QueryFilter, Set};
use serde_json::json;
use uuid::Uuid;

mod row {
    use sea_orm::entity::prelude::*;

    #[sea_orm::model]
    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "account_deletions")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub tenant_id: Uuid,
        #[sea_orm(primary_key, auto_increment = false)]
        pub identity_id: Uuid,
        pub requested_at: DateTimeUtc,
        /// When the grace period ends.
        pub erase_at: DateTimeUtc,
        /// When a replica may take it: `erase_at`, moved on by each claim's lease.
        pub due_at: DateTimeUtc,
    }

    impl ActiveModelBehavior for ActiveModel {}
}
crate::tenant_owned!(row);
impl crate::db::QueueTable for row::Entity {}

/// How long a claimed deletion is a replica's before another may take it.
const LEASE: Duration = Duration::minutes(5);

/// A deletion waiting for its grace period to end.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PendingDeletion {
    pub requested_at: DateTime<Utc>,
    /// When the account is erased unless its owner signs in before.
    pub erase_at: DateTime<Utc>,
}

/// A claimed due deletion: the tenant and the identity to erase.
#[derive(Clone, Copy, Debug)]
pub struct DueDeletion {
    pub tenant_id: Uuid,
    pub identity_id: Uuid,
}

fn target(id: &str) -> Target<'_> {
    Target {
        kind: "identity",
        id,
    }
}

/// Schedules the erasure of `identity_id` at `erase_at` (a request made again keeps the first
/// one's date).
pub(crate) async fn schedule_in(
    tx: &TenantTx,
    actor: &Actor,
    identity_id: Uuid,
    erase_at: DateTime<Utc>,
) -> Result<PendingDeletion> {
    if let Some(pending) = pending_in(tx, identity_id).await? {
        return Ok(pending);
    }
    let now = tx.now().trunc_subsecs(6);
    let erase_at = erase_at.trunc_subsecs(6);
    tx.insert(row::ActiveModel {
        tenant_id: Set(tx.tenant_id()),
        identity_id: Set(identity_id),
        requested_at: Set(now),
        erase_at: Set(erase_at),
        due_at: Set(erase_at),
    })
    .await?;
    let id = identity_id.to_string();
    audit::record(
        tx,
        actor,
        "identity.deletion_request",
        Some(target(&id)),
        json!({ "eraseAt": erase_at }),
    )
    .await?;
    Ok(PendingDeletion {
        requested_at: now,
        erase_at,
    })
}

/// The deletion `identity_id` waits for, if any.
pub(crate) async fn pending_in(
    tx: &TenantTx,
    identity_id: Uuid,
) -> Result<Option<PendingDeletion>> {
    Ok(tx
        .find::<row::Entity>()
        .filter(row::Column::IdentityId.eq(identity_id))
        .one()
        .await?
        .map(|row| PendingDeletion {
            requested_at: row.requested_at,
            erase_at: row.erase_at,
        }))
}

/// A sign-in of `identity_id` (by `actor`, the identity itself): cancels its pending deletion
/// and audits that, if there was one.
pub(crate) async fn cancel_in(tx: &TenantTx, actor: &Actor, identity_id: Uuid) -> Result<bool> {
    let removed = forget_in(tx, identity_id).await?;
    if removed {
        let id = identity_id.to_string();
        audit::record(
            tx,
            actor,
            "identity.deletion_cancel",
            Some(target(&id)),
            json!({}),
        )
        .await?;
    }
    Ok(removed)
}

/// Removes the deletion of `identity_id` (it was erased, or cancelled); `true` if there was one.
pub(crate) async fn forget_in(tx: &TenantTx, identity_id: Uuid) -> Result<bool> {
    Ok(tx
        .delete_many::<row::Entity>()
        .filter(row::Column::IdentityId.eq(identity_id))
        .exec()
        .await?
        .rows_affected
        > 0)
}

/// Whether the claimed deletion is still due in its tenant's transaction (not cancelled by a
/// sign-in since it was claimed).
pub(crate) async fn still_due_in(tx: &TenantTx, identity_id: Uuid) -> Result<bool> {
    let now = tx.now();
    Ok(pending_in(tx, identity_id)
        .await?
        .is_some_and(|pending| pending.erase_at <= now))
}

/// Claims up to `batch` due deletions of every tenant for [`LEASE`].
pub(crate) async fn claim_due(db: &Database, batch: i64) -> Result<Vec<DueDeletion>> {
    let now = db.now().trunc_subsecs(6);
    let tx = db.begin_dispatcher().await?;
    if !tx.any_due::<row::Entity>(row::Column::DueAt, now).await? {
        tx.commit().await?;
        return Ok(Vec::new());
    }
    let rows = tx
        .claim_due::<row::Entity>(
            DueClaim {
                table: "account_deletions",
                key: "tenant_id, identity_id",
                due_column: "due_at",
                stamp_column: None,
                condition: None,
                limit: batch,
            },
            now,
            now + LEASE,
        )
        .all()
        .await?;
    tx.commit().await?;
    Ok(rows
        .into_iter()
        .map(|row| DueDeletion {
            tenant_id: row.tenant_id,
            identity_id: row.identity_id,
        })
        .collect())
}

/// Moves a claimed deletion's due time to `until` (its tenant is suspended: it waits).
pub(crate) async fn postpone(db: &Database, due: DueDeletion, until: DateTime<Utc>) -> Result<()> {
    use sea_orm::sea_query::Expr;
    let tx = db.begin_dispatcher().await?;
    tx.update_many_of::<row::Entity>(due.tenant_id)
        .col_expr(row::Column::DueAt, Expr::value(until.trunc_subsecs(6)))
        .filter(row::Column::IdentityId.eq(due.identity_id))
        .exec()
        .await?;
    tx.commit().await?;
    Ok(())
}
