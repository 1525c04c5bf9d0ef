//! Nothing lost when the process is killed mid-delivery (SIGKILL, no clean shutdown), with the
//! real binary on its SQLite data directory and a stateful fake of HubSpot's contacts API.
//!
//! The fake first answers 503 to everything while identities are created and updated; then it
//! accepts, and holds the answer to one contact upsert it has already applied: the process is
//! killed while that call is in flight (the CRM has the record, Latchkey never heard so) and
//! with the rest of its claimed batch abandoned. After a restart on the same data directory,
//! every delivery must end `DELIVERED`, the CRM's records must equal the identities as they are
//! in Latchkey, and the call repeated for the killed delivery must not have made a second record.

mod common;
mod guard;

use common::Binary;
use guard::Process;
use serde_json::{Map, Value, json};
use std::collections::{BTreeMap, HashMap};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

const TOKEN: &str = "pat-na1-kill-test-token";
const IDENTITIES: usize = 20;

#[derive(Clone, Copy, PartialEq, Debug)]
enum Mode {
    /// 503 to everything, applying nothing.
    Failing,
    /// Applies each call and answers after a short pause, so deliveries are still going on
    /// when the test kills the process.
    Slow,
    /// Applies each call and answers at once.
    Fast,
}

/// HubSpot's contacts as the fake holds them: record id → properties (and archived ones).
#[derive(Default)]
struct Contacts {
    records: BTreeMap<u64, Map<String, Value>>,
    archived: Vec<u64>,
    /// Calls applied (not the refused ones).
    applied: usize,
    /// Upserts received per email (applied ones), to see repeated calls.
    upserts: HashMap<String, usize>,
    /// Hold the answer to the first upsert applied once `applied` reaches this.
    hold_after: Option<usize>,
    /// The email whose upsert was applied and is being held.
    held: Option<String>,
}

struct FakeHubSpot {
    mode: Arc<Mutex<Mode>>,
    contacts: Arc<Mutex<Contacts>>,
}

fn error(status: u16, category: &str, message: &str) -> ResponseTemplate {
    ResponseTemplate::new(status)
        .set_body_json(json!({ "status": "error", "category": category, "message": message }))
}

impl Respond for FakeHubSpot {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let authorized = request
            .headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            == Some(&format!("Bearer {TOKEN}"));
        if !authorized {
            return error(
                401,
                "INVALID_AUTHENTICATION",
                "Authentication credentials not found.",
            );
        }
        let mode = *self.mode.lock().unwrap();
        if mode == Mode::Failing {
            return error(503, "SERVICE_UNAVAILABLE", "Temporarily unavailable")
                .insert_header("retry-after", "1");
        }
        let mut contacts = self.contacts.lock().unwrap();
        let body: Value = serde_json::from_slice(&request.body).unwrap_or(Value::Null);
        let path = request.url.path().to_owned();
        let method = request.method.as_str();
        let mut hold = false;
        let response = if method == "POST" && path == "/crm/v3/objects/contacts/batch/upsert" {
            let input = &body["inputs"][0];
            assert_eq!(input["idProperty"], "email", "upserts by email");
            let email = input["id"].as_str().unwrap().to_lowercase();
            let properties = input["properties"].as_object().cloned().unwrap_or_default();
            let existing = contacts
                .records
                .iter()
                .find(|(_, p)| p["email"].as_str().map(str::to_lowercase) == Some(email.clone()))
                .map(|(id, _)| *id);
            let (id, new) = match existing {
                Some(id) => {
                    contacts.records.get_mut(&id).unwrap().extend(properties);
                    (id, false)
                }
                None => {
                    let id = 1000 + contacts.records.len() as u64 + contacts.archived.len() as u64;
                    let mut record = properties;
                    record.insert("email".into(), json!(email));
                    contacts.records.insert(id, record);
                    (id, true)
                }
            };
            *contacts.upserts.entry(email.clone()).or_default() += 1;
            if contacts.held.is_none() && contacts.hold_after.is_some_and(|n| contacts.applied >= n)
            {
                contacts.held = Some(email);
                hold = true;
            }
            ResponseTemplate::new(200).set_body_json(json!({
                "status": "COMPLETE",
                "results": [{ "id": id.to_string(), "new": new, "properties": contacts.records[&id] }],
            }))
        } else if let Some(id) = path
            .strip_prefix("/crm/v3/objects/contacts/")
            .and_then(|id| id.parse::<u64>().ok())
        {
            match (method, contacts.records.contains_key(&id)) {
                ("PATCH", true) => {
                    let properties = body["properties"].as_object().cloned().unwrap_or_default();
                    let record = contacts.records.get_mut(&id).unwrap();
                    record.extend(properties);
                    let record = record.clone();
                    ResponseTemplate::new(200)
                        .set_body_json(json!({ "id": id.to_string(), "properties": record }))
                }
                ("DELETE", true) => {
                    contacts.records.remove(&id);
                    contacts.archived.push(id);
                    ResponseTemplate::new(204)
                }
                _ => error(404, "OBJECT_NOT_FOUND", "Object not found."),
            }
        } else {
            return error(
                400,
                "VALIDATION_ERROR",
                &format!("unexpected {method} {path}"),
            );
        };
        contacts.applied += 1;
        match (hold, mode) {
            (true, _) => response.set_delay(Duration::from_secs(60)),
            (false, Mode::Slow) => response.set_delay(Duration::from_millis(100)),
            _ => response,
        }
    }
}

