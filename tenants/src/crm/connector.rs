//! What a connector is: its stored row (`crm_connectors`), its kind and direction, the
//! [`Connector`] the API shows, what creating and updating one take, and its credentials,
//! sealed under the master key. Plain types and row access only; the services that manage
//! connectors are in `manage`, the checks of their settings in `config`.

use chrono::{DateTime, Utc};
use latchkey_core::crypto::MasterKey;
use latchkey_core::db::TenantTx;
use latchkey_core::error::{Error, Result};
use latchkey_core::outbox::EventType;
use sea_orm::{ColumnTrait, QueryFilter};
use serde_json::Value;
use uuid::Uuid;

pub(crate) mod connector_row {
    use sea_orm::entity::prelude::*;

    #[sea_orm::model]
    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "crm_connectors")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub tenant_id: Uuid,
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub name: String,
        pub kind: String,
        pub direction: String,
        pub triggers: Json,
        pub settings: Json,
        pub credentials: String,
        pub field_mapping: Json,
        pub contract_mapping: Option<Json>,
        pub enabled: bool,
        pub created_at: DateTimeUtc,
        pub updated_at: DateTimeUtc,
    }

    impl ActiveModelBehavior for ActiveModel {}
}
latchkey_core::tenant_owned!(connector_row);

/// Which CRM a connector speaks to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConnectorKind {
    HubSpot,
    Salesforce,
    Dynamics365,
    Webhook,
}

impl ConnectorKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ConnectorKind::HubSpot => "hubspot",
            ConnectorKind::Salesforce => "salesforce",
            ConnectorKind::Dynamics365 => "dynamics365",
            ConnectorKind::Webhook => "webhook",
        }
    }

    pub(super) fn parse(value: &str) -> Result<Self> {
        match value {
            "hubspot" => Ok(ConnectorKind::HubSpot),
            "salesforce" => Ok(ConnectorKind::Salesforce),
            "dynamics365" => Ok(ConnectorKind::Dynamics365),
            "webhook" => Ok(ConnectorKind::Webhook),
            other => Err(Error::internal(format!("unknown connector kind {other:?}"))),
        }
    }
}

/// Which way records flow.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    /// Latchkey → CRM.
    Push,
    /// CRM → Latchkey.
    Pull,
    Both,
}

impl Direction {
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::Push => "push",
            Direction::Pull => "pull",
            Direction::Both => "both",
        }
    }

    pub(super) fn parse(value: &str) -> Result<Self> {
        match value {
            "push" => Ok(Direction::Push),
            "pull" => Ok(Direction::Pull),
            "both" => Ok(Direction::Both),
            other => Err(Error::internal(format!("unknown direction {other:?}"))),
        }
    }

    pub(super) fn pushes(self) -> bool {
        matches!(self, Direction::Push | Direction::Both)
    }

    pub fn pulls(self) -> bool {
        matches!(self, Direction::Pull | Direction::Both)
    }
}

/// What a connector does when its CRM deletes a contact or company it pulled
/// (`settings.onRemoteDelete`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RemoteDelete {
    /// The link to the record goes; the identity, organization and memberships stay.
    Unlink,
    /// The memberships the connector's organizations gave go too (and pending invitations
    /// into them): the default.
    RemoveMembership,
    /// The identities are suspended (their sessions end) and the link goes.
    SuspendIdentity,
}

impl RemoteDelete {
    pub const ALL: [RemoteDelete; 3] = [
        RemoteDelete::Unlink,
        RemoteDelete::RemoveMembership,
        RemoteDelete::SuspendIdentity,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            RemoteDelete::Unlink => "UNLINK",
            RemoteDelete::RemoveMembership => "REMOVE_MEMBERSHIP",
            RemoteDelete::SuspendIdentity => "SUSPEND_IDENTITY",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|action| action.as_str() == value)
    }
}

