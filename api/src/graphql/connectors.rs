//! CRM connectors and their deliveries: `createCrmConnector`, `updateCrmConnector`,
//! `deleteCrmConnector`, `enableCrmConnector`, `disableCrmConnector`, `testCrmConnector`,
//! `crmConnectors`, `crmConnector`, `crmSyncEvents`, `replayCrmSyncEvent`, `pullCrmConnector`,
//! `crmWaitingRecords`.
//! Inbound CRM webhooks are plain HTTP (`crate::http::inbound`).

use super::context::request;
use super::cost::page_cost;
use super::events::DomainEventType;
use super::types::{Connection, IntoGraphql, page_request, parse_id};
use async_graphql::{
    ComplexObject, Context, Enum, ID, InputObject, Json, MaybeUndefined, Object, SimpleObject,
};
use chrono::{DateTime, Utc};
use latchkey_core::outbox::EventType;
use latchkey_tenants::crm::sync::{self as core_sync, SyncRun};
use latchkey_tenants::crm::{
    self as core_crm, ConnectorKind as CoreKind, DeliveryStatus as CoreStatus,
    Direction as CoreDirection,
};
use serde_json::Value;

/// Where a connector's scheduled pull from its CRM stands.
#[derive(SimpleObject, Clone, Debug)]
pub struct CrmPull {
    /// The CRM's modified stamp the next pull reads from (RFC 3339); null before the first.
    pub cursor: Option<String>,
    pub next_pull_at: DateTime<Utc>,
    pub last_pull_at: Option<DateTime<Utc>>,
    /// What went wrong in the last pull (the CRM's answer, or a record that could not be
    /// applied); null when it went well.
    pub last_error: Option<String>,
    /// Records applied by scheduled pulls so far.
    pub records: i32,
}

#[ComplexObject]
impl CrmConnector {
    /// Where the CRM sends its webhooks to this connector (pulling connectors only).
    async fn webhook_url(&self, ctx: &Context<'_>) -> Option<String> {
        let (services, req) = request(ctx);
        matches!(self.direction, CrmDirection::Pull | CrmDirection::Both).then(|| {
            format!(
                "{}/t/{}/connectors/{}/webhook",
                services.public_url,
                req.scope.slug(),
                self.id.as_str()
            )
        })
    }

    /// The scheduled pull; null when the connector has none.
    async fn pull(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<CrmPull>> {
        let (services, req) = request(ctx);
        let id = parse_id("id", &self.id)?;
        let status = core_crm::pull_status(&services.db, &req.scope, &req.actor, id)
            .await
            .gql()?;
        Ok(status.map(|status| CrmPull {
            cursor: status.cursor,
            next_pull_at: status.next_pull_at,
            last_pull_at: status.last_pull_at,
            last_error: status.last_error,
            records: status.records,
        }))
    }
}

#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum CrmConnectorKind {
    /// HubSpot CRM v3 (private-app token).
    Hubspot,
    /// Salesforce REST API (OAuth 2.0 client credentials).
    Salesforce,
    /// Dynamics 365 / Dataverse Web API (Microsoft Entra client credentials).
    #[graphql(name = "DYNAMICS365")]
    Dynamics365,
    /// Signed JSON POSTs to a URL of yours.
    Webhook,
}

impl From<CrmConnectorKind> for CoreKind {
    fn from(kind: CrmConnectorKind) -> Self {
        match kind {
            CrmConnectorKind::Hubspot => CoreKind::HubSpot,
            CrmConnectorKind::Salesforce => CoreKind::Salesforce,
            CrmConnectorKind::Dynamics365 => CoreKind::Dynamics365,
            CrmConnectorKind::Webhook => CoreKind::Webhook,
        }
    }
}

