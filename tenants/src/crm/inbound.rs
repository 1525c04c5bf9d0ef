//! Inbound CRM webhooks at `/t/{slug}/connectors/{id}/webhook`. A request is checked before
//! anything is read from it: HubSpot's signature v3 (`X-HubSpot-Signature-v3`, HMAC-SHA256
//! of method, URL, body and `X-HubSpot-Request-Timestamp` under the app's client secret) for
//! `HUBSPOT` connectors; for `WEBHOOK`, `SALESFORCE` and `DYNAMICS365` connectors the generic
//! form Latchkey itself sends (`Latchkey-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of
//! "<t>.<body>">`). Both refuse timestamps more than five minutes away. Each event id is
//! applied once: a CRM's retry of an event already applied changes nothing.

use super::clients::Clients;
use super::connector::{Connector, ConnectorKind, connector_row, open_credentials};
use super::pull::deleted::{RecordKind, remote_deleted};
use super::pull::{self, Applied, PullContext, RemoteRecord};
pub use super::rejection::Rejection;
pub use super::signature::{
    REPLAY_WINDOW_SECONDS, verify_hubspot_signature, verify_latchkey_signature,
};
use chrono::Utc;
use latchkey_core::crypto::MasterKey;
use latchkey_core::db::{Database, TenantTx};
use latchkey_core::error::{Error, Result, is_unique_violation};
use latchkey_core::scope::TenantScope;
use sea_orm::{ColumnTrait, QueryFilter, Set};
use serde::Deserialize;
use serde_json::{Map, Value};
use std::collections::HashSet;
use uuid::Uuid;

pub(crate) mod inbound_row {
    use sea_orm::entity::prelude::*;

    #[sea_orm::model]
    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "crm_inbound_events")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub tenant_id: Uuid,
        #[sea_orm(primary_key, auto_increment = false)]
        pub connector_id: Uuid,
        #[sea_orm(primary_key, auto_increment = false)]
        pub event_id: String,
        pub received_at: DateTimeUtc,
    }

    impl ActiveModelBehavior for ActiveModel {}
}
latchkey_core::tenant_owned!(inbound_row);

/// The largest webhook body accepted.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// An inbound webhook request as it arrived.
pub struct InboundRequest<'a> {
    pub method: &'a str,
    /// The full URL the CRM called (scheme, host, path and query), for HubSpot's signature.
    pub url: &'a str,
    /// A header's value by lower-case name.
    pub header: &'a dyn Fn(&str) -> Option<String>,
    pub body: &'a [u8],
}

/// What a webhook request did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Receipt {
    /// Records that created or changed an identity.
    pub applied: usize,
    /// Records that changed nothing (already as the CRM says).
    pub unchanged: usize,
    /// Records that changed nothing and wait for their identity's address to be verified.
    pub waiting: usize,
    /// Events applied before (a retry).
    pub duplicates: usize,
    /// Events this connector does not act on (company events, records without an email).
    pub ignored: usize,
}

/// The generic inbound event (`WEBHOOK`, `SALESFORCE`, `DYNAMICS365` connectors).
#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct Envelope {
    id: String,
    #[serde(rename = "type")]
    event_type: String,
    occurred_at: chrono::DateTime<Utc>,
    data: EnvelopeRecord,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct EnvelopeRecord {
    record_id: String,
    #[serde(default)]
    fields: Map<String, Value>,
    #[serde(default)]
    company: Option<EnvelopeCompany>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct EnvelopeCompany {
    record_id: String,
    #[serde(default)]
    fields: Map<String, Value>,
}

/// One event of a HubSpot webhook batch (HubSpot sends more members; they are not needed).
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct HubSpotEvent {
    event_id: Value,
    subscription_type: String,
    object_id: Value,
}

/// A HubSpot event or object id: a whole number.
fn hubspot_id(value: &Value) -> Option<String> {
    value.as_u64().map(|id| id.to_string())
}

/// An id of the generic form: 1 to 200 characters, trimmed.
fn id_text(value: &str) -> Option<String> {
    let value = value.trim();
    (!value.is_empty() && value.len() <= 200).then(|| value.to_owned())
}

async fn seen(tx: &TenantTx, connector_id: Uuid, event_id: &str) -> Result<bool> {
    Ok(tx
        .find::<inbound_row::Entity>()
        .filter(inbound_row::Column::ConnectorId.eq(connector_id))
        .filter(inbound_row::Column::EventId.eq(event_id))
        .one()
        .await?
        .is_some())
}

async fn already_applied(
    db: &Database,
    scope: &TenantScope,
    connector_id: Uuid,
    event_id: &str,
) -> Result<bool> {
    let tx = db.begin_tenant(scope).await?;
    let found = seen(&tx, connector_id, event_id).await?;
    tx.commit().await?;
    Ok(found)
}

async fn mark_applied(
    db: &Database,
    scope: &TenantScope,
    connector_id: Uuid,
    event_id: &str,
) -> Result<()> {
    let tx = db.begin_tenant(scope).await?;
    let inserted = tx
        .insert(inbound_row::ActiveModel {
            tenant_id: Set(tx.scope().tenant_id()),
            connector_id: Set(connector_id),
            event_id: Set(event_id.to_owned()),
            received_at: Set(Utc::now()),
        })
        .await;
    match inserted {
        Ok(_) => tx.commit().await,
        // Applied concurrently by a parallel delivery of the same event: nothing to add.
        Err(error) if is_unique_violation(&error) => Ok(()),
        Err(error) => Err(error.into()),
    }
}

/// The pieces a webhook request is handled with.
pub struct Inbound<'a> {
    pub db: &'a Database,
    pub key: &'a MasterKey,
    pub clients: &'a Clients,
    pub context: &'a PullContext,
}

