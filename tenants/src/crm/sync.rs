//! Backfills (`runCrmSync`, `latchkey connectors sync`): every identity that is not deleted,
//! every organization and every membership of the tenant is sent to one connector. Each gets
//! an `<subject>.synced` event and a delivery of the run, queued in batches of 500 (one
//! transaction each); the dispatcher delivers them like any other. A run's progress is the
//! count of its deliveries by status.

use super::connector::find_row;
use super::deliveries::{DeliveryStatus, delivery_row, insert_delivery_in};
use chrono::{DateTime, Utc};
use latchkey_core::actor::{Actor, Permission};
use latchkey_core::audit::Target;
use latchkey_core::authz::{Resource, authorize};
use latchkey_core::db::{Database, TenantTx};
use latchkey_core::error::{Error, Result, is_unique_violation};
use latchkey_core::granted;
use latchkey_core::scope::TenantScope;
use latchkey_core::{identities, organizations};
use sea_orm::{ColumnTrait, QueryFilter, QueryOrder, QuerySelect, Set};
use serde_json::{Value, json};
use uuid::Uuid;

mod run_row {
    use sea_orm::entity::prelude::*;

    #[sea_orm::model]
    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "crm_sync_runs")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub tenant_id: Uuid,
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub connector_id: Uuid,
        pub total: i32,
        pub queued: i32,
        pub status: String,
        pub started_at: DateTimeUtc,
        pub queued_at: Option<DateTimeUtc>,
    }

    impl ActiveModelBehavior for ActiveModel {}
}
latchkey_core::tenant_owned!(run_row);

/// Records queued per transaction.
const BATCH: u64 = 500;

/// A backfill and how far it got.
#[derive(Clone, Debug)]
pub struct SyncRun {
    pub id: Uuid,
    pub connector_id: Uuid,
    /// Identities, organizations and memberships to send.
    pub total: u64,
    /// How many have a delivery yet.
    pub queued: u64,
    /// Every record has its delivery (`queued == total`, or the run was resumed to the end).
    pub fully_queued: bool,
    pub delivered: u64,
    pub dead: u64,
    pub pending: u64,
    pub started_at: DateTime<Utc>,
    pub queued_at: Option<DateTime<Utc>>,
}

impl SyncRun {
    /// Every delivery of the run has left `PENDING`.
    pub fn finished(&self) -> bool {
        self.fully_queued && self.pending == 0
    }
}

async fn load(tx: &TenantTx, row: run_row::Model) -> Result<SyncRun> {
    let counts: Vec<(String, i64)> = tx
        .find::<delivery_row::Entity>()
        .select_only()
        .column(delivery_row::Column::Status)
        .column_as(delivery_row::Column::Id.count(), "deliveries")
        .filter(delivery_row::Column::SyncRunId.eq(row.id))
        .group_by(delivery_row::Column::Status)
        .into_tuple()
        .all()
        .await?;
    let count = |status: DeliveryStatus| {
        counts
            .iter()
            .find(|(s, _)| s == status.as_str())
            .map_or(0, |(_, n)| u64::try_from(*n).unwrap_or(0))
    };
    Ok(SyncRun {
        id: row.id,
        connector_id: row.connector_id,
        total: u64::try_from(row.total).unwrap_or(0),
        queued: u64::try_from(row.queued).unwrap_or(0),
        fully_queued: row.status == "queued",
        delivered: count(DeliveryStatus::Delivered),
        dead: count(DeliveryStatus::Dead),
        pending: count(DeliveryStatus::Pending),
        started_at: row.started_at,
        queued_at: row.queued_at,
    })
}

async fn find_run(tx: &TenantTx, id: Uuid) -> Result<run_row::Model> {
    tx.find::<run_row::Entity>()
        .filter(run_row::Column::Id.eq(id))
        .one()
        .await?
        .ok_or(Error::NotFound)
}