impl From<CoreKind> for CrmConnectorKind {
    fn from(kind: CoreKind) -> Self {
        match kind {
            CoreKind::HubSpot => CrmConnectorKind::Hubspot,
            CoreKind::Salesforce => CrmConnectorKind::Salesforce,
            CoreKind::Dynamics365 => CrmConnectorKind::Dynamics365,
            CoreKind::Webhook => CrmConnectorKind::Webhook,
        }
    }
}

#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum CrmDirection {
    /// Latchkey → CRM.
    Push,
    /// CRM → Latchkey (not available yet).
    Pull,
    /// Both ways (not available yet).
    Both,
}

impl From<CrmDirection> for CoreDirection {
    fn from(direction: CrmDirection) -> Self {
        match direction {
            CrmDirection::Push => CoreDirection::Push,
            CrmDirection::Pull => CoreDirection::Pull,
            CrmDirection::Both => CoreDirection::Both,
        }
    }
}

impl From<CoreDirection> for CrmDirection {
    fn from(direction: CoreDirection) -> Self {
        match direction {
            CoreDirection::Push => CrmDirection::Push,
            CoreDirection::Pull => CrmDirection::Pull,
            CoreDirection::Both => CrmDirection::Both,
        }
    }
}

/// A CRM connector. Its credentials are never shown.
#[derive(SimpleObject, Clone, Debug)]
#[graphql(complex)]
pub struct CrmConnector {
    pub id: ID,
    pub name: String,
    pub kind: CrmConnectorKind,
    pub direction: CrmDirection,
    /// The domain events it delivers.
    pub triggers: Vec<DomainEventType>,
    /// With defaults filled in.
    pub settings: Json<Value>,
    /// CRM field ← Latchkey field, per subject (`identity`, `organization`).
    pub field_mapping: Json<Value>,
    /// What was bought and contact roles → organization roles and entitlements:
    /// `{ products: { <SKU, product code or name>: { roles, entitlements } }, contactRoles:
    /// { <role on the deal>: { roles, entitlements } } }` (null when none is set).
    pub contract_mapping: Option<Json<Value>>,
    /// What a contact or company deleted in the CRM does (connectors that pull; null for
    /// those that only push).
    pub on_remote_delete: Option<RemoteDeleteAction>,
    pub enabled: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<core_crm::Connector> for CrmConnector {
    fn from(connector: core_crm::Connector) -> Self {
        let on_remote_delete = connector
            .direction
            .pulls()
            .then(|| connector.on_remote_delete().into());
        Self {
            id: ID(connector.id.to_string()),
            name: connector.name,
            kind: connector.kind.into(),
            direction: connector.direction.into(),
            triggers: connector.triggers.into_iter().map(Into::into).collect(),
            settings: Json(connector.settings),
            on_remote_delete,
            field_mapping: Json(connector.field_mapping),
            contract_mapping: connector.contract_mapping.map(Json),
            enabled: connector.enabled,
            created_at: connector.created_at,
            updated_at: connector.updated_at,
        }
    }
}

/// What a contact or company deleted in the CRM does (`settings.onRemoteDelete`).
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum RemoteDeleteAction {
    /// Only the link to the CRM record goes (identities and memberships stay).
    Unlink,
    /// The memberships the connector's organizations gave go, with pending invitations into
    /// them (the default).
    RemoveMembership,
    /// The identities are suspended (their sessions end).
    SuspendIdentity,
}

impl From<core_crm::RemoteDelete> for RemoteDeleteAction {
    fn from(action: core_crm::RemoteDelete) -> Self {
        match action {
            core_crm::RemoteDelete::Unlink => RemoteDeleteAction::Unlink,
            core_crm::RemoteDelete::RemoveMembership => RemoteDeleteAction::RemoveMembership,
            core_crm::RemoteDelete::SuspendIdentity => RemoteDeleteAction::SuspendIdentity,
        }
    }
}

impl From<RemoteDeleteAction> for core_crm::RemoteDelete {
    fn from(action: RemoteDeleteAction) -> Self {
        match action {
            RemoteDeleteAction::Unlink => core_crm::RemoteDelete::Unlink,
            RemoteDeleteAction::RemoveMembership => core_crm::RemoteDelete::RemoveMembership,
            RemoteDeleteAction::SuspendIdentity => core_crm::RemoteDelete::SuspendIdentity,
        }
    }
}

#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum CrmSyncStatus {
    /// Waiting for its first attempt or a retry.
    Pending,
    Delivered,
    /// Given up (after the last attempt, or refused for good); `replayCrmSyncEvent` queues it again.
    Dead,
}

