//! The tenant's domain events: what the outbox recorded for identities, organizations and
//! memberships, in the shape webhooks and CRM connectors receive.

use super::context::request;
use super::cost::page_cost;
use super::types::{Connection, IntoGraphql, page_request, parse_id};
use async_graphql::{Context, Enum, ID, InputObject, Json, Object, SimpleObject};
use chrono::{DateTime, Utc};
use latchkey_core::outbox::{self, EventFilter, EventType};
use serde_json::Value;

/// What happened. Webhooks and connectors see the dotted form (`identity.created`).
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum DomainEventType {
    IdentityCreated,
    IdentityUpdated,
    IdentityDeleted,
    OrganizationCreated,
    OrganizationUpdated,
    OrganizationDeleted,
    MembershipAdded,
    MembershipUpdated,
    MembershipRemoved,
    /// A membership's window started (`membership.started`).
    MembershipStarted,
    /// A membership's window ended (`membership.expired`).
    MembershipExpired,
    /// A role grant took effect (`membership.role_granted`).
    MembershipRoleGranted,
    /// A role grant's window ended (`membership.role_expired`).
    MembershipRoleExpired,
    EntitlementGranted,
    EntitlementRevoked,
}

impl From<DomainEventType> for EventType {
    fn from(value: DomainEventType) -> Self {
        match value {
            DomainEventType::IdentityCreated => EventType::IdentityCreated,
            DomainEventType::IdentityUpdated => EventType::IdentityUpdated,
            DomainEventType::IdentityDeleted => EventType::IdentityDeleted,
            DomainEventType::OrganizationCreated => EventType::OrganizationCreated,
            DomainEventType::OrganizationUpdated => EventType::OrganizationUpdated,
            DomainEventType::OrganizationDeleted => EventType::OrganizationDeleted,
            DomainEventType::MembershipAdded => EventType::MembershipAdded,
            DomainEventType::MembershipUpdated => EventType::MembershipUpdated,
            DomainEventType::MembershipRemoved => EventType::MembershipRemoved,
            DomainEventType::MembershipStarted => EventType::MembershipStarted,
            DomainEventType::MembershipExpired => EventType::MembershipExpired,
            DomainEventType::MembershipRoleGranted => EventType::MembershipRoleGranted,
            DomainEventType::MembershipRoleExpired => EventType::MembershipRoleExpired,
            DomainEventType::EntitlementGranted => EventType::EntitlementGranted,
            DomainEventType::EntitlementRevoked => EventType::EntitlementRevoked,
        }
    }
}

impl From<EventType> for DomainEventType {
    fn from(value: EventType) -> Self {
        match value {
            EventType::IdentityCreated => DomainEventType::IdentityCreated,
            EventType::IdentityUpdated => DomainEventType::IdentityUpdated,
            EventType::IdentityDeleted => DomainEventType::IdentityDeleted,
            EventType::OrganizationCreated => DomainEventType::OrganizationCreated,
            EventType::OrganizationUpdated => DomainEventType::OrganizationUpdated,
            EventType::OrganizationDeleted => DomainEventType::OrganizationDeleted,
            EventType::MembershipAdded => DomainEventType::MembershipAdded,
            EventType::MembershipUpdated => DomainEventType::MembershipUpdated,
            EventType::MembershipRemoved => DomainEventType::MembershipRemoved,
            EventType::MembershipStarted => DomainEventType::MembershipStarted,
            EventType::MembershipExpired => DomainEventType::MembershipExpired,
            EventType::MembershipRoleGranted => DomainEventType::MembershipRoleGranted,
            EventType::MembershipRoleExpired => DomainEventType::MembershipRoleExpired,
            EventType::EntitlementGranted => DomainEventType::EntitlementGranted,
            EventType::EntitlementRevoked => DomainEventType::EntitlementRevoked,
        }
    }
}

/// One change to an identity, an organization or a membership, written in the change's own
/// transaction.
#[derive(SimpleObject, Clone, Debug)]
pub struct DomainEvent {
    pub id: ID,
    /// Such as `identity.created`.
    #[graphql(name = "type")]
    pub event_type: String,
    /// `identity`, `organization` or `membership`.
    pub subject_type: String,
    pub subject_id: ID,
    /// The subject right after the change (right before it, for a removal).
    pub data: Json<Value>,
    /// The `X-Request-Id` of the request that made the change.
    pub request_id: Option<String>,
    pub occurred_at: DateTime<Utc>,
}

impl From<outbox::DomainEvent> for DomainEvent {
    fn from(event: outbox::DomainEvent) -> Self {
        Self {
            id: ID(event.id.to_string()),
            event_type: event.event_type,
            subject_type: event.subject_type,
            subject_id: ID(event.subject_id.to_string()),
            data: Json(event.data),
            request_id: event.request_id,
            occurred_at: event.occurred_at,
        }
    }
}

#[derive(InputObject, Default)]
pub struct DomainEventFilter {
    #[graphql(name = "type")]
    pub event_type: Option<DomainEventType>,
    /// The identity, organization or membership the events are about.
    pub subject_id: Option<ID>,
}

#[derive(Default)]
pub struct EventQuery;

#[Object]
impl EventQuery {
    /// The domain events, oldest first. Requires the viewer role.
    #[graphql(complexity = "page_cost(first, child_complexity)")]
    async fn domain_events(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        filter: Option<DomainEventFilter>,
    ) -> async_graphql::Result<Connection<DomainEvent>> {
        let (services, req) = request(ctx);
        let page = page_request(first, after)?;
        let filter = filter.unwrap_or_default();
        let subject_id = match &filter.subject_id {
            Some(id) => Some(parse_id("subjectId", id)?),
            None => None,
        };
        let result = outbox::list_events(
            &services.db,
            &req.scope,
            &req.actor,
            EventFilter {
                event_type: filter.event_type.map(EventType::from),
                subject_id,
            },
            page,
        )
        .await
        .gql()?;
        Ok(Connection::from_page(result, |e| e.id, DomainEvent::from))
    }
}
