//! Per-tenant CRM connectors. A connector pushes the tenant's domain events (see
//! [`latchkey_core::outbox`]) to HubSpot, Salesforce, Dynamics 365 or a signed webhook. Every event
//! that matches an enabled connector's triggers gets a delivery row in the event's own
//! transaction; the [`dispatch`] loop delivers them with retries, backoff and a dead letter.
//! Credentials are write-only and sealed under the master key.

pub mod clients;
pub mod dispatch;
pub mod inbound;
pub mod pull;
pub mod sync;

use chrono::{DateTime, Utc};
use latchkey_core::actor::{Actor, Permission, Principal};
use latchkey_core::audit::Target;
use latchkey_core::authz::Grant;
use latchkey_core::authz::{Resource, authorize};
use latchkey_core::crypto::MasterKey;
use latchkey_core::db::{Database, TenantTx};
use latchkey_core::error::{Error, Result, is_unique_violation};
use latchkey_core::granted;
use latchkey_core::outbox::{DomainEvent, EventSubscriber, EventType};
use latchkey_core::page::{Page, PageRequest, keyset};
use latchkey_core::scope::TenantScope;
use latchkey_core::validate::Name;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, QueryFilter, Set};
use serde_json::{Map, Value, json};
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
        pub enabled: bool,
        pub created_at: DateTimeUtc,
        pub updated_at: DateTimeUtc,
    }

    impl ActiveModelBehavior for ActiveModel {}
}
latchkey_core::tenant_owned!(connector_row);

pub(crate) mod delivery_row {
    use sea_orm::entity::prelude::*;

    #[sea_orm::model]
    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "crm_deliveries")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub tenant_id: Uuid,
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub connector_id: Uuid,
        pub event_id: Uuid,
        pub event_type: String,
        pub subject_id: Uuid,
        pub status: String,
        pub attempts: i32,
        pub next_attempt_at: DateTimeUtc,
        pub last_error: Option<String>,
        pub remote_id: Option<String>,
        pub sync_run_id: Option<Uuid>,
        pub created_at: DateTimeUtc,
        pub updated_at: DateTimeUtc,
        pub delivered_at: Option<DateTimeUtc>,
    }

    impl ActiveModelBehavior for ActiveModel {}
}
latchkey_core::tenant_owned!(delivery_row);
impl latchkey_core::db::QueueTable for delivery_row::Entity {}

pub(crate) mod record_row {
    use sea_orm::entity::prelude::*;

