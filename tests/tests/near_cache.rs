//! The near cache (tenants, API keys, live sessions kept in each replica's memory) never
//! keeps a revoked thing usable: not in the replica that revoked it, not in another replica
//! (the change reaches it through Redis), and not in a replica that lost its change feed
//! (it bypasses its cache until the feed is back).

use latchkey_tests::fault_proxy::{FaultProxy, Mode, upstream_of};
use latchkey_tests::{TestApp, TestTenant, test_database_url, test_redis_url, test_settings};
use latchkey_tests::{unique, unique_email};
use serde_json::json;
use std::time::{Duration, Instant};

const VIEWER: &str = "{ viewer { kind } }";
const VIEWER_IDENTITY: &str = "{ viewer { identity { id } } }";

fn shared_backends() -> bool {
    if test_database_url().is_none() || test_redis_url().is_none() {
        eprintln!(
            "skipped: needs LATCHKEY_TEST_DATABASE_URL and LATCHKEY_TEST_REDIS_URL (replicas share them)"
        );
        return false;
    }
    true
}

async fn viewer_status(app: &TestApp, tenant: &TestTenant, token: &str, query: &str) -> u16 {
    app.as_key(tenant, token, query, json!({}))
        .await
        .status
        .as_u16()
}

/// Waits (at most 5 s) until `/readyz` says the near cache is `state`.
async fn near_cache_becomes(app: &TestApp, state: &str) {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let (_, body) = app.readyz().await;
        if body["nearCache"] == state {
            return;
        }
        assert!(Instant::now() < deadline, "near cache not {state}: {body}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn a_cached_key_or_session_of_one_tenant_is_worthless_in_another() {
    let app = TestApp::start().await;
    let (alpha, bravo) = (
        app.create_tenant("cache-alpha").await,
        app.create_tenant("cache-bravo").await,
    );
    let (_, key) = app.create_api_key(&alpha, &["VIEWER"]).await;
    let (_, _, user) = app.sign_up(&alpha, &unique_email()).await;
    // Served (and so cached) in their own tenant, twice.
    for _ in 0..2 {
        assert_eq!(viewer_status(&app, &alpha, &key, VIEWER).await, 200);
        let own = app
            .as_key(&alpha, &user.access_token, VIEWER_IDENTITY, json!({}))
            .await;
        assert_eq!(own.data()["viewer"]["identity"]["id"], user.identity_id);
    }
    assert_eq!(viewer_status(&app, &bravo, &key, VIEWER).await, 401);
    assert_eq!(
        viewer_status(&app, &bravo, &user.access_token, VIEWER_IDENTITY).await,
        401
    );
    app.stop().await;
}

#[tokio::test]
async fn what_one_replica_revokes_stops_at_once_on_another_that_cached_it() {
    if !shared_backends() {
        return;
    }
    // Replicas of one deployment: one public URL, the issuer of their tokens.
    let one = TestApp::start().await;
    let mut settings = test_settings();
    settings.public_url = Some(one.public_url.clone());
    let two = TestApp::start_with(settings).await;
    let tenant = one.create_tenant("cache-replicas").await;
    let (key_id, key) = one.create_api_key(&tenant, &["VIEWER"]).await;
    let (_, _, signed_out) = one.sign_up(&tenant, &unique_email()).await;
    let (_, _, suspended) = one.sign_up(&tenant, &unique_email()).await;
    for replica in [&one, &two] {
        assert_eq!(viewer_status(replica, &tenant, &key, VIEWER).await, 200);
        for user in [&signed_out, &suspended] {
            let status = viewer_status(replica, &tenant, &user.access_token, VIEWER_IDENTITY);
            assert_eq!(status.await, 200);
        }
    }

    // A revoked key, a signed-out session, a suspended identity.
    one.tenant(
        &tenant,
        "mutation($id: ID!) { revokeApiKey(input: { id: $id }) { apiKey { id } } }",
        json!({ "id": key_id }),
    )
    .await
    .data();
    one.as_key(
        &tenant,
        &signed_out.access_token,
        "mutation { signOut { sessionId } }",
        json!({}),
    )
    .await
    .data();
    one.tenant(
        &tenant,
        "mutation($id: ID!) { suspendIdentity(input: { id: $id }) { identity { status } } }",
        json!({ "id": suspended.identity_id }),
    )
    .await
    .data();
    assert_eq!(two.status_after_feed(&tenant, &key, VIEWER).await, 401);
    for user in [&signed_out, &suspended] {
        let status = two.status_after_feed(&tenant, &user.access_token, VIEWER_IDENTITY);
        assert_eq!(status.await, 401);
    }

    // A suspended tenant (resolved, and so cached, by both).
    let (_, owner_two) = two.create_api_key(&tenant, &["VIEWER"]).await;
    assert_eq!(viewer_status(&two, &tenant, &owner_two, VIEWER).await, 200);
    one.platform(
        "mutation($id: ID!) { suspendTenant(input: { id: $id }) { tenant { status } } }",
        json!({ "id": tenant.id }),
    )
    .await
    .data();
    assert_ne!(
        two.status_after_feed(&tenant, &owner_two, VIEWER).await,
        200
    );
    let refused = two.as_key(&tenant, &owner_two, VIEWER, json!({})).await;
    assert_eq!(
        refused.error_message(),
        "tenant is suspended",
        "{:?}",
        refused.body
    );
    one.stop().await;
    two.stop().await;
}

#[tokio::test]
async fn a_replica_that_lost_its_change_feed_bypasses_its_cache_until_it_is_back() {
    if !shared_backends() {
        return;
    }
    let redis_url = test_redis_url().unwrap();
    let proxy = FaultProxy::start(upstream_of(&redis_url)).await;
    let mut settings = test_settings();
    settings.redis_url = Some(proxy.url_for(&redis_url));
    settings.redis_timeout_ms = 300;
    let (one, two) = (TestApp::start().await, TestApp::start_with(settings).await);
    near_cache_becomes(&two, "in use").await;
    let tenant = one.create_tenant(&unique("cache-feed")).await;
    let (first_id, first) = one.create_api_key(&tenant, &["VIEWER"]).await;
    let (second_id, second) = one.create_api_key(&tenant, &["VIEWER"]).await;
    for key in [&first, &second] {
        assert_eq!(viewer_status(&two, &tenant, key, VIEWER).await, 200);
    }

    // Replica two cannot hear replica one any more: it trusts nothing it keeps.
    proxy.set(Mode::Cut);
    near_cache_becomes(&two, "bypassed").await;
    one.tenant(
        &tenant,
        "mutation($id: ID!) { revokeApiKey(input: { id: $id }) { apiKey { id } } }",
        json!({ "id": first_id }),
    )
    .await
    .data();
    assert_eq!(viewer_status(&two, &tenant, &first, VIEWER).await, 401);
    assert_eq!(viewer_status(&two, &tenant, &second, VIEWER).await, 200);

    // Back: what was cached before is stale, and new changes arrive again.
    proxy.set(Mode::Pass);
    near_cache_becomes(&two, "in use").await;
    assert_eq!(viewer_status(&two, &tenant, &first, VIEWER).await, 401);
    assert_eq!(viewer_status(&two, &tenant, &second, VIEWER).await, 200);
    one.tenant(
        &tenant,
        "mutation($id: ID!) { revokeApiKey(input: { id: $id }) { apiKey { id } } }",
        json!({ "id": second_id }),
    )
    .await
    .data();
    assert_eq!(two.status_after_feed(&tenant, &second, VIEWER).await, 401);
    one.stop().await;
    two.stop().await;
}
