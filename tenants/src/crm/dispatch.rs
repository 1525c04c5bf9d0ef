//! The outbox dispatcher: one loop per server replica. Each round claims a batch of due
//! deliveries of every tenant in one statement (`FOR UPDATE SKIP LOCKED` on PostgreSQL, so
//! replicas share the work without taking the same row), pushes their claim forward by a
//! lease, and delivers them one by one. A replica that dies mid-batch loses nothing: its
//! claims fall due again when the lease runs out, and the CRM calls are idempotent (upserts
//! by key, the event id as `Idempotency-Key`), so a repeat is harmless.

use super::clients::{Clients, Failure, Push};
use super::connector::{ConnectorKind, connector_row, open_credentials};
use super::deliveries::{DeliveryStatus, delivery_row};
use super::pull::{self, PullContext};
use super::records::{forget_record, remember_record, remote_record};
use crate::resolution;
use chrono::{DateTime, SubsecRound, Utc};
use futures::StreamExt;
use latchkey_core::actor::{Actor, Permission};
use latchkey_core::authz::{Resource, authorize};
use latchkey_core::crypto::MasterKey;
use latchkey_core::db::{Database, DueClaim, TenantTx};
use latchkey_core::error::{Error, Result};
use latchkey_core::granted;
use latchkey_core::outbox::DomainEvent;
use latchkey_core::{identities, organizations};
use rand::Rng;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, DbBackend, QueryFilter};
use serde_json::Value;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::watch;
use tracing::Instrument;
use uuid::Uuid;

/// How the dispatcher paces itself.
#[derive(Clone, Debug)]
pub struct DispatchSettings {
    /// Between rounds that found nothing to do.
    pub poll_interval: Duration,
    /// Attempts before a delivery is dead-lettered.
    pub max_attempts: u32,
    /// The first retry's delay; each further retry doubles it (with ±20 % jitter), up to an hour.
    pub retry_base: Duration,
    /// How long a claimed delivery stays with the replica that claimed it.
    pub lease: Duration,
    /// Deliveries claimed per round.
    pub batch: u64,
    /// Deliveries of a round in flight at once (those of one connector and subject always go
    /// one after the other, in order).
    pub concurrency: usize,
}

impl Default for DispatchSettings {
    fn default() -> Self {
        Self {
            poll_interval: Duration::from_secs(1),
            max_attempts: 10,
            retry_base: Duration::from_secs(2),
            lease: Duration::from_secs(120),
            batch: 50,
            concurrency: 8,
        }
    }
}

/// What a push did: a CRM record (its id when the CRM answered one), or nothing at all.
enum Pushed {
    Record(Option<String>),
    Skipped,
}

/// Told about every attempt: the connector kind, `delivered` / `retry` / `dead`, and how long
/// the CRM call took.
pub trait DeliveryObserver: Send + Sync {
    fn attempted(&self, kind: &str, outcome: &str, took: Duration);
}

pub struct Dispatcher {
    db: Database,
    key: Arc<MasterKey>,
    clients: Arc<Clients>,
    settings: DispatchSettings,
    observer: Arc<dyn DeliveryObserver>,
    /// Set when this dispatcher also runs the connectors' scheduled pulls.
    pulls: Option<PullContext>,
}

impl Dispatcher {
    pub fn new(
        db: Database,
        key: Arc<MasterKey>,
        clients: Arc<Clients>,
        settings: DispatchSettings,
        observer: Arc<dyn DeliveryObserver>,
    ) -> Self {
        Self {
            db,
            key,
            clients,
            settings,
            observer,
            pulls: None,
        }
    }

    /// Also runs the connectors' scheduled pulls (one due pull per round, of any tenant) and
    /// applies the waiting CRM records their identities' changes released.
    pub fn with_pulls(mut self, context: PullContext) -> Self {
        self.pulls = Some(context);
        self
    }

    /// Runs rounds until `stop` turns true; the delivery in hand is finished first, the rest of
    /// a claimed batch falls due again for any replica after the lease.
    pub async fn run(self, mut stop: watch::Receiver<bool>) {
        while !*stop.borrow() {
            let mut worked = match self.round(&stop).await {
                Ok(count) => count > 0,
                Err(error) => {
                    tracing::warn!(%error, "outbox dispatch round failed");
                    false
                }
            };
            let stopping = *stop.borrow();
            if let (Some(context), false) = (&self.pulls, stopping) {
                match pull::schedule::run_due(
                    &self.db,
                    &self.key,
                    &self.clients,
                    context,
                    self.settings.lease,
                )
                .await
                {
                    Ok(pulled) => worked |= pulled,
                    Err(error) => tracing::warn!(%error, "a scheduled CRM pull failed"),
                }
                match pull::released::run_released(&self.db, context, self.settings.lease).await {
                    Ok(applied) => worked |= applied,
                    Err(error) => {
                        tracing::warn!(%error, "released CRM records could not be claimed")
                    }
                }
            }
            if !worked {
                // Until the next poll, or at once when a change of this process queued
                // deliveries (other replicas' changes are found by the poll).
                tokio::select! {
                    _ = tokio::time::sleep(self.settings.poll_interval) => {}
                    _ = self.db.work_queued() => {}
                    _ = stop.changed() => {}
                }
            }
        }
    }

