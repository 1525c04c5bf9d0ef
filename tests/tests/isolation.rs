//! Tenant isolation, the rule a reviewer tries to break first: credentials of one tenant never
//! work on another, ids of another tenant are NOT_FOUND (like ids that do not exist), lists
//! never show another tenant's rows, and revocation and suspension take effect at once.

use latchkey_tests::TestApp;
use serde_json::json;

#[tokio::test]
async fn a_key_of_tenant_a_is_rejected_on_tenant_b() {
    let app = TestApp::start().await;
    let a = app.create_tenant("iso-a").await;
    let b = app.create_tenant("iso-b").await;
    let response = app
        .as_key(&b, &a.api_key, "{ identities { totalCount } }", json!({}))
        .await;
    assert_eq!(response.status, 401);
    assert_eq!(response.error_code(), "UNAUTHENTICATED");
    assert!(response.body.get("data").is_none());
    app.stop().await;
}

#[tokio::test]
async fn ids_of_another_tenant_are_not_found() {
    let app = TestApp::start().await;
    let a = app.create_tenant("iso-ids-a").await;
    let b = app.create_tenant("iso-ids-b").await;
    let identity = app.create_identity(&a, "shared@example.com").await;
    let (key_id, _) = app.create_api_key(&a, &["VIEWER"]).await;
    let missing = uuid::Uuid::now_v7().to_string();

    for id in [&identity, &missing] {
        let read = app
            .tenant(
                &b,
                "query($id: ID!) { identity(id: $id) { id } }",
                json!({ "id": id }),
            )
            .await;
        assert_eq!(read.error_code(), "NOT_FOUND");
        assert_eq!(read.status, 404);
        assert_eq!(read.error_message(), "not found", "no existence oracle");
        for mutation in [
            "mutation($id: ID!) { updateIdentity(input: { id: $id, displayName: \"X\" }) { identity { id } } }",
            "mutation($id: ID!) { suspendIdentity(input: { id: $id }) { identity { id } } }",
            "mutation($id: ID!) { resumeIdentity(input: { id: $id }) { identity { id } } }",
            "mutation($id: ID!) { deleteIdentity(input: { id: $id }) { deletedIdentityId } }",
        ] {
            let response = app.tenant(&b, mutation, json!({ "id": id })).await;
            assert_eq!(response.error_code(), "NOT_FOUND", "{mutation}");
        }
    }
    let revoke = app
        .tenant(
            &b,
            "mutation($id: ID!) { revokeApiKey(input: { id: $id }) { apiKey { id } } }",
            json!({ "id": key_id }),
        )
        .await;
    assert_eq!(revoke.error_code(), "NOT_FOUND");

    // Tenant A's identity is untouched by all of that.
    let read = app
        .tenant(
            &a,
            "query($id: ID!) { identity(id: $id) { status displayName } }",
            json!({ "id": identity }),
        )
        .await;
    assert_eq!(read.data()["identity"]["status"], "ACTIVE");
    assert_eq!(
        read.data()["identity"]["displayName"],
        serde_json::Value::Null
    );
    app.stop().await;
}

#[tokio::test]
async fn lists_show_only_the_callers_tenant() {
    let app = TestApp::start().await;
    let a = app.create_tenant("iso-list-a").await;
    let b = app.create_tenant("iso-list-b").await;
    app.create_identity(&a, "only-a@example.com").await;
    app.create_api_key(&a, &["VIEWER"]).await;

    let response = app
        .tenant(
            &b,
            "{ tenant { slug } identities(filter: { search: \"only-a\" }) { totalCount } apiKeys { totalCount } auditEvents { nodes { action targetId } } }",
            json!({}),
        )
        .await;
    let data = response.data();
    assert_eq!(data["tenant"]["slug"], b.slug.as_str());
    assert_eq!(data["identities"]["totalCount"], 0);
    assert_eq!(data["apiKeys"]["totalCount"], 1, "only B's own first key");
    let events = data["auditEvents"]["nodes"].as_array().unwrap();
    assert!(events.iter().all(|e| e["targetId"] != a.id.as_str()));
    assert!(events.iter().all(|e| e["action"] != "identity.create"));
    app.stop().await;
}

