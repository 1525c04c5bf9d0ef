//! The CRM clients: each turns one domain event into the calls its CRM's REST API documents
//! (HubSpot CRM v3 objects and v4 associations, Salesforce sObjects upserts by external id,
//! Dataverse Web API upserts by alternate key) or into a signed webhook POST.

mod fetch;

use super::ConnectorKind;
use super::inbound::latchkey_signature;
use chrono::Utc;
use latchkey_core::outbox::DomainEvent;
use opentelemetry::propagation::{Injector, TextMapPropagator};
use opentelemetry_sdk::propagation::TraceContextPropagator;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use reqwest::{Method, RequestBuilder, Response, StatusCode};
use serde_json::{Map, Value, json};
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tracing_opentelemetry::OpenTelemetrySpanExt;
use uuid::Uuid;

/// One event to push, with what the connector and earlier deliveries know.
pub(crate) struct Push<'a> {
    pub connector_id: Uuid,
    /// Changes whenever the connector does, so a cached token of older settings is not used.
    pub version: i64,
    pub tenant: &'a str,
    pub event: &'a DomainEvent,
    /// The subject's state to send: its current state when it still exists, else the event's.
    pub data: &'a Value,
    pub settings: &'a Value,
    pub credentials: &'a Value,
    pub mapping: &'a Value,
    /// The CRM record of the event's subject, from an earlier delivery.
    pub remote_id: Option<&'a str>,
    /// For membership events: the CRM records of the identity and of the organization.
    pub member_records: (Option<String>, Option<String>),
}

/// Why a push failed, and whether trying again can help.
#[derive(Debug)]
pub(crate) struct Failure {
    pub message: String,
    /// The CRM said when to come back (`Retry-After`).
    pub retry_after: Option<Duration>,
    /// Trying the same request again cannot succeed (a 4xx other than 408/425/429).
    pub permanent: bool,
}

impl Failure {
    fn transient(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            retry_after: None,
            permanent: false,
        }
    }

    fn permanent(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            retry_after: None,
            permanent: true,
        }
    }
}

type Pushed = Result<Option<String>, Failure>;

/// A cached OAuth access token of a connector.
struct CachedToken {
    /// The connector's version the token was taken with.
    version: i64,
    token: String,
    /// Salesforce answers the instance URL with the token.
    instance_url: Option<String>,
    expires: Instant,
}

/// The HTTP client and the OAuth tokens of the Salesforce and Dynamics connectors.
pub struct Clients {
    http: reqwest::Client,
    allow_private: bool,
    tokens: Mutex<HashMap<Uuid, CachedToken>>,
}