/// Verifies and applies one inbound webhook request to connector `connector_id`.
#[tracing::instrument(name = "core.crm_webhook", skip_all, fields(tenant.id = %scope.tenant_id(), crm.connector.id = %connector_id))]
pub async fn receive(
    inbound: &Inbound<'_>,
    scope: &TenantScope,
    tenant_name: &str,
    connector_id: Uuid,
    request: &InboundRequest<'_>,
) -> Result<Receipt, Rejection> {
    let db = inbound.db;
    let tx = db.begin_tenant(scope).await?;
    let row = tx
        .find::<connector_row::Entity>()
        .filter(connector_row::Column::Id.eq(connector_id))
        .one()
        .await
        .map_err(Error::from)?
        .ok_or(Rejection::NotFound)?;
    tx.commit().await?;
    let connector = Connector::try_from(&row)?;
    if !connector.direction.pulls() {
        return Err(Rejection::NotFound);
    }
    let credentials = open_credentials(inbound.key, &row)?;
    let header = |name: &str| (request.header)(name);
    match connector.kind {
        ConnectorKind::HubSpot => {
            let secret = credentials["clientSecret"].as_str().ok_or_else(|| {
                Rejection::Unauthenticated(
                    "the connector has no credentials.clientSecret to check HubSpot's signature with".to_owned(),
                )
            })?;
            verify_hubspot_signature(
                header("x-hubspot-signature-v3").as_deref(),
                header("x-hubspot-request-timestamp").as_deref(),
                secret,
                request.method,
                request.url,
                request.body,
                Utc::now().timestamp_millis(),
            )?;
        }
        kind => {
            let name = if kind == ConnectorKind::Webhook {
                "secret"
            } else {
                "webhookSecret"
            };
            let secret = credentials[name].as_str().ok_or_else(|| {
                Rejection::Unauthenticated(format!(
                    "the connector has no credentials.{name} to check the signature with"
                ))
            })?;
            verify_latchkey_signature(
                header("latchkey-signature").as_deref(),
                secret,
                request.body,
                Utc::now().timestamp(),
            )?;
        }
    }
    if !connector.enabled {
        return Err(Rejection::Unavailable(
            "the connector is disabled".to_owned(),
        ));
    }
    match connector.kind {
        ConnectorKind::HubSpot => {
            hubspot_batch(
                inbound,
                scope,
                tenant_name,
                &connector,
                &credentials,
                request.body,
            )
            .await
        }
        _ => generic_event(inbound, scope, tenant_name, &connector, request.body).await,
    }
}

fn count(receipt: &mut Receipt, applied: Applied) {
    match applied {
        Applied::Created | Applied::Updated => receipt.applied += 1,
        Applied::Unchanged => receipt.unchanged += 1,
        Applied::Waiting => receipt.waiting += 1,
    }
}

