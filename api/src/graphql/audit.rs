//! The tenant's audit log: one event per administrative change.

use super::context::request;
use super::cost::page_cost;
use super::types::{Connection, IntoGraphql, page_request};
use async_graphql::{Context, ID, InputObject, Json, Object, SimpleObject};
use chrono::{DateTime, Utc};
use latchkey_core::audit::{self as core_audit, AuditFilter};
use serde_json::Value;

/// One administrative change.
#[derive(SimpleObject, Clone, Debug)]
pub struct AuditEvent {
    pub id: ID,
    /// `api_key`, `platform`, …
    pub actor_type: String,
    pub actor_id: Option<String>,
    /// Such as `identity.create`.
    pub action: String,
    pub target_type: Option<String>,
    pub target_id: Option<String>,
    /// The `X-Request-Id` of the request that made the change.
    pub request_id: Option<String>,
    pub data: Json<Value>,
    pub occurred_at: DateTime<Utc>,
}

impl From<core_audit::AuditEvent> for AuditEvent {
    fn from(event: core_audit::AuditEvent) -> Self {
        Self {
            id: ID(event.id.to_string()),
            actor_type: event.actor_type,
            actor_id: event.actor_id,
            action: event.action,
            target_type: event.target_type,
            target_id: event.target_id,
            request_id: event.request_id,
            data: Json(event.data),
            occurred_at: event.occurred_at,
        }
    }
}

#[derive(InputObject, Default)]
pub struct AuditEventFilter {
    pub action: Option<String>,
    pub target_id: Option<String>,
    /// `administrator`, `api_key`, `identity`, `platform`, `crm_connector`, `scim_token`…
    pub actor_type: Option<String>,
    /// The administrator's, key's or identity's id.
    pub actor_id: Option<String>,
    /// Entries recorded at or after this time.
    pub occurred_after: Option<DateTime<Utc>>,
    /// Entries recorded before this time.
    pub occurred_before: Option<DateTime<Utc>>,
}

#[derive(Default)]
pub struct AuditQuery;

#[Object]
impl AuditQuery {
    /// The audit log, oldest first. Requires the viewer role.
    #[graphql(complexity = "page_cost(first, child_complexity)")]
    async fn audit_events(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        filter: Option<AuditEventFilter>,
    ) -> async_graphql::Result<Connection<AuditEvent>> {
        let (services, req) = request(ctx);
        let page = page_request(first, after)?;
        let filter = filter.unwrap_or_default();
        let result = core_audit::list_audit_events(
            &services.db,
            &req.scope,
            &req.actor,
            AuditFilter {
                action: filter.action,
                target_id: filter.target_id,
                actor_type: filter.actor_type,
                actor_id: filter.actor_id,
                occurred_after: filter.occurred_after,
                occurred_before: filter.occurred_before,
            },
            page,
        )
        .await
        .gql()?;
        Ok(Connection::from_page(result, |e| e.id, AuditEvent::from))
    }
}
