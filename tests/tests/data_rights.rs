//! Each person's data: `exportViewerData` (everything held about the signed-in caller),
//! `deleteViewerAccount` (a fresh sign-in, the tenant's grace period, cancelled by signing in,
//! then the erasure: personal data gone, sessions and tokens ended, a webhook connector told,
//! the audit log pseudonymous), an administrator's `eraseIdentity`, and the audit-log
//! retention. Time is the server's injected clock.

use latchkey_tests::clock::ManualClock;
use latchkey_tests::passkey::SignedIn;
use latchkey_tests::passwords::PASSWORD;
use latchkey_tests::scim::Directory;
use latchkey_tests::{TestApp, TestTenant, test_settings, unique_email};
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::{Duration, Instant};
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

const EXPORT: &str = "mutation { exportViewerData }";
const DELETE: &str = "mutation { deleteViewerAccount { status eraseAt } }";
const ERASE: &str =
    "mutation($id: ID!) { eraseIdentity(input: { id: $id }) { erasedIdentityId pseudonym } }";
const IDENTITY: &str = "query($id: ID!) { identity(id: $id) { id email status } }";
const ME: &str = "{ viewer { identity { id } } }";
const AUDIT: &str =
    "{ auditEvents(first: 100) { nodes { action actorType actorId targetId data } } }";
const SETTINGS: &str = "mutation($input: UpdateTenantSettingsInput!) { updateTenantSettings(input: $input) { settings { accountDeletionGraceDays auditLogRetentionDays } } }";
const SECRET: &str = "whsec_data_rights_0123456789";
const DAY: i64 = 24 * 3600;