    #[sea_orm::model]
    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "crm_records")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub tenant_id: Uuid,
        #[sea_orm(primary_key, auto_increment = false)]
        pub connector_id: Uuid,
        #[sea_orm(primary_key, auto_increment = false)]
        pub subject_id: Uuid,
        pub remote_id: String,
        pub updated_at: DateTimeUtc,
    }

    impl ActiveModelBehavior for ActiveModel {}
}
latchkey_core::tenant_owned!(record_row);

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

    fn parse(value: &str) -> Result<Self> {
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

    fn parse(value: &str) -> Result<Self> {
        match value {
            "push" => Ok(Direction::Push),
            "pull" => Ok(Direction::Pull),
            "both" => Ok(Direction::Both),
            other => Err(Error::internal(format!("unknown direction {other:?}"))),
        }
    }

    fn pushes(self) -> bool {
        matches!(self, Direction::Push | Direction::Both)
    }

    fn pulls(self) -> bool {
        matches!(self, Direction::Pull | Direction::Both)
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
    pub enabled: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
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
}

/// What `updateCrmConnector` changes; `None` keeps a field.
#[derive(Clone, Debug, Default)]
pub struct ConnectorChanges {
    pub name: Option<String>,
    pub triggers: Option<Vec<EventType>>,
    pub settings: Option<Value>,
    pub credentials: Option<Value>,
    pub field_mapping: Option<Value>,
    pub enabled: Option<bool>,
}

fn credentials_context(connector_id: Uuid) -> Vec<u8> {
    format!("latchkey crm credentials {connector_id}").into_bytes()
}

fn seal_credentials(key: &MasterKey, connector_id: Uuid, credentials: &Value) -> Result<String> {
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

fn object(field: &str, value: &Value) -> Result<Map<String, Value>> {
    value
        .as_object()
        .cloned()
        .ok_or_else(|| Error::validation(field, "must be a JSON object"))
}

/// A required string member of a settings or credentials object.
fn required(map: &Map<String, Value>, field: &str, name: &str) -> Result<String> {
    match map.get(name) {
        Some(Value::String(value)) if !value.trim().is_empty() => Ok(value.trim().to_owned()),
        Some(_) => Err(Error::validation(
            &format!("{field}.{name}"),
            "must be a non-empty string",
        )),
        None => Err(Error::validation(&format!("{field}.{name}"), "is required")),
    }
}

fn optional(map: &Map<String, Value>, field: &str, name: &str) -> Result<Option<String>> {
    match map.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(_) => required(map, field, name).map(Some),
    }
}

/// An `http(s)` URL without credentials or fragment.
fn url_setting(map: &Map<String, Value>, field: &str, name: &str) -> Result<String> {
    let value = required(map, field, name)?;
    let invalid = |reason: &str| Error::validation(&format!("{field}.{name}"), reason);
    let url = url::Url::parse(&value).map_err(|_| invalid("is not a URL"))?;
    if !matches!(url.scheme(), "https" | "http") {
        return Err(invalid("must be an https:// (or http://) URL"));
    }
    if !url.username().is_empty() || url.password().is_some() || url.fragment().is_some() {
        return Err(invalid("must not carry a user name, password or fragment"));
    }
    Ok(value.trim_end_matches('/').to_owned())
}

/// Checks the members each kind knows and nothing else; answers the settings and credentials
/// with defaults filled in.
fn check_kind(
    kind: ConnectorKind,
    direction: Direction,
    settings: &Value,
    credentials: &Value,
) -> Result<(Value, Value)> {
    let (settings, credentials) = check_kind_members(kind, direction, settings, credentials)?;
    Ok((with_pull_settings(kind, direction, settings)?, credentials))
}

/// The pull settings (`pullIntervalSeconds`, `pullOrganizations`) added to checked settings:
/// only pulling connectors of a CRM take them.
fn with_pull_settings(
    kind: ConnectorKind,
    direction: Direction,
    mut settings: Value,
) -> Result<Value> {
    let given = |name: &str| settings.get(name).is_some_and(|v| !v.is_null());
    let pulls_from_crm = direction.pulls() && kind != ConnectorKind::Webhook;
    for name in PULL_SETTINGS {
        if given(name) && !pulls_from_crm {
            return Err(Error::validation(
                &format!("settings.{name}"),
                "applies only to HUBSPOT, SALESFORCE and DYNAMICS365 connectors with direction PULL or BOTH",
            ));
        }
    }
    if !pulls_from_crm {
        return Ok(settings);
    }
    let interval = match settings.get("pullIntervalSeconds") {
        None | Some(Value::Null) => DEFAULT_PULL_INTERVAL_SECONDS,
        Some(value) => value
            .as_u64()
            .filter(|v| *v == 0 || (30..=86_400).contains(v))
            .ok_or_else(|| {
                Error::validation(
                    "settings.pullIntervalSeconds",
                    "must be 0 (webhooks only, no scheduled pull) or a whole number of seconds from 30 to 86400",
                )
            })?,
    };
    let organizations = match settings.get("pullOrganizations") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(value)) => *value,
        Some(_) => {
            return Err(Error::validation(
                "settings.pullOrganizations",
                "must be true or false",
            ));
        }
    };
    let source = match settings.get("pullFrom") {
        None | Some(Value::Null) => "contacts",
        Some(Value::String(source)) if source == "contacts" || source == "closedWonDeals" => {
            source.as_str()
        }
        Some(_) => {
            return Err(Error::validation(
                "settings.pullFrom",
                "must be \"contacts\" (every changed contact) or \"closedWonDeals\" (the contacts of won deals)",
            ));
        }
    }
    .to_owned();
    match settings.get("closedWonStage") {
        None | Some(Value::Null) => {}
        Some(_) if kind != ConnectorKind::HubSpot => {
            return Err(Error::validation(
                "settings.closedWonStage",
                "applies to HUBSPOT only (Salesforce and Dynamics mark won deals themselves)",
            ));
        }
        Some(Value::String(stage)) if !stage.trim().is_empty() && stage.len() <= 100 => {}
        Some(_) => {
            return Err(Error::validation(
                "settings.closedWonStage",
                "must be a HubSpot deal stage id such as closedwon",
            ));
        }
    }
    settings["pullIntervalSeconds"] = json!(interval);
    settings["pullOrganizations"] = json!(organizations);
    settings["pullFrom"] = json!(source);
    Ok(settings)
}

