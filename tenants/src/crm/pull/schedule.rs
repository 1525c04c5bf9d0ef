//! Scheduled pulls: the schedule (`crm_pulls`) of every connector that pulls from its CRM on
//! an interval, where it stands ([`PullStatus`]), and the run of a due pull: claimed by one
//! replica, read page by page from the CRM since its cursor and applied record by record.

use super::contracts::apply_contract;
use super::{Applied, PullContext, apply_contact, connector_actor};
use crate::crm::clients::Clients;
use crate::crm::connector::{Connector, ConnectorKind, connector_row, open_credentials};
use crate::crm::records::{RemoteContract, RemoteRecord};
use crate::resolution;
use chrono::{DateTime, SubsecRound, Utc};
use latchkey_core::crypto::MasterKey;
use latchkey_core::db::{Database, DueClaim, TenantTx};
use latchkey_core::error::{Error, Result};
use latchkey_core::scope::TenantScope;
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{ColumnTrait, QueryFilter, Set};
use serde_json::Value;
use std::time::Duration;
use tracing::Instrument;
use uuid::Uuid;

pub(crate) mod pull_row {
    use sea_orm::entity::prelude::*;

    #[sea_orm::model]
    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "crm_pulls")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub tenant_id: Uuid,
        #[sea_orm(primary_key, auto_increment = false)]
        pub connector_id: Uuid,
        pub pull_cursor: Option<String>,
        pub next_pull_at: DateTimeUtc,
        pub last_pull_at: Option<DateTimeUtc>,
        pub last_error: Option<String>,
        pub records: i32,
    }

    impl ActiveModelBehavior for ActiveModel {}
}
latchkey_core::tenant_owned!(pull_row);
impl latchkey_core::db::QueueTable for pull_row::Entity {}

/// The pull schedule of a connector: a row while it pulls from its CRM on a schedule.
pub(crate) async fn schedule_in(tx: &TenantTx, connector: &Connector) -> Result<()> {
    let interval = connector.settings["pullIntervalSeconds"]
        .as_u64()
        .unwrap_or(0);
    let existing = tx
        .find::<pull_row::Entity>()
        .filter(pull_row::Column::ConnectorId.eq(connector.id))
        .one()
        .await?;
    let scheduled =
        connector.direction.pulls() && connector.kind != ConnectorKind::Webhook && interval > 0;
    match (scheduled, existing) {
        (true, None) => {
            tx.insert(pull_row::ActiveModel {
                tenant_id: Set(tx.scope().tenant_id()),
                connector_id: Set(connector.id),
                pull_cursor: Set(None),
                next_pull_at: Set(Utc::now().trunc_subsecs(6)),
                last_pull_at: Set(None),
                last_error: Set(None),
                records: Set(0),
            })
            .await?;
        }
        (false, Some(_)) => delete_schedule_in(tx, connector.id).await?,
        _ => {}
    }
    Ok(())
}

pub(crate) async fn delete_schedule_in(tx: &TenantTx, connector_id: Uuid) -> Result<()> {
    tx.delete_many::<pull_row::Entity>()
        .filter(pull_row::Column::ConnectorId.eq(connector_id))
        .exec()
        .await?;
    Ok(())
}

/// Where a connector's scheduled pull stands.
#[derive(Clone, Debug)]
pub struct PullStatus {
    pub cursor: Option<String>,
    pub next_pull_at: DateTime<Utc>,
    pub last_pull_at: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
    pub records: i32,
}

pub(crate) async fn status_in(tx: &TenantTx, connector_id: Uuid) -> Result<Option<PullStatus>> {
    Ok(tx
        .find::<pull_row::Entity>()
        .filter(pull_row::Column::ConnectorId.eq(connector_id))
        .one()
        .await?
        .map(|row| PullStatus {
            cursor: row.pull_cursor,
            next_pull_at: row.next_pull_at,
            last_pull_at: row.last_pull_at,
            last_error: row.last_error,
            records: row.records,
        }))
}

/// Makes a scheduled pull due now; `false` when the connector has no scheduled pull.
pub(crate) async fn pull_now_in(tx: &TenantTx, connector_id: Uuid) -> Result<bool> {
    let moved = tx
        .update_many::<pull_row::Entity>()
        .col_expr(
            pull_row::Column::NextPullAt,
            Expr::value(Utc::now().trunc_subsecs(6)),
        )
        .filter(pull_row::Column::ConnectorId.eq(connector_id))
        .exec()
        .await?
        .rows_affected;
    Ok(moved == 1)
}

/// Pages of records one pull reads before it lets other work in (the next pull continues at
/// once from the cursor).
const PAGES_PER_PULL: usize = 10;