/// Waits (polling) until `done` holds, for the background worker.
async fn eventually<F, Fut>(what: &str, mut done: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + Duration::from_secs(20);
    while !done().await {
        assert!(Instant::now() < deadline, "{what} did not happen");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn set_grace(app: &TestApp, tenant: &TestTenant, days: i64) {
    let set = app
        .tenant(
            tenant,
            SETTINGS,
            json!({ "input": { "accountDeletionGraceDays": days } }),
        )
        .await;
    assert_eq!(
        set.data()["updateTenantSettings"]["settings"]["accountDeletionGraceDays"],
        days
    );
}

async fn audit(app: &TestApp, tenant: &TestTenant) -> Vec<Value> {
    app.tenant(tenant, AUDIT, json!({})).await.data()["auditEvents"]["nodes"]
        .as_array()
        .unwrap()
        .clone()
}

/// A webhook connector of `tenant` that receives identity deletions at `receiver`.
async fn deletions_to(app: &TestApp, tenant: &TestTenant, receiver: &MockServer) -> String {
    let created = app
        .tenant(
            tenant,
            "mutation($input: CreateCrmConnectorInput!) { createCrmConnector(input: $input) { connector { id } } }",
            json!({ "input": {
                "name": "Back office",
                "kind": "WEBHOOK",
                "triggers": ["IDENTITY_CREATED", "IDENTITY_DELETED"],
                "settings": { "url": format!("{}/hooks", receiver.uri()) },
                "credentials": { "secret": SECRET },
            } }),
        )
        .await;
    created.data()["createCrmConnector"]["connector"]["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// The bodies the receiver got, by event type.
async fn received(receiver: &MockServer, event_type: &str) -> Vec<Value> {
    receiver
        .received_requests()
        .await
        .unwrap()
        .iter()
        .map(|request| serde_json::from_slice::<Value>(&request.body).unwrap())
        .filter(|body| body["type"] == event_type)
        .collect()
}

async fn accepting_receiver() -> MockServer {
    let receiver = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(204))
        .mount(&receiver)
        .await;
    receiver
}

/// Checks that nothing in the tenant's audit log names `identity` or `email` any more.
async fn audit_forgot(app: &TestApp, tenant: &TestTenant, identity: &str, email: &str) {
    for entry in audit(app, tenant).await {
        let text = entry.to_string();
        assert!(
            !text.contains(identity) && !text.contains(email),
            "still about the erased identity: {entry}"
        );
    }
}

#[tokio::test]
async fn the_data_export_holds_everything_about_the_caller_and_no_secret() {
    let app = TestApp::start().await;
    let tenant = app.create_tenant("rights-export").await;
    let other = app.create_tenant("rights-export-other").await;
    let email = unique_email();
    let (_device, credential_id, me) = app.sign_up(&tenant, &email).await;
    let (org, _) = app.create_organization(&tenant, "Acme", "CUSTOMER").await;
    app.add_organization_member(&tenant, &org, &me.identity_id, &["org:member"])
        .await;
    // Someone else's data is not in it.
    let (_, _, stranger) = app.sign_up(&tenant, &unique_email()).await;

    let export = app
        .as_key(&tenant, &me.access_token, EXPORT, json!({}))
        .await;
    let data = &export.data()["exportViewerData"];
    assert_eq!(data["identity"]["id"], me.identity_id.as_str());
    assert_eq!(data["identity"]["email"], email.as_str());
    assert_eq!(data["identity"]["emailVerified"], true);
    assert_eq!(data["tenant"], tenant.slug.as_str());
    let passkeys = data["passkeys"].as_array().unwrap();
    assert_eq!(passkeys.len(), 1);
    assert_eq!(passkeys[0]["credentialId"], credential_id.as_str());
    assert_eq!(data["sessions"][0]["id"], me.session_id.as_str());
    assert_eq!(data["memberships"][0]["organization"]["id"], org.as_str());
    assert_eq!(data["memberships"][0]["organization"]["name"], "Acme");
    assert_eq!(data["password"]["hasPassword"], false);
    assert!(!data["emailVerifications"].as_array().unwrap().is_empty());
    assert!(data["crmLinks"].as_array().unwrap().is_empty());
    let actions: Vec<&str> = data["auditEntries"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|entry| entry["action"].as_str())
        .collect();
    assert!(actions.contains(&"passkey.register"), "{actions:?}");
    assert!(actions.contains(&"organization.member.add"), "{actions:?}");
    let text = data.to_string();
    assert!(!text.contains(&stranger.identity_id), "{text}");
    for secret in [me.refresh_token.as_str(), "lkr_", "$argon2", "tokenHash"] {
        assert!(!text.contains(secret), "{secret} in {text}");
    }
    // The export itself is audited.
    let audited = audit(&app, &tenant).await;
    assert!(
        audited
            .iter()
            .any(|e| e["action"] == "identity.data_export"
                && e["targetId"] == me.identity_id.as_str())
    );

    // Only an end user has data of their own; another tenant does not know the token.
    let by_key = app.tenant(&tenant, EXPORT, json!({})).await;
    assert_eq!(by_key.error_code(), "UNAUTHENTICATED");
    let elsewhere = app
        .as_key(&other, &me.access_token, EXPORT, json!({}))
        .await;
    assert_eq!(elsewhere.error_code(), "UNAUTHENTICATED");
    let anonymous = app
        .graphql(
            &format!("/t/{}/graphql", tenant.slug),
            None,
            EXPORT,
            json!({}),
        )
        .await;
    assert_eq!(anonymous.error_code(), "UNAUTHENTICATED");
}

#[tokio::test]
async fn a_deletion_waits_out_the_grace_period_then_erases_the_account_and_tells_the_crm() {
    let clock = Arc::new(ManualClock::new());
    let app = TestApp::start_with_clock(test_settings(), clock.clone()).await;
    let tenant = app.create_tenant("rights-delete").await;
    let other = app.create_tenant("rights-delete-other").await;
    let receiver = accepting_receiver().await;
    deletions_to(&app, &tenant, &receiver).await;
    let other_receiver = accepting_receiver().await;
    deletions_to(&app, &other, &other_receiver).await;
    set_grace(&app, &tenant, 7).await;

    let email = unique_email();
    let (_device, _credential, me) = app.sign_up(&tenant, &email).await;
    let (org, _) = app.create_organization(&tenant, "Acme", "CUSTOMER").await;
    app.add_organization_member(&tenant, &org, &me.identity_id, &["org:member"])
        .await;
    // Another tenant's account with the same address is not touched.
    let (_, _, twin) = app.sign_up(&other, &email).await;

    let deleted = app
        .as_key(&tenant, &me.access_token, DELETE, json!({}))
        .await;
    let payload = &deleted.data()["deleteViewerAccount"];
    assert_eq!(payload["status"], "SCHEDULED");
    let erase_at: chrono::DateTime<chrono::Utc> =
        payload["eraseAt"].as_str().unwrap().parse().unwrap();
    let days = (erase_at - chrono::Utc::now()).num_hours();
    assert!((7 * 24 - 1..=7 * 24).contains(&days), "{erase_at}");
    // Every session ended; a notice says when, and how to keep the account.
    let signed_out = app.as_key(&tenant, &me.access_token, ME, json!({})).await;
    assert_eq!(signed_out.error_code(), "UNAUTHENTICATED");
    let notice = app.last_mail_to(&email).expect("a deletion notice");
    assert!(notice.data.contains("will be deleted"), "{}", notice.data);
    assert!(
        notice.text().contains("Sign in before then"),
        "{}",
        notice.text()
    );
    // Still there during the grace period.
    let kept = app
        .tenant(&tenant, IDENTITY, json!({ "id": me.identity_id }))
        .await;
    assert_eq!(kept.data()["identity"]["status"], "ACTIVE");

    clock.advance(7 * DAY + 60);
    eventually("the erasure", || async {
        let found = app
            .tenant(&tenant, IDENTITY, json!({ "id": me.identity_id }))
            .await;
        found.body["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    })
    .await;
    let identities = app
        .tenant(
            &tenant,
            "query($e: String) { identities(first: 5, filter: { email: $e }) { nodes { id } } }",
            json!({ "e": email }),
        )
        .await;
    assert_eq!(identities.data()["identities"]["nodes"], json!([]));
    let members = app
        .tenant(
            &tenant,
            "query($id: ID!) { organization(id: $id) { members(first: 10) { nodes { identity { id } } } } }",
            json!({ "id": org }),
        )
        .await;
    assert_eq!(
        members.data()["organization"]["members"]["nodes"],
        json!([])
    );

    // The connector was told, with no personal data but the id.
    eventually("the deletion's delivery", || async {
        !received(&receiver, "identity.deleted").await.is_empty()
    })
    .await;
    let told = received(&receiver, "identity.deleted").await;
    assert_eq!(told.len(), 1);
    assert_eq!(told[0]["data"]["id"], me.identity_id.as_str());
    assert_eq!(told[0]["data"]["erased"], true);
    assert_eq!(told[0]["data"]["reason"], "owner_request");
    assert!(!told[0].to_string().contains(&email), "{}", told[0]);
    assert!(
        received(&other_receiver, "identity.deleted")
            .await
            .is_empty()
    );

    // The audit log keeps what happened under a pseudonym.
    audit_forgot(&app, &tenant, &me.identity_id, &email).await;
    let entries = audit(&app, &tenant).await;
    let erased = entries
        .iter()
        .find(|e| e["action"] == "identity.erase")
        .expect("the erasure is audited");
    let pseudonym = erased["targetId"].as_str().unwrap();
    assert!(pseudonym.starts_with("erased-"), "{pseudonym}");
    assert_eq!(erased["data"]["reason"], "owner_request");
    assert!(
        entries
            .iter()
            .any(|e| e["action"] == "identity.deletion_request" && e["targetId"] == pseudonym)
    );
    // Earlier events lost their data too.
    let events = app
        .tenant(
            &tenant,
            "query($id: ID!) { domainEvents(first: 20, filter: { subjectId: $id }) { nodes { data } } }",
            json!({ "id": me.identity_id }),
        )
        .await;
    let events = events.data()["domainEvents"]["nodes"]
        .as_array()
        .unwrap()
        .clone();
    assert!(events.len() >= 2, "{events:?}");
    for event in events {
        assert!(!event.to_string().contains(&email), "{event}");
    }

    // The other tenant's account is as it was.
    let twin_now = app
        .tenant(&other, IDENTITY, json!({ "id": twin.identity_id }))
        .await;
    assert_eq!(twin_now.data()["identity"]["email"], email.as_str());
    // The address is free for a new account.
    let (_, _, again) = app.sign_up(&tenant, &email).await;
    assert_ne!(again.identity_id, me.identity_id);
}

#[tokio::test]
async fn signing_in_cancels_a_deletion_and_deleting_needs_a_fresh_sign_in() {
    let clock = Arc::new(ManualClock::new());
    let app = TestApp::start_with_clock(test_settings(), clock.clone()).await;
    let tenant = app.create_tenant("rights-cancel").await;
    set_grace(&app, &tenant, 3).await;
    let email = unique_email();
    let (mut device, credential, me) = app.sign_up(&tenant, &email).await;

    // A sign-in older than ten minutes is not enough.
    clock.advance(11 * 60);
    let stale = app
        .as_key(&tenant, &me.access_token, DELETE, json!({}))
        .await;
    assert_eq!(stale.error_code(), "FORBIDDEN");
    assert!(
        stale.error_message().contains("recent sign-in"),
        "{}",
        stale.body
    );

    let fresh: SignedIn = app
        .sign_in(&tenant, &mut device, Some(&email), &credential)
        .await;
    let deleted = app
        .as_key(&tenant, &fresh.access_token, DELETE, json!({}))
        .await;
    assert_eq!(deleted.data()["deleteViewerAccount"]["status"], "SCHEDULED");
    // Asked again after signing in once more: the sign-in cancelled the first request.
    let back: SignedIn = app
        .sign_in(&tenant, &mut device, Some(&email), &credential)
        .await;
    let entries = audit(&app, &tenant).await;
    assert!(
        entries
            .iter()
            .any(|e| e["action"] == "identity.deletion_cancel"
                && e["targetId"] == me.identity_id.as_str())
    );
    let still = app.as_key(&tenant, &back.access_token, ME, json!({})).await;
    assert_eq!(
        still.data()["viewer"]["identity"]["id"],
        me.identity_id.as_str()
    );
    // Past the date, the worker (it looks every second) has had its chance: the account stays.
    clock.advance(4 * DAY);
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let identity = app
        .tenant(&tenant, IDENTITY, json!({ "id": me.identity_id }))
        .await;
    assert_eq!(identity.data()["identity"]["status"], "ACTIVE");
}

#[tokio::test]
async fn without_a_grace_period_the_account_is_erased_at_once() {
    let app = TestApp::start().await;
    let tenant = app.create_tenant("rights-now").await;
    set_grace(&app, &tenant, 0).await;
    let email = unique_email();
    let (_device, _credential, me) = app.sign_up(&tenant, &email).await;
    let deleted = app
        .as_key(&tenant, &me.access_token, DELETE, json!({}))
        .await;
    assert_eq!(deleted.data()["deleteViewerAccount"]["status"], "ERASED");
    assert_eq!(
        deleted.data()["deleteViewerAccount"]["eraseAt"],
        Value::Null
    );
    let gone = app
        .tenant(&tenant, IDENTITY, json!({ "id": me.identity_id }))
        .await;
    assert_eq!(gone.error_code(), "NOT_FOUND");
    let token = app.as_key(&tenant, &me.access_token, ME, json!({})).await;
    assert_eq!(token.error_code(), "UNAUTHENTICATED");
    let refresh = app
        .graphql(
            &format!("/t/{}/graphql", tenant.slug),
            None,
            "mutation($t: String!) { refreshSession(input: { refreshToken: $t }) { accessToken } }",
            json!({ "t": me.refresh_token }),
        )
        .await;
    assert_eq!(refresh.error_code(), "UNAUTHENTICATED");
    audit_forgot(&app, &tenant, &me.identity_id, &email).await;
}

#[tokio::test]
async fn administrators_erase_identities_of_their_own_tenant_only() {
    let app = TestApp::start().await;
    let tenant = app.create_tenant("rights-erase").await;
    let other = app.create_tenant("rights-erase-other").await;
    let receiver = accepting_receiver().await;
    deletions_to(&app, &tenant, &receiver).await;
    let email = unique_email();
    let (_device, _credential, person) = app.sign_up(&tenant, &email).await;
    let id = person.identity_id.clone();

    // Another tenant's admin does not find it; a viewer key and the person may not.
    let elsewhere = app.tenant(&other, ERASE, json!({ "id": id })).await;
    assert_eq!(elsewhere.error_code(), "NOT_FOUND");
    let (_, viewer) = app.create_api_key(&tenant, &["VIEWER"]).await;
    let by_viewer = app
        .as_key(&tenant, &viewer, ERASE, json!({ "id": id }))
        .await;
    assert_eq!(by_viewer.error_code(), "FORBIDDEN");
    let by_person = app
        .as_key(&tenant, &person.access_token, ERASE, json!({ "id": id }))
        .await;
    assert_eq!(by_person.error_code(), "FORBIDDEN");
    let still = app.tenant(&tenant, IDENTITY, json!({ "id": id })).await;
    assert_eq!(still.data()["identity"]["email"], email.as_str());

    // A soft-deleted identity keeps its row; erasing removes it.
    app.tenant(
        &tenant,
        "mutation($id: ID!) { deleteIdentity(input: { id: $id }) { deletedIdentityId } }",
        json!({ "id": id }),
    )
    .await
    .data();
    let soft = app.tenant(&tenant, IDENTITY, json!({ "id": id })).await;
    assert_eq!(soft.data()["identity"]["email"], email.as_str());
    let erased = app.tenant(&tenant, ERASE, json!({ "id": id })).await;
    let payload = &erased.data()["eraseIdentity"];
    assert_eq!(payload["erasedIdentityId"], id.as_str());
    let pseudonym = payload["pseudonym"].as_str().unwrap().to_owned();
    let gone = app.tenant(&tenant, IDENTITY, json!({ "id": id })).await;
    assert_eq!(gone.error_code(), "NOT_FOUND");
    let again = app.tenant(&tenant, ERASE, json!({ "id": id })).await;
    assert_eq!(again.error_code(), "NOT_FOUND");

    audit_forgot(&app, &tenant, &id, &email).await;
    let entries = audit(&app, &tenant).await;
    let erasure = entries
        .iter()
        .find(|e| e["action"] == "identity.erase")
        .unwrap();
    assert_eq!(erasure["targetId"], pseudonym.as_str());
    assert_eq!(erasure["actorType"], "api_key");
    assert_eq!(erasure["data"]["reason"], "administrator");
    eventually("the deletion's delivery", || async {
        received(&receiver, "identity.deleted")
            .await
            .iter()
            .any(|body| body["data"]["erased"] == true && body["data"]["id"] == id.as_str())
    })
    .await;
}

#[tokio::test]
async fn the_audit_log_keeps_entries_for_the_tenants_retention_only() {
    let clock = Arc::new(ManualClock::new());
    let app = TestApp::start_with_clock(test_settings(), clock.clone()).await;
    let tenant = app.create_tenant("rights-retention").await;
    let keeps = app.create_tenant("rights-retention-keeps").await;
    for t in [&tenant, &keeps] {
        app.create_identity(t, &unique_email()).await;
    }
    let set = app
        .tenant(
            &tenant,
            SETTINGS,
            json!({ "input": { "auditLogRetentionDays": 30 } }),
        )
        .await;
    let settings = &set.data()["updateTenantSettings"]["settings"];
    assert_eq!(settings["auditLogRetentionDays"], 30);
    assert_eq!(settings["accountDeletionGraceDays"], 30);
    let too_long = app
        .tenant(
            &tenant,
            SETTINGS,
            json!({ "input": { "auditLogRetentionDays": 4000 } }),
        )
        .await;
    too_long.assert_bad_input("auditLogRetentionDays");
    let too_late = app
        .tenant(
            &tenant,
            SETTINGS,
            json!({ "input": { "accountDeletionGraceDays": 366 } }),
        )
        .await;
    too_late.assert_bad_input("accountDeletionGraceDays");
    assert!(!audit(&app, &tenant).await.is_empty());

    clock.advance(31 * DAY);
    eventually("the retention", || async {
        audit(&app, &tenant).await.is_empty()
    })
    .await;
    // The tenant without a retention keeps every entry.
    assert!(
        audit(&app, &keeps)
            .await
            .iter()
            .any(|e| e["action"] == "identity.create")
    );
}

#[tokio::test]
async fn a_deletion_is_the_signed_in_users_own() {
    let app = TestApp::start().await;
    let tenant = app.create_tenant("rights-own").await;
    let other = app.create_tenant("rights-own-other").await;
    let (_device, _credential, me) = app.sign_up(&tenant, &unique_email()).await;
    // An API key is nobody's account; another tenant does not know the token.
    let by_key = app.tenant(&tenant, DELETE, json!({})).await;
    assert_eq!(by_key.error_code(), "UNAUTHENTICATED");
    let elsewhere = app
        .as_key(&other, &me.access_token, DELETE, json!({}))
        .await;
    assert_eq!(elsewhere.error_code(), "UNAUTHENTICATED");
    let mine = app.as_key(&tenant, &me.access_token, ME, json!({})).await;
    assert_eq!(
        mine.data()["viewer"]["identity"]["id"],
        me.identity_id.as_str()
    );
}

#[tokio::test]
async fn an_erasure_removes_everything_hanging_from_the_identity() {
    let app = TestApp::start().await;
    let tenant = app.create_tenant("rights-all").await;
    app.allow_passwords(
        &tenant,
        json!({ "consentPurposes": [{ "key": "news", "version": 1, "title": "News" }] }),
    )
    .await;
    let email = unique_email();
    let person = app.password_account(&tenant, &email).await;
    let id = person.identity_id.clone();
    // A consent decision, an authenticator app with its recovery codes, a membership with a
    // temporary role grant, an invitation to the address, and a directory's SCIM link.
    app.as_key(
        &tenant,
        &person.access_token,
        "mutation { setViewerConsent(input: { purpose: \"news\", granted: true }) { identity { id } } }",
        json!({}),
    )
    .await
    .data();
    let now = u64::try_from(chrono::Utc::now().timestamp()).unwrap();
    app.enroll_totp(&tenant, &person.access_token, now).await;
    let (org, _) = app.create_organization(&tenant, "Acme", "CUSTOMER").await;
    let added = app
        .tenant(
            &tenant,
            "mutation($input: AddOrganizationMemberInput!) { addOrganizationMember(input: $input) { membership { id } } }",
            json!({ "input": { "organizationId": org, "identityId": id, "roles": ["org:member"] } }),
        )
        .await;
    let membership = added.data()["addOrganizationMember"]["membership"]["id"].clone();
    let until = (chrono::Utc::now() + chrono::Duration::days(3)).to_rfc3339();
    app.tenant(
        &tenant,
        "mutation($input: GrantOrganizationRoleInput!) { grantOrganizationRole(input: $input) { grant { id } } }",
        json!({ "input": { "membershipId": membership, "role": "org:admin", "validUntil": until } }),
    )
    .await
    .data();
    let (other_org, _) = app.create_organization(&tenant, "Other", "CUSTOMER").await;
    app.tenant(
        &tenant,
        "mutation($input: InviteOrganizationMemberInput!) { inviteOrganizationMember(input: $input) { invitation { id } } }",
        json!({ "input": { "organizationId": other_org, "email": email } }),
    )
    .await
    .data();
    let (_, scim_token) = app.create_scim_token(&tenant, None).await;
    let directory = Directory::new(&app, &tenant, &scim_token);
    let provisioned = directory
        .create_user(&unique_email(), json!({ "externalId": "entra-42" }))
        .await;

    let export = app
        .as_key(&tenant, &person.access_token, EXPORT, json!({}))
        .await;
    let data = &export.data()["exportViewerData"];
    assert_eq!(data["password"]["hasPassword"], true);
    assert_eq!(data["password"]["authenticatorApp"]["enrolled"], true);
    assert_eq!(
        data["password"]["authenticatorApp"]["unusedRecoveryCodes"],
        10
    );
    assert_eq!(data["consentDecisions"][0]["purpose"], "news");
    assert_eq!(data["memberships"][0]["roleGrants"][0]["role"], "org:admin");
    assert_eq!(data["invitations"][0]["organizationId"], other_org.as_str());
    assert!(!data.to_string().contains("$argon2"), "no hash");

    for erased in [&id, &provisioned] {
        let answer = app.tenant(&tenant, ERASE, json!({ "id": erased })).await;
        assert_eq!(
            answer.data()["eraseIdentity"]["erasedIdentityId"],
            erased.as_str()
        );
    }
    let signed_in = app.sign_in_with_password(&tenant, &email, PASSWORD).await;
    assert!(signed_in.body["errors"].is_array(), "{}", signed_in.body);
    let pending = app
        .tenant(
            &tenant,
            "query($id: ID!) { organization(id: $id) { invitations(first: 10, pendingOnly: true) { nodes { email } } } }",
            json!({ "id": other_org }),
        )
        .await;
    assert_eq!(
        pending.data()["organization"]["invitations"]["nodes"],
        json!([])
    );
    let scim = directory.get(&format!("/Users/{provisioned}")).await;
    assert_eq!(scim.status, 404, "{}", scim.body);
    audit_forgot(&app, &tenant, &id, &email).await;
    // The address signs up anew, with nothing of the erased account.
    let again = app.password_account(&tenant, &email).await;
    assert_ne!(again.identity_id, id);
    let fresh = app
        .as_key(&tenant, &again.access_token, EXPORT, json!({}))
        .await;
    let fresh = &fresh.data()["exportViewerData"];
    assert_eq!(fresh["memberships"], json!([]));
    assert_eq!(fresh["consentDecisions"], json!([]));
    assert_eq!(fresh["password"]["authenticatorApp"]["enrolled"], false);
}