/// The settings only pulling CRM connectors take.
const PULL_SETTINGS: [&str; 4] = [
    "pullIntervalSeconds",
    "pullOrganizations",
    "pullFrom",
    "closedWonStage",
];

/// Scheduled pulls every five minutes unless a connector says otherwise.
const DEFAULT_PULL_INTERVAL_SECONDS: u64 = 300;

fn check_kind_members(
    kind: ConnectorKind,
    direction: Direction,
    settings: &Value,
    credentials: &Value,
) -> Result<(Value, Value)> {
    let s = object("settings", settings)?;
    let c = object("credentials", credentials)?;
    let with_pull = |known: &[&'static str]| -> Vec<&'static str> {
        known.iter().chain(PULL_SETTINGS.iter()).copied().collect()
    };
    let allow = |map: &Map<String, Value>, field: &str, known: &[&str]| -> Result<()> {
        match map.keys().find(|key| !known.contains(&key.as_str())) {
            Some(unknown) => Err(Error::validation(
                &format!("{field}.{unknown}"),
                format!(
                    "is not a {} setting (known: {})",
                    kind.as_str(),
                    known.join(", ")
                ),
            )),
            None => Ok(()),
        }
    };
    match kind {
        ConnectorKind::Webhook => {
            allow(&s, "settings", &["url"])?;
            allow(&c, "credentials", &["secret"])?;
            // A pull-only webhook connector only receives: it needs no URL.
            let url = if direction.pushes() || s.get("url").is_some_and(|v| !v.is_null()) {
                json!(url_setting(&s, "settings", "url")?)
            } else {
                Value::Null
            };
            let secret = signing_secret(&c, "secret")?;
            let settings = if url.is_null() {
                json!({})
            } else {
                json!({ "url": url })
            };
            Ok((settings, json!({ "secret": secret })))
        }
        ConnectorKind::HubSpot => {
            allow(&s, "settings", &with_pull(&["baseUrl"]))?;
            allow(&c, "credentials", &["token", "clientSecret"])?;
            let base_url = match s.get("baseUrl") {
                None | Some(Value::Null) => "https://api.hubapi.com".to_owned(),
                Some(_) => url_setting(&s, "settings", "baseUrl")?,
            };
            let mut credentials = json!({ "token": required(&c, "credentials", "token")? });
            // The app's client secret signs HubSpot's webhook requests (signature v3).
            if let Some(secret) = optional(&c, "credentials", "clientSecret")? {
                credentials["clientSecret"] = json!(secret);
            }
            Ok((
                with_members(json!({ "baseUrl": base_url }), &s, &PULL_SETTINGS),
                credentials,
            ))
        }
        ConnectorKind::Salesforce => {
            allow(
                &s,
                "settings",
                &with_pull(&[
                    "instanceUrl",
                    "tokenUrl",
                    "apiVersion",
                    "contactExternalIdField",
                    "accountExternalIdField",
                ]),
            )?;
            allow(
                &c,
                "credentials",
                &["clientId", "clientSecret", "webhookSecret"],
            )?;
            let instance_url = url_setting(&s, "settings", "instanceUrl")?;
            let token_url = match s.get("tokenUrl") {
                None | Some(Value::Null) => format!("{instance_url}/services/oauth2/token"),
                Some(_) => url_setting(&s, "settings", "tokenUrl")?,
            };
            let api_version =
                optional(&s, "settings", "apiVersion")?.unwrap_or_else(|| "v62.0".to_owned());
            if !api_version.starts_with('v') || api_version[1..].parse::<f32>().is_err() {
                return Err(Error::validation(
                    "settings.apiVersion",
                    "must look like v62.0",
                ));
            }
            let contact_field = api_name(&s, "contactExternalIdField")?;
            let account_field = api_name(&s, "accountExternalIdField")?;
            Ok((
                with_members(
                    json!({
                        "instanceUrl": instance_url,
                        "tokenUrl": token_url,
                        "apiVersion": api_version,
                        "contactExternalIdField": contact_field,
                        "accountExternalIdField": account_field,
                    }),
                    &s,
                    &PULL_SETTINGS,
                ),
                client_credentials(&c)?,
            ))
        }
        ConnectorKind::Dynamics365 => {
            allow(
                &s,
                "settings",
                &with_pull(&["baseUrl", "tokenUrl", "scope", "contactKey", "accountKey"]),
            )?;
            allow(
                &c,
                "credentials",
                &["clientId", "clientSecret", "webhookSecret"],
            )?;
            let base_url = url_setting(&s, "settings", "baseUrl")?;
            let token_url = url_setting(&s, "settings", "tokenUrl")?;
            let scope = match optional(&s, "settings", "scope")? {
                Some(scope) => scope,
                None => {
                    let url = url::Url::parse(&base_url).map_err(Error::internal)?;
                    format!("{}/.default", url.origin().ascii_serialization())
                }
            };
            Ok((
                with_members(
                    json!({
                        "baseUrl": base_url,
                        "tokenUrl": token_url,
                        "scope": scope,
                        "contactKey": api_name(&s, "contactKey")?,
                        "accountKey": api_name(&s, "accountKey")?,
                    }),
                    &s,
                    &PULL_SETTINGS,
                ),
                client_credentials(&c)?,
            ))
        }
    }
}

/// `checked` with the members `names` of `given` copied over (checked later).
fn with_members(mut checked: Value, given: &Map<String, Value>, names: &[&str]) -> Value {
    for name in names {
        if let Some(value) = given.get(*name) {
            checked[*name] = value.clone();
        }
    }
    checked
}

/// A secret that signs webhook requests: at least 16 characters.
fn signing_secret(map: &Map<String, Value>, name: &str) -> Result<String> {
    let secret = required(map, "credentials", name)?;
    if secret.len() < 16 {
        return Err(Error::validation(
            &format!("credentials.{name}"),
            "must have at least 16 characters",
        ));
    }
    Ok(secret)
}

/// OAuth client credentials (Salesforce, Dataverse), with the optional `webhookSecret` that
/// signs the CRM's inbound webhook requests in the generic form.
fn client_credentials(c: &Map<String, Value>) -> Result<Value> {
    let mut credentials = json!({
        "clientId": required(c, "credentials", "clientId")?,
        "clientSecret": required(c, "credentials", "clientSecret")?,
    });
    if c.get("webhookSecret").is_some_and(|v| !v.is_null()) {
        credentials["webhookSecret"] = json!(signing_secret(c, "webhookSecret")?);
    }
    Ok(credentials)
}

/// A CRM field or column name: letters, digits and `_`, starting with a letter.
fn api_name(map: &Map<String, Value>, name: &str) -> Result<String> {
    let value = required(map, "settings", name)?;
    check_field_name(&format!("settings.{name}"), &value)?;
    Ok(value)
}

fn check_field_name(field: &str, value: &str) -> Result<()> {
    let ok = value.len() <= 100
        && value.starts_with(|c: char| c.is_ascii_alphabetic())
        && value.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if ok {
        Ok(())
    } else {
        Err(Error::validation(
            field,
            format!(
                "{value:?} is not a CRM field name (letters, digits and _, starting with a letter)"
            ),
        ))
    }
}

/// Latchkey fields a mapping may read, by subject.
const IDENTITY_FIELDS: [&str; 8] = [
    "id",
    "email",
    "emailVerified",
    "phone",
    "displayName",
    "status",
    "externalId",
    "createdAt",
];
const ORGANIZATION_FIELDS: [&str; 6] = ["id", "name", "slug", "kind", "externalId", "createdAt"];

/// The default mapping of a kind: CRM field → Latchkey field.
fn default_mapping(kind: ConnectorKind) -> Value {
    match kind {
        ConnectorKind::Webhook => json!({}),
        ConnectorKind::HubSpot => json!({
            "identity": { "email": "email", "firstname": "displayName", "phone": "phone", "idp_user_id": "id" },
            "organization": { "name": "name", "idp_org_id": "id" },
        }),
        ConnectorKind::Salesforce => json!({
            "identity": { "Email": "email", "LastName": "displayName", "Phone": "phone" },
            "organization": { "Name": "name" },
        }),
        ConnectorKind::Dynamics365 => json!({
            "identity": { "emailaddress1": "email", "lastname": "displayName", "telephone1": "phone" },
            "organization": { "name": "name" },
        }),
    }
}

/// Checks a field mapping: `{ "identity": { "<CRM field>": "<Latchkey field>" },
/// "organization": { … } }`, where a Latchkey field is one of the known ones, or
/// `attributes.<key>` (identities) / `metadata.<key>` (organizations).
fn check_mapping(kind: ConnectorKind, mapping: Option<Value>) -> Result<Value> {
    let Some(mapping) = mapping else {
        return Ok(default_mapping(kind));
    };
    let map = object("fieldMapping", &mapping)?;
    if kind == ConnectorKind::Webhook && !map.is_empty() {
        return Err(Error::validation(
            "fieldMapping",
            "a WEBHOOK connector sends whole events; leave the mapping out",
        ));
    }
    for (subject, fields) in &map {
        let (known, nested): (&[&str], &str) = match subject.as_str() {
            "identity" => (&IDENTITY_FIELDS, "attributes."),
            "organization" => (&ORGANIZATION_FIELDS, "metadata."),
            other => {
                return Err(Error::validation(
                    &format!("fieldMapping.{other}"),
                    "is not a subject (identity, organization)",
                ));
            }
        };
        let fields = object(&format!("fieldMapping.{subject}"), fields)?;
        for (crm_field, source) in &fields {
            let field = format!("fieldMapping.{subject}.{crm_field}");
            check_field_name(&field, crm_field)?;
            let source = source
                .as_str()
                .ok_or_else(|| Error::validation(&field, "must name a Latchkey field"))?;
            let valid = known.contains(&source)
                || source
                    .strip_prefix(nested)
                    .is_some_and(|key| !key.is_empty() && key.len() <= 100);
            if !valid {
                return Err(Error::validation(
                    &field,
                    format!(
                        "{source:?} is not a Latchkey {subject} field (known: {}, {nested}<key>)",
                        known.join(", ")
                    ),
                ));
            }
        }
    }
    Ok(mapping)
}

fn check_triggers(triggers: Vec<EventType>) -> Vec<EventType> {
    if triggers.is_empty() {
        EventType::ALL.to_vec()
    } else {
        let mut unique = Vec::new();
        for trigger in triggers {
            if !unique.contains(&trigger) {
                unique.push(trigger);
            }
        }
        unique
    }
}

fn trigger_names(triggers: &[EventType]) -> Value {
    json!(triggers.iter().map(|t| t.as_str()).collect::<Vec<_>>())
}

async fn find_row(tx: &TenantTx, id: Uuid) -> Result<connector_row::Model> {
    tx.find::<connector_row::Entity>()
        .filter(connector_row::Column::Id.eq(id))
        .one()
        .await?
        .ok_or(Error::NotFound)
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
            enabled: Set(true),
            created_at: Set(now),
            updated_at: Set(now),
        })
        .await
        .map_err(name_conflict)?;
    let connector = Connector::try_from(&row)?;
    pull::schedule_in(&tx, &connector).await?;
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
    if changes.settings.is_some() || changes.credentials.is_some() {
        let new_credentials = changes.credentials.is_some();
        let current_credentials = open_credentials(key, &row)?;
        let settings = changes.settings.unwrap_or(row.settings.clone());
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
    pull::schedule_in(&tx, &connector).await?;
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
    pull::delete_schedule_in(&tx, id).await?;
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
    let status = pull::status_in(&tx, id).await?;
    tx.commit().await?;
    Ok(status)
}

