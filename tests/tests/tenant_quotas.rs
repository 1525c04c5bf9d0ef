//! Per-tenant request quotas set by the platform (`setTenantQuota`): off by default; over its
//! quota a tenant's requests answer 429, and no other tenant's do.

use latchkey_tests::{TestApp, TestTenant};
use reqwest::StatusCode;
use serde_json::{Value, json};

const SET_QUOTA: &str = "mutation($input: SetTenantQuotaInput!) { setTenantQuota(input: $input) { tenant { slug requestsPerMinuteQuota } } }";

async fn set_quota(app: &TestApp, tenant: &TestTenant, quota: Value) -> Value {
    let answer = app
        .platform(
            SET_QUOTA,
            json!({ "input": { "tenantId": tenant.id, "requestsPerMinute": quota } }),
        )
        .await;
    answer.data()["setTenantQuota"]["tenant"].clone()
}

async fn status_of(app: &TestApp, url: String) -> (StatusCode, Option<String>) {
    let response = app.client.get(url).send().await.unwrap();
    let retry_after = response
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().to_owned());
    (response.status(), retry_after)
}

#[tokio::test]
async fn a_tenant_over_its_quota_gets_429_and_other_tenants_do_not() {
    let app = TestApp::start().await;
    let alpha = app.create_tenant("quota-alpha").await;
    let bravo = app.create_tenant("quota-bravo").await;
    let listed = app
        .platform(
            "query($slug: String!) { tenant(slug: $slug) { requestsPerMinuteQuota } }",
            json!({ "slug": alpha.slug }),
        )
        .await;
    assert_eq!(
        listed.data()["tenant"]["requestsPerMinuteQuota"],
        Value::Null,
        "off by default"
    );
    let set = set_quota(&app, &alpha, json!(3)).await;
    assert_eq!(set["requestsPerMinuteQuota"], 3);

    for _ in 0..3 {
        app.tenant(&alpha, "{ tenant { slug } }", json!({}))
            .await
            .data();
    }
    let refused = app.tenant(&alpha, "{ tenant { slug } }", json!({})).await;
    assert_eq!(refused.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(refused.error_code(), "RATE_LIMITED");
    // Every endpoint of the tenant counts and is refused: OIDC, hosted pages.
    for url in [
        format!(
            "{}/t/{}/.well-known/openid-configuration",
            app.url, alpha.slug
        ),
        format!("{}/t/{}/", app.url, alpha.slug),
    ] {
        let (status, retry_after) = status_of(&app, url.clone()).await;
        assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{url}");
        assert!(retry_after.unwrap().parse::<u64>().unwrap() > 0);
    }

    // Bravo, on the same deployment, is not limited by alpha.
    for _ in 0..6 {
        app.tenant(&bravo, "{ tenant { slug } }", json!({}))
            .await
            .data();
    }
    let (status, _) = status_of(&app, format!("{}/t/{}/", app.url, bravo.slug)).await;
    assert_eq!(status, StatusCode::OK);

    // Removing the quota lifts it at once.
    let removed = set_quota(&app, &alpha, Value::Null).await;
    assert_eq!(removed["requestsPerMinuteQuota"], Value::Null);
    app.tenant(&alpha, "{ tenant { slug } }", json!({}))
        .await
        .data();
    app.stop().await;
}

#[tokio::test]
async fn quotas_are_set_by_the_platform_only_with_checked_values() {
    let app = TestApp::start().await;
    let tenant = app.create_tenant("quota-checks").await;
    let zero = app
        .platform(
            SET_QUOTA,
            json!({ "input": { "tenantId": tenant.id, "requestsPerMinute": 0 } }),
        )
        .await;
    assert_eq!(zero.error_code(), "BAD_USER_INPUT");
    assert!(zero.error_message().contains("requestsPerMinute"));
    let unknown = app
        .platform(
            SET_QUOTA,
            json!({ "input": { "tenantId": uuid::Uuid::now_v7().to_string(), "requestsPerMinute": 5 } }),
        )
        .await;
    assert_eq!(unknown.error_code(), "NOT_FOUND");
    // A tenant's own owner key cannot reach the platform API.
    let as_tenant = app
        .graphql(
            "/platform/graphql",
            Some(&tenant.api_key),
            SET_QUOTA,
            json!({ "input": { "tenantId": tenant.id, "requestsPerMinute": 5 } }),
        )
        .await;
    assert_eq!(as_tenant.status, StatusCode::UNAUTHORIZED);
    app.stop().await;
}
