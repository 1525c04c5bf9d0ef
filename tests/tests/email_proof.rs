//! Email ownership proof end to end over SMTP (a listener on loopback): sign-up with a proven
//! address, no account enumeration at sign-up, the code's rules (five wrong tries, a resend
//! that keeps the failures, expiry on an injectable clock), proofs that work once and for
//! their own purpose, the setting that lets tenants accept unproven addresses, an admin's
//! verification email and the domain policy it unlocks, and tenants kept apart.

use latchkey_tests::clock::ManualClock;
use latchkey_tests::mailbox::code_of;
use latchkey_tests::passkey::Device;
use latchkey_tests::smtp::SmtpSink;
use latchkey_tests::{TestApp, TestTenant, test_settings, unique_email};
use serde_json::{Value, json};
use std::sync::Arc;

const IDENTITIES_BY_EMAIL: &str = "query($email: String!) { identities(filter: { email: $email }) { totalCount nodes { id emailVerified } } }";
const VIEWER: &str = "{ viewer { identity { id email emailVerified } } }";

async fn start() -> (TestApp, SmtpSink, Arc<ManualClock>) {
    let sink = SmtpSink::start().await;
    let clock = Arc::new(ManualClock::new());
    let mut settings = test_settings();
    settings.smtp_url = Some(sink.url.clone());
    let mut app = TestApp::start_with_clock(settings, clock.clone()).await;
    app.smtp = Some(sink.clone());
    (app, sink, clock)
}

fn challenge_of(response: &latchkey_tests::GraphqlResponse) -> String {
    response.data()["startEmailVerification"]["challengeId"]
        .as_str()
        .unwrap()
        .to_owned()
}

fn code_in(sink: &SmtpSink, email: &str) -> String {
    code_of(&sink.last_for(email).expect("a message")).expect("a code")
}

/// A code that is not `code`.
fn wrong(code: &str) -> String {
    let first = code.as_bytes()[0] - b'0';
    format!("{}{}", (first + 1) % 10, &code[1..])
}

async fn begin_with_proof(
    app: &TestApp,
    tenant: &TestTenant,
    input: Value,
) -> latchkey_tests::GraphqlResponse {
    app.anonymous(
        tenant,
        None,
        latchkey_tests::passkey::BEGIN_REGISTRATION,
        json!({ "input": input }),
    )
    .await
}