struct Api {
    client: reqwest::Client,
    url: String,
    key: String,
}

impl Api {
    async fn call(&self, query: &str, variables: Value) -> Value {
        let body: Value = self
            .client
            .post(format!("{}/t/demo/graphql", self.url))
            .bearer_auth(&self.key)
            .json(&json!({ "query": query, "variables": variables }))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert!(body.get("errors").is_none(), "{query}: {body}");
        body["data"].clone()
    }

    async fn update(&self, id: &str, round: usize, index: usize) {
        self.call(
            "mutation($input: UpdateIdentityInput!) { updateIdentity(input: $input) { identity { id } } }",
            json!({ "input": {
                "id": id,
                "displayName": format!("Person {index} round {round}"),
                "phone": format!("+1555010{round}{index:02}"),
                "attributes": { "plan": format!("plan-{round}"), "round": round },
            } }),
        )
        .await;
    }

    async fn deliveries(&self) -> Vec<Value> {
        let mut all = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let data = self
                .call(
                    "query($after: String) { crmSyncEvents(first: 100, after: $after) { pageInfo { hasNextPage endCursor } nodes { eventType subjectId status attempts lastError remoteId } } }",
                    json!({ "after": after }),
                )
                .await;
            let connection = &data["crmSyncEvents"];
            all.extend(connection["nodes"].as_array().unwrap().iter().cloned());
            if connection["pageInfo"]["hasNextPage"] != true {
                return all;
            }
            after = connection["pageInfo"]["endCursor"]
                .as_str()
                .map(str::to_owned);
        }
    }
}

fn start(data_dir: &std::path::Path, log: &std::path::Path) -> Binary {
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .unwrap();
    Binary::start(
        data_dir,
        &[
            ("LATCHKEY_CRM_POLL_INTERVAL_MS", "50"),
            ("LATCHKEY_CRM_RETRY_BASE_MS", "200"),
            // Failures here are all retryable: none may end dead.
            ("LATCHKEY_CRM_MAX_ATTEMPTS", "1000"),
            // What the killed process had claimed falls due soon after the restart.
            ("LATCHKEY_CRM_LEASE_SECONDS", "2"),
            ("LATCHKEY_CRM_ALLOW_PRIVATE_NETWORKS", "true"),
        ],
        Stdio::from(log),
    )
}