#[tokio::test]
async fn platform_and_tenant_credentials_do_not_cross() {
    let app = TestApp::start().await;
    let a = app.create_tenant("iso-plat").await;
    let platform_on_tenant = app
        .as_key(
            &a,
            &app.platform_token.clone(),
            "{ identities { totalCount } }",
            json!({}),
        )
        .await;
    assert_eq!(platform_on_tenant.status, 401);
    assert_eq!(platform_on_tenant.error_code(), "UNAUTHENTICATED");

    let tenant_on_platform = app
        .graphql(
            "/platform/graphql",
            Some(&a.api_key),
            "{ tenants { totalCount } }",
            json!({}),
        )
        .await;
    assert_eq!(tenant_on_platform.status, 401);
    assert_eq!(tenant_on_platform.error_code(), "UNAUTHENTICATED");

    let anonymous = app
        .graphql(
            &format!("/t/{}/graphql", a.slug),
            None,
            "{ identities { totalCount } }",
            json!({}),
        )
        .await;
    assert_eq!(anonymous.status, 401);
    assert_eq!(anonymous.error_code(), "UNAUTHENTICATED");
    app.stop().await;
}

#[tokio::test]
async fn a_revoked_key_stops_working_at_once() {
    let app = TestApp::start().await;
    let a = app.create_tenant("iso-revoke").await;
    let (id, secret) = app.create_api_key(&a, &["ADMIN"]).await;
    // Use it once so its lookup is cached.
    let before = app
        .as_key(&a, &secret, "{ viewer { kind roles } }", json!({}))
        .await;
    assert_eq!(before.data()["viewer"]["roles"], json!(["ADMIN"]));

    let revoked = app
        .tenant(
            &a,
            "mutation($id: ID!) { revokeApiKey(input: { id: $id }) { apiKey { revokedAt } } }",
            json!({ "id": id }),
        )
        .await;
    assert!(revoked.data()["revokeApiKey"]["apiKey"]["revokedAt"].is_string());

    let after = app
        .as_key(&a, &secret, "{ viewer { kind } }", json!({}))
        .await;
    assert_eq!(after.status, 401);
    assert_eq!(after.error_code(), "UNAUTHENTICATED");
    app.stop().await;
}

#[tokio::test]
async fn a_suspended_tenant_refuses_requests_until_resumed() {
    let app = TestApp::start().await;
    let a = app.create_tenant("iso-susp").await;
    let suspend = app
        .platform(
            "mutation($id: ID!) { suspendTenant(input: { id: $id }) { tenant { status } } }",
            json!({ "id": a.id }),
        )
        .await;
    assert_eq!(
        suspend.data()["suspendTenant"]["tenant"]["status"],
        "SUSPENDED"
    );
    let refused = app.tenant(&a, "{ viewer { kind } }", json!({})).await;
    assert_eq!(refused.status, 403);
    assert_eq!(refused.error_code(), "FORBIDDEN");
    assert!(refused.error_message().contains("suspended"));

    app.platform(
        "mutation($id: ID!) { resumeTenant(input: { id: $id }) { tenant { status } } }",
        json!({ "id": a.id }),
    )
    .await
    .data();
    let served = app.tenant(&a, "{ viewer { kind } }", json!({})).await;
    assert_eq!(served.data()["viewer"]["kind"], "API_KEY");
    app.stop().await;
}

#[tokio::test]
async fn revocation_clears_the_cached_key_on_every_replica() {
    if latchkey_tests::test_database_url().is_none() || latchkey_tests::test_redis_url().is_none() {
        eprintln!(
            "skipped: needs LATCHKEY_TEST_DATABASE_URL and LATCHKEY_TEST_REDIS_URL (two replicas share them)"
        );
        return;
    }
    let one = TestApp::start().await;
    let two = TestApp::start().await;
    let tenant = one.create_tenant("replicas").await;
    let (id, secret) = one.create_api_key(&tenant, &["VIEWER"]).await;
    // Both replicas have served (and cached) the key.
    for replica in [&one, &two] {
        let response = replica
            .as_key(&tenant, &secret, "{ viewer { kind } }", json!({}))
            .await;
        assert_eq!(response.data()["viewer"]["kind"], "API_KEY");
    }
    one.tenant(
        &tenant,
        "mutation($id: ID!) { revokeApiKey(input: { id: $id }) { apiKey { id } } }",
        json!({ "id": id }),
    )
    .await
    .data();
    // Replica two hears of it through the change feed (milliseconds; its entry would live 60 s).
    assert_eq!(
        two.status_after_feed(&tenant, &secret, "{ viewer { kind } }")
            .await,
        401
    );
    one.stop().await;
    two.stop().await;
}