impl From<CrmSyncStatus> for CoreStatus {
    fn from(status: CrmSyncStatus) -> Self {
        match status {
            CrmSyncStatus::Pending => CoreStatus::Pending,
            CrmSyncStatus::Delivered => CoreStatus::Delivered,
            CrmSyncStatus::Dead => CoreStatus::Dead,
        }
    }
}

/// One delivery of one domain event to one connector.
#[derive(SimpleObject, Clone, Debug)]
pub struct CrmSyncEvent {
    pub id: ID,
    pub connector_id: ID,
    /// The domain event (see `domainEvents`).
    pub event_id: ID,
    /// Such as `identity.created`.
    pub event_type: String,
    /// The identity, organization or membership.
    pub subject_id: ID,
    pub status: CrmSyncStatus,
    pub attempts: u32,
    /// When a pending delivery is tried next.
    pub next_attempt_at: DateTime<Utc>,
    pub last_error: Option<String>,
    /// The CRM's record id.
    pub remote_id: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub delivered_at: Option<DateTime<Utc>>,
}

impl From<core_crm::Delivery> for CrmSyncEvent {
    fn from(delivery: core_crm::Delivery) -> Self {
        Self {
            id: ID(delivery.id.to_string()),
            connector_id: ID(delivery.connector_id.to_string()),
            event_id: ID(delivery.event_id.to_string()),
            event_type: delivery.event_type,
            subject_id: ID(delivery.subject_id.to_string()),
            status: match delivery.status {
                CoreStatus::Pending => CrmSyncStatus::Pending,
                CoreStatus::Delivered => CrmSyncStatus::Delivered,
                CoreStatus::Dead => CrmSyncStatus::Dead,
            },
            attempts: delivery.attempts,
            next_attempt_at: delivery.next_attempt_at,
            last_error: delivery.last_error,
            remote_id: delivery.remote_id,
            created_at: delivery.created_at,
            updated_at: delivery.updated_at,
            delivered_at: delivery.delivered_at,
        }
    }
}

#[derive(InputObject, Default)]
pub struct CrmSyncEventFilter {
    pub status: Option<CrmSyncStatus>,
    pub connector_id: Option<ID>,
    /// The identity, organization or membership.
    pub subject_id: Option<ID>,
}

#[derive(InputObject)]
pub struct CreateCrmConnectorInput {
    pub name: String,
    pub kind: CrmConnectorKind,
    #[graphql(default_with = "CrmDirection::Push")]
    pub direction: CrmDirection,
    /// The domain events to deliver; all of them when empty.
    #[graphql(default)]
    pub triggers: Vec<DomainEventType>,
    /// Per kind: WEBHOOK `{ url }`; HUBSPOT `{ baseUrl? }`; SALESFORCE `{ instanceUrl,
    /// tokenUrl?, apiVersion?, contactExternalIdField, accountExternalIdField }`; DYNAMICS365
    /// `{ baseUrl, tokenUrl, scope?, contactKey, accountKey }`.
    pub settings: Json<Value>,
    /// Write-only. WEBHOOK `{ secret }`; HUBSPOT `{ token }`; SALESFORCE and DYNAMICS365
    /// `{ clientId, clientSecret }`.
    pub credentials: Json<Value>,
    /// `{ identity: { <CRM field>: <Latchkey field> }, organization: { … } }`; the kind's
    /// default when left out.
    pub field_mapping: Option<Json<Value>>,
    /// Products and contact roles → organization roles and entitlements (see
    /// `CrmConnector.contractMapping`); checked against the tenant's roles and entitlements.
    pub contract_mapping: Option<Json<Value>>,
    /// Sets `settings.onRemoteDelete` (`REMOVE_MEMBERSHIP` unless given).
    pub on_remote_delete: Option<RemoteDeleteAction>,
}

