//! The CRM clients: each turns one domain event into the calls its CRM's REST API documents
//! (HubSpot CRM v3 objects and v4 associations, Salesforce sObjects upserts by external id,
//! Dataverse Web API upserts by alternate key) or into a signed webhook POST.
//!
//! Pushes are in `push`, reads for pulls in `fetch` (contacts) and `contracts` (deals and
//! opportunities), the HTTP transport in `http`.

mod contracts;
mod fetch;
mod http;
mod push;

use super::connector::ConnectorKind;
use chrono::Utc;
use http::{check, send_traced};
use latchkey_core::outbox::DomainEvent;
use reqwest::{RequestBuilder, Response};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};
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
        Self {
            http: crate::outbound::client(timeout, allow_private_networks),
            allow_private: allow_private_networks,
            tokens: Mutex::new(HashMap::new()),
        }
    }

    async fn send(&self, request: RequestBuilder) -> Result<Response, Failure> {
        send_traced(&self.http, self.allow_private, request).await
    }

    pub(crate) async fn push(&self, kind: ConnectorKind, push: &Push<'_>) -> Pushed {
        // A CRM links a contact to a company; a role grant's start or end changes no link
        // (webhooks still get the event).
        let action = push.event.event_type.rsplit('.').next().unwrap_or("");
        if kind != ConnectorKind::Webhook && matches!(action, "role_granted" | "role_expired") {
            return Ok(None);
        }
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
}

fn odata(request: RequestBuilder, token: &str) -> RequestBuilder {
    request
        .bearer_auth(token)
        .header("accept", "application/json")
        .header("odata-maxversion", "4.0")
        .header("odata-version", "4.0")
        .header("if-none-match", "null")
}

fn text<'a>(value: &'a Value, name: &str) -> &'a str {
    value[name].as_str().unwrap_or_default()
}
