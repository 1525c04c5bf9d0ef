//! API key roles: viewers read and cannot write, admins cannot hand out owner keys, secrets
//! are shown once.

use latchkey_tests::TestApp;
use serde_json::json;

#[tokio::test]
async fn viewer_keys_read_but_cannot_mutate() {
    let app = TestApp::start().await;
    let tenant = app.create_tenant("roles").await;
    app.create_identity(&tenant, "someone@example.com").await;
    let (_, viewer) = app.create_api_key(&tenant, &["VIEWER"]).await;

    let read = app
        .as_key(
            &tenant,
            &viewer,
            "{ viewer { roles } identities { totalCount } }",
            json!({}),
        )
        .await;
    assert_eq!(read.data()["viewer"]["roles"], json!(["VIEWER"]));
    assert_eq!(read.data()["identities"]["totalCount"], 1);

    for (mutation, variables) in [
        (
            "mutation { createIdentity(input: { email: \"new@example.com\" }) { identity { id } } }",
            json!({}),
        ),
        (
            "mutation { createApiKey(input: { name: \"x\", roles: [VIEWER] }) { secret } }",
            json!({}),
        ),
    ] {
        let response = app.as_key(&tenant, &viewer, mutation, variables).await;
        assert_eq!(response.status, 403, "{}", response.body);
        assert_eq!(response.error_code(), "FORBIDDEN");
    }
    let still_one = app
        .tenant(&tenant, "{ identities { totalCount } }", json!({}))
        .await;
    assert_eq!(still_one.data()["identities"]["totalCount"], 1);
    app.stop().await;
}

#[tokio::test]
async fn admins_cannot_grant_or_revoke_owner_keys() {
    let app = TestApp::start().await;
    let tenant = app.create_tenant("grant").await;
    let (_, admin) = app.create_api_key(&tenant, &["ADMIN"]).await;
    let (owner_id, _) = app.create_api_key(&tenant, &["OWNER"]).await;

    let grant = app
        .as_key(
            &tenant,
            &admin,
            "mutation { createApiKey(input: { name: \"x\", roles: [OWNER] }) { secret } }",
            json!({}),
        )
        .await;
    assert_eq!(grant.error_code(), "FORBIDDEN");
    let revoke = app
        .as_key(
            &tenant,
            &admin,
            "mutation($id: ID!) { revokeApiKey(input: { id: $id }) { apiKey { id } } }",
            json!({ "id": owner_id }),
        )
        .await;
    assert_eq!(revoke.error_code(), "FORBIDDEN");

    let created = app
        .as_key(
            &tenant,
            &admin,
            "mutation { createApiKey(input: { name: \"ci\", roles: [VIEWER, VIEWER] }) { apiKey { roles prefix } secret } }",
            json!({}),
        )
        .await;
    let payload = &created.data()["createApiKey"];
    assert_eq!(payload["apiKey"]["roles"], json!(["VIEWER"]));
    assert!(
        payload["secret"]
            .as_str()
            .unwrap()
            .starts_with(payload["apiKey"]["prefix"].as_str().unwrap())
    );

    let no_roles = app
        .tenant(
            &tenant,
            "mutation { createApiKey(input: { name: \"x\", roles: [] }) { secret } }",
            json!({}),
        )
        .await;
    assert_eq!(no_roles.error_code(), "BAD_USER_INPUT");

    // Secrets are never readable back.
    let listed = app
        .tenant(
            &tenant,
            "{ apiKeys { totalCount nodes { name prefix roles } } }",
            json!({}),
        )
        .await;
    assert_eq!(listed.data()["apiKeys"]["totalCount"], 4);
    assert!(!listed.body.to_string().contains(&admin));
    app.stop().await;
}