/// Starts a backfill of the connector: counts what is to be sent and records the run; its
/// deliveries are queued by [`queue_sync`]. Requires `ManageConnectors`.
#[tracing::instrument(name = "core.start_crm_sync", skip_all, fields(tenant.id = %scope.tenant_id()))]
pub async fn start_sync(
    db: &Database,
    scope: &TenantScope,
    actor: &Actor,
    connector_id: Uuid,
) -> Result<SyncRun> {
    let manage = authorize(actor, Permission::ManageConnectors, Resource::Tenant)?;
    let identities_read = authorize(actor, Permission::ReadIdentities, Resource::Tenant)?;
    let organizations_read = authorize(actor, Permission::ReadOrganizations, Resource::Tenant)?;
    let tx = db.begin_tenant(scope).await?;
    find_row(&tx, connector_id).await?;
    let unfinished = tx
        .find::<run_row::Entity>()
        .filter(run_row::Column::ConnectorId.eq(connector_id))
        .filter(run_row::Column::Status.eq("queuing"))
        .one()
        .await?;
    if let Some(run) = unfinished {
        // Still being queued, or stopped half-way (a restart): carry on with that one; queuing
        // skips what it already queued.
        let run = load(&tx, run).await?;
        tx.commit().await?;
        return Ok(run);
    }
    let identities = granted::identity_count(&tx, &identities_read).await?;
    let (organizations, memberships) =
        granted::organization_counts(&tx, &organizations_read).await?;
    let total = identities + organizations + memberships;
    let row = tx
        .insert(run_row::ActiveModel {
            tenant_id: Set(tx.scope().tenant_id()),
            id: Set(Uuid::now_v7()),
            connector_id: Set(connector_id),
            total: Set(i32::try_from(total).unwrap_or(i32::MAX)),
            queued: Set(0),
            status: Set("queuing".to_owned()),
            started_at: Set(Utc::now()),
            queued_at: Set(None),
        })
        .await
        .map_err(|error| {
            if is_unique_violation(&error) {
                Error::Conflict("a backfill of this connector is starting right now".into())
            } else {
                error.into()
            }
        })?;
    let target = connector_id.to_string();
    granted::audit(
        &tx,
        &manage,
        "crm_connector.sync",
        Some(Target {
            kind: "crm_connector",
            id: &target,
        }),
        json!({ "syncRunId": row.id, "total": total }),
    )
    .await?;
    let run = load(&tx, row).await?;
    tx.commit().await?;
    Ok(run)
}

/// What is queued next: the phase and the last id queued in it.
#[derive(Clone, Copy)]
enum Phase {
    Identities,
    Organizations,
    Memberships,
}

