//! Sign-in rate limits a stranger cannot turn against an account's owner: email-hinted
//! sign-ins count per (address, client IP) and, with a much higher ceiling, per address
//! across all client IPs; the discoverable flow counts per client IP only. The server sits
//! behind a trusted proxy here (loopback), so each request names its client in
//! `X-Forwarded-For`.

use latchkey_tests::passkey::{BEGIN_SIGN_IN, Device, FINISH_SIGN_IN};
use latchkey_tests::{GraphqlResponse, TestApp, TestTenant, test_settings, unique_email};
use serde_json::{Value, json};

const STRANGER: &str = "198.51.100.66";
const OWNER: &str = "203.0.113.7";

const LIMITS: &str = "mutation($input: UpdateTenantSettingsInput!) { updateTenantSettings(input: $input) { settings { rateLimits { signInPerIp signInPerIdentity signInPerIdentityAllIps signUpPerIp } } } }";

async fn behind_proxy() -> TestApp {
    let mut settings = test_settings();
    settings.trusted_proxies = Some("127.0.0.0/8".into());
    TestApp::start_with(settings).await
}

/// An anonymous call to `tenant`'s API from the client at `ip`.
async fn from(
    app: &TestApp,
    tenant: &TestTenant,
    ip: &str,
    query: &str,
    variables: Value,
) -> GraphqlResponse {
    let response = app
        .client
        .post(format!("{}/t/{}/graphql", app.url, tenant.slug))
        .header("x-forwarded-for", ip)
        .json(&json!({ "query": query, "variables": variables }))
        .send()
        .await
        .expect("request is sent");
    let status = response.status();
    let body = response.json().await.expect("JSON response");
    GraphqlResponse { status, body }
}

async fn begin(
    app: &TestApp,
    tenant: &TestTenant,
    ip: &str,
    email: Option<&str>,
) -> GraphqlResponse {
    from(
        app,
        tenant,
        ip,
        BEGIN_SIGN_IN,
        json!({ "input": { "email": email } }),
    )
    .await
}

/// A whole sign-in from `ip`; returns the identity signed in.
async fn sign_in_from(
    app: &TestApp,
    tenant: &TestTenant,
    ip: &str,
    device: &mut Device,
    email: Option<&str>,
    credential_id: &str,
) -> String {
    let begun = begin(app, tenant, ip, email).await;
    let begun = &begun.data()["beginPasskeySignIn"];
    let assertion = device.get(&begun["options"], Some(credential_id));
    let finished = from(
        app,
        tenant,
        ip,
        FINISH_SIGN_IN,
        json!({ "input": { "ceremonyId": begun["ceremonyId"], "credential": assertion } }),
    )
    .await;
    finished.data()["finishPasskeySignIn"]["identity"]["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

fn assert_limited(response: &GraphqlResponse) {
    assert_eq!(response.status, 429, "{}", response.body);
    assert_eq!(response.error_code(), "RATE_LIMITED");
}

#[tokio::test]
async fn a_stranger_cannot_lock_an_owner_out_of_email_sign_in() {
    let app = behind_proxy().await;
    let tenant = app.create_tenant("lockout").await;
    let victim = unique_email();
    let (mut device, credential_id, signed_up) = app.sign_up(&tenant, &victim).await;

    // The default: ten email-hinted sign-ins per address from one client IP.
    for _ in 0..10 {
        begin(&app, &tenant, STRANGER, Some(&victim)).await.data();
    }
    for _ in 0..3 {
        assert_limited(&begin(&app, &tenant, STRANGER, Some(&victim)).await);
    }

    // The owner, at another address, signs in with the email as usual.
    let signed_in = sign_in_from(
        &app,
        &tenant,
        OWNER,
        &mut device,
        Some(&victim),
        &credential_id,
    )
    .await;
    assert_eq!(signed_in, signed_up.identity_id);

    // The discoverable flow counts per client IP only: open even at the stranger's address.
    begin(&app, &tenant, STRANGER, None).await.data();
    let signed_in = sign_in_from(&app, &tenant, STRANGER, &mut device, None, &credential_id).await;
    assert_eq!(signed_in, signed_up.identity_id);

    // The stranger's other addresses are not limited by this one, and neither is the same
    // address in another tenant.
    begin(&app, &tenant, STRANGER, Some(&unique_email()))
        .await
        .data();
    let other = app.create_tenant("lockout-other").await;
    begin(&app, &other, STRANGER, Some(&victim)).await.data();
    app.stop().await;
}

#[tokio::test]
async fn the_all_ips_ceiling_counts_an_address_across_clients() {
    let app = behind_proxy().await;
    let tenant = app.create_tenant("ceiling").await;
    let defaults = app
        .tenant(
            &tenant,
            "{ tenant { settings { rateLimits { signInPerIp signInPerIdentity signInPerIdentityAllIps signUpPerIp } } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        defaults.data()["tenant"]["settings"]["rateLimits"],
        json!({ "signInPerIp": 60, "signInPerIdentity": 10, "signInPerIdentityAllIps": 100, "signUpPerIp": 20 })
    );

    let refused = app
        .tenant(
            &tenant,
            LIMITS,
            json!({ "input": { "rateLimits": { "signInPerIp": 60, "signInPerIdentity": 10, "signInPerIdentityAllIps": 0, "signUpPerIp": 20 } } }),
        )
        .await;
    assert_eq!(refused.error_code(), "BAD_USER_INPUT");
    assert_eq!(
        refused.body["errors"][0]["extensions"]["field"],
        "rateLimits.signInPerIdentityAllIps"
    );
    app.tenant(
        &tenant,
        LIMITS,
        json!({ "input": { "rateLimits": { "signInPerIp": 1000, "signInPerIdentity": 1, "signInPerIdentityAllIps": 5, "signUpPerIp": 20 } } }),
    )
    .await
    .data();
    // Left out, the ceiling keeps its value.
    let updated = app
        .tenant(
            &tenant,
            LIMITS,
            json!({ "input": { "rateLimits": { "signInPerIp": 1000, "signInPerIdentity": 2, "signUpPerIp": 20 } } }),
        )
        .await;
    assert_eq!(
        updated.data()["updateTenantSettings"]["settings"]["rateLimits"],
        json!({ "signInPerIp": 1000, "signInPerIdentity": 2, "signInPerIdentityAllIps": 5, "signUpPerIp": 20 })
    );

    let address = unique_email();
    // Client A: two, then refused by the per-(address, IP) limit; a refused attempt does not
    // count towards the ceiling.
    for _ in 0..2 {
        begin(&app, &tenant, "198.51.100.1", Some(&address))
            .await
            .data();
    }
    assert_limited(&begin(&app, &tenant, "198.51.100.1", Some(&address)).await);
    // Clients B and C: three more, five in all.
    for ip in ["198.51.100.2", "198.51.100.2", "198.51.100.3"] {
        begin(&app, &tenant, ip, Some(&address)).await.data();
    }
    // The sixth, from a client that has not tried this address yet, reaches the ceiling.
    assert_limited(&begin(&app, &tenant, "198.51.100.4", Some(&address)).await);
    // Discoverable sign-in stays open there, and so do other addresses.
    begin(&app, &tenant, "198.51.100.4", None).await.data();
    begin(&app, &tenant, "198.51.100.4", Some(&unique_email()))
        .await
        .data();
    app.stop().await;
}
