//! Self-service recovery over SMTP: a `RECOVERY` proof registers a new passkey for the same
//! identity (optionally signing out everywhere else), with a notice to the address and the
//! event on the account page; the approval mode where an admin decides; the notices for a
//! passkey added and removed; and tenants kept apart.

use latchkey_tests::mailbox::code_of;
use latchkey_tests::passkey::{BEGIN_REGISTRATION, Device};
use latchkey_tests::smtp::SmtpSink;
use latchkey_tests::{GraphqlResponse, TestApp, TestTenant, test_settings, unique_email};
use serde_json::{Value, json};

const REFRESH: &str =
    "mutation($t: String!) { refreshSession(input: { refreshToken: $t }) { accessToken } }";
const EVENTS: &str = "{ viewer { identity { id } securityEvents { action occurredAt } } }";
const REQUEST: &str = "mutation($input: RequestAccountRecoveryInput!) { requestAccountRecovery(input: $input) { request { id status identity { id } } } }";
const LIST: &str = "{ recoveryRequests(status: PENDING) { totalCount nodes { id status identity { id email } } } }";
const APPROVE: &str = "mutation($input: DecideRecoveryRequestInput!) { approveRecoveryRequest(input: $input) { request { id status } } }";

async fn start() -> (TestApp, SmtpSink) {
    let sink = SmtpSink::start().await;
    let app = TestApp::start_with_smtp(test_settings(), &sink).await;
    (app, sink)
}

async fn begin(app: &TestApp, tenant: &TestTenant, input: Value) -> GraphqlResponse {
    app.anonymous(tenant, None, BEGIN_REGISTRATION, json!({ "input": input }))
        .await
}

/// Registers a passkey on a new device from a begun ceremony; answers the finish payload.
async fn register(app: &TestApp, tenant: &TestTenant, begun: &GraphqlResponse) -> (Device, Value) {
    let begun = begun.data()["beginPasskeyRegistration"].clone();
    let mut device = Device::new(app);
    let credential = device.create(&begun["options"]);
    let finished = app
        .finish_registration(
            tenant,
            None,
            begun["ceremonyId"].as_str().unwrap(),
            credential,
        )
        .await;
    (device, finished.data()["finishPasskeyRegistration"].clone())
}