/// Makes a connector's scheduled pull due now. Requires `ManageConnectors`.
#[tracing::instrument(name = "core.pull_crm_connector", skip_all, fields(tenant.id = %scope.tenant_id()))]
pub async fn pull_now(db: &Database, scope: &TenantScope, actor: &Actor, id: Uuid) -> Result<()> {
    let grant = authorize(actor, Permission::ManageConnectors, Resource::Tenant)?;
    let tx = db.begin_tenant(scope).await?;
    find_row(&tx, id).await?;
    if !pull::pull_now_in(&tx, id).await? {
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

/// Queues the deliveries of every domain event in the event's own transaction: the server
/// registers it on the database ([`Database::with_subscriber`]).
#[derive(Debug, Default)]
pub struct DeliverySubscriber;

#[async_trait::async_trait]
impl EventSubscriber for DeliverySubscriber {
    async fn on_event(
        &self,
        tx: &TenantTx,
        actor: &Actor,
        event: &DomainEvent,
        _changed: &[&'static str],
    ) -> Result<()> {
        match EventType::parse(&event.event_type) {
            Some(event_type) => enqueue_in(tx, actor, event, event_type).await,
            None => Ok(()),
        }
    }
}

/// Queues `event` for every push connector of the tenant whose triggers include it, in the
/// event's own transaction. A disabled connector's deliveries wait until it is enabled. A
/// change a connector made from what it pulled is not pushed back to that connector (no sync
/// loops); other connectors still get it.
async fn enqueue_in(
    tx: &TenantTx,
    actor: &Actor,
    event: &DomainEvent,
    event_type: EventType,
) -> Result<()> {
    let origin = match *actor.principal() {
        Principal::Connector { id } => Some(id),
        _ => None,
    };
    let connectors = tx.find::<connector_row::Entity>().all().await?;
    for row in connectors {
        let connector = Connector::try_from(&row)?;
        if connector.direction.pushes()
            && connector.triggers.contains(&event_type)
            && origin != Some(connector.id)
        {
            insert_delivery_in(tx, connector.id, event, None).await?;
        }
    }
    Ok(())
}

/// A pending delivery of `event` to a connector, due now; `sync_run_id` for a backfill's.
async fn insert_delivery_in(
    tx: &TenantTx,
    connector_id: Uuid,
    event: &DomainEvent,
    sync_run_id: Option<Uuid>,
) -> Result<()> {
    let now = Utc::now();
    tx.insert(delivery_row::ActiveModel {
        tenant_id: Set(tx.scope().tenant_id()),
        id: Set(Uuid::now_v7()),
        connector_id: Set(connector_id),
        event_id: Set(event.id),
        event_type: Set(event.event_type.clone()),
        subject_id: Set(event.subject_id),
        status: Set(DeliveryStatus::Pending.as_str().to_owned()),
        attempts: Set(0),
        next_attempt_at: Set(now),
        last_error: Set(None),
        remote_id: Set(None),
        sync_run_id: Set(sync_run_id),
        created_at: Set(now),
        updated_at: Set(now),
        delivered_at: Set(None),
    })
    .await?;
    tx.wake_workers_on_commit();
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Deliveries ("sync events")

/// Where a delivery stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeliveryStatus {
    /// Waiting for its (next) attempt.
    Pending,
    Delivered,
    /// Gave up after the last attempt, or refused for good by the CRM; can be replayed.
    Dead,
}

impl DeliveryStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryStatus::Pending => "pending",
            DeliveryStatus::Delivered => "delivered",
            DeliveryStatus::Dead => "dead",
        }
    }

    fn parse(value: &str) -> Result<Self> {
        match value {
            "pending" => Ok(DeliveryStatus::Pending),
            "delivered" => Ok(DeliveryStatus::Delivered),
            "dead" => Ok(DeliveryStatus::Dead),
            other => Err(Error::internal(format!(
                "unknown delivery status {other:?}"
            ))),
        }
    }
}

