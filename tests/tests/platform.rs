//! The platform API: tenants and their lifecycle (custom domains: `tenant_domains.rs`).

use latchkey_tests::TestApp;
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
