//! Rate limits of the OAuth endpoints where clients authenticate (token, introspection,
//! revocation): failed client authentications per client id, requests per client address,
//! answered 429 with `Retry-After` and an OAuth error body; per tenant.

use latchkey_tests::{TestApp, TestTenant, test_settings};
use reqwest::StatusCode;
use serde_json::{Value, json};

const LIMITS: &str = "mutation($input: UpdateTenantSettingsInput!) { updateTenantSettings(input: $input) { settings { rateLimits { signInPerIp signInPerIdentity signUpPerIp tokenPerClient tokenPerIp } } } }";

/// A POST to a tenant's OAuth endpoint from `ip` (the server trusts loopback proxies).
async fn post(
    app: &TestApp,
    tenant: &TestTenant,
    endpoint: &str,
    ip: &str,
    (id, secret): (&str, &str),
    form: &[(&str, &str)],
) -> (StatusCode, Option<String>, Value) {
    let response = app
        .client
        .post(app.oauth_url(tenant, endpoint))
        .header("x-forwarded-for", ip)
        .basic_auth(id, Some(secret))
        .form(form)
        .send()
        .await
        .unwrap();
    let status = response.status();
    let retry_after = response
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().to_owned());
    (
        status,
        retry_after,
        response.json().await.unwrap_or(Value::Null),
    )
}

async fn token(
    app: &TestApp,
    tenant: &TestTenant,
    ip: &str,
    credentials: (&str, &str),
) -> (StatusCode, Option<String>, Value) {
    post(
        app,
        tenant,
        "token",
        ip,
        credentials,
        &[("grant_type", "client_credentials")],
    )
    .await
}

async fn set_limits(app: &TestApp, tenant: &TestTenant, limits: Value) -> Value {
    let answer = app
        .tenant(tenant, LIMITS, json!({ "input": { "rateLimits": limits } }))
        .await;
    answer.data()["updateTenantSettings"]["settings"]["rateLimits"].clone()
}

fn assert_limited((status, retry_after, body): &(StatusCode, Option<String>, Value)) {
    assert_eq!(*status, StatusCode::TOO_MANY_REQUESTS, "{body}");
    let seconds: u64 = retry_after
        .as_deref()
        .expect("Retry-After")
        .parse()
        .unwrap();
    assert!(seconds > 0);
    assert_eq!(body["error"], "temporarily_unavailable", "{body}");
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .contains("too many requests")
    );
}

async fn start() -> TestApp {
    let mut settings = test_settings();
    settings.trusted_proxies = Some("127.0.0.0/8".into());
    TestApp::start_with(settings).await
}

