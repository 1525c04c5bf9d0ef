//! The platform API: tenants, their lifecycle and custom domains.

use latchkey_tests::{TestApp, unique};
use serde_json::json;

#[tokio::test]
async fn create_list_and_find_tenants() {
    let app = TestApp::start().await;
    let a = app.create_tenant("plat-a").await;
    let b = app.create_tenant("plat-b").await;

    let duplicate = app
        .platform(
            "mutation($slug: String!) { createTenant(input: { slug: $slug, name: \"Again\" }) { adminApiKey } }",
            json!({ "slug": a.slug }),
        )
        .await;
    assert_eq!(duplicate.error_code(), "CONFLICT");
    let bad_slug = app
        .platform(
            "mutation { createTenant(input: { slug: \"Bad_Slug\", name: \"x\" }) { adminApiKey } }",
            json!({}),
        )
        .await;
    assert_eq!(bad_slug.error_code(), "BAD_USER_INPUT");
    assert!(bad_slug.error_message().starts_with("slug"));

    let found = app
        .platform(
            "query($slug: String!) { tenant(slug: $slug) { id slug name status domains } }",
            json!({ "slug": b.slug }),
        )
        .await;
    let tenant = &found.data()["tenant"];
    assert_eq!(tenant["id"], b.id.as_str());
    assert_eq!(tenant["status"], "ACTIVE");
    assert_eq!(tenant["domains"], json!([]));
    let missing = app
        .platform("{ tenant(slug: \"no-such-tenant\") { id } }", json!({}))
        .await;
    assert_eq!(missing.error_code(), "NOT_FOUND");

    // Walk every page; both new tenants are there once.
    let mut after = serde_json::Value::Null;
    let mut slugs = Vec::new();
    loop {
        let page = app
            .platform(
                "query($after: String) { tenants(first: 2, after: $after) { pageInfo { hasNextPage endCursor } nodes { slug } } }",
                json!({ "after": after }),
            )
            .await;
        let connection = &page.data()["tenants"];
        slugs.extend(
            connection["nodes"]
                .as_array()
                .unwrap()
                .iter()
                .map(|n| n["slug"].as_str().unwrap().to_owned()),
        );
        if !connection["pageInfo"]["hasNextPage"].as_bool().unwrap() {
            break;
        }
        after = connection["pageInfo"]["endCursor"].clone();
    }
    assert_eq!(slugs.iter().filter(|s| **s == a.slug).count(), 1);
    assert_eq!(slugs.iter().filter(|s| **s == b.slug).count(), 1);
    app.stop().await;
}

#[tokio::test]
async fn custom_domains_resolve_to_their_tenant() {
    let app = TestApp::start().await;
    let a = app.create_tenant("dom-a").await;
    let b = app.create_tenant("dom-b").await;
    let domain = format!("{}.example.com", unique("login"));
    let added = app
        .platform(
            "mutation($id: ID!, $domain: String!) { addTenantDomain(input: { tenantId: $id, domain: $domain }) { tenant { domains } } }",
            json!({ "id": a.id, "domain": domain.to_uppercase() }),
        )
        .await;
    assert_eq!(
        added.data()["addTenantDomain"]["tenant"]["domains"],
        json!([domain])
    );
    let taken = app
        .platform(
            "mutation($id: ID!, $domain: String!) { addTenantDomain(input: { tenantId: $id, domain: $domain }) { tenant { id } } }",
            json!({ "id": b.id, "domain": domain }),
        )
        .await;
    assert_eq!(taken.error_code(), "CONFLICT");

    let on_domain = |token: String| {
        let client = app.client.clone();
        let url = format!("{}/graphql", app.url);
        let host = domain.clone();
        async move {
            let response = client
                .post(url)
                .header("host", host)
                .bearer_auth(token)
                .json(&json!({ "query": "{ tenant { slug } }" }))
                .send()
                .await
                .unwrap();
            (
                response.status().as_u16(),
                response.json::<serde_json::Value>().await.unwrap(),
            )
        }
    };
    let (status, body) = on_domain(a.api_key.clone()).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["tenant"]["slug"], a.slug.as_str());
    let (status, body) = on_domain(b.api_key.clone()).await;
    assert_eq!(status, 401, "B's key on A's domain: {body}");

    let unknown_host = app
        .client
        .post(format!("{}/graphql", app.url))
        .header("host", "unknown.example.org")
        .json(&json!({ "query": "{ viewer { kind } }" }))
        .send()
        .await
        .unwrap();
    assert_eq!(unknown_host.status(), 404);
    app.stop().await;
}