impl Clients {
    /// `allow_private_networks`: whether CRM calls may go to private, loopback and link-local
    /// addresses (for CRMs and receivers inside your own network; off by default, so a tenant
    /// admin cannot point a connector at the deployment's internal services).
    pub fn new(timeout: Duration, allow_private_networks: bool) -> Self {
        let mut builder = reqwest::Client::builder()
            .timeout(timeout)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("Latchkey/", env!("CARGO_PKG_VERSION")));
        if !allow_private_networks {
            builder = builder.dns_resolver(Arc::new(PublicOnly));
        }
        Self {
            http: builder.build().expect("an HTTP client with rustls"),
            allow_private: allow_private_networks,
            tokens: Mutex::new(HashMap::new()),
        }
    }

    async fn send(&self, request: RequestBuilder) -> Result<Response, Failure> {
        send_traced(&self.http, self.allow_private, request).await
    }

    pub(crate) async fn push(&self, kind: ConnectorKind, push: &Push<'_>) -> Pushed {
        match kind {
            ConnectorKind::Webhook => self.webhook(push).await,
            ConnectorKind::HubSpot => self.hubspot(push).await,
            ConnectorKind::Salesforce | ConnectorKind::Dynamics365 => {
                self.with_token(kind, push).await
            }
        }
    }

    /// Checks reachability and credentials; answers what was checked, or precisely what failed.
    pub(crate) async fn test(
        &self,
        kind: ConnectorKind,
        connector_id: Uuid,
        tenant: &str,
        settings: &Value,
        credentials: &Value,
    ) -> Result<String, String> {
        let failed = |failure: Failure| failure.message;
        match kind {
            ConnectorKind::Webhook => {
                let url = text(settings, "url");
                let body = json!({
                    "id": Uuid::now_v7(),
                    "type": "ping",
                    "occurredAt": Utc::now(),
                    "tenant": tenant,
                    "data": {},
                });
                let request = self.signed_webhook(url, text(credentials, "secret"), &body);
                check(self.send(request).await.map_err(failed)?)
                    .await
                    .map_err(failed)?;
                Ok(format!("{url} accepted a signed ping event"))
            }
            ConnectorKind::HubSpot => {
                let url = format!(
                    "{}/crm/v3/objects/contacts?limit=1",
                    text(settings, "baseUrl")
                );
                let request = self.http.get(&url).bearer_auth(text(credentials, "token"));
                check(self.send(request).await.map_err(failed)?)
                    .await
                    .map_err(|f| format!("HubSpot refused the private-app token: {}", f.message))?;
                Ok("HubSpot accepted the token and lists contacts".to_owned())
            }
            ConnectorKind::Salesforce => {
                self.forget_token(connector_id);
                let (token, instance) = self
                    .token(
                        connector_id,
                        0,
                        ConnectorKind::Salesforce,
                        settings,
                        credentials,
                    )
                    .await
                    .map_err(failed)?;
                let url = format!(
                    "{}/services/data/{}/limits",
                    instance,
                    text(settings, "apiVersion")
                );
                check(
                    self.send(self.http.get(&url).bearer_auth(&token))
                        .await
                        .map_err(failed)?,
                )
                .await
                .map_err(|f| format!("Salesforce refused the API call: {}", f.message))?;
                Ok("Salesforce issued a token and answered the limits resource".to_owned())
            }
            ConnectorKind::Dynamics365 => {
                self.forget_token(connector_id);
                let (token, _) = self
                    .token(
                        connector_id,
                        0,
                        ConnectorKind::Dynamics365,
                        settings,
                        credentials,
                    )
                    .await
                    .map_err(failed)?;
                let url = format!("{}/WhoAmI", text(settings, "baseUrl"));
                check(
                    self.send(odata(self.http.get(&url), &token))
                        .await
                        .map_err(failed)?,
                )
                .await
                .map_err(|f| format!("Dataverse refused the API call: {}", f.message))?;
                Ok("Microsoft Entra issued a token and Dataverse answered WhoAmI".to_owned())
            }
        }
    }

    // -----------------------------------------------------------------------------------
    // Webhook

    fn signed_webhook(&self, url: &str, secret: &str, body: &Value) -> RequestBuilder {
        let id = body["id"].as_str().unwrap_or_default().to_owned();
        let body = body.to_string();
        let signature = latchkey_signature(secret, Utc::now().timestamp(), body.as_bytes());
        self.http
            .post(url)
            .header("content-type", "application/json")
            .header("idempotency-key", id)
            .header("latchkey-signature", signature)
            .body(body)
    }

    async fn webhook(&self, push: &Push<'_>) -> Pushed {
        let body = json!({
            "id": push.event.id,
            "type": push.event.event_type,
            "occurredAt": push.event.occurred_at,
            "tenant": push.tenant,
            "data": push.event.data,
        });
        let request = self.signed_webhook(
            text(push.settings, "url"),
            text(push.credentials, "secret"),
            &body,
        );
        check(self.send(request).await?).await?;
        Ok(None)
    }

    // -----------------------------------------------------------------------------------
    // HubSpot CRM v3

    async fn hubspot(&self, push: &Push<'_>) -> Pushed {
        let base = text(push.settings, "baseUrl");
        let token = text(push.credentials, "token");
        let call = |method: Method, path: String| {
            self.http
                .request(method, format!("{base}{path}"))
                .bearer_auth(token)
        };
        let (kind, object) = subject(push.event);
        match (kind, push.event.event_type.rsplit('.').next().unwrap_or("")) {
            ("membership", removed) => {
                let (Some(contact), Some(company)) = &push.member_records else {
                    return Err(not_yet_pushed());
                };
                let request = if removed == "removed" {
                    call(
                        Method::DELETE,
                        format!("/crm/v4/objects/contact/{contact}/associations/company/{company}"),
                    )
                } else {
                    call(
                        Method::PUT,
                        format!(
                            "/crm/v4/objects/contact/{contact}/associations/default/company/{company}"
                        ),
                    )
                };
                check_allowing_missing(self.send(request).await?).await?;
                Ok(None)
            }
            (subject_kind, "deleted") => {
                let objects = plural(object);
                // Without a stored record id (its create was answered too late to be recorded)
                // the record is found by its unique key: the email, or the property the
                // mapping fills with Latchkey's id.
                let remote = match push.remote_id {
                    Some(id) => Some(id.to_owned()),
                    None => {
                        let key = match subject_kind {
                            "identity" => push.data["email"].as_str().map(|e| ("email", e)),
                            _ => id_property(push.mapping, subject_kind)
                                .zip(push.data["id"].as_str()),
                        };
                        match key {
                            Some((property, value)) => {
                                let found = check_allowing_missing(
                                    self.send(call(
                                        Method::GET,
                                        format!(
                                            "/crm/v3/objects/{objects}/{}?idProperty={property}",
                                            path_segment(value)
                                        ),
                                    ))
                                    .await?,
                                )
                                .await?;
                                found["id"].as_str().map(str::to_owned)
                            }
                            None => None,
                        }
                    }
                };
                if let Some(id) = &remote {
                    check_allowing_missing(
                        self.send(call(
                            Method::DELETE,
                            format!("/crm/v3/objects/{objects}/{id}"),
                        ))
                        .await?,
                    )
                    .await?;
                }
                Ok(remote)
            }
            (subject_kind, _) => {
                let properties = mapped(push.mapping, subject_kind, push.data);
                let objects = plural(object);
                let response = match (push.remote_id, subject_kind) {
                    (Some(id), _) => {
                        self.send(
                            call(Method::PATCH, format!("/crm/v3/objects/{objects}/{id}"))
                                .json(&json!({ "properties": properties })),
                        )
                        .await?
                    }
                    // Contacts are upserted by email, HubSpot's de-duplication key.
                    (None, "identity") => {
                        let email = push.data["email"].as_str().unwrap_or_default();
                        self.send(
                            call(
                                Method::POST,
                                "/crm/v3/objects/contacts/batch/upsert".to_owned(),
                            )
                            .json(&json!({ "inputs": [{
                                "idProperty": "email",
                                "id": email,
                                "properties": properties,
                            }] })),
                        )
                        .await?
                    }
                    // Companies are upserted by the unique property that carries Latchkey's
                    // id, so a retried create cannot make a second company.
                    (None, _) => match id_property(push.mapping, subject_kind) {
                        Some(property) => {
                            self.send(
                                call(
                                    Method::POST,
                                    format!("/crm/v3/objects/{objects}/batch/upsert"),
                                )
                                .json(&json!({ "inputs": [{
                                        "idProperty": property,
                                        "id": push.data["id"],
                                        "properties": properties,
                                    }] })),
                            )
                            .await?
                        }
                        None => {
                            self.send(
                                call(Method::POST, format!("/crm/v3/objects/{objects}"))
                                    .json(&json!({ "properties": properties })),
                            )
                            .await?
                        }
                    },
                };
                let body = check(response).await?;
                if let Some(error) = body["errors"].as_array().and_then(|e| e.first()) {
                    return Err(Failure::permanent(format!(
                        "HubSpot refused the record: {}",
                        error["message"].as_str().unwrap_or("no message")
                    )));
                }
                let id = body["results"][0]["id"]
                    .as_str()
                    .or(body["id"].as_str())
                    .map(str::to_owned);
                Ok(id.or(push.remote_id.map(str::to_owned)))
            }
        }
    }

    // -----------------------------------------------------------------------------------
    // OAuth client credentials (Salesforce, Dataverse)

    fn forget_token(&self, connector_id: Uuid) {
        self.tokens
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&connector_id);
    }

    /// A cached or new access token, with Salesforce's instance URL (else the settings').
    async fn token(
        &self,
        connector_id: Uuid,
        version: i64,
        kind: ConnectorKind,
        settings: &Value,
        credentials: &Value,
    ) -> Result<(String, String), Failure> {
        let configured = match kind {
            ConnectorKind::Salesforce => text(settings, "instanceUrl"),
            _ => text(settings, "baseUrl"),
        }
        .to_owned();
        if let Some(cached) = self
            .tokens
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&connector_id)
            .filter(|cached| cached.version == version && cached.expires > Instant::now())
        {
            let instance = cached.instance_url.clone().unwrap_or(configured);
            return Ok((cached.token.clone(), instance));
        }
        let mut form = vec![
            ("grant_type", "client_credentials"),
            ("client_id", text(credentials, "clientId")),
            ("client_secret", text(credentials, "clientSecret")),
        ];
        if kind == ConnectorKind::Dynamics365 {
            form.push(("scope", text(settings, "scope")));
        }
        let token_url = text(settings, "tokenUrl");
        let response = self.send(self.http.post(token_url).form(&form)).await?;
        let status = response.status();
        let body: Value = response.json().await.unwrap_or(Value::Null);
        if !status.is_success() {
            let reason = body["error_description"]
                .as_str()
                .or(body["error"].as_str())
                .unwrap_or("no reason given");
            return Err(Failure {
                message: format!(
                    "the token endpoint {token_url} refused the client credentials ({status}): {reason}"
                ),
                retry_after: None,
                permanent: status.is_client_error(),
            });
        }
        let Some(token) = body["access_token"].as_str() else {
            return Err(Failure::transient(format!(
                "the token endpoint {token_url} answered without an access_token"
            )));
        };
        // Salesforce's tokens carry no lifetime; they last at least the session timeout.
        let lifetime = body["expires_in"]
            .as_u64()
            .unwrap_or(900)
            .saturating_sub(60)
            .max(30);
        let instance_url = body["instance_url"]
            .as_str()
            .map(|url| url.trim_end_matches('/').to_owned());
        let instance = instance_url.clone().unwrap_or(configured);
        self.tokens
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(
                connector_id,
                CachedToken {
                    version,
                    token: token.to_owned(),
                    instance_url,
                    expires: Instant::now() + Duration::from_secs(lifetime),
                },
            );
        Ok((token.to_owned(), instance))
    }

    /// Pushes with the connector's token; on a 401 takes a new token and tries once more.
    async fn with_token(&self, kind: ConnectorKind, push: &Push<'_>) -> Pushed {
        for attempt in 0..2 {
            let (token, instance) = self
                .token(
                    push.connector_id,
                    push.version,
                    kind,
                    push.settings,
                    push.credentials,
                )
                .await?;
            let result = match kind {
                ConnectorKind::Salesforce => self.salesforce(push, token, instance).await,
                _ => self.dynamics(push, token).await,
            };
            match result {
                Ok(id) => return Ok(id),
                Err((_, true)) if attempt == 0 => self.forget_token(push.connector_id),
                Err((failure, _)) => return Err(failure),
            }
        }
        Err(Failure::transient(
            "the CRM refused two fresh tokens in a row",
        ))
    }

    // -----------------------------------------------------------------------------------
    // Salesforce sObjects

    async fn salesforce(
        &self,
        push: &Push<'_>,
        token: String,
        instance: String,
    ) -> Result<Option<String>, (Failure, bool)> {
        let base = format!(
            "{instance}/services/data/{}/sobjects",
            text(push.settings, "apiVersion")
        );
        let contact_key = text(push.settings, "contactExternalIdField");
        let account_key = text(push.settings, "accountExternalIdField");
        let (kind, _) = subject(push.event);
        let action = push.event.event_type.rsplit('.').next().unwrap_or("");
        let (method, url, body) = match (kind, action) {
            ("membership", _) => {
                let (Some(contact_id), Some(account_id)) = &push.member_records else {
                    return Err((not_yet_pushed(), false));
                };
                let account = if action == "removed" {
                    Value::Null
                } else {
                    json!(account_id)
                };
                (
                    Method::PATCH,
                    format!("{base}/Contact/{contact_id}"),
                    Some(json!({ "AccountId": account })),
                )
            }
            // A record known by its Salesforce Id (pushed before, or pulled from Salesforce)
            // is addressed by it; others are upserted by the external id field.
            (kind, "deleted") => {
                let (object, key) = sobject(kind, contact_key, account_key);
                let url = match push.remote_id {
                    Some(id) => format!("{base}/{object}/{id}"),
                    None => format!("{base}/{object}/{key}/{}", push.event.subject_id),
                };
                (Method::DELETE, url, None)
            }
            (kind, _) => {
                let (object, key) = sobject(kind, contact_key, account_key);
                let mut fields = mapped(push.mapping, kind, push.data);
                let url = match push.remote_id {
                    // Also sets the external id, so a record pulled from Salesforce gets it.
                    Some(id) => {
                        fields.insert(key.to_owned(), json!(push.event.subject_id));
                        format!("{base}/{object}/{id}")
                    }
                    None => {
                        fields.remove(key);
                        format!("{base}/{object}/{key}/{}", push.event.subject_id)
                    }
                };
                (Method::PATCH, url, Some(Value::Object(fields)))
            }
        };
        let mut request = self.http.request(method, &url).bearer_auth(token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = self.send(request).await.map_err(|f| (f, false))?;
        if response.status() == StatusCode::UNAUTHORIZED {
            return Err((Failure::transient("Salesforce: INVALID_SESSION_ID"), true));
        }
        let body = if action == "deleted" {
            check_allowing_missing(response).await
        } else {
            check(response).await
        }
        .map_err(|f| (f, false))?;
        Ok(body["id"]
            .as_str()
            .map(str::to_owned)
            .or(push.remote_id.map(str::to_owned)))
    }

    // -----------------------------------------------------------------------------------
    // Dataverse Web API

    async fn dynamics(
        &self,
        push: &Push<'_>,
        token: String,
    ) -> Result<Option<String>, (Failure, bool)> {
        let base = text(push.settings, "baseUrl");
        let contact_key = text(push.settings, "contactKey");
        let account_key = text(push.settings, "accountKey");
        let (kind, _) = subject(push.event);
        let action = push.event.event_type.rsplit('.').next().unwrap_or("");
        let record = |set: &str, key: &str, id: &str| format!("{set}({key}='{id}')");
        let (method, url, body, id_column) = match (kind, action) {
            ("membership", _) => {
                let (Some(contact_id), Some(account_id)) = &push.member_records else {
                    return Err((not_yet_pushed(), false));
                };
                let link = if action == "removed" {
                    Value::Null
                } else {
                    json!(format!("/accounts({account_id})"))
                };
                (
                    Method::PATCH,
                    format!("{base}/contacts({contact_id})"),
                    Some(json!({ "parentcustomerid_account@odata.bind": link })),
                    "contactid",
                )
            }
            // A row known by its id (pushed before, or pulled from Dataverse) is addressed by
            // it; others are upserted through the alternate key.
            (kind, action) => {
                let (set, key, id_column) = if kind == "identity" {
                    ("contacts", contact_key, "contactid")
                } else {
                    ("accounts", account_key, "accountid")
                };
                let subject_id = push.event.subject_id.to_string();
                let url = match push.remote_id {
                    Some(id) => format!("{base}/{set}({id})"),
                    None => format!("{base}/{}", record(set, key, &subject_id)),
                };
                if action == "deleted" {
                    (Method::DELETE, url, None, id_column)
                } else {
                    let mut fields = mapped(push.mapping, kind, push.data);
                    if push.remote_id.is_some() {
                        // Also sets the key, so a row pulled from Dataverse gets it.
                        fields.insert(key.to_owned(), json!(subject_id));
                    } else {
                        fields.remove(key);
                    }
                    (Method::PATCH, url, Some(Value::Object(fields)), id_column)
                }
            }
        };
        let mut request = odata(self.http.request(method, &url), &token);
        if let Some(body) = body {
            request = request
                .header("prefer", "return=representation")
                .json(&body);
        }
        let response = self.send(request).await.map_err(|f| (f, false))?;
        if response.status() == StatusCode::UNAUTHORIZED {
            return Err((Failure::transient("Dataverse: the token was refused"), true));
        }
        let body = if action == "deleted" {
            check_allowing_missing(response).await
        } else {
            check(response).await
        }
        .map_err(|f| (f, false))?;
        Ok(body[id_column]
            .as_str()
            .map(str::to_owned)
            .or(push.remote_id.map(str::to_owned)))
    }
}

