//! Connector secrets never leave through the side doors: with the real binary logging at
//! debug (trace for Latchkey's own crates) in JSON, connectors of every kind are created with
//! distinctive credentials, tested, rotated, and made to deliver against fakes that refuse
//! (401, 500) or fail at the token endpoint. None of the credentials, and none of the access
//! tokens the fake token endpoints issued, may appear in the logs, in any GraphQL answer, in
//! the audit events or in a delivery's `lastError`.

mod common;
mod guard;

use common::Binary;
use guard::Process;
use serde_json::{Value, json};
use std::io::Read;
use std::process::Stdio;
use std::time::{Duration, Instant};
use wiremock::matchers::{body_string_contains, header, method, path, path_regex};
use wiremock::{Mock, MockServer, ResponseTemplate};

const HUBSPOT_TOKEN: &str = "pat-na1-SECRET-HUBSPOT-7f3a9c0e";
const SALESFORCE_SECRET: &str = "SECRET-SALESFORCE-CLIENT-41d2b6";
const SALESFORCE_ACCESS_TOKEN: &str = "00D5SECRET!ACCESS.SALESFORCE.9e1f";
const DYNAMICS_SECRET: &str = "SECRET-DYNAMICS-CLIENT-88e1c7";
const DYNAMICS_ACCESS_TOKEN: &str = "eyJ0SECRET-ACCESS-DYNAMICS-3b5d";
const DYNAMICS_WRONG_SECRET: &str = "SECRET-DYNAMICS-WRONG-CLIENT-6a0f";
const WEBHOOK_SECRET: &str = "whsec_SECRET_WEBHOOK_5b7e01234";
const WEBHOOK_ROTATED_SECRET: &str = "whsec_SECRET_ROTATED_c93d56789";

const SECRETS: [&str; 8] = [
    HUBSPOT_TOKEN,
    SALESFORCE_SECRET,
    SALESFORCE_ACCESS_TOKEN,
    DYNAMICS_SECRET,
    DYNAMICS_ACCESS_TOKEN,
    DYNAMICS_WRONG_SECRET,
    WEBHOOK_SECRET,
    WEBHOOK_ROTATED_SECRET,
];

/// The fakes: each accepts the connection test and refuses deliveries, without echoing
/// anything it was sent.
async fn fake_crms() -> MockServer {
    let crm = MockServer::start().await;
    let json_error = |status: u16, body: Value| ResponseTemplate::new(status).set_body_json(body);
    // HubSpot: the token lists contacts, but upserts are refused as unauthorized.
    Mock::given(method("GET"))
        .and(path("/hubspot/crm/v3/objects/contacts"))
        .and(header(
            "authorization",
            format!("Bearer {HUBSPOT_TOKEN}").as_str(),
        ))
        .respond_with(json_error(200, json!({ "results": [] })))
        .mount(&crm)
        .await;
    Mock::given(method("POST"))
        .and(path_regex("^/hubspot/"))
        .respond_with(json_error(
            401,
            json!({ "status": "error", "category": "INVALID_AUTHENTICATION", "message": "Authentication credentials not found." }),
        ))
        .mount(&crm)
        .await;
    // Salesforce: a token for the right secret; the API answers the limits, refuses writes.
    Mock::given(method("POST"))
        .and(path("/salesforce/token"))
        .and(body_string_contains(SALESFORCE_SECRET))
        .respond_with(json_error(
            200,
            json!({ "access_token": SALESFORCE_ACCESS_TOKEN, "instance_url": format!("{}/salesforce", crm.uri()), "token_type": "Bearer" }),
        ))
        .mount(&crm)
        .await;
    Mock::given(method("GET"))
        .and(path("/salesforce/services/data/v62.0/limits"))
        .and(header(
            "authorization",
            format!("Bearer {SALESFORCE_ACCESS_TOKEN}").as_str(),
        ))
        .respond_with(json_error(
            200,
            json!({ "DailyApiRequests": { "Max": 15000, "Remaining": 14999 } }),
        ))
        .mount(&crm)
        .await;
    Mock::given(method("PATCH"))
        .and(path_regex("^/salesforce/services/data/v62.0/sobjects/"))
        .respond_with(json_error(
            401,
            json!([{ "message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID" }]),
        ))
        .mount(&crm)
        .await;
    // Dataverse: a token for the right secret, a refusal for the wrong one; writes fail (500).
    Mock::given(method("POST"))
        .and(path("/entra/token"))
        .and(body_string_contains(DYNAMICS_SECRET))
        .respond_with(json_error(
            200,
            json!({ "access_token": DYNAMICS_ACCESS_TOKEN, "token_type": "Bearer", "expires_in": 3599 }),
        ))
        .mount(&crm)
        .await;
    Mock::given(method("POST"))
        .and(path("/entra/token"))
        .respond_with(json_error(
            401,
            json!({ "error": "invalid_client", "error_description": "AADSTS7000215: Invalid client secret provided." }),
        ))
        .mount(&crm)
        .await;
    Mock::given(method("GET"))
        .and(path("/dynamics/api/data/v9.2/WhoAmI"))
        .and(header(
            "authorization",
            format!("Bearer {DYNAMICS_ACCESS_TOKEN}").as_str(),
        ))
        .respond_with(json_error(
            200,
            json!({ "UserId": "00000000-0000-0000-0000-000000000001" }),
        ))
        .mount(&crm)
        .await;
    Mock::given(method("PATCH"))
        .and(path_regex("^/dynamics/"))
        .respond_with(json_error(
            500,
            json!({ "error": { "code": "0x80040216", "message": "An unexpected error occurred." } }),
        ))
        .mount(&crm)
        .await;
    // The webhook receiver accepts pings and fails on events.
    Mock::given(method("POST"))
        .and(path("/hook"))
        .and(body_string_contains("\"type\":\"ping\""))
        .respond_with(ResponseTemplate::new(204))
        .mount(&crm)
        .await;
    Mock::given(method("POST"))
        .and(path("/hook"))
        .respond_with(ResponseTemplate::new(500).set_body_string("receiver broken"))
        .mount(&crm)
        .await;
    crm
}

