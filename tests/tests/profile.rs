//! The user's own data: profile edits within the tenant's attribute schema, email change with
//! the undo link sent to the old address, consent decisions recorded and carried to a CRM
//! connector, and tenants kept apart.

use latchkey_tests::passkey::SignedIn;
use latchkey_tests::smtp::SmtpSink;
use latchkey_tests::{GraphqlResponse, TestApp, TestTenant, test_settings, unique_email};
use serde_json::{Value, json};
use std::time::{Duration, Instant};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const SETTINGS: &str = "mutation($input: UpdateTenantSettingsInput!) { updateTenantSettings(input: $input) { settings { attributeSchema { name kind userEditable } consentPurposes { key version title } } } }";
const PROFILE: &str = "mutation($input: UpdateViewerProfileInput!) { updateViewerProfile(input: $input) { identity { id displayName phone locale attributes } } }";
const VIEWER: &str = "query { viewer { identity { id email emailVerified displayName locale attributes consents { purpose granted version } } } }";
const CHANGE_EMAIL: &str = "mutation($proof: String!) { changeViewerEmail(input: { emailProof: $proof }) { identity { email emailVerified } } }";
const UNDO: &str = "mutation($token: String!) { undoEmailChange(input: { token: $token }) }";
const CONSENT: &str = "mutation($purpose: String!, $granted: Boolean!) { setViewerConsent(input: { purpose: $purpose, granted: $granted }) { identity { consents { purpose granted version } } } }";
const HISTORY: &str = "query($id: ID!) { identity(id: $id) { consents { purpose granted version } consentHistory { purpose version granted } } }";
const REFRESH: &str =
    "mutation($t: String!) { refreshSession(input: { refreshToken: $t }) { accessToken } }";

async fn start() -> (TestApp, SmtpSink) {
    let sink = SmtpSink::start().await;
    let app = TestApp::start_with_smtp(test_settings(), &sink).await;
    (app, sink)
}

async fn with_schema(app: &TestApp, tenant: &TestTenant) {
    app.tenant(
        tenant,
        SETTINGS,
        json!({ "input": {
            "attributeSchema": [
                { "name": "tier", "kind": "STRING", "userEditable": true, "allowedValues": ["gold", "silver"] },
                { "name": "age", "kind": "NUMBER", "userEditable": true },
                { "name": "birthday", "kind": "DATE", "userEditable": true },
                { "name": "plan", "kind": "STRING", "userEditable": false },
            ],
            "consentPurposes": [{ "key": "marketing", "version": 1, "title": "Emails about offers" }],
        } }),
    )
    .await
    .data();
}

async fn as_user(
    app: &TestApp,
    tenant: &TestTenant,
    user: &SignedIn,
    query: &str,
    variables: Value,
) -> GraphqlResponse {
    app.anonymous(tenant, Some(&user.access_token), query, variables)
        .await
}

fn field(response: &GraphqlResponse) -> &str {
    response.body["errors"][0]["extensions"]["field"]
        .as_str()
        .unwrap_or_default()
}