fn odata(request: RequestBuilder, token: &str) -> RequestBuilder {
    request
        .bearer_auth(token)
        .header("accept", "application/json")
        .header("odata-maxversion", "4.0")
        .header("odata-version", "4.0")
        .header("if-none-match", "null")
}

fn sobject<'a>(kind: &str, contact_key: &'a str, account_key: &'a str) -> (&'static str, &'a str) {
    if kind == "identity" {
        ("Contact", contact_key)
    } else {
        ("Account", account_key)
    }
}

fn not_yet_pushed() -> Failure {
    Failure::transient(
        "the identity or the organization has no CRM record yet; retried after their own deliveries",
    )
}

/// The subject of an event (`identity`, `organization`, `membership`) and HubSpot's object name.
fn subject(event: &DomainEvent) -> (&str, &'static str) {
    match event.subject_type.as_str() {
        "identity" => ("identity", "contact"),
        "organization" => ("organization", "company"),
        _ => ("membership", "association"),
    }
}

fn plural(object: &str) -> &'static str {
    match object {
        "contact" => "contacts",
        _ => "companies",
    }
}

fn text<'a>(value: &'a Value, name: &str) -> &'a str {
    value[name].as_str().unwrap_or_default()
}

/// `value` percent-encoded for one URL path segment (`@` is allowed there and stays, as in
/// HubSpot's own examples).
fn path_segment(value: &str) -> String {
    url::form_urlencoded::byte_serialize(value.as_bytes())
        .collect::<String>()
        .replace('+', "%20")
        .replace("%40", "@")
}

