//! Passkey ceremonies over HTTP with a real software authenticator: sign-up, sign-in with and
//! without an email, passkey management, recovery links, and every rejection the issue lists.

use latchkey_tests::clock::ManualClock;
use latchkey_tests::passkey::{claims, header};
use latchkey_tests::{TestApp, test_settings, unique_email};
use serde_json::json;
use std::sync::Arc;

const VIEWER: &str = "{ viewer { kind identity { id email displayName } passkeys { totalCount nodes { id name signCount } } sessions { totalCount nodes { id current userAgent } } } }";

#[tokio::test]
async fn sign_up_sign_in_and_the_viewer() {
    let app = TestApp::start().await;
    let tenant = app.create_tenant("pk").await;
    let address = unique_email();
    let (mut device, credential_id, signed_up) = app.sign_up(&tenant, &address).await;

    // The access token is an ES256 JWT with the documented claims.
    let token_claims = claims(&signed_up.access_token);
    let issuer = format!("{}/t/{}", app.public_url, tenant.slug);
    assert_eq!(token_claims["iss"], issuer.as_str());
    assert_eq!(token_claims["aud"], issuer.as_str());
    assert_eq!(token_claims["sub"], signed_up.identity_id.as_str());
    assert_eq!(token_claims["sid"], signed_up.session_id.as_str());
    assert_eq!(token_claims["roles"], json!([]));
    assert!(token_claims["jti"].is_string());
    let lifetime = token_claims["exp"].as_i64().unwrap() - token_claims["iat"].as_i64().unwrap();
    assert_eq!(lifetime, 900);
    assert_eq!(header(&signed_up.access_token)["alg"], "ES256");
    assert!(signed_up.refresh_token.starts_with("lkr_"));

    let viewer = app
        .anonymous(&tenant, Some(&signed_up.access_token), VIEWER, json!({}))
        .await;
    let data = &viewer.data()["viewer"];
    assert_eq!(data["kind"], "IDENTITY");
    assert_eq!(data["identity"]["email"], address.as_str());
    assert_eq!(data["identity"]["displayName"], "Test User");
    assert_eq!(data["passkeys"]["totalCount"], 1);
    assert_eq!(data["sessions"]["totalCount"], 1);
    assert_eq!(data["sessions"]["nodes"][0]["current"], true);

    // Sign in with the email hint: the options list exactly this passkey.
    let begun = app.begin_sign_in(&tenant, Some(&address)).await;
    let allowed = begun.options["publicKey"]["allowCredentials"]
        .as_array()
        .unwrap();
    assert_eq!(allowed.len(), 1);
    assert_eq!(allowed[0]["id"], credential_id.as_str());
    let assertion = device.get(&begun.options, None);
    let signed_in = app
        .finish_sign_in(&tenant, &begun.ceremony_id, assertion)
        .await;
    let payload = &signed_in.data()["finishPasskeySignIn"];
    assert_eq!(payload["identity"]["id"], signed_up.identity_id.as_str());
    assert_eq!(payload["passkey"], serde_json::Value::Null);

    // Discoverable sign-in: no email, no allowCredentials.
    let begun = app.begin_sign_in(&tenant, None).await;
    assert!(
        begun.options["publicKey"]
            .get("allowCredentials")
            .is_none_or(|a| a.as_array().is_some_and(|a| a.is_empty()))
    );
    let assertion = device.get(&begun.options, Some(&credential_id));
    let signed_in = app
        .finish_sign_in(&tenant, &begun.ceremony_id, assertion)
        .await;
    let token = signed_in.data()["finishPasskeySignIn"]["accessToken"]
        .as_str()
        .unwrap()
        .to_owned();

    let viewer = app
        .anonymous(&tenant, Some(&token), VIEWER, json!({}))
        .await;
    let data = &viewer.data()["viewer"];
    assert_eq!(data["sessions"]["totalCount"], 3);
    assert!(
        data["passkeys"]["nodes"][0]["signCount"].as_i64().unwrap() >= 2,
        "the counter was saved"
    );

    // The identity shows its last sign-in to admins, with the audit trail.
    let identity = app
        .tenant(&tenant, "query($id: ID!) { identity(id: $id) { lastSignInAt } auditEvents(filter: { action: \"identity.sign_in\" }) { totalCount } }", json!({ "id": signed_up.identity_id }))
        .await;
    assert!(identity.data()["identity"]["lastSignInAt"].is_string());
    assert_eq!(identity.data()["auditEvents"]["totalCount"], 2);
    app.stop().await;
}

