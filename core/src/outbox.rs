//! The transactional outbox. Every change to an identity, an organization or a membership
//! writes a domain event in the change's own transaction: the event exists exactly when the
//! change does, whatever crashes afterwards. Subscribers ([`EventSubscriber`], registered on
//! the [`Database`]) react in that same transaction: the CRM connectors of the control plane
//! queue their deliveries there, so a delivery exists exactly when its event does.

use crate::actor::{Actor, Permission};
use crate::authz::{Resource, authorize};
use crate::db::{Database, TenantTx};
pub use crate::db::{DomainEvent, EventSubscriber};
use crate::error::{Error, Result};
use crate::page::{Page, PageRequest, keyset};
use crate::scope::TenantScope;
use chrono::Utc;
use sea_orm::{ColumnTrait, QueryFilter, Set};
use serde_json::Value;
use uuid::Uuid;

mod row {
    use sea_orm::entity::prelude::*;

    #[sea_orm::model]
    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "outbox_events")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub tenant_id: Uuid,
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub event_type: String,
        pub subject_type: String,
        pub subject_id: Uuid,
        pub data: Json,
        pub request_id: Option<String>,
        pub occurred_at: DateTimeUtc,
    }

    impl ActiveModelBehavior for ActiveModel {}
}
crate::tenant_owned!(row);

/// The kinds of domain events, named as connectors and webhooks see them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum EventType {
    IdentityCreated,
    IdentityUpdated,
    IdentityDeleted,
    OrganizationCreated,
    OrganizationUpdated,
    OrganizationDeleted,
    MembershipAdded,
    MembershipUpdated,
    MembershipRemoved,
    /// A membership's window started (it was `PENDING`).
    MembershipStarted,
    /// A membership's window ended.
    MembershipExpired,
    /// A role grant's window started (or it was granted without a later start).
    MembershipRoleGranted,
    /// A role grant's window ended.
    MembershipRoleExpired,
    /// An organization was given an entitlement (or its window changed).
    EntitlementGranted,
    /// An entitlement was taken from an organization.
    EntitlementRevoked,
}

impl EventType {
    pub const ALL: [EventType; 15] = [
        EventType::IdentityCreated,
        EventType::IdentityUpdated,
        EventType::IdentityDeleted,
        EventType::OrganizationCreated,
        EventType::OrganizationUpdated,
        EventType::OrganizationDeleted,
        EventType::MembershipAdded,
        EventType::MembershipUpdated,
        EventType::MembershipRemoved,
        EventType::MembershipStarted,
        EventType::MembershipExpired,
        EventType::MembershipRoleGranted,
        EventType::MembershipRoleExpired,
        EventType::EntitlementGranted,
        EventType::EntitlementRevoked,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            EventType::IdentityCreated => "identity.created",
            EventType::IdentityUpdated => "identity.updated",
            EventType::IdentityDeleted => "identity.deleted",
            EventType::OrganizationCreated => "organization.created",
            EventType::OrganizationUpdated => "organization.updated",
            EventType::OrganizationDeleted => "organization.deleted",
            EventType::MembershipAdded => "membership.added",
            EventType::MembershipUpdated => "membership.updated",
            EventType::MembershipRemoved => "membership.removed",
            EventType::MembershipStarted => "membership.started",
            EventType::MembershipExpired => "membership.expired",
            EventType::MembershipRoleGranted => "membership.role_granted",
            EventType::MembershipRoleExpired => "membership.role_expired",
            EventType::EntitlementGranted => "entitlement.granted",
            EventType::EntitlementRevoked => "entitlement.revoked",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == value)
    }
}

impl From<row::Model> for DomainEvent {
    fn from(row: row::Model) -> Self {
        Self {
            id: row.id,
            event_type: row.event_type,
            subject_type: row.subject_type,
            subject_id: row.subject_id,
            data: row.data,
            request_id: row.request_id,
            occurred_at: row.occurred_at,
        }
    }
}

/// Writes the event of a change to `subject_type` `subject_id` (`data`: the subject right
/// after it, before it for a removal; `changed`: the fields it touched, for the subscribers)
/// and tells the subscribers, in the change's transaction.
pub(crate) async fn publish(
    tx: &TenantTx,
    actor: &Actor,
    event: EventType,
    (subject_type, subject_id): (&str, Uuid),
    data: Value,
    changed: &[&'static str],
) -> Result<()> {
    let written = insert_in(tx, actor, event.as_str(), subject_type, subject_id, data).await?;
    for subscriber in tx.subscribers() {
        subscriber.on_event(tx, actor, &written, changed).await?;
    }
    Ok(())
}

/// One event of the outbox, `NotFound` if it is not in the tenant.
pub(crate) async fn find_in(tx: &TenantTx, id: Uuid) -> Result<DomainEvent> {
    tx.find::<row::Entity>()
        .filter(row::Column::Id.eq(id))
        .one()
        .await?
        .map(DomainEvent::from)
        .ok_or(Error::NotFound)
}

/// Writes one event row (`event_type` such as `identity.created`, or `identity.synced` for a
/// connector's backfill).
pub(crate) async fn insert_in(
    tx: &TenantTx,
    actor: &Actor,
    event_type: &str,
    subject_type: &str,
    subject_id: Uuid,
    data: Value,
) -> Result<DomainEvent> {
    let row = tx
        .insert(row::ActiveModel {
            tenant_id: Set(tx.tenant_id()),
            id: Set(Uuid::now_v7()),
            event_type: Set(event_type.to_owned()),
            subject_type: Set(subject_type.to_owned()),
            subject_id: Set(subject_id),
            data: Set(data),
            request_id: Set(actor.request_id().map(str::to_owned)),
            occurred_at: Set(Utc::now()),
        })
        .await?;
    Ok(DomainEvent::from(row))
}

/// Filters for [`list_events`].
#[derive(Clone, Debug, Default)]
pub struct EventFilter {
    pub event_type: Option<EventType>,
    pub subject_id: Option<Uuid>,
}

/// The tenant's domain events, oldest first. Requires `ReadAuditEvents`.
#[tracing::instrument(name = "core.list_domain_events", skip_all, fields(tenant.id = %scope.tenant_id()))]
pub async fn list_events(
    db: &Database,
    scope: &TenantScope,
    actor: &Actor,
    filter: EventFilter,
    page: PageRequest,
) -> Result<Page<DomainEvent>> {
    authorize(actor, Permission::ReadAuditEvents, Resource::Tenant)?;
    let tx = db.begin_tenant(scope).await?;
    let mut query = tx.find::<row::Entity>();
    if let Some(event_type) = filter.event_type {
        query = query.filter(row::Column::EventType.eq(event_type.as_str()));
    }
    if let Some(subject_id) = filter.subject_id {
        query = query.filter(row::Column::SubjectId.eq(subject_id));
    }
    let rows = keyset(query, row::Column::Id, page).await?;
    tx.commit().await?;
    Ok(rows.map(DomainEvent::from))
}

/// Removes the data of the events about `subject_ids` (an identity being erased, and its
/// memberships): the events stay, with their type, subject id and time.
pub(crate) async fn scrub_subjects_in(tx: &TenantTx, subject_ids: &[Uuid]) -> Result<()> {
    use sea_orm::sea_query::Expr;
    for chunk in subject_ids.chunks(500) {
        tx.update_many::<row::Entity>()
            .col_expr(
                row::Column::Data,
                Expr::value(serde_json::json!({ "erased": true })),
            )
            .filter(row::Column::SubjectId.is_in(chunk.iter().copied()))
            .exec()
            .await?;
    }
    Ok(())
}
