//! SIGTERM during load: every request the server accepted is answered, and the process exits 0
//! within the grace period. "Accepted" is judged by the server itself: each request carries a
//! unique `X-Request-Id`, the server logs every request it handled (JSON logs), and each
//! logged id must have reached its client as a success. Requests the server never took (sent
//! after it stopped accepting) may fail; they are not in its log.

mod common;

use common::Binary;
use std::collections::HashSet;
use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

#[tokio::test]
async fn sigterm_answers_every_accepted_request_and_exits_zero() {
    let data_dir = std::env::temp_dir().join(format!("latchkey-shutdown-{}", uuid::Uuid::now_v7()));
    let binary = Binary::start(
        &data_dir,
        &[
            ("LATCHKEY_LOG_FORMAT", "json"),
            ("RUST_LOG", "latchkey_api=info"),
        ],
        Stdio::piped(),
    );
    let key = binary
        .secret("Demo tenant owner API key")
        .unwrap()
        .to_owned();
    let url = format!("{}/t/demo/graphql", binary.url);
    let mut child = binary.child;
    let mut stderr = child.stderr.take().unwrap();
    let log = std::thread::spawn(move || {
        let mut text = String::new();
        stderr.read_to_string(&mut text).unwrap();
        text
    });

    let client = reqwest::Client::new();
    let stop_at = Instant::now() + Duration::from_millis(1500);
    let workers: Vec<_> = (0..8)
        .map(|_| {
            let (client, url, key) = (client.clone(), url.clone(), key.clone());
            tokio::spawn(async move {
                let (mut answered, mut failed) = (HashSet::new(), HashSet::new());
                while Instant::now() < stop_at {
                    let id = uuid::Uuid::now_v7().to_string();
                    let sent = client
                        .post(&url)
                        .bearer_auth(&key)
                        .header("x-request-id", &id)
                        .json(&serde_json::json!({ "query": "{ identities(first: 20) { totalCount } }" }))
                        .send()
                        .await;
                    match sent {
                        Ok(response) if response.status().is_success() => answered.insert(id),
                        _ => failed.insert(id),
                    };
                }
                (answered, failed)
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let signalled = Instant::now();
    assert!(
        Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .unwrap()
            .success()
    );
    let exit = tokio::task::spawn_blocking(move || child.wait().unwrap())
        .await
        .unwrap();
    let took = signalled.elapsed();
    let (mut answered, mut failed) = (HashSet::new(), HashSet::new());
    for worker in workers {
        let (a, f) = worker.await.unwrap();
        answered.extend(a);
        failed.extend(f);
    }
    let entries: Vec<serde_json::Value> = log
        .join()
        .unwrap()
        .lines()
        .filter_map(|line| serde_json::from_str(line).ok())
        .filter(|entry: &serde_json::Value| entry["fields"]["message"] == "request")
        .collect();
    let handled: HashSet<String> = entries
        .iter()
        .filter_map(|entry| entry["fields"]["request.id"].as_str().map(str::to_owned))
        .collect();
    // Log lines of tenant requests carry the tenant (from the request's span).
    let tenants: HashSet<&str> = entries
        .iter()
        .filter_map(|entry| entry["span"]["tenant.id"].as_str())
        .collect();
    assert!(
        entries
            .iter()
            .all(|entry| entry["span"]["tenant.id"].is_string())
    );
    assert_eq!(tenants.len(), 1, "one tenant id on every line: {tenants:?}");

    assert!(exit.success(), "exit status {exit:?}");
    assert!(
        took < Duration::from_secs(30),
        "stopped within the grace period: {took:?}"
    );
    assert!(!answered.is_empty() && !handled.is_empty());
    let lost: Vec<_> = handled.iter().filter(|id| failed.contains(*id)).collect();
    assert!(
        lost.is_empty(),
        "requests the server handled but the client never got: {lost:?}"
    );
    assert!(
        answered.iter().all(|id| handled.contains(id)),
        "every answered request is in the server's log"
    );
}

/// SIGTERM while a CRM delivery is in flight: the dispatcher finishes it (the receiver's slow
/// answer is recorded as delivered) and the process exits 0.
#[tokio::test]
async fn sigterm_lets_the_delivery_in_hand_finish() {
    use wiremock::matchers::method;
    use wiremock::{Mock, MockServer, ResponseTemplate};

    let webhook = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_delay(std::time::Duration::from_millis(1500)))
        .mount(&webhook)
        .await;
    let data_dir = std::env::temp_dir().join(format!("latchkey-drain-{}", uuid::Uuid::now_v7()));
    let binary = Binary::start(
        &data_dir,
        &[
            ("LATCHKEY_CRM_POLL_INTERVAL_MS", "50"),
            ("LATCHKEY_CRM_ALLOW_PRIVATE_NETWORKS", "true"),
        ],
        std::process::Stdio::null(),
    );
    let key = binary
        .secret("Demo tenant owner API key")
        .unwrap()
        .to_owned();
    let url = binary.url.clone();
    let mut child = binary.child;
    let client = reqwest::Client::new();
    let graphql = |query: &'static str, variables: serde_json::Value| {
        client
            .post(format!("{url}/t/demo/graphql"))
            .bearer_auth(&key)
            .json(&serde_json::json!({ "query": query, "variables": variables }))
            .send()
    };
    graphql(
        "mutation($input: CreateCrmConnectorInput!) { createCrmConnector(input: $input) { connector { id } } }",
        serde_json::json!({ "input": { "name": "slow", "kind": "WEBHOOK", "settings": { "url": webhook.uri() }, "credentials": { "secret": "0123456789abcdef0123" } } }),
    )
    .await
    .unwrap();
    graphql(
        "mutation($input: CreateIdentityInput!) { createIdentity(input: $input) { identity { id } } }",
        serde_json::json!({ "input": { "email": "drain@example.com" } }),
    )
    .await
    .unwrap();
    // The request has reached the receiver, which answers in 1.5 s: stop now.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while webhook.received_requests().await.unwrap().is_empty() {
        assert!(std::time::Instant::now() < deadline, "no delivery started");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let stopping = std::time::Instant::now();
    assert!(
        std::process::Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .unwrap()
            .success()
    );
    let exit = tokio::task::spawn_blocking(move || child.wait().unwrap())
        .await
        .unwrap();
    assert!(exit.success(), "{exit:?}");
    assert!(
        stopping.elapsed() >= std::time::Duration::from_millis(1000),
        "it waited for the answer"
    );

    // After a restart the delivery is recorded as delivered, and is not sent again.
    let restarted = Binary::start(
        &data_dir,
        &[
            ("LATCHKEY_CRM_POLL_INTERVAL_MS", "50"),
            ("LATCHKEY_CRM_ALLOW_PRIVATE_NETWORKS", "true"),
        ],
        std::process::Stdio::null(),
    );
    let events: serde_json::Value = reqwest::Client::new()
        .post(format!("{}/t/demo/graphql", restarted.url))
        .bearer_auth(&key)
        .json(&serde_json::json!({ "query": "{ crmSyncEvents { nodes { status attempts } } }" }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        events["data"]["crmSyncEvents"]["nodes"],
        serde_json::json!([{ "status": "DELIVERED", "attempts": 1 }])
    );
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(webhook.received_requests().await.unwrap().len(), 1);
    let mut child = restarted.child;
    child.kill().unwrap();
    child.wait().unwrap();
}