    /// Claims and delivers one batch; answers how many deliveries it claimed. The deliveries of
    /// one connector and subject form a lane and go in order; lanes run side by side, up to
    /// `concurrency` at once.
    pub async fn round(&self, stop: &watch::Receiver<bool>) -> Result<usize> {
        let claimed = self.claim().await?;
        let count = claimed.len();
        let mut lanes: Vec<Vec<delivery_row::Model>> = Vec::new();
        let mut lane_of: HashMap<(Uuid, Uuid), usize> = HashMap::new();
        for row in claimed {
            let key = (row.connector_id, row.subject_id);
            match lane_of.get(&key) {
                Some(&lane) => lanes[lane].push(row),
                None => {
                    lane_of.insert(key, lanes.len());
                    lanes.push(vec![row]);
                }
            }
        }
        // Membership deliveries need their identity's and organization's CRM records: they go
        // after the round's other lanes.
        let (memberships, subjects): (Vec<_>, Vec<_>) = lanes
            .into_iter()
            .partition(|lane| lane[0].event_type.starts_with("membership."));
        for phase in [subjects, memberships] {
            self.deliver_lanes(phase, stop).await;
        }
        Ok(count)
    }

    /// Delivers `lanes` side by side, each in order.
    async fn deliver_lanes(
        &self,
        lanes: Vec<Vec<delivery_row::Model>>,
        stop: &watch::Receiver<bool>,
    ) {
        futures::stream::iter(lanes)
            .for_each_concurrent(self.settings.concurrency.max(1), |lane| async move {
                for row in lane {
                    if *stop.borrow() {
                        // Stopping: what is left of the batch goes back to the queue at once,
                        // for the other replicas (or the next start).
                        let now = Utc::now().trunc_subsecs(6);
                        if let Err(error) = self.move_claim(&row, row.next_attempt_at, now).await {
                            tracing::warn!(delivery.id = %row.id, %error, "a claimed delivery could not be released; it falls due when its lease ends");
                        }
                        continue;
                    }
                    let id = row.id;
                    if let Err(error) = self.deliver(row).await {
                        tracing::warn!(delivery.id = %id, %error, "delivery could not be processed");
                    }
                }
            })
            .await;
    }

    async fn claim(&self) -> Result<Vec<delivery_row::Model>> {
        let tx = self.db.begin_dispatcher().await?;
        let backend = tx.backend();
        let now = Utc::now();
        // SQLite has one writer at a time: an idle round only reads, so that it does not take
        // the write lock from a command (`latchkey connectors sync`) sharing the file.
        if backend == DbBackend::Sqlite {
            let due = tx
                .find::<delivery_row::Entity>()
                .filter(delivery_row::Column::Status.eq(DeliveryStatus::Pending.as_str()))
                .filter(delivery_row::Column::NextAttemptAt.lte(now))
                .count()
                .await?;
            if due == 0 {
                tx.commit().await?;
                return Ok(Vec::new());
            }
        }
        let until = self.lease_end()?;
        let rows = tx
            .claim_due::<delivery_row::Entity>(
                DueClaim {
                    table: "crm_deliveries",
                    key: "tenant_id, id",
                    due_column: "next_attempt_at",
                    stamp_column: Some("updated_at"),
                    condition: Some("status = 'pending'"),
                    limit: i64::try_from(self.settings.batch).unwrap_or(50),
                },
                now,
                until,
            )
            .all()
            .await?;
        tx.commit().await?;
        let mut rows = rows;
        rows.sort_by_key(|row| row.id);
        Ok(rows)
    }

