//! Pushes: how each CRM's client turns one domain event into the calls its REST API
//! documents (HubSpot CRM v3 objects and v4 associations, Salesforce sObjects upserts by
//! external id, Dataverse Web API upserts by alternate key), or into a signed webhook POST.

use super::http::{check, check_allowing_missing};
use super::{Clients, Failure, Push, Pushed, odata, text};
use crate::crm::connector::ConnectorKind;
use crate::crm::signature::latchkey_signature;
use chrono::Utc;
use latchkey_core::outbox::DomainEvent;
use reqwest::{Method, RequestBuilder, StatusCode};
use serde_json::{Map, Value, json};

impl Clients {
    // -----------------------------------------------------------------------------------
    // Webhook

    pub(super) fn signed_webhook(&self, url: &str, secret: &str, body: &Value) -> RequestBuilder {
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

    pub(super) async fn webhook(&self, push: &Push<'_>) -> Pushed {
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

    pub(super) async fn hubspot(&self, push: &Push<'_>) -> Pushed {
        let base = text(push.settings, "baseUrl");
        let token = text(push.credentials, "token");
        let call = |method: Method, path: String| {
            self.http
                .request(method, format!("{base}{path}"))
                .bearer_auth(token)
        };
        let (kind, object) = subject(push.event);
        match (kind, push.event.event_type.rsplit('.').next().unwrap_or("")) {
            ("membership", action) => {
                let (Some(contact), Some(company)) = &push.member_records else {
                    return Err(not_yet_pushed());
                };
                let request = if unlinks(action) {
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

    /// Pushes with the connector's token; on a 401 takes a new token and tries once more.
    pub(super) async fn with_token(&self, kind: ConnectorKind, push: &Push<'_>) -> Pushed {
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

    pub(super) async fn salesforce(
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
                let account = if unlinks(action) {
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

    pub(super) async fn dynamics(
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
                let link = if unlinks(action) {
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
                // A consent is pushed as whether it is granted (false until decided).
                Some(("consents", purpose)) => Value::Bool(
                    data["consents"][purpose]["granted"]
                        .as_bool()
                        .unwrap_or(false),
                ),
                Some((parent, key)) => data[parent][key].clone(),
                None => data[source].clone(),
            };
            fields.insert(crm_field.clone(), value);
        }
    }
    fields
}

/// Whether a membership event's action ends the contact's link to the company: the member was
/// removed, or the membership's window ended (`membership.expired`).
fn unlinks(action: &str) -> bool {
    matches!(action, "removed" | "expired")
}