#[tokio::test]
async fn a_killed_process_loses_no_delivery_and_duplicates_no_record() {
    let mode = Arc::new(Mutex::new(Mode::Failing));
    let contacts = Arc::new(Mutex::new(Contacts::default()));
    let hubspot = MockServer::start().await;
    Mock::given(wiremock::matchers::any())
        .respond_with(FakeHubSpot {
            mode: mode.clone(),
            contacts: contacts.clone(),
        })
        .mount(&hubspot)
        .await;

    let data_dir = std::env::temp_dir().join(format!("latchkey-crm-kill-{}", uuid::Uuid::now_v7()));
    let log = data_dir.with_extension("log");
    let binary = start(&data_dir, &log);
    let mut api = Api {
        client: reqwest::Client::new(),
        url: binary.url.clone(),
        key: binary
            .secret("Demo tenant owner API key")
            .unwrap()
            .to_owned(),
    };
    let mut child = Process(binary.child);
    api.call(
        "mutation($input: CreateCrmConnectorInput!) { createCrmConnector(input: $input) { connector { id } } }",
        json!({ "input": {
            "name": "HubSpot",
            "kind": "HUBSPOT",
            "triggers": ["IDENTITY_CREATED", "IDENTITY_UPDATED"],
            "settings": { "baseUrl": hubspot.uri() },
            "credentials": { "token": TOKEN },
            "fieldMapping": { "identity": {
                "email": "email", "firstname": "displayName", "phone": "phone",
                "plan": "attributes.plan", "idp_user_id": "id"
            } },
        } }),
    )
    .await;

    // While the CRM is down: identities created and updated twice, every delivery retrying.
    let mut identities = Vec::new();
    for index in 0..IDENTITIES {
        let created = api
            .call(
                "mutation($input: CreateIdentityInput!) { createIdentity(input: $input) { identity { id } } }",
                json!({ "input": { "email": format!("kill-{index}@example.com") } }),
            )
            .await;
        identities.push(
            created["createIdentity"]["identity"]["id"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    for round in 1..=2 {
        for (index, id) in identities.iter().enumerate() {
            api.update(id, round, index).await;
        }
    }
    let refused_before = hubspot.received_requests().await.unwrap().len();
    assert!(refused_before > 0, "deliveries were attempted while down");
    assert_eq!(contacts.lock().unwrap().applied, 0);

    // The CRM is back, answering slowly. After a few applied calls, the answer to the next
    // contact upsert is held, and the process is killed meanwhile.
    contacts.lock().unwrap().hold_after = Some(3);
    *mode.lock().unwrap() = Mode::Slow;
    let deadline = Instant::now() + Duration::from_secs(60);
    let held = loop {
        if let Some(held) = contacts.lock().unwrap().held.clone() {
            break held;
        }
        assert!(Instant::now() < deadline, "no upsert was held");
        tokio::time::sleep(Duration::from_millis(5)).await;
    };
    // SIGKILL: no shutdown, no release of the claimed batch.
    child.kill();
    let applied_before_kill = contacts.lock().unwrap().applied;
    *mode.lock().unwrap() = Mode::Fast;

    // Restart on the same data directory; two more rounds of updates, the last for half the
    // identities, while the backlog goes out.
    let binary = start(&data_dir, &log);
    api.url = binary.url.clone();
    let mut child = Process(binary.child);
    for (index, id) in identities.iter().enumerate() {
        api.update(id, 3, index).await;
    }
    for (index, id) in identities.iter().enumerate().filter(|(i, _)| i % 2 == 0) {
        api.update(id, 4, index).await;
    }
    let expected = IDENTITIES * 4 + IDENTITIES / 2;
    let deadline = Instant::now() + Duration::from_secs(90);
    let deliveries = loop {
        let deliveries = api.deliveries().await;
        if deliveries.len() == expected && deliveries.iter().all(|d| d["status"] != "PENDING") {
            break deliveries;
        }
        assert!(
            Instant::now() < deadline,
            "not all delivered ({} of {expected} deliveries): {:#?}",
            deliveries.len(),
            deliveries
                .iter()
                .filter(|d| d["status"] != "DELIVERED")
                .collect::<Vec<_>>()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };

    // Every event was delivered.
    let not_delivered: Vec<_> = deliveries
        .iter()
        .filter(|d| d["status"] != "DELIVERED")
        .collect();
    assert!(not_delivered.is_empty(), "{not_delivered:#?}");
    assert!(
        deliveries
            .iter()
            .any(|d| d["attempts"].as_i64().unwrap() > 1),
        "deliveries were retried while the CRM was down"
    );

    // The CRM's records are the identities as Latchkey has them now: one record each.
    let now = api
        .call(
            "{ identities(first: 100) { nodes { id email displayName phone attributes } } }",
            json!({}),
        )
        .await;
    let now = now["identities"]["nodes"].as_array().unwrap().clone();
    assert_eq!(now.len(), IDENTITIES);
    let contacts = contacts.lock().unwrap();
    assert!(contacts.archived.is_empty());
    assert_eq!(
        contacts.records.len(),
        IDENTITIES,
        "one CRM record per identity: {:#?}",
        contacts.records
    );
    for identity in &now {
        let id = identity["id"].as_str().unwrap();
        let records: Vec<(&u64, &Map<String, Value>)> = contacts
            .records
            .iter()
            .filter(|(_, p)| p["idp_user_id"] == id)
            .collect();
        assert_eq!(records.len(), 1, "{identity}: {records:?}");
        let (record_id, properties) = records[0];
        assert_eq!(
            Value::Object(properties.clone()),
            json!({
                "email": identity["email"],
                "firstname": identity["displayName"],
                "phone": identity["phone"],
                "plan": identity["attributes"]["plan"],
                "idp_user_id": id,
            }),
            "the CRM record of {id} is the identity as it is now"
        );
        // Latchkey knows the record it pushed to.
        for delivery in deliveries.iter().filter(|d| d["subjectId"] == id) {
            assert_eq!(delivery["remoteId"], record_id.to_string(), "{delivery}");
        }
    }
    // The upsert whose answer never reached the killed process was sent again, and the repeat
    // updated the same record.
    assert!(
        contacts.upserts[&held] >= 2,
        "the killed delivery was repeated: {:?}",
        contacts.upserts
    );
    assert!(
        contacts.applied > applied_before_kill,
        "deliveries went on after the restart"
    );

    child.kill();
    let _ = std::fs::remove_dir_all(&data_dir);
    let _ = std::fs::remove_file(&log);
}
