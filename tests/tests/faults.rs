//! Dependency outages, made by a [`FaultProxy`] between a test server and the shared Redis or
//! PostgreSQL (which keep running for every other test): what needs only the database keeps
//! working without Redis, what needs a missing dependency fails fast with `UNAVAILABLE` (503,
//! `Retry-After`), never `INTERNAL`, `RATE_LIMITED` or a 200 with half an answer, and the first
//! request after the dependency is back succeeds. Each test needs its dependency
//! (`LATCHKEY_TEST_REDIS_URL`, `LATCHKEY_TEST_DATABASE_URL`) and is skipped without it.
//!
//! The time bounds here are loose ceilings that tell "fails fast" from "waits out a long
//! default" (the old Redis client waited ~9.5 s, the old pool 10 s); they are not speed goals.

use latchkey_tests::fault_proxy::{FaultProxy, Mode, upstream_of};
use latchkey_tests::{
    GraphqlResponse, TestApp, TestTenant, test_database_url, test_redis_url, test_settings,
    unique_email,
};
use serde_json::{Value, json};
use std::time::{Duration, Instant};

const VIEWER: &str = "{ viewer { kind } }";
const IDENTITIES: &str = "{ identities(first: 5) { nodes { id email } } }";
const CREATE_IDENTITY: &str =
    "mutation($input: CreateIdentityInput!) { createIdentity(input: $input) { identity { id } } }";
const BEGIN_SIGN_IN: &str = "mutation { beginPasskeySignIn(input: {}) { ceremonyId options } }";

/// Fails fast: a ceiling well under the old defaults, loose enough for a busy CI machine.
const FAST: Duration = Duration::from_secs(4);

async fn timed(
    app: &TestApp,
    tenant: &TestTenant,
    query: &str,
    variables: Value,
) -> (GraphqlResponse, Duration) {
    let started = Instant::now();
    let response = app.tenant(tenant, query, variables).await;
    (response, started.elapsed())
}

fn assert_unavailable(response: &GraphqlResponse, elapsed: Duration, what: &str) {
    assert_eq!(response.status, 503, "{what}: {}", response.body);
    assert_eq!(response.error_code(), "UNAVAILABLE", "{what}");
    assert!(
        response.body["errors"][0]["extensions"]["retryAfter"].as_u64() >= Some(1),
        "{what}: {}",
        response.body
    );
    assert!(elapsed < FAST, "{what} took {elapsed:?}");
}

async fn readyz(app: &TestApp) -> (u16, Value, Duration) {
    let started = Instant::now();
    let (status, body) = app.readyz().await;
    (status.as_u16(), body, started.elapsed())
}

/// A test server whose Redis is reached through a [`FaultProxy`]; `None` (skipped) without
/// `LATCHKEY_TEST_REDIS_URL`.
async fn behind_proxy_to_redis() -> Option<(FaultProxy, TestApp)> {
    let Some(redis_url) = test_redis_url() else {
        eprintln!("skipped: LATCHKEY_TEST_REDIS_URL is not set");
        return None;
    };
    let proxy = FaultProxy::start(upstream_of(&redis_url)).await;
    let mut settings = test_settings();
    settings.redis_url = Some(proxy.url_for(&redis_url));
    // One Redis timeout is what a request that needs Redis waits at most.
    settings.redis_timeout_ms = 300;
    Some((proxy, TestApp::start_with(settings).await))
}