#[tokio::test]
async fn refresh_tokens_rotate_and_reuse_revokes_the_session() {
    let clock = Arc::new(ManualClock::new());
    let app = TestApp::start_with_clock(test_settings(), clock.clone()).await;
    let tenant = app.create_tenant("refresh").await;
    let (_, _, signed_in) = app.sign_up(&tenant, &unique_email()).await;
    let refresh = "mutation($token: String!) { refreshSession(input: { refreshToken: $token }) { session { id } accessToken refreshToken expiresIn } }";

    let first = app
        .anonymous(
            &tenant,
            None,
            refresh,
            json!({ "token": signed_in.refresh_token }),
        )
        .await;
    let first = first.data()["refreshSession"].clone();
    assert_eq!(first["session"]["id"], signed_in.session_id.as_str());
    assert_eq!(first["expiresIn"], 900);
    assert_ne!(first["refreshToken"], signed_in.refresh_token.as_str());
    let new_access = first["accessToken"].as_str().unwrap();
    assert_eq!(
        app.anonymous(&tenant, Some(new_access), "{ viewer { kind } }", json!({}))
            .await
            .data()["viewer"]["kind"],
        "IDENTITY"
    );

    // The spent token again, after the tenant's reuse interval (5 seconds): refused, and the
    // whole session is revoked.
    clock.advance(5);
    let reused = app
        .anonymous(
            &tenant,
            None,
            refresh,
            json!({ "token": signed_in.refresh_token }),
        )
        .await;
    assert_eq!(reused.error_code(), "UNAUTHENTICATED");
    let after = app
        .anonymous(&tenant, Some(new_access), "{ viewer { kind } }", json!({}))
        .await;
    assert_eq!(after.status, 401);
    let newest = app
        .anonymous(
            &tenant,
            None,
            refresh,
            json!({ "token": first["refreshToken"] }),
        )
        .await;
    assert_eq!(newest.error_code(), "UNAUTHENTICATED");
    let audit = app
        .tenant(
            &tenant,
            "{ auditEvents(filter: { action: \"session.refresh_token_reused\" }) { totalCount } }",
            json!({}),
        )
        .await;
    assert_eq!(audit.data()["auditEvents"]["totalCount"], 1);

    let garbage = app
        .anonymous(&tenant, None, refresh, json!({ "token": "lkr_nothing" }))
        .await;
    assert_eq!(garbage.error_code(), "UNAUTHENTICATED");
    app.stop().await;
}

#[tokio::test]
async fn sign_out_revocation_and_suspension_stop_tokens_at_once() {
    let app = TestApp::start().await;
    let tenant = app.create_tenant("signout").await;
    let address = unique_email();
    let (mut device, credential_id, first) = app.sign_up(&tenant, &address).await;
    let second = app
        .sign_in(&tenant, &mut device, Some(&address), &credential_id)
        .await;
    let check = |token: String| {
        let app = &app;
        let tenant = &tenant;
        async move {
            app.anonymous(tenant, Some(&token), "{ viewer { kind } }", json!({}))
                .await
                .status
                .as_u16()
        }
    };

    let signed_out = app
        .anonymous(
            &tenant,
            Some(&first.access_token),
            "mutation { signOut(input: {}) { sessionId } }",
            json!({}),
        )
        .await;
    assert_eq!(
        signed_out.data()["signOut"]["sessionId"],
        first.session_id.as_str()
    );
    assert_eq!(check(first.access_token.clone()).await, 401);
    assert_eq!(check(second.access_token.clone()).await, 200);

    // A user cannot revoke another user's session; an admin can.
    let (_, _, other) = app.sign_up(&tenant, &unique_email()).await;
    let revoke =
        "mutation($id: ID!) { revokeSession(input: { id: $id }) { session { id revokedAt } } }";
    let foreign = app
        .anonymous(
            &tenant,
            Some(&other.access_token),
            revoke,
            json!({ "id": second.session_id }),
        )
        .await;
    assert_eq!(foreign.error_code(), "NOT_FOUND");
    let by_admin = app
        .tenant(&tenant, revoke, json!({ "id": second.session_id }))
        .await;
    assert!(by_admin.data()["revokeSession"]["session"]["revokedAt"].is_string());
    assert_eq!(check(second.access_token.clone()).await, 401);

    // Suspension stops the identity's live tokens and refresh tokens at once.
    let third = app
        .sign_in(&tenant, &mut device, Some(&address), &credential_id)
        .await;
    assert_eq!(check(third.access_token.clone()).await, 200);
    app.tenant(
        &tenant,
        "mutation($id: ID!) { suspendIdentity(input: { id: $id }) { identity { status } } }",
        json!({ "id": third.identity_id }),
    )
    .await
    .data();
    assert_eq!(check(third.access_token.clone()).await, 401);
    let refresh = app
        .anonymous(
            &tenant,
            None,
            "mutation($t: String!) { refreshSession(input: { refreshToken: $t }) { accessToken } }",
            json!({ "t": third.refresh_token }),
        )
        .await;
    assert_eq!(refresh.error_code(), "UNAUTHENTICATED");
    // …and sign-in is refused while suspended (the email hint names no passkey now, so the
    // authenticator picks its credential as in a discoverable sign-in).
    let begun = app.begin_sign_in(&tenant, None).await;
    let assertion = device.get(&begun.options, Some(&credential_id));
    let refused = app
        .finish_sign_in(&tenant, &begun.ceremony_id, assertion)
        .await;
    assert_eq!(refused.error_code(), "FORBIDDEN");

    // Admins can end every session of an identity.
    app.tenant(
        &tenant,
        "mutation($id: ID!) { resumeIdentity(input: { id: $id }) { identity { status } } }",
        json!({ "id": third.identity_id }),
    )
    .await
    .data();
    assert_eq!(
        check(third.access_token.clone()).await,
        401,
        "resuming does not bring the sessions of before the suspension back"
    );
    let fourth = app
        .sign_in(&tenant, &mut device, Some(&address), &credential_id)
        .await;
    let all = app.tenant(&tenant, "mutation($id: ID!) { revokeIdentitySessions(input: { identityId: $id }) { revokedCount } }", json!({ "id": fourth.identity_id })).await;
    assert!(
        all.data()["revokeIdentitySessions"]["revokedCount"]
            .as_u64()
            .unwrap()
            >= 1
    );
    assert_eq!(check(fourth.access_token.clone()).await, 401);
    app.stop().await;
}

