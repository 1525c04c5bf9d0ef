//! Waiting records released by a change of their identity (see [`crate::crm::waiting`]):
//! claimed by one replica's dispatcher like a due pull, then applied as pulled, each in its
//! tenant's own transactions. A record whose identity is still not verified waits again.

use super::{PullContext, apply_contact};
use crate::crm::connector::{Connector, connector_row};
use crate::crm::records::RemoteRecord;
use crate::crm::waiting::{self, waiting_row};
use crate::resolution;
use chrono::{SubsecRound, Utc};
use latchkey_core::db::{Database, DueClaim};
use latchkey_core::error::{Error, Result};
use sea_orm::{ColumnTrait, QueryFilter};
use std::time::Duration;
use tracing::Instrument;

/// Released records claimed per round.
const BATCH: i64 = 50;

/// Claims released waiting records of any tenant, pushing their release forward by `lease`
/// (so another replica does not take them), and applies them. Answers whether there were any.
pub(crate) async fn run_released(
    db: &Database,
    context: &PullContext,
    lease: Duration,
) -> Result<bool> {
    let tx = db.begin_dispatcher().await?;
    let now = Utc::now().trunc_subsecs(6);
    if !tx
        .any_due::<waiting_row::Entity>(waiting_row::Column::ReadyAt, now)
        .await?
    {
        tx.commit().await?;
        return Ok(false);
    }
    let until = now + chrono::Duration::from_std(lease).map_err(Error::internal)?;
    let claimed = tx
        .claim_due::<waiting_row::Entity>(
            DueClaim {
                table: "crm_waiting_records",
                key: "tenant_id, id",
                due_column: "ready_at",
                stamp_column: None,
                condition: None,
                limit: BATCH,
            },
            now,
            until,
        )
        .all()
        .await?;
    tx.commit().await?;
    for row in &claimed {
        if let Err(error) = apply_released(db, context, row).await {
            // Its claim runs out and it is tried again.
            tracing::warn!(crm.record = %row.remote_id, %error, "a released CRM record could not be applied");
        }
    }
    Ok(!claimed.is_empty())
}

/// Applies one released record. While its tenant is suspended or its connector disabled it
/// stays released, and is looked at again when its claim runs out.
async fn apply_released(
    db: &Database,
    context: &PullContext,
    row: &waiting_row::Model,
) -> Result<()> {
    let (scope, tenant) = match resolution::resolve_id(db, row.tenant_id).await {
        Ok(found) => found,
        Err(Error::TenantSuspended) => return Ok(()),
        Err(error) => return Err(error),
    };
    let tx = db.begin_tenant(&scope).await?;
    let Some(connector_row) = tx
        .find::<connector_row::Entity>()
        .filter(connector_row::Column::Id.eq(row.connector_id))
        .one()
        .await?
    else {
        return Ok(());
    };
    let connector = Connector::try_from(&connector_row)?;
    if !connector.direction.pulls() {
        waiting::forget_in(&tx, connector.id, &row.remote_id).await?;
    }
    tx.commit().await?;
    if !connector.enabled || !connector.direction.pulls() {
        return Ok(());
    }
    let record: RemoteRecord =
        serde_json::from_value(row.record.clone()).map_err(Error::internal)?;
    let span = tracing::info_span!(
        "crm.released",
        tenant.id = %scope.tenant_id(),
        crm.connector.id = %connector.id,
    );
    let applied = apply_contact(db, &scope, &tenant.name, context, &connector, &record)
        .instrument(span)
        .await;
    match applied {
        // Applied (and no longer waiting), or waiting again.
        Ok(_) => Ok(()),
        // The record itself cannot be applied (an invalid phone, say): it waits for the CRM
        // to send it again, saying why.
        Err(Error::Validation { field, reason }) => {
            let tx = db.begin_tenant(&scope).await?;
            waiting::hold_in(
                &tx,
                row.id,
                &format!("the CRM record could not be applied: {field}: {reason}"),
            )
            .await?;
            tx.commit().await
        }
        Err(error) => Err(error),
    }
}
