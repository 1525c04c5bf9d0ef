//! CRM connector helpers shared by the CRM suites: creating a connector, signed inbound
//! webhooks in the generic form, fake Salesforce and Microsoft Entra token endpoints, and
//! waiting for a scheduled pull.

use crate::{TestApp, TestTenant};
use aws_lc_rs::hmac;
use serde_json::{Value, json};
use std::time::{Duration, Instant};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

pub const CREATE: &str = "mutation($input: CreateCrmConnectorInput!) { createCrmConnector(input: $input) { connector { id direction settings webhookUrl } } }";
const PULL: &str = "query($id: ID!) { crmConnector(id: $id) { pull { cursor lastPullAt lastError records nextPullAt } } }";
const PULL_NOW: &str =
    "mutation($id: ID!) { pullCrmConnector(input: { id: $id }) { connector { id } } }";

/// Creates a connector; answers `createCrmConnector.connector`.
pub async fn connector(app: &TestApp, tenant: &TestTenant, input: Value) -> Value {
    let created = app.tenant(tenant, CREATE, json!({ "input": input })).await;
    created.data()["createCrmConnector"]["connector"].clone()
}

/// The generic signature Latchkey checks: `t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">`.
pub fn latchkey_signature(secret: &str, t: i64, body: &str) -> String {
    let key = hmac::Key::new(hmac::HMAC_SHA256, secret.as_bytes());
    let tag = hmac::sign(&key, format!("{t}.{body}").as_bytes());
    format!("t={t},v1={}", hex::encode(tag.as_ref()))
}

/// POSTs a JSON `body` with `headers`; answers the status and the JSON answer (null if none).
pub async fn post(
    app: &TestApp,
    url: &str,
    headers: &[(&str, String)],
    body: String,
) -> (u16, Value) {
    let mut request = app
        .client
        .post(url)
        .header("content-type", "application/json")
        .body(body);
    for (name, value) in headers {
        request = request.header(*name, value);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// POSTs `event` signed with `secret` now.
pub async fn signed(app: &TestApp, url: &str, secret: &str, event: &Value) -> (u16, Value) {
    let body = event.to_string();
    let signature = latchkey_signature(secret, chrono::Utc::now().timestamp(), &body);
    post(app, url, &[("latchkey-signature", signature)], body).await
}

/// A fake Salesforce whose token endpoint issues `token` (with itself as the instance URL).
pub async fn salesforce_issuing(token: &str) -> MockServer {
    let salesforce = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/services/oauth2/token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "access_token": token, "instance_url": salesforce.uri(), "token_type": "Bearer", "issued_at": "1714557600000"
        })))
        .mount(&salesforce)
        .await;
    salesforce
}

/// A Microsoft Entra token endpoint at `path` of `server` that issues `token`.
pub async fn entra_issues(server: &MockServer, token_path: &str, token: &str) {
    Mock::given(method("POST"))
        .and(path(token_path))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "token_type": "Bearer", "expires_in": 3599, "access_token": token
        })))
        .mount(server)
        .await;
}

/// The values of query parameter `name` in the requests `server` received, oldest first.
pub async fn sent_query_values(server: &MockServer, name: &str) -> Vec<String> {
    server
        .received_requests()
        .await
        .unwrap_or_default()
        .iter()
        .filter_map(|r| {
            r.url
                .query_pairs()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.into_owned())
        })
        .collect()
}

/// Asks for the connector's pull now.
pub async fn pull_now(app: &TestApp, tenant: &TestTenant, id: &Value) {
    app.tenant(tenant, PULL_NOW, json!({ "id": id }))
        .await
        .data();
}

/// Waits until the connector's scheduled pull has run (at least `records` applied).
pub async fn pulled(app: &TestApp, tenant: &TestTenant, id: &Value, records: i64) -> Value {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let status = app.tenant(tenant, PULL, json!({ "id": id })).await;
        let pull = status.data()["crmConnector"]["pull"].clone();
        if pull["lastPullAt"].is_string() && pull["records"].as_i64().unwrap_or(0) >= records {
            return pull;
        }
        assert!(Instant::now() < deadline, "no pull: {pull}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
