//! Dispatchers sharing one outbox: every delivery goes out exactly once. On PostgreSQL two
//! servers on the same database each run a dispatcher, claim with `FOR UPDATE SKIP LOCKED`
//! and must split the work between them without ever sending an event twice; on SQLite there
//! is one server and one dispatcher by design, and the same exactly-once check runs on it.
//!
//! This file holds one test on purpose: on PostgreSQL the dispatchers of every test server in
//! a process share the queue, and here only these two servers may take deliveries, so each
//! one's `/metrics` shows what it delivered.

use latchkey_tests::{TestApp, test_database_url, unique_email};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::time::{Duration, Instant};
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

const EVENTS: usize = 200;
const DELIVERED: &str = "latchkey_crm_deliveries_total{kind=\"webhook\",outcome=\"delivered\"}";

#[tokio::test]
async fn dispatchers_share_the_queue_and_deliver_each_event_exactly_once() {
    let receiver = MockServer::start().await;
    // A short pause per request keeps a batch in hand for a while, so that the other
    // dispatcher's rounds find due deliveries while the first is busy.
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_millis(10)))
        .mount(&receiver)
        .await;
    let shared = test_database_url().is_some();
    let first = TestApp::start().await;
    let second = if shared {
        Some(TestApp::start().await)
    } else {
        None
    };
    let tenant = first.create_tenant("crm-dispatchers").await;
    let created = first
        .tenant(
            &tenant,
            "mutation($input: CreateCrmConnectorInput!) { createCrmConnector(input: $input) { connector { id } } }",
            json!({ "input": {
                "name": "shared queue",
                "kind": "WEBHOOK",
                "triggers": ["IDENTITY_CREATED"],
                "settings": { "url": receiver.uri() },
                "credentials": { "secret": "whsec_0123456789abcdef" },
            } }),
        )
        .await;
    let connector = created.data()["createCrmConnector"]["connector"]["id"]
        .as_str()
        .unwrap()
        .to_owned();

    // Events written quickly, by several clients at once.
    let app = std::sync::Arc::new(first);
    let tenant = std::sync::Arc::new(tenant);
    let workers: Vec<_> = (0..8)
        .map(|worker| {
            let (app, tenant) = (app.clone(), tenant.clone());
            tokio::spawn(async move {
                let mut ids = Vec::new();
                for _ in (worker..EVENTS).step_by(8) {
                    ids.push(app.create_identity(&tenant, &unique_email()).await);
                }
                ids
            })
        })
        .collect();
    let mut identities = Vec::new();
    for worker in workers {
        identities.extend(worker.await.unwrap());
    }
    assert_eq!(identities.len(), EVENTS);

    // Every delivery ends DELIVERED, after exactly one attempt.
    let deadline = Instant::now() + Duration::from_secs(120);
    let deliveries = loop {
        let deliveries = all_deliveries(&app, &tenant, &connector).await;
        if deliveries.len() == EVENTS && deliveries.iter().all(|d| d["status"] == "DELIVERED") {
            break deliveries;
        }
        let pending = deliveries
            .iter()
            .filter(|d| d["status"] != "DELIVERED")
            .count();
        assert!(
            Instant::now() < deadline,
            "{} deliveries of {EVENTS}, {pending} not delivered",
            deliveries.len()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(
        deliveries.iter().all(|d| d["attempts"] == 1),
        "every delivery took one attempt: {:?}",
        deliveries
            .iter()
            .filter(|d| d["attempts"] != 1)
            .collect::<Vec<_>>()
    );
    let mut subjects: Vec<&str> = deliveries
        .iter()
        .map(|d| d["subjectId"].as_str().unwrap())
        .collect();
    subjects.sort_unstable();
    identities.sort_unstable();
    assert_eq!(subjects, identities, "one delivery per identity");

    // The receiver got each event exactly once, keyed by its Idempotency-Key.
    let requests = receiver.received_requests().await.unwrap();
    let mut received: HashMap<String, usize> = HashMap::new();
    for request in &requests {
        let key = request.headers["idempotency-key"]
            .to_str()
            .unwrap()
            .to_owned();
        let body: Value = serde_json::from_slice(&request.body).unwrap();
        assert_eq!(body["id"].as_str(), Some(key.as_str()));
        *received.entry(key).or_default() += 1;
    }
    let twice: Vec<_> = received.iter().filter(|(_, n)| **n > 1).collect();
    assert!(
        twice.is_empty(),
        "events received more than once: {twice:?}"
    );
    let mut keys: Vec<&str> = received.keys().map(String::as_str).collect();
    keys.sort_unstable();
    let mut events: Vec<&str> = deliveries
        .iter()
        .map(|d| d["eventId"].as_str().unwrap())
        .collect();
    events.sort_unstable();
    assert_eq!(
        keys, events,
        "the receiver got exactly the delivered events"
    );
    assert_eq!(requests.len(), EVENTS);

    // Both dispatchers took part (each server counts its own dispatcher's deliveries).
    if let Some(second) = second {
        let by_first = app.metrics().await.get(DELIVERED).copied().unwrap_or(0.0);
        let by_second = second
            .metrics()
            .await
            .get(DELIVERED)
            .copied()
            .unwrap_or(0.0);
        assert!(
            by_first >= 1.0 && by_second >= 1.0,
            "both dispatchers delivered: {by_first} and {by_second}"
        );
        second.stop().await;
    }
}

async fn all_deliveries(
    app: &TestApp,
    tenant: &latchkey_tests::TestTenant,
    connector: &str,
) -> Vec<Value> {
    let mut all = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let page = app
            .tenant(
                tenant,
                "query($after: String, $filter: CrmSyncEventFilter) { crmSyncEvents(first: 100, after: $after, filter: $filter) { pageInfo { hasNextPage endCursor } nodes { eventId subjectId status attempts lastError } } }",
                json!({ "after": after, "filter": { "connectorId": connector } }),
            )
            .await;
        let connection = &page.data()["crmSyncEvents"];
        all.extend(connection["nodes"].as_array().unwrap().iter().cloned());
        if connection["pageInfo"]["hasNextPage"] != true {
            return all;
        }
        after = connection["pageInfo"]["endCursor"]
            .as_str()
            .map(str::to_owned);
    }
}