    /// Moves a claimed delivery's next attempt to `until`, if it is still this dispatcher's
    /// (its next attempt is still `held`, as claimed or last renewed); answers whether it was.
    async fn move_claim(
        &self,
        row: &delivery_row::Model,
        held: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<bool> {
        let tx = self.db.begin_dispatcher().await?;
        let moved = tx
            .update_many_of::<delivery_row::Entity>(row.tenant_id)
            .col_expr(delivery_row::Column::NextAttemptAt, Expr::value(until))
            .filter(delivery_row::Column::Id.eq(row.id))
            .filter(delivery_row::Column::Status.eq(DeliveryStatus::Pending.as_str()))
            .filter(delivery_row::Column::NextAttemptAt.eq(held))
            .exec()
            .await?
            .rows_affected;
        tx.commit().await?;
        Ok(moved == 1)
    }

    fn lease_end(&self) -> Result<DateTime<Utc>> {
        let lease = chrono::Duration::from_std(self.settings.lease).map_err(Error::internal)?;
        Ok((Utc::now() + lease).trunc_subsecs(6))
    }

    async fn deliver(&self, row: delivery_row::Model) -> Result<()> {
        // A fresh lease for this delivery alone; if the claim ran out meanwhile and another
        // dispatcher took the row, it is theirs now.
        let held = self.lease_end()?;
        if !self.move_claim(&row, row.next_attempt_at, held).await? {
            return Ok(());
        }
        let parked = (Utc::now() + chrono::Duration::hours(1)).trunc_subsecs(6);
        let scope = match resolution::resolve_id(&self.db, row.tenant_id).await {
            Ok((scope, _)) => scope,
            // A suspended tenant's deliveries wait (without using attempts); looked at hourly.
            Err(Error::TenantSuspended) => {
                self.move_claim(&row, held, parked).await?;
                return Ok(());
            }
            Err(error) => return Err(error),
        };
        let tx = self.db.begin_tenant(&scope).await?;
        let Some(connector) = tx
            .find::<connector_row::Entity>()
            .filter(connector_row::Column::Id.eq(row.connector_id))
            .one()
            .await?
        else {
            return Ok(());
        };
        if !connector.enabled {
            // Kept for when the connector is enabled again (which makes them due at once).
            tx.commit().await?;
            self.move_claim(&row, held, parked).await?;
            return Ok(());
        }
        let actor = Actor::connector(&self.key, connector.id, None);
        let read_events = authorize(&actor, Permission::ReadAuditEvents, Resource::Tenant)?;
        let event = match granted::event(&tx, &read_events, row.event_id).await {
            Err(Error::NotFound) => return Err(Error::internal("a delivery of a missing event")),
            found => found?,
        };
        let data = current_state(&tx, &actor, &event).await?;
        let remote_id = remote_record(&tx, row.connector_id, event.subject_id).await?;
        let member_records = if event.subject_type == "membership" {
            let id_of = |name: &str| {
                event.data[name]
                    .as_str()
                    .and_then(|id| Uuid::parse_str(id).ok())
            };
            (
                match id_of("identityId") {
                    Some(id) => remote_record(&tx, row.connector_id, id).await?,
                    None => None,
                },
                match id_of("organizationId") {
                    Some(id) => remote_record(&tx, row.connector_id, id).await?,
                    None => None,
                },
            )
        } else {
            (None, None)
        };
        tx.commit().await?;

        let kind = ConnectorKind::parse(&connector.kind)?;
        let span = tracing::info_span!(
            "crm.deliver",
            tenant.id = %scope.tenant_id(),
            crm.connector.kind = kind.as_str(),
            crm.event.type = %event.event_type,
            crm.delivery.id = %row.id,
            crm.outcome = tracing::field::Empty,
        );
        let started = Instant::now();
        let result = match &data {
            // The subject was deleted after this event: its data must not go out again.
            None => Ok(Pushed::Skipped),
            Some(data) => {
                let credentials = open_credentials(&self.key, &connector)?;
                let push = Push {
                    connector_id: connector.id,
                    version: connector.updated_at.timestamp_micros(),
                    tenant: scope.slug(),
                    event: &event,
                    data,
                    settings: &connector.settings,
                    credentials: &credentials,
                    mapping: &connector.field_mapping,
                    remote_id: remote_id.as_deref(),
                    member_records,
                };
                self.clients
                    .push(kind, &push)
                    .instrument(span.clone())
                    .await
                    .map(Pushed::Record)
            }
        };
        let took = started.elapsed();

        let tx = self.db.begin_tenant(&scope).await?;
        let attempts = row.attempts + 1;
        let now = Utc::now();
        let mut update = tx
            .update_many::<delivery_row::Entity>()
            .col_expr(delivery_row::Column::Attempts, Expr::value(attempts))
            .col_expr(delivery_row::Column::UpdatedAt, Expr::value(now));
        let outcome = match result {
            Ok(pushed) => {
                let (remote, note) = match pushed {
                    Pushed::Record(remote) => (remote, None),
                    Pushed::Skipped => (
                        None,
                        Some("skipped: the subject was deleted before this delivery went out"),
                    ),
                };
                if event.is_erasure() {
                    // Told of the erasure: the link was the last thing kept for it.
                    forget_record(&tx, connector.id, row.subject_id).await?;
                } else if let Some(remote) = &remote {
                    remember_record(&tx, connector.id, row.subject_id, remote, false).await?;
                }
                update = update
                    .col_expr(
                        delivery_row::Column::Status,
                        Expr::value(DeliveryStatus::Delivered.as_str()),
                    )
                    .col_expr(delivery_row::Column::DeliveredAt, Expr::value(Some(now)))
                    .col_expr(delivery_row::Column::LastError, Expr::value(note))
                    .col_expr(delivery_row::Column::RemoteId, Expr::value(remote));
                "delivered"
            }
            Err(Failure {
                message,
                retry_after,
                permanent,
            }) => {
                let message: String = message.chars().take(1000).collect();
                update =
                    update.col_expr(delivery_row::Column::LastError, Expr::value(Some(message)));
                if permanent
                    || u32::try_from(attempts).unwrap_or(u32::MAX) >= self.settings.max_attempts
                {
                    update = update.col_expr(
                        delivery_row::Column::Status,
                        Expr::value(DeliveryStatus::Dead.as_str()),
                    );
                    "dead"
                } else {
                    let wait = retry_after
                        .map(|after| after.min(Duration::from_secs(3600)))
                        .unwrap_or_else(|| self.backoff(attempts));
                    let next = now + chrono::Duration::from_std(wait).map_err(Error::internal)?;
                    update =
                        update.col_expr(delivery_row::Column::NextAttemptAt, Expr::value(next));
                    "retry"
                }
            }
        };
        // Only while the lease is still this dispatcher's: a delivery that outlived it was
        // taken over, and the other dispatcher records the outcome.
        let settled = update
            .filter(delivery_row::Column::Id.eq(row.id))
            .filter(delivery_row::Column::Status.eq(DeliveryStatus::Pending.as_str()))
            .filter(delivery_row::Column::NextAttemptAt.eq(held))
            .exec()
            .await?
            .rows_affected;
        tx.commit().await?;
        if settled == 0 {
            tracing::warn!(delivery.id = %row.id, "a delivery outlived its lease; another dispatcher took it over");
        }
        span.record("crm.outcome", outcome);
        self.observer.attempted(kind.as_str(), outcome, took);
        Ok(())
    }

    /// `retry_base × 2^(attempts − 1)`, at most an hour, ±20 % so retries of many deliveries
    /// spread out.
    fn backoff(&self, attempts: i32) -> Duration {
        let exponent = u32::try_from(attempts.saturating_sub(1))
            .unwrap_or(0)
            .min(20);
        let delay = self
            .settings
            .retry_base
            .saturating_mul(2u32.saturating_pow(exponent))
            .min(Duration::from_secs(3600));
        delay.mul_f64(rand::rng().random_range(0.8..1.2))
    }
}

/// How many deliveries wait, in every tenant (for the queue depth metric).
pub async fn queue_depth(db: &Database) -> Result<u64> {
    let tx = db.begin_dispatcher().await?;
    let count = tx
        .find::<delivery_row::Entity>()
        .filter(delivery_row::Column::Status.eq(DeliveryStatus::Pending.as_str()))
        .count()
        .await?;
    tx.commit().await?;
    Ok(count)
}

/// What to send for `event`: the subject as it is now when it still exists (so a delivery
/// retried after a newer one cannot put older data back), the event's own snapshot for
/// deletions and memberships, and nothing when an identity or organization was deleted since
/// (its data must not be sent again).
async fn current_state(tx: &TenantTx, actor: &Actor, event: &DomainEvent) -> Result<Option<Value>> {
    // An earlier event of an identity erased since: its data is gone, and nothing goes out.
    if event.data.get("id").is_none() && event.data["erased"] == Value::Bool(true) {
        return Ok(None);
    }
    let deletion = event.event_type.ends_with(".deleted") || event.event_type.ends_with(".removed");
    if deletion {
        return Ok(Some(event.data.clone()));
    }
    Ok(match event.subject_type.as_str() {
        "identity" => {
            let read = authorize(actor, Permission::ReadIdentities, Resource::Tenant)?;
            match granted::identity(tx, &read, event.subject_id).await {
                Ok(identity) if identity.deleted_at.is_none() => {
                    Some(identities::event_data(&identity))
                }
                Ok(_) | Err(Error::NotFound) => None,
                Err(error) => return Err(error),
            }
        }
        "organization" => {
            let read = authorize(actor, Permission::ReadOrganizations, Resource::Tenant)?;
            match granted::organization(tx, &read, event.subject_id).await {
                Ok(organization) => {
                    // With the entitlement keys it holds now, for a mapping that pushes them.
                    let keys = granted::entitlements_in_force(tx, &read, organization.id).await?;
                    let mut data = organizations::event_data(&organization);
                    data["entitlements"] = Value::from(organizations::entitlement_list(&keys));
                    Some(data)
                }
                Err(Error::NotFound) => None,
                Err(error) => return Err(error),
            }
        }
        _ => Some(event.data.clone()),
    })
}
