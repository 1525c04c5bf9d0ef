//! Managing connectors: the services the API calls to create, update, delete, read and list
//! connectors, to test one against its CRM, and to see or hurry its scheduled pull. Each
//! checks its permission and audits what it changed.

use super::clients::Clients;
use super::config::{check_kind, check_mapping, check_triggers, trigger_names};
use super::connector::{
    Connector, ConnectorChanges, ConnectorKind, Direction, NewConnector, connector_row, find_row,
    open_credentials, seal_credentials,
};
use super::contract_mapping::check_contract_mapping;
use super::deliveries::{DeliveryStatus, delivery_row};
use super::records::record_row;
use super::{inbound, pull, sync, waiting};
use chrono::Utc;
use latchkey_core::actor::{Actor, Permission};
use latchkey_core::audit::Target;
use latchkey_core::authz::Grant;
use latchkey_core::authz::{Resource, authorize};
use latchkey_core::crypto::MasterKey;
use latchkey_core::db::{Database, TenantTx};
use latchkey_core::error::{Error, Result, is_unique_violation};
use latchkey_core::granted;
use latchkey_core::page::{Page, PageRequest, keyset};
use latchkey_core::scope::TenantScope;
use latchkey_core::validate::Name;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, QueryFilter, Set};
use serde_json::{Value, json};
use uuid::Uuid;

/// A contract mapping checked against the tenant's roles and entitlement keys (`None` when
/// none is given); only connectors that pull from a CRM take one.
async fn checked_contract_mapping(
    tx: &TenantTx,
    actor: &Actor,
    kind: ConnectorKind,
    direction: Direction,
    mapping: Option<&Value>,
) -> Result<Option<Value>> {
    let Some(mapping) = mapping.filter(|m| !m.is_null()) else {
        return Ok(None);
    };
    if kind == ConnectorKind::Webhook || !direction.pulls() {
        return Err(Error::validation(
            "contractMapping",
            "applies only to HUBSPOT, SALESFORCE and DYNAMICS365 connectors with direction PULL or BOTH",
        ));
    }
    let read = authorize(actor, Permission::ReadOrganizations, Resource::Tenant)?;
    let (roles, keys) = granted::role_names_and_entitlement_keys(tx, &read).await?;
    check_contract_mapping(mapping, &roles, &keys).map(Some)
}

fn name_conflict(error: sea_orm::DbErr) -> Error {
    if is_unique_violation(&error) {
        Error::Conflict("a connector with this name exists".into())
    } else {
        error.into()
    }
}

async fn record(
    tx: &TenantTx,
    grant: &Grant<'_>,
    action: &str,
    id: Uuid,
    data: Value,
) -> Result<()> {
    let target = id.to_string();
    granted::audit(
        tx,
        grant,
        action,
        Some(Target {
            kind: "crm_connector",
            id: &target,
        }),
        data,
    )
    .await
}

/// Creates a connector (enabled). Requires `ManageConnectors`.
#[tracing::instrument(name = "core.create_crm_connector", skip_all, fields(tenant.id = %scope.tenant_id()))]
pub async fn create_connector(
    db: &Database,
    scope: &TenantScope,
    actor: &Actor,
    key: &MasterKey,
    new: NewConnector,
) -> Result<Connector> {
    let grant = authorize(actor, Permission::ManageConnectors, Resource::Tenant)?;
    let name = Name::parse("name", &new.name, 100)?.into_inner();
    let (settings, credentials) =
        check_kind(new.kind, new.direction, &new.settings, &new.credentials)?;
    let mapping = check_mapping(new.kind, new.field_mapping)?;
    let triggers = check_triggers(new.triggers);
    let id = Uuid::now_v7();
    let now = Utc::now();
    let tx = db.begin_tenant(scope).await?;
    let contract_mapping = checked_contract_mapping(
        &tx,
        actor,
        new.kind,
        new.direction,
        new.contract_mapping.as_ref(),
    )
    .await?;
    let row = tx
        .insert(connector_row::ActiveModel {
            tenant_id: Set(tx.scope().tenant_id()),
            id: Set(id),
            name: Set(name),
            kind: Set(new.kind.as_str().to_owned()),
            direction: Set(new.direction.as_str().to_owned()),
            triggers: Set(trigger_names(&triggers)),
            settings: Set(settings),
            credentials: Set(seal_credentials(key, id, &credentials)?),
            field_mapping: Set(mapping),
            contract_mapping: Set(contract_mapping),
            enabled: Set(true),
            created_at: Set(now),
            updated_at: Set(now),
        })
        .await
        .map_err(name_conflict)?;
    let connector = Connector::try_from(&row)?;
    pull::schedule::schedule_in(&tx, &connector).await?;
    record(
        &tx,
        &grant,
        "crm_connector.create",
        id,
        json!({ "name": connector.name, "kind": connector.kind.as_str() }),
    )
    .await?;
    tx.commit().await?;
    Ok(connector)
}

