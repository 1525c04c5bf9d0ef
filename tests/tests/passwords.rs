//! Passwords over a real server, with mail over SMTP: sign-up and sign-in, the rules a new
//! password meets, the throttle a stranger cannot turn against the owner, the TOTP second
//! factor (drift, replay, recovery codes) on a clock the test moves, change and reset, the
//! notices, and tenants kept apart.

use latchkey_tests::clock::ManualClock;
use latchkey_tests::passkey::SignedIn;
use latchkey_tests::passwords::{BEGIN_TOTP, PASSWORD};
use latchkey_tests::smtp::SmtpSink;
use latchkey_tests::{GraphqlResponse, TestApp, TestTenant, test_settings, unique_email};
use serde_json::{Value, json};
use std::sync::Arc;

const VIEWER: &str = "query { viewer { identity { id hasPassword totpEnrolled } } }";
const SESSIONS: &str = "query($id: ID!) { sessions(identityId: $id) { nodes { id authMethod } } }";
const REFRESH: &str =
    "mutation($t: String!) { refreshSession(input: { refreshToken: $t }) { accessToken } }";
const CHANGE: &str =
    "mutation($input: ChangePasswordInput!) { changePassword(input: $input) { identity { id } } }";
const RESET: &str =
    "mutation($input: ResetPasswordInput!) { resetPassword(input: $input) { identity { id } } }";
const REMOVE_TOTP: &str = "mutation { removeTotp { identity { id } } }";
const LIMITS: &str = "mutation($limits: RateLimitsInput!) { updateTenantSettings(input: { rateLimits: $limits }) { settings { rateLimits { passwordFailuresPerAccountAndIp passwordFailuresPerIp } } } }";

const STRANGER: &str = "198.51.100.66";
const OWNER: &str = "203.0.113.7";

async fn start() -> (TestApp, SmtpSink) {
    let sink = SmtpSink::start().await;
    let app = TestApp::start_with_smtp(test_settings(), &sink).await;
    (app, sink)
}

fn payload<'a>(response: &'a GraphqlResponse, field: &str) -> &'a Value {
    &response.data()[field]
}

