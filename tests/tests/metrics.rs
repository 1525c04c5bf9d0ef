//! `/metrics` in Prometheus text format: counters move when requests, sign-ins, token issuance
//! and rate limits happen.

use latchkey_tests::{TestApp, unique};
use serde_json::json;
use std::collections::HashMap;

fn value(metrics: &HashMap<String, f64>, series: &str) -> f64 {
    metrics.get(series).copied().unwrap_or(0.0)
}

#[tokio::test]
async fn counters_move_with_requests_sign_ins_and_limits() {
    let app = TestApp::start().await;
    let tenant = app.create_tenant("metrics").await;
    let before = app.metrics().await;

    let email = format!("{}@example.com", unique("m"));
    let (mut device, credential_id, _) = app.sign_up(&tenant, &email).await;
    app.sign_in(&tenant, &mut device, Some(&email), &credential_id)
        .await;
    // A failed sign-in: the ceremony is replayed.
    let begun = app.begin_sign_in(&tenant, Some(&email)).await;
    let assertion = device.get(&begun.options, None);
    app.finish_sign_in(&tenant, &begun.ceremony_id, assertion.clone())
        .await
        .data();
    app.finish_sign_in(&tenant, &begun.ceremony_id, assertion)
        .await;
    // A rate-limited call.
    app.tenant(&tenant, "mutation { updateTenantSettings(input: { rateLimits: { signInPerIp: 1000, signInPerIdentity: 1, signUpPerIp: 1000 } }) { settings { selfSignUp } } }", json!({})).await.data();
    let other = format!("{}@example.com", unique("limited"));
    app.begin_sign_in(&tenant, Some(&other)).await;
    app.anonymous(
        &tenant,
        None,
        latchkey_tests::passkey::BEGIN_SIGN_IN,
        json!({ "input": { "email": other } }),
    )
    .await;
    let invalid = app.tenant(&tenant, "{ noSuchField }", json!({})).await;
    assert_eq!(invalid.status, 400);

    let after = app.metrics().await;
    let moved = |series: &str| value(&after, series) - value(&before, series);
    assert!(moved("latchkey_sign_ins_total{method=\"passkey\",outcome=\"success\"}") >= 2.0);
    assert_eq!(
        moved("latchkey_sign_ins_total{method=\"passkey\",outcome=\"failure\"}"),
        1.0
    );
    assert!(
        moved("latchkey_tokens_issued_total{kind=\"access\"}") >= 3.0,
        "sign-up and two sign-ins"
    );
    assert_eq!(moved("latchkey_rate_limited_total{api=\"tenant\"}"), 1.0);
    assert!(
        moved(
            "latchkey_graphql_operations_total{api=\"tenant\",field=\"finishPasskeySignIn\",outcome=\"ok\"}"
        ) >= 2.0
    );
    assert_eq!(
        moved(
            "latchkey_graphql_operations_total{api=\"tenant\",field=\"(invalid)\",outcome=\"error\"}"
        ),
        1.0
    );
    assert!(
        moved(
            "latchkey_http_requests_total{method=\"POST\",route=\"/t/{slug}/graphql\",status=\"200\"}"
        ) >= 8.0
    );
    assert!(
        value(
            &after,
            "latchkey_http_request_duration_seconds_count{route=\"/t/{slug}/graphql\"}"
        ) >= 8.0
    );
    assert!(value(&after, "latchkey_database_pool_connections") >= 1.0);
    // No tenant slug, email or token ends up in a label.
    let text = after.keys().cloned().collect::<Vec<_>>().join("\n");
    assert!(!text.contains(&tenant.slug));
    assert!(!text.contains(&email));
    app.stop().await;
}

#[tokio::test]
async fn the_tenant_label_is_bounded_by_configuration() {
    // Off by default: no per-tenant series at all.
    let app = TestApp::start().await;
    let tenant = app.create_tenant("metrics-unlabelled").await;
    app.tenant(&tenant, "{ viewer { kind } }", json!({}))
        .await
        .data();
    assert!(
        !app.metrics()
            .await
            .keys()
            .any(|series| series.starts_with("latchkey_tenant_graphql_requests_total"))
    );

    let mut settings = latchkey_tests::test_settings();
    settings.metrics_tenant_label_limit = 2;
    let app = TestApp::start_with(settings).await;
    let mut tenants = Vec::new();
    for n in 0..3 {
        tenants.push(app.create_tenant(&format!("metrics-labelled-{n}")).await);
    }
    for (n, tenant) in tenants.iter().enumerate() {
        for _ in 0..=n {
            app.tenant(tenant, "{ viewer { kind } }", json!({}))
                .await
                .data();
        }
    }
    let metrics = app.metrics().await;
    let series = |label: &str| {
        value(
            &metrics,
            &format!("latchkey_tenant_graphql_requests_total{{tenant=\"{label}\"}}"),
        )
    };
    assert_eq!(series(&tenants[0].slug), 1.0);
    assert_eq!(series(&tenants[1].slug), 2.0);
    assert_eq!(series("other"), 3.0, "the third tenant is past the limit");
    assert_eq!(series(&tenants[2].slug), 0.0);
}