/// Changes a connector; new credentials replace the old ones whole. Requires
/// `ManageConnectors`.
#[tracing::instrument(name = "core.update_crm_connector", skip_all, fields(tenant.id = %scope.tenant_id()))]
pub async fn update_connector(
    db: &Database,
    scope: &TenantScope,
    actor: &Actor,
    key: &MasterKey,
    id: Uuid,
    changes: ConnectorChanges,
) -> Result<Connector> {
    let grant = authorize(actor, Permission::ManageConnectors, Resource::Tenant)?;
    let tx = db.begin_tenant(scope).await?;
    let row = find_row(&tx, id).await?;
    let kind = ConnectorKind::parse(&row.kind)?;
    let direction = Direction::parse(&row.direction)?;
    let mut fields = Vec::new();
    let mut active: connector_row::ActiveModel = row.clone().into();
    if let Some(name) = changes.name {
        active.name = Set(Name::parse("name", &name, 100)?.into_inner());
        fields.push("name");
    }
    if changes.settings.is_some()
        || changes.credentials.is_some()
        || changes.on_remote_delete.is_some()
    {
        let new_credentials = changes.credentials.is_some();
        let current_credentials = open_credentials(key, &row)?;
        let mut settings = changes.settings.unwrap_or(row.settings.clone());
        if let (Some(action), Some(map)) = (changes.on_remote_delete, settings.as_object_mut()) {
            map.insert("onRemoteDelete".into(), json!(action.as_str()));
        }
        let credentials = changes.credentials.unwrap_or(current_credentials);
        let (settings, credentials) = check_kind(kind, direction, &settings, &credentials)?;
        // The stored credentials never go to an address they were not given for.
        let moved = ["url", "baseUrl", "instanceUrl", "tokenUrl"]
            .iter()
            .any(|name| settings.get(*name) != row.settings.get(*name));
        if moved && !new_credentials {
            return Err(Error::validation(
                "credentials",
                "are required again when the connector's URLs change",
            ));
        }
        if settings != row.settings {
            fields.push("settings");
        }
        if new_credentials {
            fields.push("credentials");
        }
        active.settings = Set(settings);
        active.credentials = Set(seal_credentials(key, id, &credentials)?);
    }
    if let Some(mapping) = changes.field_mapping {
        active.field_mapping = Set(check_mapping(kind, Some(mapping))?);
        fields.push("fieldMapping");
    }
    if let Some(mapping) = changes.contract_mapping {
        active.contract_mapping =
            Set(checked_contract_mapping(&tx, actor, kind, direction, Some(&mapping)).await?);
        fields.push("contractMapping");
    }
    if let Some(triggers) = changes.triggers {
        active.triggers = Set(trigger_names(&check_triggers(triggers)));
        fields.push("triggers");
    }
    if let Some(enabled) = changes.enabled {
        active.enabled = Set(enabled);
        fields.push("enabled");
        if enabled {
            // What waited while it was disabled goes out now.
            tx.update_many::<delivery_row::Entity>()
                .col_expr(delivery_row::Column::NextAttemptAt, Expr::value(Utc::now()))
                .filter(delivery_row::Column::ConnectorId.eq(id))
                .filter(delivery_row::Column::Status.eq(DeliveryStatus::Pending.as_str()))
                .exec()
                .await?;
            tx.wake_workers_on_commit();
        }
    }
    active.updated_at = Set(Utc::now());
    let row = tx.update(active).await.map_err(name_conflict)?;
    let connector = Connector::try_from(&row)?;
    pull::schedule::schedule_in(&tx, &connector).await?;
    record(
        &tx,
        &grant,
        "crm_connector.update",
        id,
        json!({ "fields": fields }),
    )
    .await?;
    tx.commit().await?;
    Ok(connector)
}

/// Deletes a connector with its deliveries and record links. Requires `ManageConnectors`.
#[tracing::instrument(name = "core.delete_crm_connector", skip_all, fields(tenant.id = %scope.tenant_id()))]
pub async fn delete_connector(
    db: &Database,
    scope: &TenantScope,
    actor: &Actor,
    id: Uuid,
) -> Result<Connector> {
    let grant = authorize(actor, Permission::ManageConnectors, Resource::Tenant)?;
    let tx = db.begin_tenant(scope).await?;
    let connector = Connector::try_from(&find_row(&tx, id).await?)?;
    tx.delete_many::<delivery_row::Entity>()
        .filter(delivery_row::Column::ConnectorId.eq(id))
        .exec()
        .await?;
    tx.delete_many::<record_row::Entity>()
        .filter(record_row::Column::ConnectorId.eq(id))
        .exec()
        .await?;
    sync::delete_for_connector_in(&tx, id).await?;
    waiting::delete_for_connector_in(&tx, id).await?;
    pull::schedule::delete_schedule_in(&tx, id).await?;
    tx.delete_many::<inbound::inbound_row::Entity>()
        .filter(inbound::inbound_row::Column::ConnectorId.eq(id))
        .exec()
        .await?;
    tx.delete_many::<connector_row::Entity>()
        .filter(connector_row::Column::Id.eq(id))
        .exec()
        .await?;
    record(
        &tx,
        &grant,
        "crm_connector.delete",
        id,
        json!({ "name": connector.name }),
    )
    .await?;
    tx.commit().await?;
    Ok(connector)
}

