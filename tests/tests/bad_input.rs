//! Bad requests get a clear error and a 4xx, never a 5xx, and change nothing.

use latchkey_tests::{TestApp, test_settings};
use serde_json::{Value, json};

async fn post_raw(app: &TestApp, path: &str, token: &str, body: Vec<u8>) -> (u16, Value) {
    let response = app
        .client
        .post(format!("{}{path}", app.url))
        .bearer_auth(token)
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

fn code(body: &Value) -> &str {
    body["errors"][0]["extensions"]["code"]
        .as_str()
        .unwrap_or("")
}

#[tokio::test]
async fn malformed_oversized_deep_and_batched_requests() {
    let mut settings = test_settings();
    settings.max_body_bytes = 64 * 1024;
    settings.graphql_max_batch = 2;
    settings.graphql_max_aliases = 5;
    let app = TestApp::start_with(settings).await;
    let tenant = app.create_tenant("bad").await;
    let path = format!("/t/{}/graphql", tenant.slug);

    let (status, body) = post_raw(&app, &path, &tenant.api_key, b"{\"query\": ".to_vec()).await;
    assert_eq!(status, 400);
    assert_eq!(code(&body), "BAD_USER_INPUT");
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("JSON")
    );

    let big = serde_json::to_vec(
        &json!({ "query": format!("{{ viewer {{ kind }} }} #{}", "x".repeat(70 * 1024)) }),
    )
    .unwrap();
    let (status, body) = post_raw(&app, &path, &tenant.api_key, big).await;
    assert_eq!(status, 413);
    assert_eq!(code(&body), "BAD_USER_INPUT");

    let too_deep = format!("{{ a{} }}", "{ a ".repeat(20) + &"}".repeat(20));
    let (status, body) = post_raw(
        &app,
        &path,
        &tenant.api_key,
        serde_json::to_vec(&json!({ "query": too_deep })).unwrap(),
    )
    .await;
    assert!((400..500).contains(&status), "{status} {body}");
    assert_eq!(code(&body), "BAD_USER_INPUT");

    let (status, body) = post_raw(
        &app,
        &path,
        &tenant.api_key,
        serde_json::to_vec(&json!({ "query": "{ a: viewer { kind } b: viewer { kind } c: viewer { kind } d: viewer { kind } e: viewer { kind } f: viewer { kind } }" })).unwrap(),
    )
    .await;
    assert_eq!(status, 400);
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("aliases")
    );

    let batch = json!([{ "query": "{ viewer { kind } }" }, { "query": "{ viewer { kind } }" }, { "query": "{ viewer { kind } }" }]);
    let (status, body) = post_raw(
        &app,
        &path,
        &tenant.api_key,
        serde_json::to_vec(&batch).unwrap(),
    )
    .await;
    assert_eq!(status, 400);
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("at most 2")
    );
    let small_batch =
        json!([{ "query": "{ viewer { kind } }" }, { "query": "{ tenant { slug } }" }]);
    let (status, body) = post_raw(
        &app,
        &path,
        &tenant.api_key,
        serde_json::to_vec(&small_batch).unwrap(),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(body[1]["data"]["tenant"]["slug"], tenant.slug.as_str());

    let syntax = app.tenant(&tenant, "{ viewer { kind ", json!({})).await;
    assert_eq!(syntax.status, 400);
    assert_eq!(syntax.error_code(), "BAD_USER_INPUT");
    let unknown_field = app.tenant(&tenant, "{ nothingHere }", json!({})).await;
    assert_eq!(unknown_field.status, 400);
    let bad_id = app
        .tenant(&tenant, "{ identity(id: \"123\") { id } }", json!({}))
        .await;
    assert_eq!(bad_id.error_code(), "BAD_USER_INPUT");
    let bad_cursor = app
        .tenant(
            &tenant,
            "{ identities(after: \"zzz\") { totalCount } }",
            json!({}),
        )
        .await;
    assert_eq!(bad_cursor.error_code(), "BAD_USER_INPUT");
    app.stop().await;
}