/// One delivery of one event to one connector.
#[derive(Clone, Debug)]
pub struct Delivery {
    pub id: Uuid,
    pub connector_id: Uuid,
    pub event_id: Uuid,
    pub event_type: String,
    pub subject_id: Uuid,
    pub status: DeliveryStatus,
    pub attempts: u32,
    pub next_attempt_at: DateTime<Utc>,
    pub last_error: Option<String>,
    /// The CRM's record id, once delivered.
    pub remote_id: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub delivered_at: Option<DateTime<Utc>>,
}

impl TryFrom<delivery_row::Model> for Delivery {
    type Error = Error;

    fn try_from(row: delivery_row::Model) -> Result<Self> {
        Ok(Self {
            id: row.id,
            connector_id: row.connector_id,
            event_id: row.event_id,
            event_type: row.event_type,
            subject_id: row.subject_id,
            status: DeliveryStatus::parse(&row.status)?,
            attempts: u32::try_from(row.attempts).unwrap_or(0),
            next_attempt_at: row.next_attempt_at,
            last_error: row.last_error,
            remote_id: row.remote_id,
            created_at: row.created_at,
            updated_at: row.updated_at,
            delivered_at: row.delivered_at,
        })
    }
}

/// Filters of [`list_deliveries`].
#[derive(Clone, Debug, Default)]
pub struct DeliveryFilter {
    pub status: Option<DeliveryStatus>,
    pub connector_id: Option<Uuid>,
    /// The identity or organization (or membership) the event is about.
    pub subject_id: Option<Uuid>,
}

