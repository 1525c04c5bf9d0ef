//! A change that queues CRM deliveries wakes the dispatcher of the server that made it: the
//! delivery does not wait for the next poll. Alone in its file so that no other test server's
//! dispatcher (sharing the queue on PostgreSQL) can deliver it instead.

use latchkey_tests::{TestApp, test_settings, unique_email};
use serde_json::json;
use std::time::{Duration, Instant};
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

#[tokio::test]
async fn a_queued_delivery_goes_out_before_the_next_poll() {
    let receiver = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&receiver)
        .await;
    let mut settings = test_settings();
    // A poll the test would never see the end of.
    settings.crm_poll_interval_ms = 600_000;
    let app = TestApp::start_with(settings).await;
    let tenant = app.create_tenant("crm-wakeup").await;
    app.tenant(
        &tenant,
        "mutation($input: CreateCrmConnectorInput!) { createCrmConnector(input: $input) { connector { id } } }",
        json!({ "input": { "name": "Hook", "kind": "WEBHOOK", "settings": { "url": receiver.uri() }, "credentials": { "secret": "whsec_wakeup_0123456789" } } }),
    )
    .await
    .data();
    // The dispatcher has run its first round and sleeps now.
    tokio::time::sleep(Duration::from_millis(500)).await;
    for round in 1..=2 {
        let email = unique_email();
        app.create_identity(&tenant, &email).await;
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let received = receiver.received_requests().await.unwrap();
            if received
                .iter()
                .any(|r| String::from_utf8_lossy(&r.body).contains(&email))
            {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "change {round} was not delivered before the 10-minute poll"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    app.stop().await;
}