/// Claims one due pull of any tenant, pushing its next time forward by `lease` (so another
/// replica does not take it), and runs it. Answers whether there was one.
pub(crate) async fn run_due(
    db: &Database,
    key: &MasterKey,
    clients: &Clients,
    context: &PullContext,
    lease: Duration,
) -> Result<bool> {
    let tx = db.begin_dispatcher().await?;
    let now = Utc::now().trunc_subsecs(6);
    if !tx
        .any_due::<pull_row::Entity>(pull_row::Column::NextPullAt, now)
        .await?
    {
        tx.commit().await?;
        return Ok(false);
    }
    let until = now + chrono::Duration::from_std(lease).map_err(Error::internal)?;
    let claimed = tx
        .claim_due::<pull_row::Entity>(
            DueClaim {
                table: "crm_pulls",
                key: "tenant_id, connector_id",
                due_column: "next_pull_at",
                stamp_column: None,
                condition: None,
                limit: 1,
            },
            now,
            until,
        )
        .one()
        .await?;
    tx.commit().await?;
    let Some(claimed) = claimed else {
        return Ok(false);
    };
    let (scope, tenant) = match resolution::resolve_id(db, claimed.tenant_id).await {
        Ok(found) => found,
        // A suspended tenant pulls nothing; its claim runs out and it is looked at again.
        Err(Error::TenantSuspended) => return Ok(true),
        Err(error) => return Err(error),
    };
    let tx = db.begin_tenant(&scope).await?;
    let Some(row) = tx
        .find::<connector_row::Entity>()
        .filter(connector_row::Column::Id.eq(claimed.connector_id))
        .one()
        .await?
    else {
        return Ok(true);
    };
    tx.commit().await?;
    let connector = Connector::try_from(&row)?;
    let interval = Duration::from_secs(
        connector.settings["pullIntervalSeconds"]
            .as_u64()
            .unwrap_or(300),
    );
    if !connector.enabled {
        let idle = Pulled {
            cursor: claimed.pull_cursor.clone(),
            applied: 0,
            more: false,
            error: None,
            retry_after: None,
        };
        finish(db, &scope, &claimed, until, idle, interval).await?;
        return Ok(true);
    }
    let credentials = open_credentials(key, &row)?;
    let span = tracing::info_span!(
        "crm.pull",
        tenant.id = %scope.tenant_id(),
        crm.connector.kind = connector.kind.as_str(),
        crm.connector.id = %connector.id,
    );
    let mut held = until;
    let pulled = pull_pages(
        &Job {
            db,
            scope: &scope,
            tenant_name: &tenant.name,
            clients,
            context,
            connector: &connector,
            version: row.updated_at.timestamp_micros(),
            credentials: &credentials,
            claimed: &claimed,
            lease,
        },
        &mut held,
    )
    .instrument(span)
    .await;
    let next = match (pulled.more, pulled.retry_after) {
        (true, _) => Duration::ZERO,
        (false, Some(retry_after)) => retry_after,
        (false, None) => interval,
    };
    finish(db, &scope, &claimed, held, pulled, next).await?;
    Ok(true)
}

/// One thing a page brought.
enum Item<'a> {
    Contact(&'a RemoteRecord),
    Contract(&'a RemoteContract),
}

/// What one pull did.
struct Pulled {
    cursor: Option<String>,
    applied: i32,
    more: bool,
    error: Option<String>,
    /// Set when a dependency of ours was unavailable or a limit was reached: the pull runs
    /// again after this, not after its interval.
    retry_after: Option<Duration>,
}

/// What one pull works with.
struct Job<'a> {
    db: &'a Database,
    scope: &'a TenantScope,
    tenant_name: &'a str,
    clients: &'a Clients,
    context: &'a PullContext,
    connector: &'a Connector,
    version: i64,
    credentials: &'a Value,
    claimed: &'a pull_row::Model,
    lease: Duration,
}