#[tokio::test]
async fn users_edit_their_profile_within_the_schema_and_nothing_else() {
    let (app, _sink) = start().await;
    let tenant = app.create_tenant("profile-edit").await;
    with_schema(&app, &tenant).await;
    let (_device, _, user) = app.sign_up(&tenant, &unique_email()).await;

    let edited = as_user(
        &app,
        &tenant,
        &user,
        PROFILE,
        json!({ "input": { "displayName": "Ada", "phone": "+44 20 7946 0958", "locale": "de-DE",
            "attributes": { "tier": "gold", "age": 36, "birthday": "1990-02-28" } } }),
    )
    .await;
    assert_eq!(
        edited.data()["updateViewerProfile"]["identity"]["attributes"],
        json!({ "tier": "gold", "age": 36, "birthday": "1990-02-28" })
    );
    assert_eq!(
        edited.data()["updateViewerProfile"]["identity"]["locale"],
        "de-DE"
    );
    // A change of some attributes keeps the others; null removes one.
    let edited = as_user(
        &app,
        &tenant,
        &user,
        PROFILE,
        json!({ "input": { "attributes": { "tier": "silver", "birthday": null } } }),
    )
    .await;
    assert_eq!(
        edited.data()["updateViewerProfile"]["identity"]["attributes"],
        json!({ "tier": "silver", "age": 36 })
    );

    // Refusals name the field and save nothing (not even the valid fields beside them).
    for (attributes, named) in [
        (json!({ "plan": "enterprise" }), "attributes.plan"),
        (json!({ "nickname": "ada" }), "attributes.nickname"),
        (json!({ "tier": "bronze" }), "attributes.tier"),
        (json!({ "age": "old" }), "attributes.age"),
        (json!({ "birthday": "1990-02-30" }), "attributes.birthday"),
    ] {
        let refused = as_user(
            &app,
            &tenant,
            &user,
            PROFILE,
            json!({ "input": { "displayName": "Changed", "attributes": attributes } }),
        )
        .await;
        assert_eq!(refused.error_code(), "BAD_USER_INPUT", "{named}");
        assert_eq!(field(&refused), named);
    }
    let bad_locale = as_user(
        &app,
        &tenant,
        &user,
        PROFILE,
        json!({ "input": { "locale": "not a language" } }),
    )
    .await;
    assert_eq!(field(&bad_locale), "locale");
    let viewer = as_user(&app, &tenant, &user, VIEWER, json!({})).await;
    let identity = &viewer.data()["viewer"]["identity"];
    assert_eq!(identity["displayName"], "Ada");
    assert_eq!(
        identity["attributes"],
        json!({ "tier": "silver", "age": 36 })
    );

    // The change is the user's own in the audit log.
    let audit = app
        .tenant(
            &tenant,
            "{ auditEvents(first: 20) { nodes { action actorType actorId } } }",
            json!({}),
        )
        .await;
    let own = audit.data()["auditEvents"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .any(|e| {
            e["action"] == "identity.update"
                && e["actorType"] == "identity"
                && e["actorId"] == user.identity_id.as_str()
        });
    assert!(own, "{}", audit.body);

    // An end user cannot change another identity, nor anything in another tenant.
    let other = app.create_identity(&tenant, &unique_email()).await;
    let admin_only = as_user(
        &app,
        &tenant,
        &user,
        "mutation($input: UpdateIdentityInput!) { updateIdentity(input: $input) { identity { id } } }",
        json!({ "input": { "id": other, "displayName": "Mallory" } }),
    )
    .await;
    assert!(
        matches!(admin_only.error_code(), "FORBIDDEN" | "NOT_FOUND"),
        "{}",
        admin_only.body
    );
    let elsewhere = app.create_tenant("profile-edit-b").await;
    with_schema(&app, &elsewhere).await;
    let across = as_user(
        &app,
        &elsewhere,
        &user,
        PROFILE,
        json!({ "input": { "displayName": "Across" } }),
    )
    .await;
    assert_eq!(across.error_code(), "UNAUTHENTICATED");
    let anonymous = app
        .anonymous(
            &tenant,
            None,
            PROFILE,
            json!({ "input": { "displayName": "Nobody" } }),
        )
        .await;
    assert_eq!(anonymous.error_code(), "UNAUTHENTICATED");
}

#[tokio::test]
async fn a_schema_that_does_not_hold_together_is_refused() {
    let (app, _sink) = start().await;
    let tenant = app.create_tenant("profile-schema").await;
    let twice = app
        .tenant(
            &tenant,
            SETTINGS,
            json!({ "input": { "attributeSchema": [
                { "name": "tier", "kind": "STRING" }, { "name": "tier", "kind": "NUMBER" } ] } }),
        )
        .await;
    assert_eq!(twice.error_code(), "BAD_USER_INPUT");
    assert_eq!(field(&twice), "attributeSchema[1].name");
    let version = app
        .tenant(
            &tenant,
            SETTINGS,
            json!({ "input": { "consentPurposes": [{ "key": "terms", "version": 0, "title": "Terms" }] } }),
        )
        .await;
    assert_eq!(field(&version), "consentPurposes[0].version");
}

/// The link in the newest mail to `address`.
fn undo_token(sink: &SmtpSink, address: &str) -> String {
    let text = sink.last_for(address).unwrap().text();
    let start = text.find("undo_email_change=").expect("an undo link") + "undo_email_change=".len();
    text[start..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '-')
        .collect()
}

/// Proves `email` for EMAIL_CHANGE as the signed-in `user`.
async fn email_change_proof(
    app: &TestApp,
    tenant: &TestTenant,
    user: &SignedIn,
    email: &str,
) -> String {
    let started = as_user(
        app,
        tenant,
        user,
        "mutation($email: String!) { startEmailVerification(input: { email: $email, purpose: EMAIL_CHANGE }) { challengeId } }",
        json!({ "email": email }),
    )
    .await;
    let challenge = started.data()["startEmailVerification"]["challengeId"].clone();
    let code = latchkey_tests::mailbox::code_of(&app.last_mail_to(email).unwrap()).unwrap();
    let completed = app
        .complete_email_verification(tenant, challenge.as_str().unwrap(), &code)
        .await;
    completed.data()["completeEmailVerification"]["emailProof"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn an_email_change_tells_the_old_address_which_can_undo_it() {
    let (app, sink) = start().await;
    let tenant = app.create_tenant("email-change").await;
    let old = unique_email();
    let (_device, _, user) = app.sign_up(&tenant, &old).await;
    let new = unique_email();
    let proof = email_change_proof(&app, &tenant, &user, &new).await;

    let changed = as_user(
        &app,
        &tenant,
        &user,
        CHANGE_EMAIL,
        json!({ "proof": proof }),
    )
    .await;
    assert_eq!(
        changed.data()["changeViewerEmail"]["identity"],
        json!({ "email": new, "emailVerified": true })
    );
    let notice = sink.last_for(&old).unwrap().text();
    assert!(notice.contains(&new) && notice.contains("undo"), "{notice}");
    // The proof was spent.
    let again = as_user(
        &app,
        &tenant,
        &user,
        CHANGE_EMAIL,
        json!({ "proof": proof }),
    )
    .await;
    assert_eq!(again.error_code(), "BAD_USER_INPUT");

    // Another tenant does not know the undo link.
    let token = undo_token(&sink, &old);
    let elsewhere = app.create_tenant("email-change-b").await;
    let across = app
        .anonymous(&elsewhere, None, UNDO, json!({ "token": token }))
        .await;
    assert_eq!(across.error_code(), "BAD_USER_INPUT");
    // The undo moves the account back and ends every session.
    app.anonymous(&tenant, None, UNDO, json!({ "token": token }))
        .await
        .data();
    let identity = app
        .tenant(
            &tenant,
            "query($id: ID!) { identity(id: $id) { email emailVerified } }",
            json!({ "id": user.identity_id }),
        )
        .await;
    assert_eq!(
        identity.data()["identity"],
        json!({ "email": old, "emailVerified": true })
    );
    let ended = app
        .anonymous(&tenant, None, REFRESH, json!({ "t": user.refresh_token }))
        .await;
    assert_eq!(ended.error_code(), "UNAUTHENTICATED");
    assert!(sink.last_for(&old).unwrap().text().contains("undone"));
    let twice = app
        .anonymous(&tenant, None, UNDO, json!({ "token": token }))
        .await;
    assert_eq!(twice.error_code(), "BAD_USER_INPUT");
}

#[tokio::test]
async fn an_email_change_proof_works_only_in_its_tenant_and_for_a_free_address() {
    let (app, _sink) = start().await;
    let a = app.create_tenant("email-change-iso-a").await;
    let b = app.create_tenant("email-change-iso-b").await;
    let (_d1, _, in_a) = app.sign_up(&a, &unique_email()).await;
    let (_d2, _, in_b) = app.sign_up(&b, &unique_email()).await;
    let proof = email_change_proof(&app, &a, &in_a, &unique_email()).await;
    let across = as_user(&app, &b, &in_b, CHANGE_EMAIL, json!({ "proof": proof })).await;
    assert_eq!(across.error_code(), "BAD_USER_INPUT");
    // A proof for an address another account has by the time it is used.
    let taken = unique_email();
    let proof = email_change_proof(&app, &a, &in_a, &taken).await;
    app.create_identity(&a, &taken).await;
    let refused = as_user(&app, &a, &in_a, CHANGE_EMAIL, json!({ "proof": proof })).await;
    assert_eq!(refused.error_code(), "BAD_USER_INPUT");
    assert!(refused.error_message().contains("another account"));
}

/// Waits until HubSpot received a contact whose `marketing_opt_in` is `value`.
async fn opt_in_reaches(hubspot: &MockServer, value: bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let sent: Vec<Value> = hubspot
            .received_requests()
            .await
            .unwrap()
            .iter()
            .filter_map(|r| serde_json::from_slice::<Value>(&r.body).ok())
            .filter_map(|body| {
                let properties = if body["inputs"].is_array() {
                    body["inputs"][0]["properties"].clone()
                } else {
                    body["properties"].clone()
                };
                properties.get("marketing_opt_in").cloned()
            })
            .collect();
        if sent.contains(&json!(value)) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "no marketing_opt_in {value} reached HubSpot: {sent:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn consent_is_recorded_with_its_version_and_reaches_the_crm() {
    let hubspot = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/crm/v3/objects/contacts/batch/upsert"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "status": "COMPLETE",
            "results": [{ "id": "512", "new": true, "properties": {}, "createdAt": "2026-11-30T00:00:00Z", "updatedAt": "2026-11-30T00:00:00Z", "archived": false }],
            "startedAt": "2026-11-30T00:00:00Z", "completedAt": "2026-11-30T00:00:00Z"
        })))
        .mount(&hubspot)
        .await;
    Mock::given(method("PATCH"))
        .and(path("/crm/v3/objects/contacts/512"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({ "id": "512", "properties": {} })),
        )
        .mount(&hubspot)
        .await;
    let (app, _sink) = start().await;
    let tenant = app.create_tenant("consent").await;
    with_schema(&app, &tenant).await;
    let (_device, _, user) = app.sign_up(&tenant, &unique_email()).await;
    let created = app
        .tenant(
            &tenant,
            "mutation($input: CreateCrmConnectorInput!) { createCrmConnector(input: $input) { connector { id } } }",
            json!({ "input": {
                "name": "HubSpot", "kind": "HUBSPOT",
                "settings": { "baseUrl": hubspot.uri() },
                "credentials": { "token": "pat-na1-test-token" },
                "triggers": ["IDENTITY_UPDATED"],
                "fieldMapping": { "identity": { "email": "email", "marketing_opt_in": "consents.marketing" } },
            } }),
        )
        .await;
    created.data();

    let granted = as_user(
        &app,
        &tenant,
        &user,
        CONSENT,
        json!({ "purpose": "marketing", "granted": true }),
    )
    .await;
    assert_eq!(
        granted.data()["setViewerConsent"]["identity"]["consents"],
        json!([{ "purpose": "marketing", "granted": true, "version": 1 }])
    );
    // The grant reaches HubSpot as the mapped opt-in field before anything else changes (the
    // connector sends the identity as it is when the delivery runs).
    opt_in_reaches(&hubspot, true).await;
    let unknown = as_user(
        &app,
        &tenant,
        &user,
        CONSENT,
        json!({ "purpose": "lottery", "granted": true }),
    )
    .await;
    assert_eq!(field(&unknown), "purpose");
    // The text changes (version 2); the user withdraws.
    app.tenant(
        &tenant,
        SETTINGS,
        json!({ "input": { "consentPurposes": [{ "key": "marketing", "version": 2, "title": "Emails and texts about offers" }] } }),
    )
    .await
    .data();
    as_user(
        &app,
        &tenant,
        &user,
        CONSENT,
        json!({ "purpose": "marketing", "granted": false }),
    )
    .await
    .data();
    let history = app
        .tenant(&tenant, HISTORY, json!({ "id": user.identity_id }))
        .await;
    assert_eq!(
        history.data()["identity"],
        json!({
            "consents": [{ "purpose": "marketing", "granted": false, "version": 2 }],
            "consentHistory": [
                { "purpose": "marketing", "version": 2, "granted": false },
                { "purpose": "marketing", "version": 1, "granted": true },
            ],
        })
    );

    // The withdrawal reached HubSpot as the mapped opt-in field (the grant was checked above).
    opt_in_reaches(&hubspot, false).await;

    // Another tenant's admin sees nothing of it; the user cannot decide in another tenant.
    let elsewhere = app.create_tenant("consent-b").await;
    with_schema(&app, &elsewhere).await;
    let foreign = app
        .tenant(&elsewhere, HISTORY, json!({ "id": user.identity_id }))
        .await;
    assert!(
        foreign.body["data"]["identity"].is_null(),
        "{}",
        foreign.body
    );
    let across = as_user(
        &app,
        &elsewhere,
        &user,
        CONSENT,
        json!({ "purpose": "marketing", "granted": true }),
    )
    .await;
    assert_eq!(across.error_code(), "UNAUTHENTICATED");
}