async fn generic_event(
    inbound: &Inbound<'_>,
    scope: &TenantScope,
    tenant_name: &str,
    connector: &Connector,
    body: &[u8],
) -> Result<Receipt, Rejection> {
    let envelope: Envelope = serde_json::from_slice(body).map_err(|error| {
        Rejection::Malformed(format!("the body is not a Latchkey CRM event: {error}"))
    })?;
    let event_id = id_text(&envelope.id)
        .ok_or_else(|| Rejection::Malformed("id must be 1 to 200 characters".to_owned()))?;
    let record_id = id_text(&envelope.data.record_id).ok_or_else(|| {
        Rejection::Malformed("data.recordId must be 1 to 200 characters".to_owned())
    })?;
    if !matches!(
        envelope.event_type.as_str(),
        "contact.upserted" | "contact.deleted" | "company.deleted"
    ) {
        return Err(Rejection::Malformed(format!(
            "type {:?} is not one of contact.upserted, contact.deleted, company.deleted",
            envelope.event_type
        )));
    }
    let company = match envelope.data.company {
        Some(company) => Some(Box::new(RemoteRecord {
            id: id_text(&company.record_id).ok_or_else(|| {
                Rejection::Malformed("data.company.recordId must be 1 to 200 characters".to_owned())
            })?,
            fields: company.fields,
            company: None,
        })),
        None => None,
    };
    tracing::debug!(crm.event.id = %event_id, occurred_at = %envelope.occurred_at, "inbound CRM event");
    let mut receipt = Receipt::default();
    if already_applied(inbound.db, scope, connector.id, &event_id).await? {
        receipt.duplicates += 1;
        return Ok(receipt);
    }
    if envelope.event_type.ends_with(".deleted") {
        let kind = RecordKind::of_event(&envelope.event_type);
        remote_deleted(
            inbound.db,
            scope,
            inbound.context,
            connector,
            (kind, &record_id),
        )
        .await?;
        receipt.applied += 1;
    } else {
        let record = RemoteRecord {
            id: record_id,
            fields: envelope.data.fields,
            company,
        };
        let applied = pull::apply_contact(
            inbound.db,
            scope,
            tenant_name,
            inbound.context,
            connector,
            &record,
        )
        .await
        .map_err(|error| match error {
            Error::Validation { field, reason } => {
                Rejection::Malformed(format!("data.fields.{field}: {reason}"))
            }
            other => other.into(),
        })?;
        count(&mut receipt, applied);
    }
    mark_applied(inbound.db, scope, connector.id, &event_id).await?;
    Ok(receipt)
}

async fn hubspot_batch(
    inbound: &Inbound<'_>,
    scope: &TenantScope,
    tenant_name: &str,
    connector: &Connector,
    credentials: &Value,
    body: &[u8],
) -> Result<Receipt, Rejection> {
    let events: Vec<HubSpotEvent> = serde_json::from_slice(body).map_err(|error| {
        Rejection::Malformed(format!(
            "the body is not a HubSpot webhook batch (a JSON array of events): {error}"
        ))
    })?;
    if events.len() > 100 {
        return Err(Rejection::Malformed(
            "a HubSpot batch holds at most 100 events".to_owned(),
        ));
    }
    let mut checked = Vec::with_capacity(events.len());
    for (index, event) in events.iter().enumerate() {
        let (Some(event_id), Some(object_id)) =
            (hubspot_id(&event.event_id), hubspot_id(&event.object_id))
        else {
            return Err(Rejection::Malformed(format!(
                "event {index}: eventId and objectId must be numbers"
            )));
        };
        checked.push((event_id, object_id, event.subscription_type.as_str()));
    }
    let mut receipt = Receipt::default();
    // Several events of a batch often name one contact (a property change each): it is read
    // and applied once.
    let mut done: HashSet<String> = HashSet::new();
    for (event_id, object_id, subscription) in checked {
        if already_applied(inbound.db, scope, connector.id, &event_id).await? {
            receipt.duplicates += 1;
            continue;
        }
        match subscription {
            "contact.deletion" | "contact.privacyDeletion" | "company.deletion" => {
                let kind = RecordKind::of_event(subscription);
                remote_deleted(
                    inbound.db,
                    scope,
                    inbound.context,
                    connector,
                    (kind, &object_id),
                )
                .await?;
                receipt.applied += 1;
            }
            contact if contact.starts_with("contact.") => {
                if done.insert(object_id.clone()) {
                    let record = inbound
                        .clients
                        .hubspot_contact(connector, credentials, &object_id)
                        .await
                        .map_err(|failure| {
                            Rejection::Unavailable(format!(
                                "HubSpot did not answer the contact: {}",
                                failure.message
                            ))
                        })?;
                    match record {
                        None => {
                            remote_deleted(
                                inbound.db,
                                scope,
                                inbound.context,
                                connector,
                                (RecordKind::Contact, &object_id),
                            )
                            .await?;
                            receipt.ignored += 1;
                        }
                        Some(record) => {
                            match pull::apply_contact(
                                inbound.db,
                                scope,
                                tenant_name,
                                inbound.context,
                                connector,
                                &record,
                            )
                            .await
                            {
                                Ok(applied) => count(&mut receipt, applied),
                                // A contact without an email cannot be an identity; HubSpot
                                // must not retry it forever.
                                Err(Error::Validation { field, reason }) => {
                                    tracing::info!(crm.record = %object_id, field, reason, "a HubSpot contact was not applied");
                                    receipt.ignored += 1;
                                }
                                Err(error) => return Err(error.into()),
                            }
                        }
                    }
                } else {
                    receipt.unchanged += 1;
                }
            }
            _ => receipt.ignored += 1,
        }
        mark_applied(inbound.db, scope, connector.id, &event_id).await?;
    }
    Ok(receipt)
}