/// The CRM field the mapping fills with the subject's Latchkey id (a unique property).
fn id_property<'a>(mapping: &'a Value, subject: &str) -> Option<&'a str> {
    mapping[subject]
        .as_object()?
        .iter()
        .find(|(_, source)| source.as_str() == Some("id"))
        .map(|(field, _)| field.as_str())
}

/// The CRM fields of `subject` (`identity` / `organization`) from its data, by the mapping.
fn mapped(mapping: &Value, subject: &str, data: &Value) -> Map<String, Value> {
    let mut fields = Map::new();
    if let Some(map) = mapping[subject].as_object() {
        for (crm_field, source) in map {
            let source = source.as_str().unwrap_or_default();
            let value = match source.split_once('.') {
                Some((parent, key)) => data[parent][key].clone(),
                None => data[source].clone(),
            };
            fields.insert(crm_field.clone(), value);
        }
    }
    fields
}

/// Whether `ip` is a public address: not private, loopback, link-local, shared (CGNAT),
/// unspecified, broadcast or documentation space.
fn public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            !(v4.is_private()
                || v4.is_loopback()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_documentation()
                || a == 0
                || (a == 100 && (64..128).contains(&b)))
        }
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => public(IpAddr::V4(v4)),
            None => {
                let first = v6.segments()[0];
                !(v6.is_loopback()
                    || v6.is_unspecified()
                    || (first & 0xfe00) == 0xfc00
                    || (first & 0xffc0) == 0xfe80)
            }
        },
    }
}