/// Deliveries, oldest first. Requires `ReadConnectors`.
pub async fn list_deliveries(
    db: &Database,
    scope: &TenantScope,
    actor: &Actor,
    filter: DeliveryFilter,
    page: PageRequest,
) -> Result<Page<Delivery>> {
    authorize(actor, Permission::ReadConnectors, Resource::Tenant)?;
    let tx = db.begin_tenant(scope).await?;
    let mut query = tx.find::<delivery_row::Entity>();
    if let Some(status) = filter.status {
        query = query.filter(delivery_row::Column::Status.eq(status.as_str()));
    }
    if let Some(connector_id) = filter.connector_id {
        query = query.filter(delivery_row::Column::ConnectorId.eq(connector_id));
    }
    if let Some(subject_id) = filter.subject_id {
        query = query.filter(delivery_row::Column::SubjectId.eq(subject_id));
    }
    let rows = keyset(query, delivery_row::Column::Id, page).await?;
    tx.commit().await?;
    rows.try_map(Delivery::try_from)
}

/// Queues a dead delivery again from its first attempt. Requires `ManageConnectors`.
pub async fn replay_delivery(
    db: &Database,
    scope: &TenantScope,
    actor: &Actor,
    id: Uuid,
) -> Result<Delivery> {
    let grant = authorize(actor, Permission::ManageConnectors, Resource::Tenant)?;
    let tx = db.begin_tenant(scope).await?;
    let row = tx
        .find::<delivery_row::Entity>()
        .filter(delivery_row::Column::Id.eq(id))
        .one()
        .await?
        .ok_or(Error::NotFound)?;
    if row.status != DeliveryStatus::Dead.as_str() {
        return Err(Error::Refused(format!(
            "only dead deliveries are replayed; this one is {}",
            row.status
        )));
    }
    let mut active: delivery_row::ActiveModel = row.into();
    active.status = Set(DeliveryStatus::Pending.as_str().to_owned());
    active.attempts = Set(0);
    active.next_attempt_at = Set(Utc::now());
    active.updated_at = Set(Utc::now());
    let delivery = Delivery::try_from(tx.update(active).await?)?;
    tx.wake_workers_on_commit();
    let target = id.to_string();
    granted::audit(
        &tx,
        &grant,
        "crm_delivery.replay",
        Some(Target {
            kind: "crm_delivery",
            id: &target,
        }),
        json!({ "connectorId": delivery.connector_id, "eventId": delivery.event_id }),
    )
    .await?;
    tx.commit().await?;
    Ok(delivery)
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
    clients: &clients::Clients,
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