/// Every GraphQL answer, kept as text to search for secrets afterwards.
struct Api {
    client: reqwest::Client,
    url: String,
    key: String,
    answers: Vec<String>,
}

impl Api {
    async fn call(&mut self, query: &str, variables: Value) -> Value {
        let text = self
            .client
            .post(format!("{}/t/demo/graphql", self.url))
            .bearer_auth(&self.key)
            .json(&json!({ "query": query, "variables": variables }))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let body: Value = serde_json::from_str(&text).unwrap();
        self.answers.push(text);
        assert!(body.get("errors").is_none(), "{query}: {body}");
        body["data"].clone()
    }

    async fn connector(&mut self, input: Value) -> String {
        let created = self
            .call(
                "mutation($input: CreateCrmConnectorInput!) { createCrmConnector(input: $input) { connector { id name kind settings fieldMapping triggers enabled } } }",
                json!({ "input": input }),
            )
            .await;
        created["createCrmConnector"]["connector"]["id"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    async fn test(&mut self, id: &str) -> (bool, String) {
        let tested = self
            .call(
                "mutation($input: CrmConnectorIdInput!) { testCrmConnector(input: $input) { ok message } }",
                json!({ "input": { "id": id } }),
            )
            .await;
        let result = &tested["testCrmConnector"];
        (
            result["ok"].as_bool().unwrap(),
            result["message"].as_str().unwrap().to_owned(),
        )
    }
}

#[tokio::test]
async fn connector_secrets_and_access_tokens_never_reach_logs_answers_or_errors() {
    let crm = fake_crms().await;
    let data_dir =
        std::env::temp_dir().join(format!("latchkey-crm-secrets-{}", uuid::Uuid::now_v7()));
    let binary = Binary::start(
        &data_dir,
        &[
            ("LATCHKEY_LOG_FORMAT", "json"),
            (
                "RUST_LOG",
                "debug,latchkey=trace,latchkey_api=trace,latchkey_core=trace,latchkey_tenants=trace",
            ),
            ("LATCHKEY_CRM_POLL_INTERVAL_MS", "50"),
            ("LATCHKEY_CRM_RETRY_BASE_MS", "100"),
            ("LATCHKEY_CRM_MAX_ATTEMPTS", "2"),
            ("LATCHKEY_CRM_ALLOW_PRIVATE_NETWORKS", "true"),
        ],
        Stdio::piped(),
    );
    let mut api = Api {
        client: reqwest::Client::new(),
        url: binary.url.clone(),
        key: binary
            .secret("Demo tenant owner API key")
            .unwrap()
            .to_owned(),
        answers: Vec::new(),
    };
    let mut child = Process(binary.child);
    let mut stderr = child.0.stderr.take().unwrap();
    let logs = std::thread::spawn(move || {
        let mut text = String::new();
        stderr.read_to_string(&mut text).unwrap();
        text
    });
    let base = crm.uri();

    let hubspot = api
        .connector(json!({
            "name": "HubSpot", "kind": "HUBSPOT",
            "settings": { "baseUrl": format!("{base}/hubspot") },
            "credentials": { "token": HUBSPOT_TOKEN },
        }))
        .await;
    let salesforce = api
        .connector(json!({
            "name": "Salesforce", "kind": "SALESFORCE",
            "settings": {
                "instanceUrl": format!("{base}/salesforce"),
                "tokenUrl": format!("{base}/salesforce/token"),
                "contactExternalIdField": "IdP_User_Id__c",
                "accountExternalIdField": "IdP_Org_Id__c",
            },
            "credentials": { "clientId": "salesforce-client-id", "clientSecret": SALESFORCE_SECRET },
        }))
        .await;
    let dynamics = api
        .connector(json!({
            "name": "Dynamics", "kind": "DYNAMICS365",
            "settings": {
                "baseUrl": format!("{base}/dynamics/api/data/v9.2"),
                "tokenUrl": format!("{base}/entra/token"),
                "contactKey": "new_idpuserid",
                "accountKey": "new_idporgid",
            },
            "credentials": { "clientId": "dynamics-client-id", "clientSecret": DYNAMICS_SECRET },
        }))
        .await;
    let dynamics_wrong = api
        .connector(json!({
            "name": "Dynamics with a wrong secret", "kind": "DYNAMICS365",
            "settings": {
                "baseUrl": format!("{base}/dynamics/api/data/v9.2"),
                "tokenUrl": format!("{base}/entra/token"),
                "contactKey": "new_idpuserid",
                "accountKey": "new_idporgid",
            },
            "credentials": { "clientId": "dynamics-client-id", "clientSecret": DYNAMICS_WRONG_SECRET },
        }))
        .await;
    let webhook = api
        .connector(json!({
            "name": "Webhook", "kind": "WEBHOOK",
            "settings": { "url": format!("{base}/hook") },
            "credentials": { "secret": WEBHOOK_SECRET },
        }))
        .await;

    // The connection tests make real calls with the stored credentials.
    for (id, ok) in [
        (&hubspot, true),
        (&salesforce, true),
        (&dynamics, true),
        (&dynamics_wrong, false),
        (&webhook, true),
    ] {
        let (passed, message) = api.test(id).await;
        assert_eq!(passed, ok, "{id}: {message}");
    }
    // Rotating the webhook secret (through the same update that could leak it back).
    api.call(
        "mutation($input: UpdateCrmConnectorInput!) { updateCrmConnector(input: $input) { connector { id settings } } }",
        json!({ "input": { "id": webhook, "credentials": { "secret": WEBHOOK_ROTATED_SECRET } } }),
    )
    .await;
    assert!(api.test(&webhook).await.0);

    // An identity's creation goes to all five connectors, and fails at each.
    api.call(
        "mutation($input: CreateIdentityInput!) { createIdentity(input: $input) { identity { id } } }",
        json!({ "input": { "email": "secrets@example.com", "displayName": "Secret Keeper" } }),
    )
    .await;
    let deadline = Instant::now() + Duration::from_secs(30);
    let deliveries = loop {
        let events = api
            .call(
                "{ crmSyncEvents(first: 100) { nodes { id connectorId eventType status attempts lastError remoteId } } }",
                json!({}),
            )
            .await;
        let nodes = events["crmSyncEvents"]["nodes"].as_array().unwrap().clone();
        if nodes.len() == 5 && nodes.iter().all(|n| n["status"] != "PENDING") {
            break nodes;
        }
        assert!(Instant::now() < deadline, "{nodes:#?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    for delivery in &deliveries {
        assert_eq!(delivery["status"], "DEAD", "{delivery}");
        assert!(
            !delivery["lastError"].as_str().unwrap_or("").is_empty(),
            "{delivery}"
        );
    }
    let error_of = |id: &str| {
        deliveries.iter().find(|d| d["connectorId"] == id).unwrap()["lastError"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    assert!(
        error_of(&hubspot).contains("INVALID_AUTHENTICATION"),
        "{deliveries:#?}"
    );
    assert!(error_of(&salesforce).contains("INVALID_SESSION_ID"));
    assert!(error_of(&dynamics).contains("0x80040216"));
    assert!(error_of(&dynamics_wrong).contains("refused the client credentials"));
    assert!(error_of(&webhook).contains("receiver broken"));

    // Everything an admin can read about connectors.
    api.call(
        "{ crmConnectors(first: 100) { totalCount nodes { id name kind direction triggers settings fieldMapping enabled createdAt updatedAt } } }",
        json!({}),
    )
    .await;
    for id in [&hubspot, &salesforce, &dynamics, &dynamics_wrong, &webhook] {
        api.call(
            "query($id: ID!) { crmConnector(id: $id) { id name kind settings fieldMapping } }",
            json!({ "id": id }),
        )
        .await;
    }
    let audit = api
        .call(
            "{ auditEvents(first: 100) { nodes { actorType actorId action targetType targetId requestId data occurredAt } } }",
            json!({}),
        )
        .await;
    let actions: Vec<&str> = audit["auditEvents"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|n| n["action"].as_str())
        .collect();
    assert_eq!(
        actions
            .iter()
            .filter(|a| **a == "crm_connector.create")
            .count(),
        5,
        "{actions:?}"
    );
    assert!(actions.contains(&"crm_connector.update"), "{actions:?}");
    api.call(
        "{ domainEvents(first: 100) { nodes { id type data } } }",
        json!({}),
    )
    .await;

    child.kill();
    let logs = logs.join().unwrap();

    // The secrets were really in play: the fakes received them (and sent the tokens back).
    let received: Vec<String> = crm
        .received_requests()
        .await
        .unwrap()
        .iter()
        .map(|r| format!("{:?} {}", r.headers, String::from_utf8_lossy(&r.body)))
        .collect();
    for secret in [
        HUBSPOT_TOKEN,
        SALESFORCE_SECRET,
        SALESFORCE_ACCESS_TOKEN,
        DYNAMICS_SECRET,
        DYNAMICS_ACCESS_TOKEN,
        DYNAMICS_WRONG_SECRET,
    ] {
        assert!(
            received.iter().any(|r| r.contains(secret)),
            "{secret} was sent to its CRM"
        );
    }
    // The logs are the debug-level JSON logs, with the deliveries' calls in them.
    let lines: Vec<Value> = logs
        .lines()
        .filter_map(|line| serde_json::from_str(line).ok())
        .collect();
    assert!(
        lines.iter().any(|l| l["level"] == "DEBUG"),
        "debug logs were written: {logs}"
    );
    let requests = lines
        .iter()
        .filter(|l| l["fields"]["message"] == "request")
        .count();
    assert!(
        requests >= api.answers.len(),
        "every GraphQL request was logged: {requests} lines for {} requests",
        api.answers.len()
    );
    assert!(
        lines.iter().any(|l| l["span"]["name"] == "crm.deliver"),
        "the deliveries' calls are in the logs"
    );

    let answers = api.answers.join("\n");
    assert!(answers.contains("INVALID_SESSION_ID"));
    for secret in SECRETS {
        assert!(
            !logs.contains(secret),
            "{secret} is in the logs: {}",
            logs.lines()
                .filter(|l| l.contains(secret))
                .collect::<Vec<_>>()
                .join("\n")
        );
        for answer in &api.answers {
            assert!(
                !answer.contains(secret),
                "{secret} is in a GraphQL answer: {answer}"
            );
        }
    }
    let _ = std::fs::remove_dir_all(&data_dir);
}