/// Reads up to [`PAGES_PER_PULL`] pages of changed contacts and applies them, moving the
/// cursor page by page and renewing the claim after each page (`held` is where it stands). A
/// record that fails for another reason than its own content stops the pull with the cursor
/// before its page, so the next pull reads it again (after the wait the failure names when our
/// database was unavailable or a limit was reached, else after the interval); a record that
/// cannot be an identity (no email, say) is reported and passed over.
async fn pull_pages(job: &Job<'_>, held: &mut DateTime<Utc>) -> Pulled {
    let mut cursor = job.claimed.pull_cursor.clone();
    let mut applied = 0;
    let mut more = false;
    let mut error = None;
    let mut retry_after = None;
    'pages: for _ in 0..PAGES_PER_PULL {
        let page = match job
            .clients
            .changed_since(
                job.connector,
                job.version,
                job.credentials,
                cursor.as_deref(),
            )
            .await
        {
            Ok(page) => page,
            Err(failure) => {
                error = Some(failure.message);
                break;
            }
        };
        // The contacts first (they become identities and are invited), then the contracts
        // they are on.
        let actor = connector_actor(job.context, job.connector.id);
        let records = page.records.iter().map(Item::Contact);
        let contracts = page.contracts.iter().map(Item::Contract);
        for item in records.chain(contracts) {
            let (what, id, outcome) = match item {
                Item::Contact(record) => (
                    "record",
                    &record.id,
                    apply_contact(
                        job.db,
                        job.scope,
                        job.tenant_name,
                        job.context,
                        job.connector,
                        record,
                    )
                    .await,
                ),
                Item::Contract(contract) => (
                    "contract",
                    &contract.id,
                    apply_contract(job.db, job.scope, &actor, job.connector, contract).await,
                ),
            };
            match outcome {
                Ok(Applied::Waiting) => {}
                Ok(_) => applied += 1,
                Err(failed) => {
                    tracing::warn!(crm.record = %id, error = %failed, "a pulled CRM {what} could not be applied");
                    error = Some(format!("{what} {id}: {failed}"));
                    if !matches!(failed, Error::Validation { .. }) {
                        if let Error::Unavailable {
                            retry_after: after, ..
                        }
                        | Error::RateLimited { retry_after: after } = failed
                        {
                            retry_after = Some(after);
                        }
                        more = false;
                        break 'pages;
                    }
                }
            }
            // A slow page (a busy database, a CRM that answers slowly) keeps its claim: renewed
            // once half the lease has passed, so no other replica runs the same pull meanwhile.
            let half = chrono::Duration::from_std(job.lease / 2).unwrap_or_default();
            if Utc::now() + half >= *held && !keep_claim(job, held, &mut error).await {
                more = false;
                break 'pages;
            }
        }
        more = page.more;
        if more && page.cursor == cursor {
            // A full page that did not move the cursor: more records share one modified
            // stamp than a page holds. Reading it again would return the same page.
            error = Some(format!(
                "more than one page of records share the modified stamp {}; the pull stops here",
                cursor.as_deref().unwrap_or("(none)")
            ));
            more = false;
        }
        if page.cursor.is_some() {
            cursor = page.cursor;
        }
        if !keep_claim(job, held, &mut error).await || !more {
            break;
        }
    }
    Pulled {
        cursor,
        applied,
        more,
        error,
        retry_after,
    }
}

/// Pushes the claim of a running pull forward by its lease, if it is still this pull's.
/// Renews the claim; `false` when the pull must stop: taken over after the lease ran out (or
/// the connector is gone), or the renewal failed (said in `error`).
async fn keep_claim(job: &Job<'_>, held: &mut DateTime<Utc>, error: &mut Option<String>) -> bool {
    match renew(job, *held).await {
        Ok(Some(until)) => {
            *held = until;
            true
        }
        Ok(None) => false,
        Err(failed) => {
            *error = Some(format!("the pull's claim could not be renewed: {failed}"));
            false
        }
    }
}

async fn renew(job: &Job<'_>, held: DateTime<Utc>) -> Result<Option<DateTime<Utc>>> {
    let until = Utc::now().trunc_subsecs(6)
        + chrono::Duration::from_std(job.lease).map_err(Error::internal)?;
    let tx = job.db.begin_tenant(job.scope).await?;
    let moved = tx
        .update_many::<pull_row::Entity>()
        .col_expr(pull_row::Column::NextPullAt, Expr::value(until))
        .filter(pull_row::Column::ConnectorId.eq(job.claimed.connector_id))
        .filter(pull_row::Column::NextPullAt.eq(held))
        .exec()
        .await?
        .rows_affected;
    tx.commit().await?;
    Ok((moved == 1).then_some(until))
}

/// Records a pull's outcome and its next time, if the claim is still this pull's.
async fn finish(
    db: &Database,
    scope: &TenantScope,
    claimed: &pull_row::Model,
    held: DateTime<Utc>,
    pulled: Pulled,
    next: Duration,
) -> Result<()> {
    let Pulled {
        cursor,
        applied,
        error,
        ..
    } = pulled;
    let now = Utc::now().trunc_subsecs(6);
    let next_at = now + chrono::Duration::from_std(next).map_err(Error::internal)?;
    let tx = db.begin_tenant(scope).await?;
    tx.update_many::<pull_row::Entity>()
        .col_expr(pull_row::Column::PullCursor, Expr::value(cursor))
        .col_expr(pull_row::Column::NextPullAt, Expr::value(next_at))
        .col_expr(pull_row::Column::LastPullAt, Expr::value(Some(now)))
        .col_expr(
            pull_row::Column::LastError,
            Expr::value(error.map(|e| e.chars().take(1000).collect::<String>())),
        )
        .col_expr(
            pull_row::Column::Records,
            Expr::col(pull_row::Column::Records).add(applied),
        )
        .filter(pull_row::Column::ConnectorId.eq(claimed.connector_id))
        .filter(pull_row::Column::NextPullAt.eq(held))
        .exec()
        .await?;
    tx.commit().await
}