#[derive(InputObject)]
pub struct UpdateCrmConnectorInput {
    pub id: ID,
    pub name: Option<String>,
    pub triggers: Option<Vec<DomainEventType>>,
    pub settings: Option<Json<Value>>,
    /// Replaces the credentials whole.
    pub credentials: Option<Json<Value>>,
    pub field_mapping: Option<Json<Value>>,
    /// Replaces the contract mapping; null removes it.
    pub contract_mapping: MaybeUndefined<Json<Value>>,
    /// Sets `settings.onRemoteDelete`.
    pub on_remote_delete: Option<RemoteDeleteAction>,
}

#[derive(InputObject)]
pub struct CrmConnectorIdInput {
    pub id: ID,
}

#[derive(SimpleObject)]
pub struct CrmConnectorPayload {
    pub connector: CrmConnector,
}

#[derive(SimpleObject)]
pub struct TestCrmConnectorPayload {
    /// Whether the CRM accepted the settings and credentials.
    pub ok: bool,
    /// What was checked, or precisely what failed.
    pub message: String,
}

#[derive(InputObject)]
pub struct ReplayCrmSyncEventInput {
    pub id: ID,
}

#[derive(SimpleObject)]
pub struct ReplayCrmSyncEventPayload {
    pub sync_event: CrmSyncEvent,
}

/// A backfill of one connector and how far it got.
#[derive(SimpleObject, Clone, Debug)]
pub struct CrmSyncRun {
    pub id: ID,
    pub connector_id: ID,
    /// Identities, organizations and memberships to send.
    pub total: u64,
    /// How many have their delivery queued.
    pub queued: u64,
    /// Every record has its delivery.
    pub fully_queued: bool,
    pub delivered: u64,
    pub dead: u64,
    pub pending: u64,
    /// Fully queued and no delivery pending.
    pub finished: bool,
    pub started_at: DateTime<Utc>,
    pub queued_at: Option<DateTime<Utc>>,
}

impl From<SyncRun> for CrmSyncRun {
    fn from(run: SyncRun) -> Self {
        Self {
            id: ID(run.id.to_string()),
            connector_id: ID(run.connector_id.to_string()),
            finished: run.finished(),
            total: run.total,
            queued: run.queued,
            fully_queued: run.fully_queued,
            delivered: run.delivered,
            dead: run.dead,
            pending: run.pending,
            started_at: run.started_at,
            queued_at: run.queued_at,
        }
    }
}

/// A record pulled from a CRM that changed nothing yet: Latchkey trusts no unverified email
/// address, so it waits until its identity's address is verified, then it is applied.
#[derive(SimpleObject, Clone, Debug)]
pub struct CrmWaitingRecord {
    pub id: ID,
    pub connector_id: ID,
    /// The record's id in the CRM.
    pub remote_id: String,
    /// The email address the record carries.
    pub email: String,
    /// The identity whose email address must be verified first.
    pub identity_id: ID,
    /// Why it waits, such as "waiting: the identity's email address is not verified yet".
    pub reason: String,
    pub received_at: DateTime<Utc>,
    /// When the CRM last sent it (or it was last tried).
    pub updated_at: DateTime<Utc>,
}

impl From<core_crm::WaitingRecord> for CrmWaitingRecord {
    fn from(record: core_crm::WaitingRecord) -> Self {
        Self {
            id: ID(record.id.to_string()),
            connector_id: ID(record.connector_id.to_string()),
            remote_id: record.remote_id,
            email: record.email,
            identity_id: ID(record.identity_id.to_string()),
            reason: record.reason,
            received_at: record.received_at,
            updated_at: record.updated_at,
        }
    }
}

