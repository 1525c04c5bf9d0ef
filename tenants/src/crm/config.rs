//! The rules a connector's configuration follows, per kind: which `settings` and
//! `credentials` members it takes (with defaults filled in, including the pull settings of
//! pulling CRM connectors), what a `fieldMapping` may name, and the trigger list. Pure
//! checks; errors name the bad field (`settings.url`, `credentials.secret`, …).

use super::connector::{ConnectorKind, Direction, RemoteDelete};
use latchkey_core::error::{Error, Result};
use latchkey_core::outbox::EventType;
use serde_json::{Map, Value, json};

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
pub(super) fn check_kind(
    kind: ConnectorKind,
    direction: Direction,
    settings: &Value,
    credentials: &Value,
) -> Result<(Value, Value)> {
    let on_delete = settings.get("onRemoteDelete").filter(|v| !v.is_null());
    let on_delete = match on_delete {
        None => None,
        Some(_) if !direction.pulls() => {
            return Err(Error::validation(
                "settings.onRemoteDelete",
                "applies only to connectors with direction PULL or BOTH",
            ));
        }
        Some(value) => Some(
            value
                .as_str()
                .and_then(RemoteDelete::parse)
                .ok_or_else(|| {
                    Error::validation(
                        "settings.onRemoteDelete",
                        "must be UNLINK, REMOVE_MEMBERSHIP or SUSPEND_IDENTITY",
                    )
                })?,
        ),
    };
    let mut given = settings.clone();
    if let Some(map) = given.as_object_mut() {
        map.remove("onRemoteDelete");
    }
    let (settings, credentials) = check_kind_members(kind, direction, &given, credentials)?;
    let mut settings = with_pull_settings(kind, direction, settings)?;
    if let Some(action) = on_delete {
        settings["onRemoteDelete"] = json!(action.as_str());
    }
    Ok((settings, credentials))
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
    for (name, example) in [
        ("closedWonStage", "closedwon"),
        ("closedLostStage", "closedlost"),
    ] {
        match settings.get(name) {
            None | Some(Value::Null) => {}
            Some(_) if kind != ConnectorKind::HubSpot => {
                return Err(Error::validation(
                    &format!("settings.{name}"),
                    "applies to HUBSPOT only (Salesforce and Dynamics mark won and lost deals themselves)",
                ));
            }
            Some(Value::String(stage)) if !stage.trim().is_empty() && stage.len() <= 100 => {}
            Some(_) => {
                return Err(Error::validation(
                    &format!("settings.{name}"),
                    format!("must be a HubSpot deal stage id such as {example}"),
                ));
            }
        }
    }
    for name in ["contractStartField", "contractEndField"] {
        match settings.get(name) {
            None | Some(Value::Null) => {}
            Some(Value::String(field)) => check_field_name(&format!("settings.{name}"), field)?,
            Some(_) => {
                return Err(Error::validation(
                    &format!("settings.{name}"),
                    "must name a date field of the deal or opportunity",
                ));
            }
        }
    }
    settings["pullIntervalSeconds"] = json!(interval);
    settings["pullOrganizations"] = json!(organizations);
    settings["pullFrom"] = json!(source);
    Ok(settings)
}

/// The settings only pulling CRM connectors take.
const PULL_SETTINGS: [&str; 7] = [
    "pullIntervalSeconds",
    "pullOrganizations",
    "pullFrom",
    "closedWonStage",
    "closedLostStage",
    "contractStartField",
    "contractEndField",
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

/// The prefix of a consent decision in an identity mapping (`consents.<purpose>`).
pub(super) const CONSENTS: &str = "consents.";

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
const ORGANIZATION_FIELDS: [&str; 7] = [
    "id",
    "name",
    "slug",
    "kind",
    "externalId",
    "createdAt",
    // The entitlement keys it holds now, `;`-separated (pushed only).
    "entitlements",
];

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
/// `attributes.<key>` (identities) / `metadata.<key>` (organizations), or for identities
/// `consents.<purpose>` (whether the user granted it; pushed only, never pulled).
pub(super) fn check_mapping(kind: ConnectorKind, mapping: Option<Value>) -> Result<Value> {
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
            let keyed = |prefix: &str| {
                source
                    .strip_prefix(prefix)
                    .is_some_and(|key| !key.is_empty() && key.len() <= 100)
            };
            let valid = known.contains(&source)
                || keyed(nested)
                || (subject == "identity" && keyed(CONSENTS));
            if !valid {
                return Err(Error::validation(
                    &field,
                    format!(
                        "{source:?} is not a Latchkey {subject} field (known: {}, {nested}<key>{})",
                        known.join(", "),
                        if subject == "identity" {
                            ", consents.<purpose>"
                        } else {
                            ""
                        }
                    ),
                ));
            }
        }
    }
    Ok(mapping)
}

pub(super) fn check_triggers(triggers: Vec<EventType>) -> Vec<EventType> {
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

pub(super) fn trigger_names(triggers: &[EventType]) -> Value {
    json!(triggers.iter().map(|t| t.as_str()).collect::<Vec<_>>())
}