#[tokio::test]
async fn tokens_and_credentials_do_not_cross_tenants() {
    let app = TestApp::start().await;
    let a = app.create_tenant("pk-a").await;
    let b = app.create_tenant("pk-b").await;
    let address = unique_email();
    let (mut device, credential_id, signed_in) = app.sign_up(&a, &address).await;

    // A's access token on B: rejected.
    let on_b = app
        .anonymous(
            &b,
            Some(&signed_in.access_token),
            "{ viewer { kind } }",
            json!({}),
        )
        .await;
    assert_eq!(on_b.status, 401);
    assert_eq!(on_b.error_code(), "UNAUTHENTICATED");
    // A's refresh token on B: rejected.
    let refresh = app
        .anonymous(
            &b,
            None,
            "mutation($t: String!) { refreshSession(input: { refreshToken: $t }) { accessToken } }",
            json!({ "t": signed_in.refresh_token }),
        )
        .await;
    assert_eq!(refresh.error_code(), "UNAUTHENTICATED");
    // A's passkey in a B ceremony: not registered there.
    let begun = app.begin_sign_in(&b, None).await;
    let assertion = device.get(&begun.options, Some(&credential_id));
    let refused = app.finish_sign_in(&b, &begun.ceremony_id, assertion).await;
    assert_eq!(refused.error_code(), "FORBIDDEN");
    assert!(refused.error_message().contains("not registered"));
    // A's ceremony id on B: unknown there.
    let begun_a = app.begin_sign_in(&a, Some(&address)).await;
    let assertion = device.get(&begun_a.options, None);
    let crossed = app
        .finish_sign_in(&b, &begun_a.ceremony_id, assertion)
        .await;
    assert_eq!(crossed.error_code(), "BAD_USER_INPUT");
    // B's admin cannot see or touch A's identity's passkeys and sessions.
    for query in [
        "query($id: ID!) { passkeys(identityId: $id) { totalCount } }",
        "query($id: ID!) { sessions(identityId: $id) { totalCount } }",
    ] {
        let response = app
            .tenant(&b, query, json!({ "id": signed_in.identity_id }))
            .await;
        assert_eq!(
            response
                .data()
                .as_object()
                .unwrap()
                .values()
                .next()
                .unwrap()["totalCount"],
            0
        );
    }
    let passkeys = app
        .tenant(
            &a,
            "query($id: ID!) { passkeys(identityId: $id) { nodes { id } } }",
            json!({ "id": signed_in.identity_id }),
        )
        .await;
    let passkey_id = passkeys.data()["passkeys"]["nodes"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    for mutation in [
        "mutation($id: ID!) { revokePasskey(input: { id: $id }) { passkey { id } } }",
        "mutation($id: ID!) { renamePasskey(input: { id: $id, name: \"x\" }) { passkey { id } } }",
    ] {
        let response = app.tenant(&b, mutation, json!({ "id": passkey_id })).await;
        assert_eq!(response.error_code(), "NOT_FOUND");
    }
    for mutation in ["mutation($id: ID!) { revokeSession(input: { id: $id }) { session { id } } }"]
    {
        let response = app
            .tenant(&b, mutation, json!({ "id": signed_in.session_id }))
            .await;
        assert_eq!(response.error_code(), "NOT_FOUND");
    }
    for mutation in [
        "mutation($id: ID!) { revokeIdentitySessions(input: { identityId: $id }) { revokedCount } }",
        "mutation($id: ID!) { createRegistrationLink(input: { identityId: $id }) { token } }",
    ] {
        let response = app
            .tenant(&b, mutation, json!({ "id": signed_in.identity_id }))
            .await;
        assert_eq!(response.error_code(), "NOT_FOUND");
    }
    // Still fine in A.
    let still = app
        .anonymous(
            &a,
            Some(&signed_in.access_token),
            "{ viewer { passkeys { totalCount } } }",
            json!({}),
        )
        .await;
    assert_eq!(still.data()["viewer"]["passkeys"]["totalCount"], 1);
    app.stop().await;
}

#[tokio::test]
async fn adding_a_passkey_belongs_to_the_session_that_started_it() {
    let app = TestApp::start().await;
    let tenant = app.create_tenant("add-pk").await;
    let (_, _, signed_in) = app.sign_up(&tenant, &unique_email()).await;
    let begun = app
        .begin_registration(&tenant, Some(&signed_in.access_token), json!({}))
        .await;
    let credential = latchkey_tests::passkey::Device::new(&app).create(&begun.options);
    // Finishing without that session (a stolen token revoked meanwhile, say) is refused.
    let anonymous = app
        .finish_registration(&tenant, None, &begun.ceremony_id, credential)
        .await;
    assert_eq!(anonymous.error_code(), "FORBIDDEN");

    let begun = app
        .begin_registration(&tenant, Some(&signed_in.access_token), json!({}))
        .await;
    let credential = latchkey_tests::passkey::Device::new(&app).create(&begun.options);
    let added = app
        .finish_registration(
            &tenant,
            Some(&signed_in.access_token),
            &begun.ceremony_id,
            credential,
        )
        .await;
    let payload = &added.data()["finishPasskeyRegistration"];
    assert!(payload["passkey"]["id"].is_string());
    assert_eq!(
        payload["accessToken"],
        serde_json::Value::Null,
        "no new session for an added passkey"
    );
    let viewer = app
        .anonymous(
            &tenant,
            Some(&signed_in.access_token),
            "{ viewer { passkeys { totalCount } } }",
            json!({}),
        )
        .await;
    assert_eq!(viewer.data()["viewer"]["passkeys"]["totalCount"], 2);
    app.stop().await;
}

#[tokio::test]
async fn client_addresses_come_from_trusted_proxies_only() {
    let mut settings = latchkey_tests::test_settings();
    settings.trusted_proxies = Some("127.0.0.0/8".into());
    let behind_proxy = TestApp::start_with(settings).await;
    let direct = TestApp::start().await;
    for (app, expected) in [(&behind_proxy, "203.0.113.9"), (&direct, "127.0.0.1")] {
        let tenant = app.create_tenant("proxy").await;
        let post = |query: &str, variables: serde_json::Value| {
            app.client
                .post(format!("{}/t/{}/graphql", app.url, tenant.slug))
                .header("x-forwarded-for", "198.51.100.1, 203.0.113.9")
                .json(&json!({ "query": query, "variables": variables }))
                .send()
        };
        let input = app.sign_up_input(&tenant).await;
        let begun: serde_json::Value = post(
            latchkey_tests::passkey::BEGIN_REGISTRATION,
            json!({ "input": input }),
        )
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
        let ceremony = begun["data"]["beginPasskeyRegistration"].clone();
        let credential = latchkey_tests::passkey::Device::new(app).create(&ceremony["options"]);
        let finished: serde_json::Value = post(
            latchkey_tests::passkey::FINISH_REGISTRATION,
            json!({ "input": { "ceremonyId": ceremony["ceremonyId"], "credential": credential } }),
        )
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
        let identity_id = finished["data"]["finishPasskeyRegistration"]["identity"]["id"].clone();
        let listed = app
            .tenant(
                &tenant,
                "query($id: ID!) { sessions(identityId: $id) { nodes { ipAddress } } }",
                json!({ "id": identity_id }),
            )
            .await;
        assert_eq!(listed.data()["sessions"]["nodes"][0]["ipAddress"], expected);
    }
    behind_proxy.stop().await;
    direct.stop().await;
}