/// Signs up with a typed (unproven) address on a tenant that allows it; answers the access
/// token.
async fn sign_up_unproven(app: &TestApp, tenant: &TestTenant, email: &str) -> String {
    let begun = begin_with_proof(app, tenant, json!({ "email": email })).await;
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
    finished.data()["finishPasskeyRegistration"]["accessToken"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn a_sign_up_with_a_proven_address_is_verified_and_a_second_one_creates_nothing() {
    let (app, sink, _clock) = start().await;
    let tenant = app.create_tenant("proof-signup").await;
    let email = unique_email();

    let first = app
        .start_email_verification(&tenant, &email, "SIGN_UP")
        .await;
    let answer = first.data()["startEmailVerification"].clone();
    assert_eq!(answer["expiresIn"], 600);
    let message = sink.last_for(&email).unwrap();
    let text = message.text();
    let code = code_of(&message).unwrap();
    assert_eq!(code.len(), 6);
    assert!(text.contains(&format!(
        "?verify={}&code={code}",
        answer["challengeId"].as_str().unwrap()
    )));

    let (_device, _, signed_in) = app.sign_up(&tenant, &email).await;
    let me = app
        .anonymous(&tenant, Some(&signed_in.access_token), VIEWER, json!({}))
        .await;
    assert_eq!(me.data()["viewer"]["identity"]["emailVerified"], true);

    // A second sign-up for the address: the same shape of answer, an email that says so
    // without a code, and no second account.
    let again = app
        .start_email_verification(&tenant, &email, "SIGN_UP")
        .await;
    let second = again.data()["startEmailVerification"].clone();
    assert_eq!(
        second.as_object().unwrap().keys().collect::<Vec<_>>(),
        answer.as_object().unwrap().keys().collect::<Vec<_>>()
    );
    assert_eq!(second["expiresIn"], answer["expiresIn"]);
    let notice = sink.last_for(&email).unwrap().text();
    assert!(notice.contains("you already have an account"), "{notice}");
    assert!(!notice.contains("verify="), "{notice}");
    // No code completes it.
    let guessed = app
        .complete_email_verification(&tenant, second["challengeId"].as_str().unwrap(), &code)
        .await;
    assert_eq!(guessed.error_code(), "BAD_USER_INPUT");
    let listed = app
        .tenant(&tenant, IDENTITIES_BY_EMAIL, json!({ "email": email }))
        .await;
    assert_eq!(listed.data()["identities"]["totalCount"], 1);
}

#[tokio::test]
async fn five_wrong_codes_kill_the_challenge_and_a_resend_keeps_the_count() {
    let (app, sink, clock) = start().await;
    let tenant = app.create_tenant("proof-tries").await;
    let email = unique_email();

    let challenge = challenge_of(
        &app.start_email_verification(&tenant, &email, "SIGN_UP")
            .await,
    );
    let first_code = code_in(&sink, &email);
    for left in [4, 3] {
        let response = app
            .complete_email_verification(&tenant, &challenge, &wrong(&first_code))
            .await;
        assert_eq!(response.error_code(), "BAD_USER_INPUT");
        assert!(
            response
                .error_message()
                .contains(&format!("{left} tries left"))
        );
    }
    // A resend replaces the code in the same challenge and keeps the two failures.
    let resent = challenge_of(
        &app.start_email_verification(&tenant, &email, "SIGN_UP")
            .await,
    );
    assert_eq!(resent, challenge);
    let second_code = code_in(&sink, &email);
    if second_code != first_code {
        let old = app
            .complete_email_verification(&tenant, &challenge, &first_code)
            .await;
        assert!(old.error_message().contains("2 tries left"), "{}", old.body);
    } else {
        let old = app
            .complete_email_verification(&tenant, &challenge, &wrong(&first_code))
            .await;
        assert!(old.error_message().contains("2 tries left"), "{}", old.body);
    }
    for _ in 0..2 {
        app.complete_email_verification(&tenant, &challenge, &wrong(&second_code))
            .await;
    }
    // Dead: the right code no longer works, and no new code comes until it expires.
    let right = app
        .complete_email_verification(&tenant, &challenge, &second_code)
        .await;
    assert_eq!(right.error_code(), "FORBIDDEN", "{}", right.body);
    let blocked = app
        .start_email_verification(&tenant, &email, "SIGN_UP")
        .await;
    assert_eq!(blocked.error_code(), "RATE_LIMITED", "{}", blocked.body);

    clock.advance(601);
    let fresh = challenge_of(
        &app.start_email_verification(&tenant, &email, "SIGN_UP")
            .await,
    );
    assert_ne!(fresh, challenge);
    let code = code_in(&sink, &email);
    let completed = app
        .complete_email_verification(&tenant, &fresh, &code)
        .await;
    assert!(
        completed.data()["completeEmailVerification"]["emailProof"]
            .as_str()
            .unwrap()
            .starts_with("lkprf_")
    );
}

#[tokio::test]
async fn codes_and_proofs_expire_work_once_and_serve_their_own_purpose() {
    let (app, sink, clock) = start().await;
    let tenant = app.create_tenant("proof-rules").await;

    // An expired code.
    let email = unique_email();
    let challenge = challenge_of(
        &app.start_email_verification(&tenant, &email, "SIGN_UP")
            .await,
    );
    let code = code_in(&sink, &email);
    clock.advance(601);
    let late = app
        .complete_email_verification(&tenant, &challenge, &code)
        .await;
    assert_eq!(late.error_code(), "BAD_USER_INPUT");
    assert!(
        late.error_message().contains("challengeId"),
        "{}",
        late.body
    );

    // A code works once.
    let challenge = challenge_of(
        &app.start_email_verification(&tenant, &email, "SIGN_UP")
            .await,
    );
    let code = code_in(&sink, &email);
    let completed = app
        .complete_email_verification(&tenant, &challenge, &code)
        .await;
    let proof = completed.data()["completeEmailVerification"]["emailProof"]
        .as_str()
        .unwrap()
        .to_owned();
    let twice = app
        .complete_email_verification(&tenant, &challenge, &code)
        .await;
    assert_eq!(twice.error_code(), "BAD_USER_INPUT");

    // An expired proof.
    clock.advance(15 * 60 + 1);
    let expired = begin_with_proof(&app, &tenant, json!({ "emailProof": proof })).await;
    assert_eq!(expired.error_code(), "BAD_USER_INPUT");
    assert!(expired.error_message().contains("emailProof"));

    // A spent proof.
    let proof = app.prove_email(&tenant, &email, "SIGN_UP").await;
    let begun = begin_with_proof(&app, &tenant, json!({ "emailProof": proof })).await;
    let begun = begun.data()["beginPasskeyRegistration"].clone();
    let mut device = Device::new(&app);
    let credential = device.create(&begun["options"]);
    app.finish_registration(
        &tenant,
        None,
        begun["ceremonyId"].as_str().unwrap(),
        credential,
    )
    .await
    .data();
    let reused = begin_with_proof(&app, &tenant, json!({ "emailProof": proof })).await;
    assert_eq!(reused.error_code(), "BAD_USER_INPUT");

    // A proof for another purpose.
    let sign_in_proof = app.prove_email(&tenant, &email, "SIGN_IN").await;
    let wrong_purpose =
        begin_with_proof(&app, &tenant, json!({ "emailProof": sign_in_proof })).await;
    assert_eq!(wrong_purpose.error_code(), "BAD_USER_INPUT");
    assert!(
        wrong_purpose.error_message().contains("SIGN_IN"),
        "{}",
        wrong_purpose.body
    );
}

#[tokio::test]
async fn sign_up_without_a_proof_is_refused_unless_the_tenant_allows_unverified_addresses() {
    let (app, _sink, _clock) = start().await;
    let tenant = app.create_tenant("proof-setting").await;
    let refused = begin_with_proof(&app, &tenant, json!({ "email": unique_email() })).await;
    assert_eq!(refused.error_code(), "BAD_USER_INPUT");
    assert!(refused.error_message().contains("startEmailVerification"));

    app.tenant(
        &tenant,
        "mutation { updateTenantSettings(input: { requireVerifiedEmail: false }) { settings { requireVerifiedEmail } } }",
        json!({}),
    )
    .await
    .data();
    let token = sign_up_unproven(&app, &tenant, &unique_email()).await;
    let me = app
        .anonymous(&tenant, Some(&token), VIEWER, json!({}))
        .await;
    assert_eq!(me.data()["viewer"]["identity"]["emailVerified"], false);
}

#[tokio::test]
async fn an_admins_verification_email_verifies_the_address_and_auto_join_follows() {
    let (app, sink, _clock) = start().await;
    let tenant = app.create_tenant("proof-admin").await;
    let (org, _) = app.create_organization(&tenant, "Acme", "CUSTOMER").await;
    let domain = format!("{}.example", latchkey_tests::unique("acme"));
    let added = app
        .tenant(
            &tenant,
            "mutation($input: AddVerifiedDomainInput!) { addVerifiedDomain(input: $input) { domain { id } } }",
            json!({ "input": { "organizationId": org, "domain": domain } }),
        )
        .await;
    let domain_id = added.data()["addVerifiedDomain"]["domain"]["id"].clone();
    app.tenant(
        &tenant,
        "mutation($input: DomainIdInput!) { markDomainVerified(input: $input) { domain { id } } }",
        json!({ "input": { "id": domain_id } }),
    )
    .await
    .data();
    app.tenant(
        &tenant,
        "mutation($input: UpdateOrganizationInput!) { updateOrganization(input: $input) { organization { id } } }",
        json!({ "input": { "id": org, "domainPolicy": "AUTO_JOIN" } }),
    )
    .await
    .data();

    let email = format!("ada@{domain}");
    let created = app
        .tenant(
            &tenant,
            "mutation($input: CreateIdentityInput!) { createIdentity(input: $input) { identity { id emailVerified } } }",
            json!({ "input": { "email": email } }),
        )
        .await;
    let identity = created.data()["createIdentity"]["identity"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    const MEMBERS: &str = "query($id: ID!) { organization(id: $id) { members { totalCount } } }";
    let members = app.tenant(&tenant, MEMBERS, json!({ "id": org })).await;
    assert_eq!(members.data()["organization"]["members"]["totalCount"], 0);

    let sent = app
        .tenant(
            &tenant,
            "mutation($input: SendVerificationEmailInput!) { sendVerificationEmail(input: $input) { challengeId expiresIn } }",
            json!({ "input": { "identityId": identity } }),
        )
        .await;
    let challenge = sent.data()["sendVerificationEmail"]["challengeId"]
        .as_str()
        .unwrap()
        .to_owned();
    let code = code_in(&sink, &email);
    app.complete_email_verification(&tenant, &challenge, &code)
        .await
        .data();
    let listed = app
        .tenant(&tenant, IDENTITIES_BY_EMAIL, json!({ "email": email }))
        .await;
    assert_eq!(
        listed.data()["identities"]["nodes"][0]["emailVerified"],
        true
    );
    let members = app.tenant(&tenant, MEMBERS, json!({ "id": org })).await;
    assert_eq!(members.data()["organization"]["members"]["totalCount"], 1);

    // Anonymous callers and other tenants cannot send one.
    let other = app.create_tenant("proof-admin-b").await;
    let elsewhere = app
        .tenant(
            &other,
            "mutation($input: SendVerificationEmailInput!) { sendVerificationEmail(input: $input) { challengeId } }",
            json!({ "input": { "identityId": identity } }),
        )
        .await;
    assert_eq!(elsewhere.error_code(), "NOT_FOUND");
    let anonymous = app
        .anonymous(
            &tenant,
            None,
            "mutation($input: SendVerificationEmailInput!) { sendVerificationEmail(input: $input) { challengeId } }",
            json!({ "input": { "identityId": identity } }),
        )
        .await;
    assert_eq!(anonymous.error_code(), "UNAUTHENTICATED");
}

#[tokio::test]
async fn a_challenge_code_or_proof_of_one_tenant_is_worthless_in_another() {
    let (app, sink, _clock) = start().await;
    let a = app.create_tenant("proof-a").await;
    let b = app.create_tenant("proof-b").await;
    let email = unique_email();

    let challenge = challenge_of(&app.start_email_verification(&a, &email, "SIGN_UP").await);
    let code = code_in(&sink, &email);
    let in_b = app.complete_email_verification(&b, &challenge, &code).await;
    assert_eq!(in_b.error_code(), "BAD_USER_INPUT");
    assert!(in_b.error_message().contains("challengeId"));

    let proof = app
        .complete_email_verification(&a, &challenge, &code)
        .await
        .data()["completeEmailVerification"]["emailProof"]
        .as_str()
        .unwrap()
        .to_owned();
    let used_in_b = begin_with_proof(&app, &b, json!({ "emailProof": proof })).await;
    assert_eq!(used_in_b.error_code(), "BAD_USER_INPUT");
    // Still good in its own tenant.
    begin_with_proof(&app, &a, json!({ "emailProof": proof }))
        .await
        .data();
}

#[tokio::test]
async fn accepting_an_emailed_invitation_proves_the_invited_address() {
    let (app, sink, _clock) = start().await;
    let tenant = app.create_tenant("proof-invite").await;
    app.tenant(
        &tenant,
        "mutation { updateTenantSettings(input: { requireVerifiedEmail: false }) { settings { requireVerifiedEmail } } }",
        json!({}),
    )
    .await
    .data();
    let (org, _) = app.create_organization(&tenant, "Acme", "CUSTOMER").await;
    let email = unique_email();
    app.tenant(
        &tenant,
        "mutation($input: InviteOrganizationMemberInput!) { inviteOrganizationMember(input: $input) { invitation { id } } }",
        json!({ "input": { "organizationId": org, "email": email, "roles": ["org:member"] } }),
    )
    .await
    .data();
    let token = latchkey_tests::smtp::invitation_token(&sink.last_for(&email).unwrap());

    // A sign-up with the typed address: unverified until the invitation is accepted.
    let access = sign_up_unproven(&app, &tenant, &email).await;
    let me = app
        .anonymous(&tenant, Some(&access), VIEWER, json!({}))
        .await;
    assert_eq!(me.data()["viewer"]["identity"]["emailVerified"], false);

    app.anonymous(
        &tenant,
        Some(&access),
        "mutation($token: String!) { acceptInvitation(input: { token: $token }) { membership { id } } }",
        json!({ "token": token }),
    )
    .await
    .data();
    let me = app
        .anonymous(&tenant, Some(&access), VIEWER, json!({}))
        .await;
    assert_eq!(me.data()["viewer"]["identity"]["emailVerified"], true);
}