/// Resolves host names to their public addresses only; a name with none is refused.
struct PublicOnly;

impl Resolve for PublicOnly {
    fn resolve(&self, name: Name) -> Resolving {
        Box::pin(async move {
            let host = name.as_str().to_owned();
            let found: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0))
                .await?
                .filter(|address| public(address.ip()))
                .collect();
            if found.is_empty() {
                return Err(format!(
                    "{host} resolves to no public address; CRM calls go to public addresses only"
                )
                .into());
            }
            let addresses: Addrs = Box::new(found.into_iter());
            Ok(addresses)
        })
    }
}

/// Sends the W3C trace context of the current span (`traceparent`, `tracestate`) along, when
/// spans are exported.
struct HeaderInjector<'a>(&'a mut Vec<(String, String)>);

impl Injector for HeaderInjector<'_> {
    fn set(&mut self, key: &str, value: String) {
        self.0.push((key.to_owned(), value));
    }
}

/// Sends `request` with the W3C trace context of the current span.
async fn send_traced(
    client: &reqwest::Client,
    allow_private: bool,
    mut request: RequestBuilder,
) -> Result<Response, Failure> {
    let mut headers = Vec::new();
    TraceContextPropagator::new().inject_context(
        &tracing::Span::current().context(),
        &mut HeaderInjector(&mut headers),
    );
    for (name, value) in headers {
        request = request.header(name, value);
    }
    let request = request
        .build()
        .map_err(|error| Failure::permanent(format!("the request cannot be built: {error}")))?;
    if let Some(url::Host::Ipv4(_) | url::Host::Ipv6(_)) = request.url().host()
        && let Some(Ok(ip)) = request
            .url()
            .host_str()
            .map(|h| h.trim_matches(['[', ']']).parse::<IpAddr>())
        && !public(ip)
        && !allow_private
    {
        return Err(Failure::permanent(format!(
            "{ip} is a private, loopback or link-local address; CRM calls go to public addresses only"
        )));
    }
    client.execute(request).await.map_err(|error| {
        let what = if error.is_timeout() {
            "timed out"
        } else if error.is_connect() {
            "could not connect"
        } else {
            "failed"
        };
        // The cause (a refused address, a TLS or DNS failure) is in the source chain.
        let mut chain = error.to_string();
        let mut source = std::error::Error::source(&error);
        while let Some(cause) = source {
            chain.push_str(": ");
            chain.push_str(&cause.to_string());
            source = cause.source();
        }
        Failure::transient(format!("the request {what}: {chain}"))
    })
}