#[tokio::test]
async fn wrong_client_secrets_are_limited_per_client_id_without_locking_the_client_out() {
    let app = start().await;
    let tenant = app.create_tenant("tok-client").await;
    let machine = app
        .create_application(&tenant, "MACHINE", &[], json!({}))
        .await;
    let secret = machine.client_secret.clone().unwrap();
    let other = app
        .create_application(&tenant, "MACHINE", &[], json!({}))
        .await;
    let id = machine.client_id.as_str();

    // The defaults: 30 failed authentications per client id per minute.
    for attempt in 0..30 {
        let (status, _, body) = token(&app, &tenant, "203.0.113.1", (id, "lkcs_wrong")).await;
        assert_eq!(
            status,
            StatusCode::UNAUTHORIZED,
            "attempt {attempt}: {body}"
        );
    }
    assert_limited(&token(&app, &tenant, "203.0.113.1", (id, "lkcs_wrong")).await);
    // From another address too: the count is the client id's.
    assert_limited(&token(&app, &tenant, "203.0.113.2", (id, "lkcs_wrong")).await);
    // At introspection and revocation as well.
    for endpoint in ["introspect", "revoke"] {
        assert_limited(
            &post(
                &app,
                &tenant,
                endpoint,
                "203.0.113.1",
                (id, "lkcs_wrong"),
                &[("token", "x")],
            )
            .await,
        );
    }
    // The client with its right secret is not locked out.
    let (status, _, body) = token(&app, &tenant, "203.0.113.1", (id, &secret)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // Another client of the tenant is not affected.
    let (status, _, _) = token(
        &app,
        &tenant,
        "203.0.113.1",
        (&other.client_id, "lkcs_wrong"),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    app.stop().await;
}

#[tokio::test]
async fn requests_are_limited_per_client_address() {
    let app = start().await;
    let tenant = app.create_tenant("tok-ip").await;
    let limits = set_limits(
        &app,
        &tenant,
        json!({ "signInPerIp": 60, "signInPerIdentity": 10, "signUpPerIp": 20, "tokenPerIp": 4 }),
    )
    .await;
    assert_eq!(limits["tokenPerIp"], 4);
    assert_eq!(limits["tokenPerClient"], 30, "left out: kept");
    let a = app
        .create_application(&tenant, "MACHINE", &[], json!({}))
        .await;
    let b = app
        .create_application(&tenant, "MACHINE", &[], json!({}))
        .await;
    let a_secret = a.client_secret.clone().unwrap();
    // Every request counts, whatever the client and whether it authenticates.
    for (id, secret) in [
        (&a.client_id, a_secret.as_str()),
        (&b.client_id, "lkcs_wrong"),
        (&a.client_id, a_secret.as_str()),
        (&b.client_id, "lkcs_wrong"),
    ] {
        let (status, _, _) = token(&app, &tenant, "198.51.100.7", (id, secret)).await;
        assert_ne!(status, StatusCode::TOO_MANY_REQUESTS);
    }
    assert_limited(&token(&app, &tenant, "198.51.100.7", (&a.client_id, &a_secret)).await);
    assert_limited(
        &post(
            &app,
            &tenant,
            "introspect",
            "198.51.100.7",
            (&a.client_id, &a_secret),
            &[("token", "x")],
        )
        .await,
    );
    // Another address is not limited by this one.
    let (status, _, body) = token(&app, &tenant, "198.51.100.8", (&a.client_id, &a_secret)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    app.stop().await;
}

#[tokio::test]
async fn one_tenants_hammering_does_not_limit_another_tenant() {
    let app = start().await;
    let alpha = app.create_tenant("tok-alpha").await;
    let bravo = app.create_tenant("tok-bravo").await;
    for tenant in [&alpha, &bravo] {
        set_limits(
            &app,
            tenant,
            json!({ "signInPerIp": 60, "signInPerIdentity": 10, "signUpPerIp": 20, "tokenPerClient": 2, "tokenPerIp": 3 }),
        )
        .await;
    }
    let alpha_app = app
        .create_application(&alpha, "MACHINE", &[], json!({}))
        .await;
    let bravo_app = app
        .create_application(&bravo, "MACHINE", &[], json!({}))
        .await;
    let ip = "192.0.2.44";
    for _ in 0..3 {
        token(&app, &alpha, ip, (&alpha_app.client_id, "lkcs_wrong")).await;
    }
    assert_limited(&token(&app, &alpha, ip, (&alpha_app.client_id, "lkcs_wrong")).await);
    // Bravo's client, from the same address, and alpha's client id presented at bravo: each
    // counts from zero there.
    let (status, _, body) = token(
        &app,
        &bravo,
        ip,
        (
            &bravo_app.client_id,
            bravo_app.client_secret.as_deref().unwrap(),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, _, _) = token(&app, &bravo, ip, (&alpha_app.client_id, "lkcs_wrong")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    app.stop().await;
}

#[tokio::test]
async fn token_limits_are_checked_settings() {
    let app = TestApp::start().await;
    let tenant = app.create_tenant("tok-settings").await;
    let refused = app
        .tenant(
            &tenant,
            LIMITS,
            json!({ "input": { "rateLimits": { "signInPerIp": 60, "signInPerIdentity": 10, "signUpPerIp": 20, "tokenPerClient": 0 } } }),
        )
        .await;
    assert_eq!(refused.error_code(), "BAD_USER_INPUT");
    assert!(
        refused
            .error_message()
            .contains("rateLimits.tokenPerClient"),
        "{}",
        refused.body
    );
    let kept = set_limits(
        &app,
        &tenant,
        json!({ "signInPerIp": 61, "signInPerIdentity": 10, "signUpPerIp": 20, "tokenPerClient": 9 }),
    )
    .await;
    assert_eq!(kept["tokenPerClient"], 9);
    assert_eq!(kept["tokenPerIp"], 600, "the default, left out: kept");
    app.stop().await;
}