#[tokio::test]
async fn without_redis_what_needs_only_the_database_keeps_working() {
    let Some((proxy, app)) = behind_proxy_to_redis().await else {
        return;
    };
    let tenant = app.create_tenant("no-redis").await;
    // The key is cached in Redis now.
    assert_eq!(
        app.tenant(&tenant, VIEWER, json!({})).await.data()["viewer"]["kind"],
        "API_KEY"
    );
    let create_key = "mutation { createApiKey(input: { name: \"second\", roles: [VIEWER] }) { apiKey { id } secret } }";
    let revoke_key =
        "mutation($id: ID!) { revokeApiKey(input: { id: $id }) { apiKey { revokedAt } } }";
    let new_key = async || {
        let created = app.tenant(&tenant, create_key, json!({})).await;
        let created = created.data()["createApiKey"].clone();
        let secret = created["secret"].as_str().unwrap().to_owned();
        (created["apiKey"]["id"].clone(), secret)
    };
    let (second_id, second_secret) = new_key().await;
    assert_eq!(
        app.as_key(&tenant, &second_secret, VIEWER, json!({}))
            .await
            .data()["viewer"]["kind"],
        "API_KEY"
    );

    for mode in [Mode::Cut, Mode::Swallow] {
        proxy.set(mode);
        // API keys come from the database; identities are written there.
        let (viewer, elapsed) = timed(&app, &tenant, VIEWER, json!({})).await;
        assert_eq!(viewer.data()["viewer"]["kind"], "API_KEY", "{mode:?}");
        assert!(elapsed < FAST, "{mode:?}: viewer took {elapsed:?}");
        let email = unique_email();
        let (created, _) = timed(
            &app,
            &tenant,
            CREATE_IDENTITY,
            json!({ "input": { "email": email } }),
        )
        .await;
        created.data();
        // A ceremony needs Redis: refused at once, as unavailable (not rate limited).
        let (begun, elapsed) = timed(&app, &tenant, BEGIN_SIGN_IN, json!({})).await;
        assert_unavailable(&begun, elapsed, &format!("{mode:?}: beginPasskeySignIn"));
        // Without its change feed a replica keeps nothing in memory (it could miss another
        // replica's revocation): keys come from the database, and a revocation works and
        // stops the key at once.
        let (id, secret) = new_key().await;
        let as_new_key = app.as_key(&tenant, &secret, VIEWER, json!({})).await;
        assert_eq!(as_new_key.data()["viewer"]["kind"], "API_KEY", "{mode:?}");
        app.tenant(&tenant, revoke_key, json!({ "id": id }))
            .await
            .data();
        let revoked = app.as_key(&tenant, &secret, VIEWER, json!({})).await;
        assert_eq!(revoked.error_code(), "UNAUTHENTICATED", "{mode:?}");
        // Ready, degraded: a 503 would take every replica out of the load balancer at once.
        let (status, body, elapsed) = readyz(&app).await;
        assert_eq!(status, 200, "{mode:?}: {body}");
        assert_eq!(body["status"], "degraded", "{mode:?}");
        assert_eq!(body["database"], "ok");
        assert_ne!(body["store"], "ok");
        assert!(
            elapsed < Duration::from_secs(2),
            "{mode:?}: readyz took {elapsed:?}"
        );
    }

    // Redis is back: the first request that needs it succeeds. (A Redis that hung is not
    // tried again within 100 ms of the attempt that ran into the timeout: requests in that
    // window fail at once rather than each wait the timeout.)
    proxy.set(Mode::Pass);
    tokio::time::sleep(Duration::from_millis(150)).await;
    app.tenant(&tenant, BEGIN_SIGN_IN, json!({})).await.data();
    let (status, body, _) = readyz(&app).await;
    assert_eq!((status, &body["status"]), (200, &json!("ready")));
    // And a revocation stops the key at once.
    app.tenant(&tenant, revoke_key, json!({ "id": second_id }))
        .await
        .data();
    let after = app.as_key(&tenant, &second_secret, VIEWER, json!({})).await;
    assert_eq!(after.error_code(), "UNAUTHENTICATED");
    app.stop().await;
}

#[tokio::test]
async fn without_the_database_requests_fail_fast_with_unavailable() {
    let Some(database_url) = test_database_url() else {
        eprintln!("skipped: LATCHKEY_TEST_DATABASE_URL is not set");
        return;
    };
    let proxy = FaultProxy::start(upstream_of(&database_url)).await;
    let mut settings = test_settings();
    settings.database_url = Some(proxy.url_for(&database_url));
    settings.database_acquire_timeout_ms = 1000;
    let app = TestApp::start_with(settings).await;
    let tenant = app.create_tenant("no-database").await;
    app.create_identity(&tenant, &unique_email()).await;
    app.tenant(&tenant, IDENTITIES, json!({})).await.data();

    for mode in [Mode::Cut, Mode::Swallow] {
        proxy.set(mode);
        // A query answers no half answer: no data, 503, UNAVAILABLE.
        let (listed, elapsed) = timed(&app, &tenant, IDENTITIES, json!({})).await;
        assert_unavailable(&listed, elapsed, &format!("{mode:?}: identities"));
        assert_eq!(listed.body["data"], Value::Null, "{mode:?}");
        let (created, elapsed) = timed(
            &app,
            &tenant,
            CREATE_IDENTITY,
            json!({ "input": { "email": unique_email() } }),
        )
        .await;
        assert_unavailable(&created, elapsed, &format!("{mode:?}: createIdentity"));
        let (status, body, elapsed) = readyz(&app).await;
        assert_eq!(status, 503, "{mode:?}: {body}");
        assert_eq!(body["status"], "unavailable");
        assert_ne!(body["database"], "ok");
        assert!(
            elapsed < Duration::from_secs(2),
            "{mode:?}: readyz took {elapsed:?}"
        );
    }

    // The database is back: the first request succeeds (stale connections are not handed out).
    proxy.set(Mode::Pass);
    let email = unique_email();
    app.tenant(
        &tenant,
        CREATE_IDENTITY,
        json!({ "input": { "email": email } }),
    )
    .await
    .data();
    let listed = app.tenant(&tenant, IDENTITIES, json!({})).await;
    assert!(
        listed.data()["identities"]["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|n| n["email"] == email)
    );
    assert_eq!(readyz(&app).await.0, 200);
    app.stop().await;
}

#[tokio::test]
async fn a_tenant_cannot_see_or_cause_another_tenants_outage_answers() {
    // The degraded answers stay within the caller's tenant: a key of one tenant is not let
    // into another's API by the database fallback.
    let Some((proxy, app)) = behind_proxy_to_redis().await else {
        return;
    };
    let mine = app.create_tenant("outage-mine").await;
    let theirs = app.create_tenant("outage-theirs").await;
    proxy.set(Mode::Cut);
    let crossed = app.as_key(&theirs, &mine.api_key, VIEWER, json!({})).await;
    assert_eq!(crossed.error_code(), "UNAUTHENTICATED");
    assert_eq!(
        app.tenant(&mine, VIEWER, json!({})).await.data()["viewer"]["kind"],
        "API_KEY"
    );
    proxy.set(Mode::Pass);
    app.stop().await;
}