#[derive(InputObject)]
pub struct RunCrmSyncInput {
    pub connector_id: ID,
}

#[derive(SimpleObject)]
pub struct RunCrmSyncPayload {
    pub sync_run: CrmSyncRun,
}

fn triggers(list: Vec<DomainEventType>) -> Vec<EventType> {
    list.into_iter().map(EventType::from).collect()
}

#[derive(Default)]
pub struct ConnectorQuery;

#[Object]
impl ConnectorQuery {
    /// The tenant's CRM connectors, oldest first. Requires the viewer role.
    #[graphql(complexity = "page_cost(first, child_complexity)")]
    async fn crm_connectors(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<Connection<CrmConnector>> {
        let (services, req) = request(ctx);
        let page = page_request(first, after)?;
        let result = core_crm::list_connectors(&services.db, &req.scope, &req.actor, page)
            .await
            .gql()?;
        Ok(Connection::from_page(result, |c| c.id, CrmConnector::from))
    }

    async fn crm_connector(
        &self,
        ctx: &Context<'_>,
        id: ID,
    ) -> async_graphql::Result<CrmConnector> {
        let (services, req) = request(ctx);
        let id = parse_id("id", &id)?;
        Ok(
            core_crm::get_connector(&services.db, &req.scope, &req.actor, id)
                .await
                .gql()?
                .into(),
        )
    }

    /// A backfill with its progress. Requires the viewer role.
    async fn crm_sync_run(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<CrmSyncRun> {
        let (services, req) = request(ctx);
        let id = parse_id("id", &id)?;
        Ok(
            core_sync::get_sync_run(&services.db, &req.scope, &req.actor, id)
                .await
                .gql()?
                .into(),
        )
    }

    /// A connector's backfills, newest first (the last 20). Requires the viewer role.
    async fn crm_sync_runs(
        &self,
        ctx: &Context<'_>,
        connector_id: ID,
    ) -> async_graphql::Result<Vec<CrmSyncRun>> {
        let (services, req) = request(ctx);
        let id = parse_id("connectorId", &connector_id)?;
        let runs = core_sync::list_sync_runs(&services.db, &req.scope, &req.actor, id)
            .await
            .gql()?;
        Ok(runs.into_iter().map(CrmSyncRun::from).collect())
    }

    /// A connector's records pulled from its CRM that wait (for their identity's email
    /// address to be verified), oldest first. Requires the viewer role.
    #[graphql(complexity = "page_cost(first, child_complexity)")]
    async fn crm_waiting_records(
        &self,
        ctx: &Context<'_>,
        connector_id: ID,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<Connection<CrmWaitingRecord>> {
        let (services, req) = request(ctx);
        let id = parse_id("connectorId", &connector_id)?;
        let page = page_request(first, after)?;
        let result = core_crm::list_waiting_records(&services.db, &req.scope, &req.actor, id, page)
            .await
            .gql()?;
        Ok(Connection::from_page(
            result,
            |r| r.id,
            CrmWaitingRecord::from,
        ))
    }

    /// Deliveries of domain events to connectors, oldest first. Requires the viewer role.
    #[graphql(complexity = "page_cost(first, child_complexity)")]
    async fn crm_sync_events(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        filter: Option<CrmSyncEventFilter>,
    ) -> async_graphql::Result<Connection<CrmSyncEvent>> {
        let (services, req) = request(ctx);
        let page = page_request(first, after)?;
        let filter = filter.unwrap_or_default();
        let optional_id = |field: &str, id: &Option<ID>| match id {
            Some(id) => parse_id(field, id).map(Some),
            None => Ok(None),
        };
        let result = core_crm::list_deliveries(
            &services.db,
            &req.scope,
            &req.actor,
            core_crm::DeliveryFilter {
                status: filter.status.map(Into::into),
                connector_id: optional_id("connectorId", &filter.connector_id)?,
                subject_id: optional_id("subjectId", &filter.subject_id)?,
            },
            page,
        )
        .await
        .gql()?;
        Ok(Connection::from_page(result, |d| d.id, CrmSyncEvent::from))
    }
}

#[derive(Default)]
pub struct ConnectorMutation;

#[Object]
impl ConnectorMutation {
    /// Creates a CRM connector, enabled. Requires the admin role.
    async fn create_crm_connector(
        &self,
        ctx: &Context<'_>,
        input: CreateCrmConnectorInput,
    ) -> async_graphql::Result<CrmConnectorPayload> {
        let (services, req) = request(ctx);
        let connector = core_crm::create_connector(
            &services.db,
            &req.scope,
            &req.actor,
            &services.master_key,
            core_crm::NewConnector {
                name: input.name,
                kind: input.kind.into(),
                direction: input.direction.into(),
                triggers: triggers(input.triggers),
                settings: with_remote_delete(input.settings.0, input.on_remote_delete),
                credentials: input.credentials.0,
                field_mapping: input.field_mapping.map(|m| m.0),
                contract_mapping: input.contract_mapping.map(|m| m.0),
            },
        )
        .await
        .gql()?;
        Ok(CrmConnectorPayload {
            connector: connector.into(),
        })
    }

    async fn update_crm_connector(
        &self,
        ctx: &Context<'_>,
        input: UpdateCrmConnectorInput,
    ) -> async_graphql::Result<CrmConnectorPayload> {
        let id = parse_id("id", &input.id)?;
        let changes = core_crm::ConnectorChanges {
            name: input.name,
            triggers: input.triggers.map(triggers),
            settings: input.settings.map(|s| s.0),
            credentials: input.credentials.map(|c| c.0),
            field_mapping: input.field_mapping.map(|m| m.0),
            contract_mapping: match input.contract_mapping {
                MaybeUndefined::Undefined => None,
                MaybeUndefined::Null => Some(Value::Null),
                MaybeUndefined::Value(mapping) => Some(mapping.0),
            },
            on_remote_delete: input.on_remote_delete.map(Into::into),
            enabled: None,
        };
        change(ctx, id, changes).await
    }

    async fn enable_crm_connector(
        &self,
        ctx: &Context<'_>,
        input: CrmConnectorIdInput,
    ) -> async_graphql::Result<CrmConnectorPayload> {
        set_enabled(ctx, &input, true).await
    }

    /// Stops deliveries; events keep being queued for it and go out once it is enabled again.
    async fn disable_crm_connector(
        &self,
        ctx: &Context<'_>,
        input: CrmConnectorIdInput,
    ) -> async_graphql::Result<CrmConnectorPayload> {
        set_enabled(ctx, &input, false).await
    }

    /// Deletes the connector with its deliveries.
    async fn delete_crm_connector(
        &self,
        ctx: &Context<'_>,
        input: CrmConnectorIdInput,
    ) -> async_graphql::Result<CrmConnectorPayload> {
        let (services, req) = request(ctx);
        let id = parse_id("id", &input.id)?;
        let connector = core_crm::delete_connector(&services.db, &req.scope, &req.actor, id)
            .await
            .gql()?;
        Ok(CrmConnectorPayload {
            connector: connector.into(),
        })
    }

    /// Calls the CRM with the connector's settings and credentials and says what happened.
    async fn test_crm_connector(
        &self,
        ctx: &Context<'_>,
        input: CrmConnectorIdInput,
    ) -> async_graphql::Result<TestCrmConnectorPayload> {
        let (services, req) = request(ctx);
        let id = parse_id("id", &input.id)?;
        let tested = core_crm::test_connector(
            &services.db,
            &req.scope,
            &req.actor,
            &services.master_key,
            &services.crm,
            id,
        )
        .await
        .gql()?;
        Ok(TestCrmConnectorPayload {
            ok: tested.ok,
            message: tested.message,
        })
    }

    /// Backfills the connector: every identity, organization and membership of the tenant is
    /// queued for it (`<subject>.synced` events) in the background; follow `crmSyncRun`.
    async fn run_crm_sync(
        &self,
        ctx: &Context<'_>,
        input: RunCrmSyncInput,
    ) -> async_graphql::Result<RunCrmSyncPayload> {
        let (services, req) = request(ctx);
        let connector_id = parse_id("connectorId", &input.connector_id)?;
        let run = core_sync::start_sync(&services.db, &req.scope, &req.actor, connector_id)
            .await
            .gql()?;
        let (db, scope, actor, run_id) = (
            services.db.clone(),
            req.scope.clone(),
            req.actor.clone(),
            run.id,
        );
        tokio::spawn(async move {
            if let Err(error) = core_sync::queue_sync(&db, &scope, &actor, run_id, |_, _| {}).await
            {
                tracing::error!(%error, sync_run.id = %run_id, "queuing a CRM backfill failed; resume it with `latchkey connectors sync --resume`");
            }
        });
        Ok(RunCrmSyncPayload {
            sync_run: run.into(),
        })
    }

    /// Runs the connector's scheduled pull now (on the next dispatcher round of any replica).
    async fn pull_crm_connector(
        &self,
        ctx: &Context<'_>,
        input: CrmConnectorIdInput,
    ) -> async_graphql::Result<CrmConnectorPayload> {
        let (services, req) = request(ctx);
        let id = parse_id("id", &input.id)?;
        core_crm::pull_now(&services.db, &req.scope, &req.actor, id)
            .await
            .gql()?;
        let connector = core_crm::get_connector(&services.db, &req.scope, &req.actor, id)
            .await
            .gql()?;
        Ok(CrmConnectorPayload {
            connector: connector.into(),
        })
    }

    /// Queues a dead delivery again, from its first attempt.
    async fn replay_crm_sync_event(
        &self,
        ctx: &Context<'_>,
        input: ReplayCrmSyncEventInput,
    ) -> async_graphql::Result<ReplayCrmSyncEventPayload> {
        let (services, req) = request(ctx);
        let id = parse_id("id", &input.id)?;
        let delivery = core_crm::replay_delivery(&services.db, &req.scope, &req.actor, id)
            .await
            .gql()?;
        Ok(ReplayCrmSyncEventPayload {
            sync_event: delivery.into(),
        })
    }
}

/// `settings` with `onRemoteDelete` set when the input names it.
fn with_remote_delete(mut settings: Value, action: Option<RemoteDeleteAction>) -> Value {
    if let (Some(action), Some(map)) = (action, settings.as_object_mut()) {
        let action: core_crm::RemoteDelete = action.into();
        map.insert("onRemoteDelete".into(), Value::from(action.as_str()));
    }
    settings
}

async fn set_enabled(
    ctx: &Context<'_>,
    input: &CrmConnectorIdInput,
    enabled: bool,
) -> async_graphql::Result<CrmConnectorPayload> {
    let id = parse_id("id", &input.id)?;
    let changes = core_crm::ConnectorChanges {
        enabled: Some(enabled),
        ..Default::default()
    };
    change(ctx, id, changes).await
}

async fn change(
    ctx: &Context<'_>,
    id: uuid::Uuid,
    changes: core_crm::ConnectorChanges,
) -> async_graphql::Result<CrmConnectorPayload> {
    let (services, req) = request(ctx);
    let connector = core_crm::update_connector(
        &services.db,
        &req.scope,
        &req.actor,
        &services.master_key,
        id,
        changes,
    )
    .await
    .gql()?;
    Ok(CrmConnectorPayload {
        connector: connector.into(),
    })
}
