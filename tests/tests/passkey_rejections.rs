//! Every passkey response the server must refuse, each with a clear error and an audit event,
//! and nothing saved: wrong origin, wrong RP id, replayed and expired ceremonies, a tampered
//! signature, a counter going backwards, a foreign user handle, missing user verification or
//! presence, backup state without eligibility, a revoked passkey, another account's passkey
//! in a ceremony started with an email, no user handle in a discoverable ceremony; and no
//! account oracle.

use latchkey_tests::passkey::{Device, tamper};
use latchkey_tests::{TestApp, TestTenant, test_settings, unique, unique_email};
use serde_json::{Value, json};

async fn rejections(app: &TestApp, tenant: &TestTenant) -> Vec<String> {
    let response = app
        .tenant(
            tenant,
            "{ auditEvents(first: 1000) { nodes { action data } } }",
            json!({}),
        )
        .await;
    response.data()["auditEvents"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"].as_str().unwrap().ends_with("_rejected"))
        .map(|e| e["data"]["reason"].as_str().unwrap_or("").to_owned())
        .collect()
}

async fn sign_count(app: &TestApp, tenant: &TestTenant, identity_id: &str) -> i64 {
    let response = app
        .tenant(
            tenant,
            "query($id: ID!) { passkeys(identityId: $id) { nodes { signCount } } }",
            json!({ "id": identity_id }),
        )
        .await;
    response.data()["passkeys"]["nodes"][0]["signCount"]
        .as_i64()
        .unwrap()
}

/// Runs one sign-in whose assertion `spoil` changes; returns the finish response.
async fn attempt(
    app: &TestApp,
    tenant: &TestTenant,
    device: &mut Device,
    email: &str,
    spoil: impl FnOnce(&mut Value),
) -> latchkey_tests::GraphqlResponse {
    let begun = app.begin_sign_in(tenant, Some(email)).await;
    let mut assertion = device.get(&begun.options, None);
    spoil(&mut assertion);
    app.finish_sign_in(tenant, &begun.ceremony_id, assertion)
        .await
}

#[tokio::test]
async fn spoiled_assertions_are_refused_and_audited_and_save_nothing() {
    let app = TestApp::start().await;
    let tenant = app.create_tenant("reject").await;
    let address = unique_email();
    let (mut device, _, signed_up) = app.sign_up(&tenant, &address).await;
    let count = sign_count(&app, &tenant, &signed_up.identity_id).await;

    // Wrong origin: the browser ran the ceremony on another site.
    let response = attempt(&app, &tenant, &mut device, &address, |a| {
        set_origin(a, "https://evil.example")
    })
    .await;
    assert_eq!(response.error_code(), "FORBIDDEN");
    assert!(
        response.error_message().contains("origin"),
        "{}",
        response.error_message()
    );

    // Wrong RP id: the authenticator data names another relying party (its RP id hash).
    let response = attempt(&app, &tenant, &mut device, &address, |a| {
        tamper(a, "authenticatorData", |b| b[0] ^= 0x01)
    })
    .await;
    assert_eq!(response.error_code(), "FORBIDDEN");
    assert!(
        response.error_message().contains("RP id"),
        "{}",
        response.error_message()
    );

    // A tampered signature.
    let response = attempt(&app, &tenant, &mut device, &address, |a| {
        tamper(a, "signature", |bytes| {
            let last = bytes.len() - 2;
            bytes[last] ^= 0x55;
        })
    })
    .await;
    assert_eq!(response.error_code(), "FORBIDDEN");

    // User presence missing (UP flag cleared).
    let response = attempt(&app, &tenant, &mut device, &address, |a| {
        tamper(a, "authenticatorData", |b| b[32] &= !0x01)
    })
    .await;
    assert_eq!(response.error_code(), "FORBIDDEN");
    assert!(
        response.error_message().contains("presence"),
        "{}",
        response.error_message()
    );

    // User verification missing where the tenant requires it.
    let response = attempt(&app, &tenant, &mut device, &address, |a| {
        tamper(a, "authenticatorData", |b| b[32] &= !0x04)
    })
    .await;
    assert_eq!(response.error_code(), "FORBIDDEN");
    assert!(
        response.error_message().contains("verification"),
        "{}",
        response.error_message()
    );

    // Backup state set without backup eligibility.
    let response = attempt(&app, &tenant, &mut device, &address, |a| {
        tamper(a, "authenticatorData", |b| {
            b[32] |= 0x10;
            b[32] &= !0x08;
        })
    })
    .await;
    assert_eq!(response.error_code(), "FORBIDDEN");
    assert!(
        response.error_message().contains("backup"),
        "{}",
        response.error_message()
    );

    // A user handle that is not the passkey's account.
    let response = attempt(&app, &tenant, &mut device, &address, |a| {
        a["response"]["userHandle"] = json!(base64_url(uuid::Uuid::now_v7().as_bytes()));
    })
    .await;
    assert_eq!(response.error_code(), "FORBIDDEN");
    assert!(
        response.error_message().contains("user handle"),
        "{}",
        response.error_message()
    );

    // Nothing was saved by any of these.
    assert_eq!(
        sign_count(&app, &tenant, &signed_up.identity_id).await,
        count
    );
    let reasons = rejections(&app, &tenant).await;
    assert_eq!(reasons.len(), 7, "{reasons:?}");
    assert!(reasons.iter().any(|r| r.contains("origin")));
    assert!(reasons.iter().any(|r| r.contains("user handle")));
    app.stop().await;
}

/// Rewrites the origin the client recorded (as a page on another site would produce).
fn set_origin(credential: &mut Value, origin: &str) {
    tamper(credential, "clientDataJSON", |bytes| {
        let mut client_data: Value = serde_json::from_slice(bytes).unwrap();
        client_data["origin"] = json!(origin);
        *bytes = serde_json::to_vec(&client_data).unwrap();
    });
}

fn base64_url(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

#[tokio::test]
async fn a_counter_going_backwards_is_refused() {
    let app = TestApp::start().await;
    let tenant = app.create_tenant("counter").await;
    let address = unique_email();
    let (mut device, _, signed_up) = app.sign_up(&tenant, &address).await;
    // Two ceremonies answered in order (counters n and n+1), finished in reverse order: the
    // older assertion then carries a counter below the stored one, as a cloned authenticator's
    // would.
    let first = app.begin_sign_in(&tenant, Some(&address)).await;
    let second = app.begin_sign_in(&tenant, Some(&address)).await;
    let older = device.get(&first.options, None);
    let newer = device.get(&second.options, None);
    app.finish_sign_in(&tenant, &second.ceremony_id, newer)
        .await
        .data();
    let stored = sign_count(&app, &tenant, &signed_up.identity_id).await;
    let cloned = app.finish_sign_in(&tenant, &first.ceremony_id, older).await;
    assert_eq!(cloned.error_code(), "FORBIDDEN");
    assert!(
        cloned.error_message().contains("counter"),
        "{}",
        cloned.error_message()
    );
    assert_eq!(
        sign_count(&app, &tenant, &signed_up.identity_id).await,
        stored
    );
    assert!(
        rejections(&app, &tenant)
            .await
            .iter()
            .any(|r| r.contains("counter"))
    );
    app.stop().await;
}

#[tokio::test]
async fn ceremonies_serve_once_and_expire() {
    let mut settings = test_settings();
    settings.ceremony_ttl_seconds = 1;
    let app = TestApp::start_with(settings).await;
    let tenant = app.create_tenant("replay").await;
    let address = unique_email();
    let (mut device, _, _) = app.sign_up(&tenant, &address).await;

    let begun = app.begin_sign_in(&tenant, Some(&address)).await;
    let assertion = device.get(&begun.options, None);
    app.finish_sign_in(&tenant, &begun.ceremony_id, assertion.clone())
        .await
        .data();
    let replayed = app
        .finish_sign_in(&tenant, &begun.ceremony_id, assertion)
        .await;
    assert_eq!(replayed.error_code(), "BAD_USER_INPUT");
    assert!(replayed.error_message().starts_with("ceremonyId"));

    let begun = app.begin_sign_in(&tenant, Some(&address)).await;
    let assertion = device.get(&begun.options, None);
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    let expired = app
        .finish_sign_in(&tenant, &begun.ceremony_id, assertion)
        .await;
    assert_eq!(expired.error_code(), "BAD_USER_INPUT");
    assert!(expired.error_message().contains("expired"));

    // The same for registration.
    let begun = app
        .begin_registration(&tenant, None, app.sign_up_input(&tenant).await)
        .await;
    let credential = Device::new(&app).create(&begun.options);
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    let expired = app
        .finish_registration(&tenant, None, &begun.ceremony_id, credential)
        .await;
    assert_eq!(expired.error_code(), "BAD_USER_INPUT");
    assert!(rejections(&app, &tenant).await.len() >= 3);
    app.stop().await;
}

#[tokio::test]
async fn spoiled_registrations_are_refused() {
    let app = TestApp::start().await;
    let tenant = app.create_tenant("reg-reject").await;

    // Wrong origin at registration.
    let begun = app
        .begin_registration(&tenant, None, app.sign_up_input(&tenant).await)
        .await;
    let mut credential = Device::new(&app).create(&begun.options);
    set_origin(&mut credential, "https://evil.example");
    let response = app
        .finish_registration(&tenant, None, &begun.ceremony_id, credential)
        .await;
    assert_eq!(response.error_code(), "BAD_USER_INPUT");
    assert!(response.error_message().contains("origin"));

    // Without user verification (the authenticator was told it is optional).
    let begun = app
        .begin_registration(&tenant, None, app.sign_up_input(&tenant).await)
        .await;
    let mut options = begun.options.clone();
    options["publicKey"]["authenticatorSelection"]["userVerification"] = json!("discouraged");
    let credential = Device::new(&app).create(&options);
    let response = app
        .finish_registration(&tenant, None, &begun.ceremony_id, credential)
        .await;
    assert_eq!(response.error_code(), "BAD_USER_INPUT");
    assert!(
        response.error_message().contains("verification"),
        "{}",
        response.error_message()
    );

    // A response that is not a WebAuthn credential.
    let begun = app
        .begin_registration(&tenant, None, app.sign_up_input(&tenant).await)
        .await;
    let response = app
        .finish_registration(&tenant, None, &begun.ceremony_id, json!({ "id": "x" }))
        .await;
    assert_eq!(response.error_code(), "BAD_USER_INPUT");
    assert!(response.error_message().starts_with("credential"));

    // None of these created an identity.
    let identities = app
        .tenant(&tenant, "{ identities { totalCount } }", json!({}))
        .await;
    assert_eq!(identities.data()["identities"]["totalCount"], 0);
    app.stop().await;
}

#[tokio::test]
async fn revoked_passkeys_and_unknown_emails() {
    let app = TestApp::start().await;
    let tenant = app.create_tenant("revoked").await;
    let address = unique_email();
    let (mut device, credential_id, signed_in) = app.sign_up(&tenant, &address).await;

    // An unknown email gets options of the same shape: one (decoy) credential, stable per
    // email, so the answer does not tell whether an account exists.
    let unknown = format!("{}@example.com", unique("nobody"));
    let known_options = app.begin_sign_in(&tenant, Some(&address)).await.options;
    let unknown_options = app.begin_sign_in(&tenant, Some(&unknown)).await.options;
    let again = app.begin_sign_in(&tenant, Some(&unknown)).await.options;
    let keys = |o: &Value| {
        let mut keys: Vec<String> = o["publicKey"]
            .as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect();
        keys.sort();
        keys
    };
    assert_eq!(keys(&known_options), keys(&unknown_options));
    let decoy = &unknown_options["publicKey"]["allowCredentials"];
    assert_eq!(decoy.as_array().unwrap().len(), 1);
    assert_eq!(decoy, &again["publicKey"]["allowCredentials"]);
    assert_eq!(
        decoy[0]["id"].as_str().unwrap().len(),
        credential_id.len(),
        "decoy ids look like real ones"
    );

    // Revoke the passkey (the user's own call): it can no longer sign in.
    let passkeys = app
        .anonymous(
            &tenant,
            Some(&signed_in.access_token),
            "{ viewer { passkeys { nodes { id } } } }",
            json!({}),
        )
        .await;
    let passkey_id = passkeys.data()["viewer"]["passkeys"]["nodes"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let revoked = app
        .anonymous(
            &tenant,
            Some(&signed_in.access_token),
            "mutation($id: ID!) { revokePasskey(input: { id: $id }) { passkey { id } } }",
            json!({ "id": passkey_id }),
        )
        .await;
    revoked.data();
    let begun = app.begin_sign_in(&tenant, None).await;
    let assertion = device.get(&begun.options, Some(&credential_id));
    let refused = app
        .finish_sign_in(&tenant, &begun.ceremony_id, assertion)
        .await;
    assert_eq!(refused.error_code(), "FORBIDDEN");
    assert!(refused.error_message().contains("revoked"));
    assert!(
        rejections(&app, &tenant)
            .await
            .iter()
            .any(|r| r == "revoked passkey")
    );
    app.stop().await;
}

#[tokio::test]
async fn a_sign_in_started_for_an_account_takes_only_its_passkeys() {
    let app = TestApp::start().await;
    let tenant = app.create_tenant("allow").await;
    let ada = unique_email();
    let eve = unique_email();
    let (mut ada_device, ada_credential, ada_signed_up) = app.sign_up(&tenant, &ada).await;
    let (mut eve_device, eve_credential, eve_signed_up) = app.sign_up(&tenant, &eve).await;
    let eve_count = sign_count(&app, &tenant, &eve_signed_up.identity_id).await;

    // Ada's ceremony (and one for an address without an account, which lists a decoy),
    // answered by Eve's passkey: her client ignores `allowCredentials`.
    for email in [ada.clone(), unique_email()] {
        let begun = app.begin_sign_in(&tenant, Some(&email)).await;
        let mut options = begun.options.clone();
        options["publicKey"]["allowCredentials"] = json!([]);
        let assertion = eve_device.get(&options, Some(&eve_credential));
        let response = app
            .finish_sign_in(&tenant, &begun.ceremony_id, assertion)
            .await;
        assert_eq!(response.error_code(), "FORBIDDEN", "{}", response.body);
        assert!(
            response
                .error_message()
                .contains("not one of the account's"),
            "{}",
            response.error_message()
        );
    }
    assert_eq!(
        sign_count(&app, &tenant, &eve_signed_up.identity_id).await,
        eve_count
    );
    let reasons = rejections(&app, &tenant).await;
    assert_eq!(
        reasons
            .iter()
            .filter(|r| *r == "passkey not offered for this sign-in")
            .count(),
        2,
        "{reasons:?}"
    );

    // Each passkey still finishes the ceremonies started for its own account.
    let signed_in = app
        .sign_in(&tenant, &mut ada_device, Some(&ada), &ada_credential)
        .await;
    assert_eq!(signed_in.identity_id, ada_signed_up.identity_id);
    let signed_in = app
        .sign_in(&tenant, &mut eve_device, Some(&eve), &eve_credential)
        .await;
    assert_eq!(signed_in.identity_id, eve_signed_up.identity_id);
    app.stop().await;
}

#[tokio::test]
async fn a_discoverable_sign_in_needs_the_user_handle() {
    let app = TestApp::start().await;
    let tenant = app.create_tenant("handle").await;
    let address = unique_email();
    let (mut device, credential_id, signed_up) = app.sign_up(&tenant, &address).await;
    let count = sign_count(&app, &tenant, &signed_up.identity_id).await;

    // Without an email hint the user handle is what names the account: left out or null,
    // the assertion is refused.
    let drop_handle = |a: &mut Value| {
        a["response"].as_object_mut().unwrap().remove("userHandle");
    };
    let null_handle = |a: &mut Value| a["response"]["userHandle"] = Value::Null;
    for spoil in [&drop_handle as &dyn Fn(&mut Value), &null_handle] {
        let begun = app.begin_sign_in(&tenant, None).await;
        let mut assertion = device.get(&begun.options, Some(&credential_id));
        spoil(&mut assertion);
        let response = app
            .finish_sign_in(&tenant, &begun.ceremony_id, assertion)
            .await;
        assert_eq!(response.error_code(), "FORBIDDEN", "{}", response.body);
        assert!(
            response.error_message().contains("user handle"),
            "{}",
            response.error_message()
        );
    }
    assert_eq!(
        sign_count(&app, &tenant, &signed_up.identity_id).await,
        count
    );
    let reasons = rejections(&app, &tenant).await;
    assert_eq!(
        reasons
            .iter()
            .filter(|r| *r == "user handle missing in a discoverable sign-in")
            .count(),
        2,
        "{reasons:?}"
    );

    // With an email hint, the listed credential names the account and the handle may be
    // left out (WebAuthn §7.2); with the handle, the discoverable flow signs in.
    let begun = app.begin_sign_in(&tenant, Some(&address)).await;
    let mut assertion = device.get(&begun.options, None);
    drop_handle(&mut assertion);
    let response = app
        .finish_sign_in(&tenant, &begun.ceremony_id, assertion)
        .await;
    assert_eq!(
        response.data()["finishPasskeySignIn"]["identity"]["id"],
        signed_up.identity_id.as_str()
    );
    let signed_in = app
        .sign_in(&tenant, &mut device, None, &credential_id)
        .await;
    assert_eq!(signed_in.identity_id, signed_up.identity_id);
    app.stop().await;
}
