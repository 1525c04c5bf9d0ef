//! The domain events of organizations and memberships: what the outbox gets for each change.

use super::model::*;
use crate::actor::Actor;
use crate::db::TenantTx;
use crate::error::Result;
use crate::outbox::{self, EventType};
use serde_json::Value;

pub(super) async fn publish(
    tx: &TenantTx,
    actor: &Actor,
    event: EventType,
    organization: &Organization,
) -> Result<()> {
    publish_data(tx, actor, event, organization, event_data(organization)).await
}

/// Writes an event about `organization` with `data` (its event data, with more said).
pub(super) async fn publish_data(
    tx: &TenantTx,
    actor: &Actor,
    event: EventType,
    organization: &Organization,
    data: Value,
) -> Result<()> {
    let subject = ("organization", organization.id);
    outbox::publish(tx, actor, event, subject, data, &[]).await
}

/// Writes the event of a change to `membership` (as it is after it, before it for a removal).
pub(super) async fn publish_membership(
    tx: &TenantTx,
    actor: &Actor,
    event: EventType,
    membership: &Membership,
) -> Result<()> {
    publish_membership_data(
        tx,
        actor,
        event,
        membership,
        membership_event_data(membership),
    )
    .await
}

/// Writes an event about `membership` with `data` (its event data, with more said).
pub(super) async fn publish_membership_data(
    tx: &TenantTx,
    actor: &Actor,
    event: EventType,
    membership: &Membership,
    data: Value,
) -> Result<()> {
    let subject = ("membership", membership.id);
    outbox::publish(tx, actor, event, subject, data, &[]).await
}
