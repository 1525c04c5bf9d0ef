//! Deliveries ("sync events"): the queue (`crm_deliveries`) of domain events to push to
//! connectors. Holds its rows and the [`Delivery`] the API shows, how an event is queued
//! for every push connector it triggers ([`DeliverySubscriber`], in the event's own
//! transaction), and the list and replay services. The `dispatch` loop delivers them.

use super::connector::{Connector, connector_row};
use super::records::forget_links_in;
use chrono::{DateTime, Utc};
use latchkey_core::actor::{Actor, Permission, Principal};
use latchkey_core::audit::Target;
use latchkey_core::authz::{Resource, authorize};
use latchkey_core::db::{Database, TenantTx};
use latchkey_core::error::{Error, Result};
use latchkey_core::granted;
use latchkey_core::outbox::{DomainEvent, EventSubscriber, EventType};
use latchkey_core::page::{Page, PageRequest, keyset};
use latchkey_core::scope::TenantScope;
use sea_orm::{ColumnTrait, QueryFilter, Set};
use serde_json::json;
use uuid::Uuid;

pub(crate) mod delivery_row {
    use sea_orm::entity::prelude::*;

    #[sea_orm::model]
    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "crm_deliveries")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub tenant_id: Uuid,
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub connector_id: Uuid,
        pub event_id: Uuid,
        pub event_type: String,
        pub subject_id: Uuid,
        pub status: String,
        pub attempts: i32,
        pub next_attempt_at: DateTimeUtc,
        pub last_error: Option<String>,
        pub remote_id: Option<String>,
        pub sync_run_id: Option<Uuid>,
        pub created_at: DateTimeUtc,
        pub updated_at: DateTimeUtc,
        pub delivered_at: Option<DateTimeUtc>,
    }

    impl ActiveModelBehavior for ActiveModel {}
}
latchkey_core::tenant_owned!(delivery_row);
impl latchkey_core::db::QueueTable for delivery_row::Entity {}

/// Queues the deliveries of every domain event in the event's own transaction: the server
/// registers it first among the subscribers ([`latchkey_core::connect`]).
#[derive(Debug, Default)]
pub struct DeliverySubscriber;

#[async_trait::async_trait]
impl EventSubscriber for DeliverySubscriber {
    async fn on_event(
        &self,
        tx: &TenantTx,
        actor: &Actor,
        event: &DomainEvent,
        _changed: &[&'static str],
    ) -> Result<()> {
        match EventType::parse(&event.event_type) {
            Some(event_type) => enqueue_in(tx, actor, event, event_type).await,
            None => Ok(()),
        }
    }
}

/// Queues `event` for every push connector of the tenant whose triggers include it, in the
/// event's own transaction. A disabled connector's deliveries wait until it is enabled. A
/// change a connector made from what it pulled is not pushed back to that connector (no sync
/// loops); other connectors still get it.
async fn enqueue_in(
    tx: &TenantTx,
    actor: &Actor,
    event: &DomainEvent,
    event_type: EventType,
) -> Result<()> {
    let origin = match *actor.principal() {
        Principal::Connector { id } => Some(id),
        _ => None,
    };
    let connectors = tx.find::<connector_row::Entity>().all().await?;
    let mut notified = Vec::new();
    for row in connectors {
        let connector = Connector::try_from(&row)?;
        if connector.direction.pushes()
            && connector.triggers.contains(&event_type)
            && origin != Some(connector.id)
        {
            insert_delivery_in(tx, connector.id, event, None).await?;
            notified.push(connector.id);
        }
    }
    // An erased identity keeps its CRM links only until each connector that is told has been
    // (the delivery finds the record by its link, then forgets it).
    if event.is_erasure() {
        forget_links_in(tx, event.subject_id, &notified).await?;
    }
    Ok(())
}

/// A pending delivery of `event` to a connector, due now; `sync_run_id` for a backfill's.
pub(super) async fn insert_delivery_in(
    tx: &TenantTx,
    connector_id: Uuid,
    event: &DomainEvent,
    sync_run_id: Option<Uuid>,
) -> Result<()> {
    let now = Utc::now();
    tx.insert(delivery_row::ActiveModel {
        tenant_id: Set(tx.scope().tenant_id()),
        id: Set(Uuid::now_v7()),
        connector_id: Set(connector_id),
        event_id: Set(event.id),
        event_type: Set(event.event_type.clone()),
        subject_id: Set(event.subject_id),
        status: Set(DeliveryStatus::Pending.as_str().to_owned()),
        attempts: Set(0),
        next_attempt_at: Set(now),
        last_error: Set(None),
        remote_id: Set(None),
        sync_run_id: Set(sync_run_id),
        created_at: Set(now),
        updated_at: Set(now),
        delivered_at: Set(None),
    })
    .await?;
    tx.wake_workers_on_commit();
    Ok(())
}

/// Where a delivery stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeliveryStatus {
    /// Waiting for its (next) attempt.
    Pending,
    Delivered,
    /// Gave up after the last attempt, or refused for good by the CRM; can be replayed.
    Dead,
}