/// One connector. Requires `ReadConnectors`.
pub async fn get_connector(
    db: &Database,
    scope: &TenantScope,
    actor: &Actor,
    id: Uuid,
) -> Result<Connector> {
    authorize(actor, Permission::ReadConnectors, Resource::Tenant)?;
    let tx = db.begin_tenant(scope).await?;
    let row = find_row(&tx, id).await?;
    tx.commit().await?;
    Connector::try_from(&row)
}

/// Where a connector's scheduled pull stands; `None` when it has none. Requires
/// `ReadConnectors`.
pub async fn pull_status(
    db: &Database,
    scope: &TenantScope,
    actor: &Actor,
    id: Uuid,
) -> Result<Option<pull::PullStatus>> {
    authorize(actor, Permission::ReadConnectors, Resource::Tenant)?;
    let tx = db.begin_tenant(scope).await?;
    find_row(&tx, id).await?;
    let status = pull::schedule::status_in(&tx, id).await?;
    tx.commit().await?;
    Ok(status)
}

/// Makes a connector's scheduled pull due now. Requires `ManageConnectors`.
#[tracing::instrument(name = "core.pull_crm_connector", skip_all, fields(tenant.id = %scope.tenant_id()))]
pub async fn pull_now(db: &Database, scope: &TenantScope, actor: &Actor, id: Uuid) -> Result<()> {
    let grant = authorize(actor, Permission::ManageConnectors, Resource::Tenant)?;
    let tx = db.begin_tenant(scope).await?;
    find_row(&tx, id).await?;
    if !pull::schedule::pull_now_in(&tx, id).await? {
        return Err(Error::Refused(
            "this connector has no scheduled pull (it needs kind HUBSPOT, SALESFORCE or DYNAMICS365, direction PULL or BOTH, and settings.pullIntervalSeconds above 0)".into(),
        ));
    }
    record(&tx, &grant, "crm_connector.pull", id, json!({})).await?;
    // Wakes this process's dispatcher, which runs due pulls too.
    tx.wake_workers_on_commit();
    tx.commit().await
}

/// The tenant's connectors, oldest first. Requires `ReadConnectors`.
pub async fn list_connectors(
    db: &Database,
    scope: &TenantScope,
    actor: &Actor,
    page: PageRequest,
) -> Result<Page<Connector>> {
    authorize(actor, Permission::ReadConnectors, Resource::Tenant)?;
    let tx = db.begin_tenant(scope).await?;
    let query = tx.find::<connector_row::Entity>();
    let rows = keyset(query, connector_row::Column::Id, page).await?;
    tx.commit().await?;
    rows.try_map(|row| Connector::try_from(&row))
}

/// What `testCrmConnector` found: whether the CRM accepted the connector's settings and
/// credentials, and what was checked or what failed.
#[derive(Clone, Debug)]
pub struct ConnectorTest {
    pub ok: bool,
    pub message: String,
}

/// Calls the CRM with the connector's settings and credentials (a signed ping for webhooks,
/// a token and a harmless read for the CRMs). Requires `ManageConnectors`.
#[tracing::instrument(name = "core.test_crm_connector", skip_all, fields(tenant.id = %scope.tenant_id()))]
pub async fn test_connector(
    db: &Database,
    scope: &TenantScope,
    actor: &Actor,
    key: &MasterKey,
    clients: &Clients,
    id: Uuid,
) -> Result<ConnectorTest> {
    authorize(actor, Permission::ManageConnectors, Resource::Tenant)?;
    let tx = db.begin_tenant(scope).await?;
    let row = find_row(&tx, id).await?;
    tx.commit().await?;
    let credentials = open_credentials(key, &row)?;
    let kind = ConnectorKind::parse(&row.kind)?;
    let result = clients
        .test(kind, row.id, scope.slug(), &row.settings, &credentials)
        .await;
    Ok(match result {
        Ok(message) => ConnectorTest { ok: true, message },
        Err(message) => ConnectorTest { ok: false, message },
    })
}