#[tokio::test]
async fn a_recovery_proof_registers_a_new_passkey_for_the_same_identity() {
    let (app, sink) = start().await;
    let tenant = app.create_tenant("recover").await;
    let email = unique_email();
    let (_lost_device, _, first) = app.sign_up(&tenant, &email).await;

    let proof = app.prove_email(&tenant, &email, "RECOVERY").await;
    let begun = begin(
        &app,
        &tenant,
        json!({ "emailProof": proof, "signOutEverywhere": true }),
    )
    .await;
    let (mut device, recovered) = register(&app, &tenant, &begun).await;
    assert_eq!(recovered["identity"]["id"], first.identity_id.as_str());
    let token = recovered["accessToken"].as_str().unwrap().to_owned();

    // The old session was signed out everywhere; the new passkey signs in.
    let old = app
        .anonymous(&tenant, None, REFRESH, json!({ "t": first.refresh_token }))
        .await;
    assert_eq!(old.error_code(), "UNAUTHENTICATED", "{}", old.body);
    let begun = app.begin_sign_in(&tenant, Some(&email)).await;
    let assertion = device.get(&begun.options, None);
    let signed_in = app
        .finish_sign_in(&tenant, &begun.ceremony_id, assertion)
        .await;
    assert_eq!(
        signed_in.data()["finishPasskeySignIn"]["identity"]["id"],
        first.identity_id.as_str()
    );

    // The address got a notice; the account page shows the event.
    let notice = sink.last_for(&email).unwrap().text();
    assert!(notice.contains("was recovered"), "{notice}");
    assert!(notice.contains("If it was not you"), "{notice}");
    let events = app
        .anonymous(&tenant, Some(&token), EVENTS, json!({}))
        .await;
    let actions: Vec<String> = events.data()["viewer"]["securityEvents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap().to_owned())
        .collect();
    assert!(
        actions.contains(&"identity.recover".to_owned()),
        "{actions:?}"
    );

    // The proof worked once.
    let again = begin(&app, &tenant, json!({ "emailProof": proof })).await;
    assert_eq!(again.error_code(), "BAD_USER_INPUT");
}

#[tokio::test]
async fn recovery_for_an_unknown_address_answers_alike_and_sends_no_code() {
    let (app, sink) = start().await;
    let tenant = app.create_tenant("recover-unknown").await;
    let known = unique_email();
    app.sign_up(&tenant, &known).await;
    let unknown = unique_email();

    let for_known = app
        .start_email_verification(&tenant, &known, "RECOVERY")
        .await;
    let for_unknown = app
        .start_email_verification(&tenant, &unknown, "RECOVERY")
        .await;
    let known_answer = for_known.data()["startEmailVerification"].clone();
    let unknown_answer = for_unknown.data()["startEmailVerification"].clone();
    assert_eq!(known_answer["expiresIn"], unknown_answer["expiresIn"]);
    assert!(code_of(&sink.last_for(&known).unwrap()).is_some());
    let text = sink.last_for(&unknown).unwrap().text();
    assert!(text.contains("no active account uses it"), "{text}");
    assert!(!text.contains("verify="));
}

#[tokio::test]
async fn with_approval_an_admin_decides_and_the_link_goes_to_the_address() {
    let (app, sink) = start().await;
    let tenant = app.create_tenant("recover-approval").await;
    let other = app.create_tenant("recover-approval-b").await;
    let email = unique_email();
    let (_lost, _, first) = app.sign_up(&tenant, &email).await;
    app.tenant(
        &tenant,
        "mutation { updateTenantSettings(input: { recoveryRequiresApproval: true }) { settings { recoveryRequiresApproval } } }",
        json!({}),
    )
    .await
    .data();

    let proof = app.prove_email(&tenant, &email, "RECOVERY").await;
    // The proof means nothing in another tenant, even one that takes recovery requests.
    app.tenant(
        &other,
        "mutation { updateTenantSettings(input: { recoveryRequiresApproval: true }) { settings { recoveryRequiresApproval } } }",
        json!({}),
    )
    .await
    .data();
    let across = app
        .anonymous(
            &other,
            None,
            REQUEST,
            json!({ "input": { "emailProof": proof } }),
        )
        .await;
    assert_eq!(across.error_code(), "BAD_USER_INPUT");
    let direct = begin(&app, &tenant, json!({ "emailProof": proof })).await;
    assert_eq!(direct.error_code(), "FORBIDDEN");
    assert!(direct.error_message().contains("requestAccountRecovery"));

    let requested = app
        .anonymous(
            &tenant,
            None,
            REQUEST,
            json!({ "input": { "emailProof": proof } }),
        )
        .await;
    let request = requested.data()["requestAccountRecovery"]["request"].clone();
    assert_eq!(request["status"], "PENDING");
    assert_eq!(request["identity"]["id"], first.identity_id.as_str());
    assert!(
        sink.last_for(&email)
            .unwrap()
            .text()
            .contains("waiting for approval")
    );

    let listed = app.tenant(&tenant, LIST, json!({})).await;
    assert_eq!(listed.data()["recoveryRequests"]["totalCount"], 1);
    // Another tenant neither sees nor decides it; an end user cannot list them.
    let elsewhere = app.tenant(&other, LIST, json!({})).await;
    assert_eq!(elsewhere.data()["recoveryRequests"]["totalCount"], 0);
    let approve = json!({ "input": { "requestId": request["id"] } });
    let foreign = app.tenant(&other, APPROVE, approve.clone()).await;
    assert_eq!(foreign.error_code(), "NOT_FOUND");
    let end_user = app
        .anonymous(&tenant, Some(&first.access_token), LIST, json!({}))
        .await;
    assert_eq!(end_user.error_code(), "FORBIDDEN");

    let approved = app.tenant(&tenant, APPROVE, approve.clone()).await;
    assert_eq!(
        approved.data()["approveRecoveryRequest"]["request"]["status"],
        "APPROVED"
    );
    let twice = app.tenant(&tenant, APPROVE, approve).await;
    assert_eq!(twice.error_code(), "CONFLICT");
    let link = latchkey_tests::smtp::registration_token(&sink.last_for(&email).unwrap());
    let begun = begin(&app, &tenant, json!({ "registrationToken": link })).await;
    let (_device, recovered) = register(&app, &tenant, &begun).await;
    assert_eq!(recovered["identity"]["id"], first.identity_id.as_str());
}

#[tokio::test]
async fn adding_and_removing_a_passkey_sends_a_notice() {
    let (app, sink) = start().await;
    let tenant = app.create_tenant("notices").await;
    let email = unique_email();
    let (_device, _, signed_in) = app.sign_up(&tenant, &email).await;
    let before = sink.count_for(&email);

    let begun = app
        .anonymous(
            &tenant,
            Some(&signed_in.access_token),
            BEGIN_REGISTRATION,
            json!({ "input": {} }),
        )
        .await;
    let begun = begun.data()["beginPasskeyRegistration"].clone();
    let mut laptop = Device::new(&app);
    let credential = laptop.create(&begun["options"]);
    let added = app
        .finish_registration(
            &tenant,
            Some(&signed_in.access_token),
            begun["ceremonyId"].as_str().unwrap(),
            credential,
        )
        .await;
    let passkey = added.data()["finishPasskeyRegistration"]["passkey"]["id"].clone();
    let notice = sink.wait_for_nth(&email, before + 1).await.text();
    assert!(notice.contains("was added"), "{notice}");

    app.anonymous(
        &tenant,
        Some(&signed_in.access_token),
        "mutation($id: ID!) { revokePasskey(input: { id: $id }) { passkey { id } } }",
        json!({ "id": passkey }),
    )
    .await
    .data();
    let notice = sink.wait_for_nth(&email, before + 2).await.text();
    assert!(notice.contains("was removed"), "{notice}");
    assert!(notice.contains("If it was not you"));
}