impl DeliveryStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryStatus::Pending => "pending",
            DeliveryStatus::Delivered => "delivered",
            DeliveryStatus::Dead => "dead",
        }
    }

    fn parse(value: &str) -> Result<Self> {
        match value {
            "pending" => Ok(DeliveryStatus::Pending),
            "delivered" => Ok(DeliveryStatus::Delivered),
            "dead" => Ok(DeliveryStatus::Dead),
            other => Err(Error::internal(format!(
                "unknown delivery status {other:?}"
            ))),
        }
    }
}

/// One delivery of one event to one connector.
#[derive(Clone, Debug)]
pub struct Delivery {
    pub id: Uuid,
    pub connector_id: Uuid,
    pub event_id: Uuid,
    pub event_type: String,
    pub subject_id: Uuid,
    pub status: DeliveryStatus,
    pub attempts: u32,
    pub next_attempt_at: DateTime<Utc>,
    pub last_error: Option<String>,
    /// The CRM's record id, once delivered.
    pub remote_id: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub delivered_at: Option<DateTime<Utc>>,
}

impl TryFrom<delivery_row::Model> for Delivery {
    type Error = Error;

    fn try_from(row: delivery_row::Model) -> Result<Self> {
        Ok(Self {
            id: row.id,
            connector_id: row.connector_id,
            event_id: row.event_id,
            event_type: row.event_type,
            subject_id: row.subject_id,
            status: DeliveryStatus::parse(&row.status)?,
            attempts: u32::try_from(row.attempts).unwrap_or(0),
            next_attempt_at: row.next_attempt_at,
            last_error: row.last_error,
            remote_id: row.remote_id,
            created_at: row.created_at,
            updated_at: row.updated_at,
            delivered_at: row.delivered_at,
        })
    }
}

/// Filters of [`list_deliveries`].
#[derive(Clone, Debug, Default)]
pub struct DeliveryFilter {
    pub status: Option<DeliveryStatus>,
    pub connector_id: Option<Uuid>,
    /// The identity or organization (or membership) the event is about.
    pub subject_id: Option<Uuid>,
}

/// Deliveries, oldest first. Requires `ReadConnectors`.
pub async fn list_deliveries(
    db: &Database,
    scope: &TenantScope,
    actor: &Actor,
    filter: DeliveryFilter,
    page: PageRequest,
) -> Result<Page<Delivery>> {
    authorize(actor, Permission::ReadConnectors, Resource::Tenant)?;
    let tx = db.begin_tenant(scope).await?;
    let mut query = tx.find::<delivery_row::Entity>();
    if let Some(status) = filter.status {
        query = query.filter(delivery_row::Column::Status.eq(status.as_str()));
    }
    if let Some(connector_id) = filter.connector_id {
        query = query.filter(delivery_row::Column::ConnectorId.eq(connector_id));
    }
    if let Some(subject_id) = filter.subject_id {
        query = query.filter(delivery_row::Column::SubjectId.eq(subject_id));
    }
    let rows = keyset(query, delivery_row::Column::Id, page).await?;
    tx.commit().await?;
    rows.try_map(Delivery::try_from)
}

/// Queues a dead delivery again from its first attempt. Requires `ManageConnectors`.
pub async fn replay_delivery(
    db: &Database,
    scope: &TenantScope,
    actor: &Actor,
    id: Uuid,
) -> Result<Delivery> {
    let grant = authorize(actor, Permission::ManageConnectors, Resource::Tenant)?;
    let tx = db.begin_tenant(scope).await?;
    let row = tx
        .find::<delivery_row::Entity>()
        .filter(delivery_row::Column::Id.eq(id))
        .one()
        .await?
        .ok_or(Error::NotFound)?;
    if row.status != DeliveryStatus::Dead.as_str() {
        return Err(Error::Refused(format!(
            "only dead deliveries are replayed; this one is {}",
            row.status
        )));
    }
    let mut active: delivery_row::ActiveModel = row.into();
    active.status = Set(DeliveryStatus::Pending.as_str().to_owned());
    active.attempts = Set(0);
    active.next_attempt_at = Set(Utc::now());
    active.updated_at = Set(Utc::now());
    let delivery = Delivery::try_from(tx.update(active).await?)?;
    tx.wake_workers_on_commit();
    let target = id.to_string();
    granted::audit(
        &tx,
        &grant,
        "crm_delivery.replay",
        Some(Target {
            kind: "crm_delivery",
            id: &target,
        }),
        json!({ "connectorId": delivery.connector_id, "eventId": delivery.event_id }),
    )
    .await?;
    tx.commit().await?;
    Ok(delivery)
}
