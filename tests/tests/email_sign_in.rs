//! Signing in with an emailed code (`signInWithEmailCode`) over SMTP, the tenant's
//! `signInMethods` setting that allows or refuses each method, and tenants kept apart.

use latchkey_tests::mailbox::code_of;
use latchkey_tests::smtp::SmtpSink;
use latchkey_tests::{GraphqlResponse, TestApp, TestTenant, test_settings, unique_email};
use serde_json::json;

const SIGN_IN: &str = "mutation($input: SignInWithEmailCodeInput!) { signInWithEmailCode(input: $input) { identity { id } session { id } accessToken refreshToken expiresIn } }";
const SESSIONS: &str = "query($id: ID!) { sessions(identityId: $id) { nodes { id authMethod } } }";
const METHODS: &str = "mutation($methods: [SignInMethod!]) { updateTenantSettings(input: { signInMethods: $methods }) { settings { signInMethods } } }";

async fn start() -> (TestApp, SmtpSink) {
    let sink = SmtpSink::start().await;
    let app = TestApp::start_with_smtp(test_settings(), &sink).await;
    (app, sink)
}

async fn sign_in(
    app: &TestApp,
    tenant: &TestTenant,
    challenge: &str,
    code: &str,
) -> GraphqlResponse {
    app.anonymous(
        tenant,
        None,
        SIGN_IN,
        json!({ "input": { "challengeId": challenge, "code": code } }),
    )
    .await
}

async fn challenge(app: &TestApp, tenant: &TestTenant, email: &str, purpose: &str) -> String {
    app.start_email_verification(tenant, email, purpose)
        .await
        .data()["startEmailVerification"]["challengeId"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn an_emailed_code_signs_in_once() {
    let (app, sink) = start().await;
    let tenant = app.create_tenant("code-sign-in").await;
    let email = unique_email();
    let (_device, _, signed_up) = app.sign_up(&tenant, &email).await;

    let id = challenge(&app, &tenant, &email, "SIGN_IN").await;
    let code = code_of(&sink.last_for(&email).unwrap()).unwrap();
    let signed_in = sign_in(&app, &tenant, &id, &code).await;
    let payload = signed_in.data()["signInWithEmailCode"].clone();
    assert_eq!(payload["identity"]["id"], signed_up.identity_id.as_str());
    assert!(payload["accessToken"].as_str().unwrap().len() > 20);
    let sessions = app
        .tenant(&tenant, SESSIONS, json!({ "id": signed_up.identity_id }))
        .await;
    let methods: Vec<&str> = sessions.data()["sessions"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["authMethod"].as_str().unwrap())
        .collect();
    assert!(methods.contains(&"email_code"), "{methods:?}");

    // The code worked once.
    let again = sign_in(&app, &tenant, &id, &code).await;
    assert_eq!(again.error_code(), "BAD_USER_INPUT");
}

#[tokio::test]
async fn an_unknown_address_gets_the_same_answer_and_no_session() {
    let (app, sink) = start().await;
    let tenant = app.create_tenant("code-unknown").await;
    let known = unique_email();
    app.sign_up(&tenant, &known).await;
    let unknown = unique_email();

    let known_id = challenge(&app, &tenant, &known, "SIGN_IN").await;
    let unknown_id = challenge(&app, &tenant, &unknown, "SIGN_IN").await;
    let text = sink.last_for(&unknown).unwrap().text();
    assert!(!text.contains("verification code"), "{text}");
    let code = code_of(&sink.last_for(&known).unwrap()).unwrap();
    let other = format!("{:06}", (code.parse::<u32>().unwrap() + 1) % 1_000_000);
    let wrong_for_known = sign_in(&app, &tenant, &known_id, &other).await;
    let any_for_unknown = sign_in(&app, &tenant, &unknown_id, &code).await;
    assert_eq!(wrong_for_known.error_code(), "BAD_USER_INPUT");
    assert_eq!(any_for_unknown.error_code(), "BAD_USER_INPUT");
    assert_eq!(
        wrong_for_known.error_message(),
        any_for_unknown.error_message()
    );
    assert!(
        any_for_unknown.body["data"].is_null()
            || any_for_unknown.body["data"]["signInWithEmailCode"].is_null()
    );
}

#[tokio::test]
async fn the_tenant_chooses_the_sign_in_methods() {
    let (app, sink) = start().await;
    let tenant = app.create_tenant("code-methods").await;
    let email = unique_email();
    app.sign_up(&tenant, &email).await;

    let empty = app.tenant(&tenant, METHODS, json!({ "methods": [] })).await;
    assert_eq!(empty.error_code(), "BAD_USER_INPUT");
    let passkeys_only = app
        .tenant(&tenant, METHODS, json!({ "methods": ["PASSKEY"] }))
        .await;
    assert_eq!(
        passkeys_only.data()["updateTenantSettings"]["settings"]["signInMethods"],
        json!(["PASSKEY"])
    );
    let refused = app
        .start_email_verification(&tenant, &email, "SIGN_IN")
        .await;
    assert_eq!(refused.error_code(), "FORBIDDEN");
    assert!(refused.error_message().contains("EMAIL_CODE"));

    // A code asked for before the change no longer signs in either.
    app.tenant(
        &tenant,
        METHODS,
        json!({ "methods": ["PASSKEY", "EMAIL_CODE"] }),
    )
    .await
    .data();
    let id = challenge(&app, &tenant, &email, "SIGN_IN").await;
    let code = code_of(&sink.last_for(&email).unwrap()).unwrap();
    app.tenant(&tenant, METHODS, json!({ "methods": ["EMAIL_CODE"] }))
        .await
        .data();
    let passkey = app
        .anonymous(
            &tenant,
            None,
            latchkey_tests::passkey::BEGIN_SIGN_IN,
            json!({ "input": {} }),
        )
        .await;
    assert_eq!(passkey.error_code(), "FORBIDDEN");
    assert!(passkey.error_message().contains("PASSKEY"));
    app.tenant(&tenant, METHODS, json!({ "methods": ["PASSKEY"] }))
        .await
        .data();
    let late = sign_in(&app, &tenant, &id, &code).await;
    assert_eq!(late.error_code(), "FORBIDDEN");
}

#[tokio::test]
async fn only_sign_in_challenges_of_the_same_tenant_sign_in() {
    let (app, sink) = start().await;
    let a = app.create_tenant("code-a").await;
    let b = app.create_tenant("code-b").await;
    let email = unique_email();
    app.sign_up(&a, &email).await;
    app.sign_up(&b, &email).await;

    // A challenge of tenant A, tried in tenant B.
    let id = challenge(&app, &a, &email, "SIGN_IN").await;
    let code = code_of(&sink.last_for(&email).unwrap()).unwrap();
    let in_b = sign_in(&app, &b, &id, &code).await;
    assert_eq!(in_b.error_code(), "BAD_USER_INPUT");
    assert!(in_b.error_message().contains("challengeId"));

    // A recovery code does not sign in.
    let recovery = challenge(&app, &a, &email, "RECOVERY").await;
    let recovery_code = code_of(&sink.last_for(&email).unwrap()).unwrap();
    let refused = sign_in(&app, &a, &recovery, &recovery_code).await;
    assert_eq!(refused.error_code(), "BAD_USER_INPUT");
    // Both codes still work for what they are.
    sign_in(&app, &a, &id, &code).await.data();
    app.complete_email_verification(&a, &recovery, &recovery_code)
        .await
        .data();
}
