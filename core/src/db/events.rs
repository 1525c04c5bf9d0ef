//! Domain events as a transaction publishes them, and who reacts to them inside it. The
//! outbox writes the events; subscribers (the core's own reactions, the control plane's CRM
//! deliveries) are registered on the [`Database`](super::Database) and run in the
//! transaction of the change, so their work commits or rolls back with it.

use super::TenantTx;
use crate::actor::Actor;
use crate::error::Result;
use chrono::{DateTime, Utc};
use serde_json::Value;
use uuid::Uuid;

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

impl DomainEvent {
    /// Whether this is the `identity.deleted` of an erasure (`eraseIdentity`, or a deletion its
    /// owner asked for): nothing about the identity may be kept after it.
    pub fn is_erasure(&self) -> bool {
        self.event_type == "identity.deleted" && self.data["erased"] == Value::Bool(true)
    }
}

/// Reacts to domain events inside the transaction that writes them; an error rolls the change
/// back with its event. `changed` names the fields the change touched (empty where the event
/// type says it all).
#[async_trait::async_trait]
pub trait EventSubscriber: Send + Sync + std::fmt::Debug {
    async fn on_event(
        &self,
        tx: &TenantTx,
        actor: &Actor,
        event: &DomainEvent,
        changed: &[&'static str],
    ) -> Result<()>;
}