async fn auth_methods(app: &TestApp, tenant: &TestTenant, identity_id: &str) -> Vec<String> {
    let sessions = app
        .tenant(tenant, SESSIONS, json!({ "id": identity_id }))
        .await;
    sessions.data()["sessions"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["authMethod"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn a_password_signs_up_and_in_and_strangers_learn_nothing() {
    let (app, _sink) = start().await;
    let tenant = app.create_tenant("pw-basics").await;
    let email = unique_email();

    // Off by default.
    let refused = app
        .anonymous(
            &tenant,
            None,
            latchkey_tests::passwords::SIGN_UP,
            json!({ "input": { "emailProof": "lkprf_unused", "password": PASSWORD } }),
        )
        .await;
    assert_eq!(refused.error_code(), "FORBIDDEN");
    assert!(
        refused.error_message().contains("PASSWORD"),
        "{}",
        refused.error_message()
    );

    app.allow_passwords(&tenant, json!({})).await;
    let second_proof = app.prove_email(&tenant, &email, "SIGN_UP").await;
    let signed_up = app.password_account(&tenant, &email).await;
    let viewer = app
        .anonymous(&tenant, Some(&signed_up.access_token), VIEWER, json!({}))
        .await;
    assert_eq!(
        viewer.data()["viewer"]["identity"],
        json!({ "id": signed_up.identity_id, "hasPassword": true, "totpEnrolled": false })
    );

    // The address is matched as stored (case does not matter).
    let signed_in = app
        .sign_in_with_password(&tenant, &email.to_uppercase(), PASSWORD)
        .await;
    let signed_in = payload(&signed_in, "signInWithPassword");
    assert_eq!(signed_in["identity"]["id"], signed_up.identity_id.as_str());
    assert_eq!(signed_in["secondFactorRequired"], false);
    assert!(signed_in["accessToken"].as_str().unwrap().len() > 20);
    assert_eq!(
        auth_methods(&app, &tenant, &signed_up.identity_id).await,
        ["password", "password"]
    );

    // A wrong password and an unknown address: the same answer, no session.
    let wrong = app
        .sign_in_with_password(&tenant, &email, "violet tractor harbor lime")
        .await;
    let unknown = app
        .sign_in_with_password(&tenant, &unique_email(), PASSWORD)
        .await;
    assert_eq!(wrong.error_code(), "FORBIDDEN");
    assert_eq!(unknown.error_code(), "FORBIDDEN");
    assert_eq!(wrong.error_message(), unknown.error_message());
    assert!(wrong.body["data"].is_null());

    // A second sign-up for the address is refused.
    let again = app
        .anonymous(
            &tenant,
            None,
            latchkey_tests::passwords::SIGN_UP,
            json!({ "input": { "emailProof": second_proof, "password": PASSWORD } }),
        )
        .await;
    assert_eq!(again.error_code(), "BAD_USER_INPUT");
}

#[tokio::test]
async fn new_passwords_meet_the_length_and_guessability_rules_only() {
    let (app, _sink) = start().await;
    let tenant = app.create_tenant("pw-rules").await;
    app.allow_passwords(&tenant, json!({})).await;

    let short = app
        .sign_up_with_password(&tenant, &unique_email(), "qz7 vlk 8wp ab")
        .await;
    assert_eq!(short.error_code(), "BAD_USER_INPUT");
    assert!(
        short.error_message().contains("at least 15"),
        "{}",
        short.error_message()
    );
    for guessable in [
        "passwordpassword1",
        "qwertyuiopasdfghjkl",
        "1234567890123456",
    ] {
        let refused = app
            .sign_up_with_password(&tenant, &unique_email(), guessable)
            .await;
        assert_eq!(refused.error_code(), "BAD_USER_INPUT", "{guessable}");
        assert!(
            refused.error_message().contains("too easy to guess"),
            "{guessable}"
        );
    }
    // The address itself is a context word.
    let email = format!("marguerite{}", unique_email());
    let local = email.split('@').next().unwrap().to_owned();
    let own = app
        .sign_up_with_password(&tenant, &email, &format!("{local}{local}"))
        .await;
    assert_eq!(own.error_code(), "BAD_USER_INPUT");
    // No composition rules: lowercase words alone are fine; so is any script.
    app.password_account(&tenant, &unique_email()).await;
    app.sign_up_with_password(&tenant, &unique_email(), "четыре слова без цифр")
        .await
        .data();

    // With a second factor required, 8 characters are enough, and password users without
    // an authenticator app are sent to another method.
    app.allow_passwords(&tenant, json!({ "requireSecondFactor": true }))
        .await;
    let email = unique_email();
    let short_ok = app
        .sign_up_with_password(&tenant, &email, "qz7 vlk 8")
        .await;
    short_ok.data();
    let needs_factor = app
        .sign_in_with_password(&tenant, &email, "qz7 vlk 8")
        .await;
    assert_eq!(needs_factor.error_code(), "FORBIDDEN");
    assert!(needs_factor.error_message().contains("second factor"));
}

/// An anonymous call from the client at `ip` (the server trusts the loopback proxy).
async fn from(
    app: &TestApp,
    tenant: &TestTenant,
    ip: &str,
    email: &str,
    password: &str,
) -> GraphqlResponse {
    let response = app
        .client
        .post(format!("{}/t/{}/graphql", app.url, tenant.slug))
        .header("x-forwarded-for", ip)
        .json(&json!({
            "query": latchkey_tests::passwords::SIGN_IN,
            "variables": { "input": { "email": email, "password": password } },
        }))
        .send()
        .await
        .expect("request is sent");
    let status = response.status();
    GraphqlResponse {
        status,
        body: response.json().await.expect("JSON"),
    }
}

#[tokio::test]
async fn guesses_block_the_guesser_and_never_the_owner() {
    let sink = SmtpSink::start().await;
    let mut settings = test_settings();
    settings.trusted_proxies = Some("127.0.0.0/8".into());
    let app = TestApp::start_with_smtp(settings, &sink).await;
    let tenant = app.create_tenant("pw-throttle").await;
    app.allow_passwords(&tenant, json!({})).await;
    let limits = app
        .tenant(
            &tenant,
            LIMITS,
            json!({ "limits": { "signInPerIp": 600, "signInPerIdentity": 10, "signUpPerIp": 20,
                "passwordFailuresPerAccountAndIp": 3, "passwordFailuresPerIp": 6 } }),
        )
        .await;
    assert_eq!(
        limits.data()["updateTenantSettings"]["settings"]["rateLimits"],
        json!({ "passwordFailuresPerAccountAndIp": 3, "passwordFailuresPerIp": 6 })
    );
    let email = unique_email();
    app.password_account(&tenant, &email).await;

    for _ in 0..3 {
        let wrong = from(&app, &tenant, STRANGER, &email, "not the password at all").await;
        assert_eq!(wrong.error_code(), "FORBIDDEN");
    }
    // The stranger's address is now blocked for this account, even with the right password…
    let blocked = from(&app, &tenant, STRANGER, &email, PASSWORD).await;
    assert_eq!(blocked.error_code(), "RATE_LIMITED");
    // …and the owner, elsewhere, is not.
    let owner = from(&app, &tenant, OWNER, &email, PASSWORD).await;
    owner.data();

    // Guessing across many addresses from one IP blocks that IP (6 failures in all).
    for _ in 0..3 {
        let wrong = from(
            &app,
            &tenant,
            STRANGER,
            &unique_email(),
            "not the password at all",
        )
        .await;
        assert_eq!(wrong.error_code(), "FORBIDDEN");
    }
    let any = from(&app, &tenant, STRANGER, &unique_email(), PASSWORD).await;
    assert_eq!(any.error_code(), "RATE_LIMITED");
    from(&app, &tenant, OWNER, &email, PASSWORD).await.data();
}

/// A server whose TOTP checks run on `clock`, sending mail to `sink`.
async fn start_on(clock: Arc<ManualClock>, sink: &SmtpSink) -> TestApp {
    let mut settings = test_settings();
    settings.smtp_url = Some(sink.url.clone());
    let mut app = TestApp::start_with_clock(settings, clock).await;
    app.smtp = Some(sink.clone());
    app
}

fn unix(clock: &ManualClock) -> u64 {
    use latchkey_core::clock::Clock;
    u64::try_from(clock.now().timestamp()).unwrap()
}

/// Signs in with the password; answers the second-factor token.
async fn second_factor_token(app: &TestApp, tenant: &TestTenant, email: &str) -> String {
    let first = app.sign_in_with_password(tenant, email, PASSWORD).await;
    let first = payload(&first, "signInWithPassword");
    assert_eq!(first["secondFactorRequired"], true);
    assert!(first["accessToken"].is_null() && first["session"].is_null());
    let token = first["secondFactorToken"].as_str().unwrap();
    assert!(token.starts_with("lk2fa_"));
    token.to_owned()
}

#[tokio::test]
async fn totp_allows_one_step_of_drift_never_replays_and_has_recovery_codes() {
    let sink = SmtpSink::start().await;
    let clock = Arc::new(ManualClock::new());
    let app = start_on(clock.clone(), &sink).await;
    let tenant = app.create_tenant("pw-totp").await;
    app.allow_passwords(&tenant, json!({})).await;
    let email = unique_email();
    let account = app.password_account(&tenant, &email).await;

    let t0 = unix(&clock);
    let (authenticator, recovery_codes) = app.enroll_totp(&tenant, &account.access_token, t0).await;
    assert_eq!(recovery_codes.len(), 10);
    let distinct: std::collections::HashSet<_> = recovery_codes.iter().collect();
    assert_eq!(distinct.len(), 10);
    assert!(
        sink.last_for(&email)
            .unwrap()
            .text()
            .contains("authenticator app was added")
    );
    let viewer = app
        .anonymous(&tenant, Some(&account.access_token), VIEWER, json!({}))
        .await;
    assert_eq!(viewer.data()["viewer"]["identity"]["totpEnrolled"], true);
    // A second enrollment while one is in use is refused.
    let again = app
        .anonymous(&tenant, Some(&account.access_token), BEGIN_TOTP, json!({}))
        .await;
    assert_eq!(again.error_code(), "CONFLICT");

    // The code that finished the enrollment never works again.
    let token = second_factor_token(&app, &tenant, &email).await;
    let replay = app
        .complete_second_factor(&tenant, &token, &authenticator.generate(t0))
        .await;
    assert_eq!(replay.error_code(), "BAD_USER_INPUT");
    // The next step's code does, once.
    clock.advance(30);
    let code = authenticator.generate(t0 + 30);
    let done = app.complete_second_factor(&tenant, &token, &code).await;
    let signed_in = SignedIn::from_payload(payload(&done, "completeSecondFactor"));
    assert!(
        auth_methods(&app, &tenant, &signed_in.identity_id)
            .await
            .contains(&"password_mfa".to_owned())
    );
    let token = second_factor_token(&app, &tenant, &email).await;
    let replay = app.complete_second_factor(&tenant, &token, &code).await;
    assert_eq!(replay.error_code(), "BAD_USER_INPUT");

    // One step of drift either way; two steps are too many.
    clock.advance(90);
    let now = unix(&clock);
    let too_old = app
        .complete_second_factor(&tenant, &token, &authenticator.generate(now - 60))
        .await;
    assert_eq!(too_old.error_code(), "BAD_USER_INPUT");
    let too_new = app
        .complete_second_factor(&tenant, &token, &authenticator.generate(now + 60))
        .await;
    assert_eq!(too_new.error_code(), "BAD_USER_INPUT");
    app.complete_second_factor(&tenant, &token, &authenticator.generate(now - 30))
        .await
        .data();
    let token = second_factor_token(&app, &tenant, &email).await;
    app.complete_second_factor(&tenant, &token, &authenticator.generate(now + 30))
        .await
        .data();

    // A recovery code works once (typed in capitals and without its dash), with a notice.
    let token = second_factor_token(&app, &tenant, &email).await;
    let typed = recovery_codes[0].replace('-', "").to_uppercase();
    app.complete_second_factor(&tenant, &token, &typed)
        .await
        .data();
    let notice = sink.last_for(&email).unwrap().text();
    assert!(notice.contains("recovery codes; 9 are left"), "{notice}");
    let token = second_factor_token(&app, &tenant, &email).await;
    let spent = app
        .complete_second_factor(&tenant, &token, &recovery_codes[0])
        .await;
    assert_eq!(spent.error_code(), "BAD_USER_INPUT");

    // Five wrong codes end the token (the spent recovery code was the first).
    assert!(spent.error_message().contains("4 tries left"));
    for left in [3, 2, 1] {
        let wrong = app.complete_second_factor(&tenant, &token, "000000").await;
        assert!(
            wrong
                .error_message()
                .contains(&format!("{left} tries left")),
            "{}",
            wrong.error_message()
        );
    }
    let last = app.complete_second_factor(&tenant, &token, "000000").await;
    assert!(
        last.error_message().contains("last try"),
        "{}",
        last.error_message()
    );
    clock.advance(30);
    let after = app
        .complete_second_factor(&tenant, &token, &authenticator.generate(unix(&clock)))
        .await;
    assert!(after.error_message().contains("unknown or expired"));

    // Removing the app: password sign-ins need no second factor again.
    app.anonymous(&tenant, Some(&account.access_token), REMOVE_TOTP, json!({}))
        .await
        .data();
    assert!(
        sink.last_for(&email)
            .unwrap()
            .text()
            .contains("authenticator app was removed")
    );
    let plain = app.sign_in_with_password(&tenant, &email, PASSWORD).await;
    assert_eq!(
        payload(&plain, "signInWithPassword")["secondFactorRequired"],
        false
    );
}

#[tokio::test]
async fn an_authenticator_app_needs_a_password_first() {
    let (app, _sink) = start().await;
    let tenant = app.create_tenant("pw-totp-needs").await;
    app.allow_passwords(&tenant, json!({})).await;
    let (_device, _, passkey_user) = app.sign_up(&tenant, &unique_email()).await;
    let refused = app
        .anonymous(
            &tenant,
            Some(&passkey_user.access_token),
            BEGIN_TOTP,
            json!({}),
        )
        .await;
    assert_eq!(refused.error_code(), "FORBIDDEN");
    let anonymous = app.anonymous(&tenant, None, BEGIN_TOTP, json!({})).await;
    assert_eq!(anonymous.error_code(), "UNAUTHENTICATED");
}

#[tokio::test]
async fn passwords_change_with_the_current_one_and_reset_with_an_emailed_code() {
    let (app, sink) = start().await;
    let tenant = app.create_tenant("pw-change").await;
    app.allow_passwords(&tenant, json!({})).await;
    let email = unique_email();
    let first = app.password_account(&tenant, &email).await;
    let other = SignedIn::from_payload(payload(
        &app.sign_in_with_password(&tenant, &email, PASSWORD).await,
        "signInWithPassword",
    ));
    let new_password = "copper lantern meadow swift";

    let wrong = app
        .anonymous(
            &tenant,
            Some(&first.access_token),
            CHANGE,
            json!({ "input": { "currentPassword": "not it at all, sorry", "newPassword": new_password } }),
        )
        .await;
    assert_eq!(wrong.error_code(), "BAD_USER_INPUT");
    assert!(wrong.error_message().contains("currentPassword"));
    app.anonymous(
        &tenant,
        Some(&first.access_token),
        CHANGE,
        json!({ "input": { "currentPassword": PASSWORD, "newPassword": new_password, "signOutOtherSessions": true } }),
    )
    .await
    .data();
    assert!(
        sink.last_for(&email)
            .unwrap()
            .text()
            .contains("password of your")
    );
    // The account page lists it among the security events.
    let events = app
        .anonymous(
            &tenant,
            Some(&first.access_token),
            "{ viewer { securityEvents { action } } }",
            json!({}),
        )
        .await;
    let actions = events.data()["viewer"]["securityEvents"].to_string();
    assert!(actions.contains("password.change"), "{actions}");
    // The other session ended; this one did not.
    let ended = app
        .anonymous(&tenant, None, REFRESH, json!({ "t": other.refresh_token }))
        .await;
    assert_eq!(ended.error_code(), "UNAUTHENTICATED");
    app.anonymous(&tenant, None, REFRESH, json!({ "t": first.refresh_token }))
        .await
        .data();
    assert_eq!(
        app.sign_in_with_password(&tenant, &email, PASSWORD)
            .await
            .error_code(),
        "FORBIDDEN"
    );
    app.sign_in_with_password(&tenant, &email, new_password)
        .await
        .data();

    // Reset with a RECOVERY proof: every session ends, nobody is signed in, a notice goes out.
    let signed_in = SignedIn::from_payload(payload(
        &app.sign_in_with_password(&tenant, &email, new_password)
            .await,
        "signInWithPassword",
    ));
    let proof = app.prove_email(&tenant, &email, "RECOVERY").await;
    let reset = app
        .anonymous(
            &tenant,
            None,
            RESET,
            json!({ "input": { "emailProof": proof, "newPassword": PASSWORD } }),
        )
        .await;
    assert_eq!(
        reset.data()["resetPassword"]["identity"]["id"],
        first.identity_id.as_str()
    );
    assert!(sink.last_for(&email).unwrap().text().contains("was reset"));
    let ended = app
        .anonymous(
            &tenant,
            None,
            REFRESH,
            json!({ "t": signed_in.refresh_token }),
        )
        .await;
    assert_eq!(ended.error_code(), "UNAUTHENTICATED");
    app.sign_in_with_password(&tenant, &email, PASSWORD)
        .await
        .data();
    // The proof was spent.
    let reused = app
        .anonymous(
            &tenant,
            None,
            RESET,
            json!({ "input": { "emailProof": proof, "newPassword": new_password } }),
        )
        .await;
    assert_eq!(reused.error_code(), "BAD_USER_INPUT");

    // A passkey user sets a first password without a current one.
    let passkey_email = unique_email();
    let (_device, _, passkey_user) = app.sign_up(&tenant, &passkey_email).await;
    app.anonymous(
        &tenant,
        Some(&passkey_user.access_token),
        CHANGE,
        json!({ "input": { "newPassword": PASSWORD } }),
    )
    .await
    .data();
    assert!(
        sink.last_for(&passkey_email)
            .unwrap()
            .text()
            .contains("password was set")
    );
    app.sign_in_with_password(&tenant, &passkey_email, PASSWORD)
        .await
        .data();

    // Where recoveries need an administrator, a proof alone resets nothing.
    app.tenant(
        &tenant,
        "mutation { updateTenantSettings(input: { recoveryRequiresApproval: true }) { settings { id: rpId } } }",
        json!({}),
    )
    .await
    .data();
    let proof = app.prove_email(&tenant, &email, "RECOVERY").await;
    let waits = app
        .anonymous(
            &tenant,
            None,
            RESET,
            json!({ "input": { "emailProof": proof, "newPassword": new_password } }),
        )
        .await;
    assert_eq!(waits.error_code(), "FORBIDDEN");
}

#[tokio::test]
async fn passwords_tokens_and_proofs_stay_in_their_tenant() {
    let sink = SmtpSink::start().await;
    let clock = Arc::new(ManualClock::new());
    let app = start_on(clock.clone(), &sink).await;
    let a = app.create_tenant("pw-iso-a").await;
    let b = app.create_tenant("pw-iso-b").await;
    app.allow_passwords(&a, json!({})).await;
    app.allow_passwords(&b, json!({})).await;
    let email = unique_email();
    let in_a = app.password_account(&a, &email).await;
    let (authenticator, codes) = app.enroll_totp(&a, &in_a.access_token, unix(&clock)).await;
    let (_device, _, in_b) = app.sign_up(&b, &email).await;

    // A's password does not open the same address in B.
    let across = app.sign_in_with_password(&b, &email, PASSWORD).await;
    assert_eq!(across.error_code(), "FORBIDDEN");
    // A's second-factor token means nothing in B.
    let token = second_factor_token(&app, &a, &email).await;
    clock.advance(30);
    let code = authenticator.generate(unix(&clock));
    let in_other = app.complete_second_factor(&b, &token, &code).await;
    assert_eq!(in_other.error_code(), "BAD_USER_INPUT");
    let in_other = app.complete_second_factor(&b, &token, &codes[1]).await;
    assert_eq!(in_other.error_code(), "BAD_USER_INPUT");
    app.complete_second_factor(&a, &token, &code).await.data();
    // A's proofs do not reset or sign up in B.
    let recovery = app.prove_email(&a, &email, "RECOVERY").await;
    let reset = app
        .anonymous(
            &b,
            None,
            RESET,
            json!({ "input": { "emailProof": recovery, "newPassword": "copper lantern meadow swift" } }),
        )
        .await;
    assert_eq!(reset.error_code(), "BAD_USER_INPUT");
    let fresh = unique_email();
    let sign_up = app.prove_email(&a, &fresh, "SIGN_UP").await;
    let across = app
        .anonymous(
            &b,
            None,
            latchkey_tests::passwords::SIGN_UP,
            json!({ "input": { "emailProof": sign_up, "password": PASSWORD } }),
        )
        .await;
    assert_eq!(across.error_code(), "BAD_USER_INPUT");
    // A's access token does nothing in B; B's admin does not see A's factors.
    let enroll = app
        .anonymous(&b, Some(&in_a.access_token), BEGIN_TOTP, json!({}))
        .await;
    assert_eq!(enroll.error_code(), "UNAUTHENTICATED");
    let change = app
        .anonymous(
            &b,
            Some(&in_a.access_token),
            CHANGE,
            json!({ "input": { "newPassword": PASSWORD } }),
        )
        .await;
    assert_eq!(change.error_code(), "UNAUTHENTICATED");
    let seen = app
        .tenant(
            &b,
            "query($id: ID!) { identity(id: $id) { hasPassword totpEnrolled } }",
            json!({ "id": in_a.identity_id }),
        )
        .await;
    assert!(seen.body["data"]["identity"].is_null(), "{}", seen.body);
    let own = app
        .tenant(
            &b,
            "query($id: ID!) { identity(id: $id) { hasPassword totpEnrolled } }",
            json!({ "id": in_b.identity_id }),
        )
        .await;
    assert_eq!(
        own.data()["identity"],
        json!({ "hasPassword": false, "totpEnrolled": false })
    );
}