/// The JSON body of a successful response (`null` when empty), or the failure it describes.
async fn check(response: Response) -> Result<Value, Failure> {
    let status = response.status();
    let retry_after = response
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(Duration::from_secs);
    let text = response.text().await.unwrap_or_default();
    let body: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
    if status.is_success() {
        return Ok(body);
    }
    let message = describe(&body).unwrap_or_else(|| text.chars().take(300).collect());
    let permanent = status.is_client_error()
        && !matches!(status.as_u16(), 408 | 425 | 429)
        // Salesforce's daily API limit comes back as 403 REQUEST_LIMIT_EXCEEDED.
        && !message.contains("REQUEST_LIMIT_EXCEEDED");
    Err(Failure {
        message: format!("{status}: {message}"),
        retry_after: retry_after
            .or_else(|| (status.as_u16() == 429).then(|| Duration::from_secs(10))),
        permanent,
    })
}

/// Like [`check`], but a record that is already gone (404) is fine.
async fn check_allowing_missing(response: Response) -> Result<Value, Failure> {
    if response.status() == StatusCode::NOT_FOUND {
        return Ok(Value::Null);
    }
    check(response).await
}

/// The error message of HubSpot (`message`, `category`), Salesforce (`[{message, errorCode}]`)
/// and Dataverse (`{error: {code, message}}`) bodies.
fn describe(body: &Value) -> Option<String> {
    if let Some(first) = body.as_array().and_then(|a| a.first()) {
        return Some(format!(
            "{} {}",
            first["errorCode"].as_str().unwrap_or(""),
            first["message"].as_str().unwrap_or("")
        ));
    }
    if let Some(error) = body.get("error").filter(|e| e.is_object()) {
        return Some(format!(
            "{} {}",
            error["code"].as_str().unwrap_or(""),
            error["message"].as_str().unwrap_or("")
        ));
    }
    body["message"]
        .as_str()
        .map(|message| match body["category"].as_str() {
            Some(category) => format!("{category}: {message}"),
            None => message.to_owned(),
        })
}