/// Queues the run's deliveries in batches of 500, identities first, then organizations, then
/// memberships, calling `progress(queued, total)` after each batch. A run interrupted half-way
/// is resumed by calling this again: records that already have a delivery of the run are
/// skipped.
pub async fn queue_sync(
    db: &Database,
    scope: &TenantScope,
    actor: &Actor,
    run_id: Uuid,
    mut progress: impl FnMut(u64, u64),
) -> Result<SyncRun> {
    let manage = authorize(actor, Permission::ManageConnectors, Resource::Tenant)?;
    let identities_read = authorize(actor, Permission::ReadIdentities, Resource::Tenant)?;
    let organizations_read = authorize(actor, Permission::ReadOrganizations, Resource::Tenant)?;
    for phase in [Phase::Identities, Phase::Organizations, Phase::Memberships] {
        let mut after = None;
        loop {
            let tx = db.begin_tenant(scope).await?;
            let run = find_run(&tx, run_id).await?;
            let records: Vec<(&str, Uuid, Value)> = match phase {
                Phase::Identities => granted::identities_after(&tx, &identities_read, after, BATCH)
                    .await?
                    .iter()
                    .map(|i| ("identity", i.id, identities::event_data(i)))
                    .collect(),
                Phase::Organizations => {
                    granted::organizations_after(&tx, &organizations_read, after, BATCH)
                        .await?
                        .iter()
                        .map(|o| ("organization", o.id, organizations::event_data(o)))
                        .collect()
                }
                Phase::Memberships => {
                    granted::memberships_after(&tx, &organizations_read, after, BATCH)
                        .await?
                        .iter()
                        .map(|m| ("membership", m.id, organizations::membership_event_data(m)))
                        .collect()
                }
            };
            let Some(last) = records.last().map(|(_, id, _)| *id) else {
                break;
            };
            let already: Vec<Uuid> = tx
                .find::<delivery_row::Entity>()
                .select_only()
                .column(delivery_row::Column::SubjectId)
                .filter(delivery_row::Column::SyncRunId.eq(run_id))
                .filter(delivery_row::Column::SubjectId.is_in(records.iter().map(|(_, id, _)| *id)))
                .into_tuple()
                .all()
                .await?;
            let mut added = 0;
            for (subject_type, subject_id, data) in records {
                if already.contains(&subject_id) {
                    continue;
                }
                let event = granted::record_event(
                    &tx,
                    &manage,
                    &format!("{subject_type}.synced"),
                    subject_type,
                    subject_id,
                    data,
                )
                .await?;
                insert_delivery_in(&tx, run.connector_id, &event, Some(run_id)).await?;
                added += 1;
            }
            let queued = run.queued + added;
            let total = run.total.max(queued);
            let mut active: run_row::ActiveModel = run.into();
            active.queued = Set(queued);
            active.total = Set(total);
            tx.update(active).await?;
            tx.commit().await?;
            progress(
                u64::try_from(queued).unwrap_or(0),
                u64::try_from(total).unwrap_or(0),
            );
            after = Some(last);
        }
    }
    let tx = db.begin_tenant(scope).await?;
    let mut active: run_row::ActiveModel = find_run(&tx, run_id).await?.into();
    active.status = Set("queued".to_owned());
    active.queued_at = Set(Some(Utc::now()));
    let row = tx.update(active).await?;
    let run = load(&tx, row).await?;
    tx.commit().await?;
    Ok(run)
}

/// One backfill with its progress. Requires `ReadConnectors`.
pub async fn get_sync_run(
    db: &Database,
    scope: &TenantScope,
    actor: &Actor,
    id: Uuid,
) -> Result<SyncRun> {
    authorize(actor, Permission::ReadConnectors, Resource::Tenant)?;
    let tx = db.begin_tenant(scope).await?;
    let row = find_run(&tx, id).await?;
    let run = load(&tx, row).await?;
    tx.commit().await?;
    Ok(run)
}

/// A connector's backfills, newest first (at most 20). Requires `ReadConnectors`.
pub async fn list_sync_runs(
    db: &Database,
    scope: &TenantScope,
    actor: &Actor,
    connector_id: Uuid,
) -> Result<Vec<SyncRun>> {
    authorize(actor, Permission::ReadConnectors, Resource::Tenant)?;
    let tx = db.begin_tenant(scope).await?;
    find_row(&tx, connector_id).await?;
    let rows = tx
        .find::<run_row::Entity>()
        .filter(run_row::Column::ConnectorId.eq(connector_id))
        .order_by_desc(run_row::Column::Id)
        .limit(20)
        .all()
        .await?;
    let mut runs = Vec::with_capacity(rows.len());
    for row in rows {
        runs.push(load(&tx, row).await?);
    }
    tx.commit().await?;
    Ok(runs)
}

/// Removes a connector's backfill records, before the connector goes.
pub(super) async fn delete_for_connector_in(tx: &TenantTx, connector_id: Uuid) -> Result<()> {
    tx.delete_many::<run_row::Entity>()
        .filter(run_row::Column::ConnectorId.eq(connector_id))
        .exec()
        .await?;
    Ok(())
}