/// A connector as the API shows it: never its credentials.
#[derive(Clone, Debug)]
pub struct Connector {
    pub id: Uuid,
    pub name: String,
    pub kind: ConnectorKind,
    pub direction: Direction,
    pub triggers: Vec<EventType>,
    pub settings: Value,
    pub field_mapping: Value,
    /// What was bought and contact roles → organization roles and entitlements (pulling CRM
    /// connectors; see `contract_mapping`).
    pub contract_mapping: Option<Value>,
    pub enabled: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Connector {
    /// What a deletion in the CRM does (`settings.onRemoteDelete`, `REMOVE_MEMBERSHIP` unless
    /// set).
    pub fn on_remote_delete(&self) -> RemoteDelete {
        self.settings["onRemoteDelete"]
            .as_str()
            .and_then(RemoteDelete::parse)
            .unwrap_or(RemoteDelete::RemoveMembership)
    }
}

impl TryFrom<&connector_row::Model> for Connector {
    type Error = Error;

    fn try_from(row: &connector_row::Model) -> Result<Self> {
        let names: Vec<String> =
            serde_json::from_value(row.triggers.clone()).map_err(Error::internal)?;
        Ok(Self {
            id: row.id,
            name: row.name.clone(),
            kind: ConnectorKind::parse(&row.kind)?,
            direction: Direction::parse(&row.direction)?,
            triggers: names
                .iter()
                .map(|name| {
                    EventType::parse(name)
                        .ok_or_else(|| Error::internal(format!("unknown trigger {name:?}")))
                })
                .collect::<Result<_>>()?,
            settings: row.settings.clone(),
            field_mapping: row.field_mapping.clone(),
            contract_mapping: row.contract_mapping.clone(),
            enabled: row.enabled,
            created_at: row.created_at,
            updated_at: row.updated_at,
        })
    }
}

/// What `createCrmConnector` takes. `settings`, `credentials` and `field_mapping` are checked
/// per kind; errors name the bad field (`settings.url`, `credentials.secret`, …).
#[derive(Clone, Debug)]
pub struct NewConnector {
    pub name: String,
    pub kind: ConnectorKind,
    pub direction: Direction,
    /// Empty = every event type.
    pub triggers: Vec<EventType>,
    pub settings: Value,
    pub credentials: Value,
    pub field_mapping: Option<Value>,
    pub contract_mapping: Option<Value>,
}

/// What `updateCrmConnector` changes; `None` keeps a field.
#[derive(Clone, Debug, Default)]
pub struct ConnectorChanges {
    pub name: Option<String>,
    pub triggers: Option<Vec<EventType>>,
    pub settings: Option<Value>,
    pub credentials: Option<Value>,
    pub field_mapping: Option<Value>,
    /// `Some(Value::Null)` removes the mapping.
    pub contract_mapping: Option<Value>,
    /// Sets `settings.onRemoteDelete` (kept with the rest of the settings).
    pub on_remote_delete: Option<RemoteDelete>,
    pub enabled: Option<bool>,
}

fn credentials_context(connector_id: Uuid) -> Vec<u8> {
    format!("latchkey crm credentials {connector_id}").into_bytes()
}

pub(super) fn seal_credentials(
    key: &MasterKey,
    connector_id: Uuid,
    credentials: &Value,
) -> Result<String> {
    key.seal(
        &credentials_context(connector_id),
        credentials.to_string().as_bytes(),
    )
}

/// The connector's credentials, unsealed (for the clients only).
pub(crate) fn open_credentials(key: &MasterKey, row: &connector_row::Model) -> Result<Value> {
    let plain = key.open(&credentials_context(row.id), &row.credentials)?;
    serde_json::from_slice(&plain).map_err(Error::internal)
}

pub(super) async fn find_row(tx: &TenantTx, id: Uuid) -> Result<connector_row::Model> {
    tx.find::<connector_row::Entity>()
        .filter(connector_row::Column::Id.eq(id))
        .one()
        .await?
        .ok_or(Error::NotFound)
}