#[tokio::test]
async fn unknown_tenants_garbage_tokens_and_get_requests() {
    let mut settings = test_settings();
    settings.graphql_introspection = Some(true);
    let app = TestApp::start_with(settings).await;
    let tenant = app.create_tenant("bad-auth").await;

    let unknown = app
        .graphql(
            "/t/no-such-tenant/graphql",
            Some(&tenant.api_key),
            "{ viewer { kind } }",
            json!({}),
        )
        .await;
    assert_eq!(unknown.status, 404);
    assert_eq!(unknown.error_code(), "NOT_FOUND");

    for token in ["garbage", "lk_garbage", "lkp_garbage"] {
        let response = app
            .as_key(&tenant, token, "{ viewer { kind } }", json!({}))
            .await;
        assert_eq!(response.status, 401, "{token}");
        assert_eq!(response.error_code(), "UNAUTHENTICATED");
    }
    let basic = app
        .client
        .post(format!("{}/t/{}/graphql", app.url, tenant.slug))
        .header("authorization", "Basic dXNlcjpwYXNz")
        .json(&json!({ "query": "{ viewer { kind } }" }))
        .send()
        .await
        .unwrap();
    assert_eq!(basic.status(), 401);
    assert_eq!(basic.headers()["www-authenticate"], "Bearer");

    let no_platform_token = app
        .graphql(
            "/platform/graphql",
            None,
            "{ tenants { totalCount } }",
            json!({}),
        )
        .await;
    assert_eq!(no_platform_token.status, 401);

    // GET without a query says where to send one (no GraphiQL), runs queries, and refuses
    // mutations.
    let no_query = app
        .client
        .get(format!("{}/t/{}/graphql", app.url, tenant.slug))
        .send()
        .await
        .unwrap();
    assert_eq!(no_query.status(), 400);
    let body: Value = no_query.json().await.unwrap();
    assert_eq!(body["errors"][0]["extensions"]["code"], "BAD_USER_INPUT");
    let get_query = app
        .client
        .get(format!("{}/t/{}/graphql", app.url, tenant.slug))
        .query(&[("query", "{ tenant { slug } }")])
        .bearer_auth(&tenant.api_key)
        .send()
        .await
        .unwrap();
    assert_eq!(get_query.status(), 200);
    let body: Value = get_query.json().await.unwrap();
    assert_eq!(body["data"]["tenant"]["slug"], tenant.slug.as_str());
    let get_mutation = app
        .client
        .get(format!("{}/t/{}/graphql", app.url, tenant.slug))
        .query(&[("query", "mutation { createIdentity(input: { email: \"get@example.com\" }) { identity { id } } }")])
        .bearer_auth(&tenant.api_key)
        .send()
        .await
        .unwrap();
    assert_eq!(get_mutation.status(), 405);
    let list = app
        .tenant(&tenant, "{ identities { totalCount } }", json!({}))
        .await;
    assert_eq!(
        list.data()["identities"]["totalCount"],
        0,
        "the GET mutation did nothing"
    );

    let nowhere = app
        .client
        .get(format!("{}/nowhere", app.url))
        .send()
        .await
        .unwrap();
    assert_eq!(nowhere.status(), 404);
    app.stop().await;
}

#[tokio::test]
async fn health_and_readiness() {
    let app = TestApp::start().await;
    // No GraphiQL (it loads scripts from a CDN): a GET without a query says where to send one.
    let no_query = app
        .client
        .get(format!("{}/platform/graphql", app.url))
        .send()
        .await
        .unwrap();
    assert_eq!(no_query.status(), 400);
    let health: Value = app
        .client
        .get(format!("{}/healthz", app.url))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(health["status"], "ok");
    let (status, ready) = app.readyz().await;
    assert_eq!(status, 200);
    assert_eq!(ready["database"], "ok");
    assert_eq!(ready["store"], "ok");
    let expected = if latchkey_tests::test_redis_url().is_some() {
        "redis"
    } else {
        "in-process"
    };
    assert_eq!(ready["storeKind"], expected);
    app.stop().await;
}
