//! The transactional outbox. Every change to an identity, an organization or a membership
//! writes a domain event in the change's own transaction: the event exists exactly when the
//! change does, whatever crashes afterwards. Subscribers ([`EventSubscriber`], registered on
//! the [`Database`]) react in that same transaction: the CRM connectors of the control plane
//! queue their deliveries there, so a delivery exists exactly when its event does.

use crate::actor::{Actor, Permission};
use crate::authz::{Resource, authorize};
use crate::db::{Database, TenantTx};
use crate::error::{Error, Result};
use crate::identities::Identity;
use crate::organizations::{Membership, Organization};
use crate::page::{Page, PageRequest, keyset};
use crate::scope::TenantScope;
use chrono::{DateTime, Utc};
use sea_orm::{ColumnTrait, QueryFilter, Set};
use serde_json::{Value, json};
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
}

impl EventType {
    pub const ALL: [EventType; 9] = [
        EventType::IdentityCreated,
        EventType::IdentityUpdated,
        EventType::IdentityDeleted,
        EventType::OrganizationCreated,
        EventType::OrganizationUpdated,
        EventType::OrganizationDeleted,
        EventType::MembershipAdded,
        EventType::MembershipUpdated,
        EventType::MembershipRemoved,
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
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == value)
    }
}

/// One domain event as stored: `data` is the subject as it was right after the change.
#[derive(Clone, Debug)]
pub struct DomainEvent {
    pub id: Uuid,
    pub event_type: String,
    pub subject_type: String,
    pub subject_id: Uuid,
    pub data: Value,
    pub request_id: Option<String>,
    pub occurred_at: DateTime<Utc>,
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

/// Reacts to domain events inside the transaction that writes them; an error rolls the change
/// back with its event.
#[async_trait::async_trait]
pub trait EventSubscriber: Send + Sync + std::fmt::Debug {
    async fn on_event(&self, tx: &TenantTx, actor: &Actor, event: &DomainEvent) -> Result<()>;
}

/// Writes the event and tells the subscribers, in the change's transaction.
async fn emit(
    tx: &TenantTx,
    actor: &Actor,
    event: EventType,
    subject_type: &str,
    subject_id: Uuid,
    data: Value,
) -> Result<()> {
    let written = insert_in(tx, actor, event.as_str(), subject_type, subject_id, data).await?;
    for subscriber in tx.subscribers() {
        subscriber.on_event(tx, actor, &written).await?;
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

/// A membership as events and connectors see it.
pub fn membership_data(membership: &Membership) -> Value {
    json!({
        "id": membership.id,
        "organizationId": membership.organization_id,
        "identityId": membership.identity_id,
        "roles": membership.roles,
    })
}

/// An identity as events and connectors see it.
pub fn identity_data(identity: &Identity) -> Value {
    json!({
        "id": identity.id,
        "email": identity.email,
        "emailVerified": identity.email_verified,
        "phone": identity.phone,
        "displayName": identity.display_name,
        "status": identity.status.as_str(),
        "attributes": identity.attributes,
        "externalId": identity.external_id,
        "createdAt": identity.created_at,
        "updatedAt": identity.updated_at,
    })
}

/// An organization as events and connectors see it.
pub fn organization_data(organization: &Organization) -> Value {
    json!({
        "id": organization.id,
        "name": organization.name,
        "slug": organization.slug,
        "kind": organization.kind.as_str(),
        "metadata": organization.metadata,
        "externalId": organization.external_id,
        "createdAt": organization.created_at,
        "updatedAt": organization.updated_at,
    })
}

/// Records an identity change; `identity` is the identity after it.
pub(crate) async fn identity_changed(
    tx: &TenantTx,
    actor: &Actor,
    event: EventType,
    identity: &Identity,
) -> Result<()> {
    let data = identity_data(identity);
    emit(tx, actor, event, "identity", identity.id, data).await
}

/// Records an organization change; `organization` is the organization after it.
pub(crate) async fn organization_changed(
    tx: &TenantTx,
    actor: &Actor,
    event: EventType,
    organization: &Organization,
) -> Result<()> {
    let data = organization_data(organization);
    emit(tx, actor, event, "organization", organization.id, data).await
}

/// Records a membership change; `membership` is the membership after it (before, for a removal).
pub(crate) async fn membership_changed(
    tx: &TenantTx,
    actor: &Actor,
    event: EventType,
    membership: &Membership,
) -> Result<()> {
    let data = membership_data(membership);
    emit(tx, actor, event, "membership", membership.id, data).await
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
