//! Per-tenant passkey and token settings, signing keys and their rotation, rate limits,
//! self sign-up, registration links, admin passkey management, and the public documents.

use latchkey_tests::passkey::{Device, claims, header};
use latchkey_tests::{TestApp, unique_email};
use serde_json::{Value, json};

const SETTINGS: &str = "mutation($input: UpdateTenantSettingsInput!) { updateTenantSettings(input: $input) { settings { rpId effectiveRpId effectiveOrigins userVerification selfSignUp accessTokenTtlSeconds signingAlgorithm primaryColor rateLimits { signInPerIp signInPerIdentity signUpPerIp } } } }";

async fn jwks(app: &TestApp, slug: &str) -> Value {
    app.client
        .get(format!("{}/t/{slug}/jwks.json", app.url))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

#[tokio::test]
async fn settings_are_validated_and_applied() {
    let app = TestApp::start().await;
    let tenant = app.create_tenant("settings").await;
    let defaults = app.tenant(&tenant, "{ tenant { settings { effectiveRpId effectiveOrigins userVerification selfSignUp accessTokenTtlSeconds signingAlgorithm } } }", json!({})).await;
    let settings = &defaults.data()["tenant"]["settings"];
    assert_eq!(settings["effectiveRpId"], "localhost");
    assert_eq!(settings["effectiveOrigins"], json!([app.public_url]));
    assert_eq!(settings["userVerification"], "REQUIRED");
    assert_eq!(settings["selfSignUp"], true);
    assert_eq!(settings["signingAlgorithm"], "ES256");

    for (input, field) in [
        (json!({ "rpId": "https://login.example.com" }), "rpId"),
        (
            json!({ "allowedOrigins": ["login.example.com"] }),
            "allowedOrigins",
        ),
        (
            json!({ "accessTokenTtlSeconds": 5 }),
            "accessTokenTtlSeconds",
        ),
        (json!({ "primaryColor": "red" }), "primaryColor"),
        (
            json!({ "rateLimits": { "signInPerIp": 0, "signInPerIdentity": 1, "signUpPerIp": 1 } }),
            "rateLimits.signInPerIp",
        ),
    ] {
        let response = app
            .tenant(&tenant, SETTINGS, json!({ "input": input }))
            .await;
        assert_eq!(response.error_code(), "BAD_USER_INPUT", "{input}");
        assert_eq!(response.body["errors"][0]["extensions"]["field"], field);
    }
    // A viewer key cannot change settings.
    let (_, viewer) = app.create_api_key(&tenant, &["VIEWER"]).await;
    let refused = app
        .as_key(
            &tenant,
            &viewer,
            SETTINGS,
            json!({ "input": { "selfSignUp": false } }),
        )
        .await;
    assert_eq!(refused.error_code(), "FORBIDDEN");

    let updated = app
        .tenant(&tenant, SETTINGS, json!({ "input": { "accessTokenTtlSeconds": 120, "primaryColor": "#112233", "selfSignUp": false } }))
        .await;
    let settings = &updated.data()["updateTenantSettings"]["settings"];
    assert_eq!(settings["accessTokenTtlSeconds"], 120);
    assert_eq!(settings["primaryColor"], "#112233");

    // Self sign-up off: refused with a clear error; the page config says so too.
    let refused = app
        .anonymous(
            &tenant,
            None,
            latchkey_tests::passkey::BEGIN_REGISTRATION,
            json!({ "input": { "email": unique_email() } }),
        )
        .await;
    assert_eq!(refused.error_code(), "FORBIDDEN");
    assert!(refused.error_message().contains("sign-up"));
    let config: Value = app
        .client
        .get(format!("{}/t/{}/config.json", app.url, tenant.slug))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        config,
        json!({
            "slug": tenant.slug,
            "name": format!("Tenant {}", tenant.slug),
            "primaryColor": "#112233",
            "defaultLocale": "en",
            "locales": ["de", "en", "es", "fr"],
            "selfSignUp": false,
            "requireVerifiedEmail": true,
            "recoveryRequiresApproval": false,
            "signInMethods": ["PASSKEY", "EMAIL_CODE"],
            "requireSecondFactor": false,
            "identityProviders": [],
            "enterpriseSso": false,
            "attributeSchema": [],
            "consentPurposes": [],
        })
    );

    // The account page learns the attributes end users may edit (only those, with what the
    // form needs) and the consent purposes; another tenant's page config shows none of them.
    let profile = app
        .tenant(
            &tenant,
            "mutation($input: UpdateTenantSettingsInput!) { updateTenantSettings(input: $input) { settings { attributeSchema { name } consentPurposes { key } } } }",
            json!({ "input": {
                "attributeSchema": [
                    { "name": "tier", "kind": "STRING", "userEditable": true, "allowedValues": ["free", "pro"], "label": "Plan" },
                    { "name": "nickname", "kind": "STRING", "userEditable": true, "maxLength": 20 },
                    { "name": "creditLimit", "kind": "NUMBER", "userEditable": false, "label": "Credit limit" },
                    { "name": "birthday", "kind": "DATE", "userEditable": true, "label": "Birthday" },
                ],
                "consentPurposes": [
                    { "key": "terms", "version": 3, "title": "Terms of service" },
                    { "key": "marketing", "version": 1, "title": "News by email" },
                ],
            } }),
        )
        .await;
    assert_eq!(
        profile.data()["updateTenantSettings"]["settings"]["attributeSchema"]
            .as_array()
            .unwrap()
            .len(),
        4
    );
    let page_config = |slug: String| {
        let request = app.client.get(format!("{}/t/{slug}/config.json", app.url));
        async move { request.send().await.unwrap().json::<Value>().await.unwrap() }
    };
    let config = page_config(tenant.slug.clone()).await;
    assert_eq!(
        config["attributeSchema"],
        json!([
            { "name": "tier", "kind": "STRING", "label": "Plan", "allowedValues": ["free", "pro"], "maxLength": null },
            { "name": "nickname", "kind": "STRING", "label": null, "allowedValues": [], "maxLength": 20 },
            { "name": "birthday", "kind": "DATE", "label": "Birthday", "allowedValues": [], "maxLength": null },
        ])
    );
    assert_eq!(
        config["consentPurposes"],
        json!([
            { "key": "terms", "version": 3, "title": "Terms of service" },
            { "key": "marketing", "version": 1, "title": "News by email" },
        ])
    );
    let other = app.create_tenant("settings-other").await;
    let config = page_config(other.slug.clone()).await;
    assert_eq!(config["attributeSchema"], json!([]));
    assert_eq!(config["consentPurposes"], json!([]));

    // Two updates in one request: the second starts from what the first stored.
    let both = app
        .tenant(
            &tenant,
            "mutation { a: updateTenantSettings(input: { selfSignUp: true }) { settings { selfSignUp } } b: updateTenantSettings(input: { primaryColor: \"#445566\" }) { settings { selfSignUp primaryColor } } }",
            json!({}),
        )
        .await;
    assert_eq!(both.data()["b"]["settings"]["selfSignUp"], true);
    assert_eq!(both.data()["b"]["settings"]["primaryColor"], "#445566");

    // Back on, tokens follow the new lifetime.
    app.tenant(
        &tenant,
        SETTINGS,
        json!({ "input": { "selfSignUp": true } }),
    )
    .await
    .data();
    let (_, _, signed_in) = app.sign_up(&tenant, &unique_email()).await;
    let token = claims(&signed_in.access_token);
    assert_eq!(
        token["exp"].as_i64().unwrap() - token["iat"].as_i64().unwrap(),
        120
    );

    // Origins that do not fit the RP id are refused when used, naming the setting.
    app.tenant(
        &tenant,
        SETTINGS,
        json!({ "input": { "rpId": "login.example.com" } }),
    )
    .await
    .data();
    let mismatch = app
        .anonymous(
            &tenant,
            None,
            latchkey_tests::passkey::BEGIN_SIGN_IN,
            json!({ "input": {} }),
        )
        .await;
    assert_eq!(mismatch.error_code(), "BAD_USER_INPUT");
    app.stop().await;
}

#[tokio::test]
async fn preferred_user_verification_accepts_authenticators_without_it() {
    let app = TestApp::start().await;
    let tenant = app.create_tenant("uv").await;
    app.tenant(
        &tenant,
        SETTINGS,
        json!({ "input": { "userVerification": "PREFERRED" } }),
    )
    .await
    .data();
    let begun = app
        .begin_registration(&tenant, None, app.sign_up_input(&tenant).await)
        .await;
    assert_eq!(
        begun.options["publicKey"]["authenticatorSelection"]["userVerification"],
        "preferred"
    );
    // An authenticator that cannot verify the user.
    let mut device = Device::new(&app);
    device.authenticator = webauthn_authenticator_rs::softpasskey::SoftPasskey::new(false);
    let mut options = begun.options.clone();
    options["publicKey"]["authenticatorSelection"]["userVerification"] = json!("discouraged");
    let credential = device.create(&options);
    let response = app
        .finish_registration(&tenant, None, &begun.ceremony_id, credential)
        .await;
    assert!(response.data()["finishPasskeyRegistration"]["accessToken"].is_string());
    app.stop().await;
}

#[tokio::test]
async fn signing_keys_rotate_without_breaking_tokens() {
    let app = TestApp::start().await;
    let tenant = app.create_tenant("keys").await;
    let (mut device, credential_id, before) = app.sign_up(&tenant, &unique_email()).await;
    let set = jwks(&app, &tenant.slug).await;
    assert_eq!(set["keys"].as_array().unwrap().len(), 2, "current and next");
    let kid_before = header(&before.access_token)["kid"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        set["keys"]
            .as_array()
            .unwrap()
            .iter()
            .any(|k| k["kid"] == kid_before.as_str())
    );
    for key in set["keys"].as_array().unwrap() {
        assert!(key.get("d").is_none(), "no private part is published");
        assert_eq!(key["use"], "sig");
    }

    let rotated = app
        .tenant(
            &tenant,
            "mutation { rotateSigningKey(input: {}) { signingKeys { id status algorithm } } }",
            json!({}),
        )
        .await;
    let keys = rotated.data()["rotateSigningKey"]["signingKeys"]
        .as_array()
        .unwrap()
        .clone();
    let status_of = |kid: &str| keys.iter().find(|k| k["id"] == kid).unwrap()["status"].clone();
    assert_eq!(status_of(&kid_before), "retired");
    assert_eq!(keys.iter().filter(|k| k["status"] == "current").count(), 1);
    assert_eq!(
        jwks(&app, &tenant.slug).await["keys"]
            .as_array()
            .unwrap()
            .len(),
        3
    );

    // The old token still works; new tokens carry the new key.
    let old = app
        .anonymous(
            &tenant,
            Some(&before.access_token),
            "{ viewer { kind } }",
            json!({}),
        )
        .await;
    assert_eq!(old.data()["viewer"]["kind"], "IDENTITY");
    let after = app
        .sign_in(&tenant, &mut device, None, &credential_id)
        .await;
    let kid_after = header(&after.access_token)["kid"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_ne!(kid_after, kid_before);
    assert_eq!(status_of(&kid_after), "current");

    // EdDSA: switching the algorithm rotates to an Ed25519 key at once.
    app.tenant(
        &tenant,
        SETTINGS,
        json!({ "input": { "signingAlgorithm": "EDDSA" } }),
    )
    .await
    .data();
    let ed = app
        .sign_in(&tenant, &mut device, None, &credential_id)
        .await;
    assert_eq!(header(&ed.access_token)["alg"], "EdDSA");
    let set = jwks(&app, &tenant.slug).await;
    assert!(
        set["keys"]
            .as_array()
            .unwrap()
            .iter()
            .any(|k| k["kty"] == "OKP" && k["crv"] == "Ed25519")
    );
    for token in [&before.access_token, &after.access_token, &ed.access_token] {
        let response = app
            .anonymous(&tenant, Some(token), "{ viewer { kind } }", json!({}))
            .await;
        assert_eq!(response.data()["viewer"]["kind"], "IDENTITY");
    }
    // A token signed by another tenant's key is refused even with a known kid format.
    let other = app.create_tenant("keys-other").await;
    let crossed = app
        .anonymous(
            &other,
            Some(&ed.access_token),
            "{ viewer { kind } }",
            json!({}),
        )
        .await;
    assert_eq!(crossed.status, 401);
    app.stop().await;
}

#[tokio::test]
async fn rate_limits_answer_rate_limited_with_a_retry_hint() {
    let app = TestApp::start().await;
    let tenant = app.create_tenant("rate").await;
    app.tenant(&tenant, SETTINGS, json!({ "input": { "rateLimits": { "signInPerIp": 100, "signInPerIdentity": 2, "signUpPerIp": 2 } } })).await.data();
    let address = unique_email();
    for _ in 0..2 {
        app.begin_sign_in(&tenant, Some(&address)).await;
    }
    let limited = app
        .anonymous(
            &tenant,
            None,
            latchkey_tests::passkey::BEGIN_SIGN_IN,
            json!({ "input": { "email": address } }),
        )
        .await;
    assert_eq!(limited.status, 429);
    assert_eq!(limited.error_code(), "RATE_LIMITED");
    assert!(
        limited.body["errors"][0]["extensions"]["retryAfter"]
            .as_u64()
            .unwrap()
            > 0
    );
    // Another email is not limited by this one.
    app.begin_sign_in(&tenant, Some(&unique_email())).await;

    for _ in 0..2 {
        app.begin_registration(&tenant, None, app.sign_up_input(&tenant).await)
            .await;
    }
    let limited = app
        .anonymous(
            &tenant,
            None,
            latchkey_tests::passkey::BEGIN_REGISTRATION,
            json!({ "input": app.sign_up_input(&tenant).await }),
        )
        .await;
    assert_eq!(limited.error_code(), "RATE_LIMITED");
    // Limits are per tenant: another tenant is unaffected.
    let other = app.create_tenant("rate-other").await;
    app.begin_registration(&other, None, app.sign_up_input(&other).await)
        .await;
    app.stop().await;
}

#[tokio::test]
async fn registration_links_recover_an_account_once() {
    let app = TestApp::start().await;
    let tenant = app.create_tenant("recover").await;
    let address = unique_email();
    let (_, _, signed_in) = app.sign_up(&tenant, &address).await;
    let link = app
        .tenant(&tenant, "mutation($id: ID!) { createRegistrationLink(input: { identityId: $id, expiresInSeconds: 3600 }) { url token expiresAt } }", json!({ "id": signed_in.identity_id }))
        .await;
    let link = link.data()["createRegistrationLink"].clone();
    let token = link["token"].as_str().unwrap();
    assert!(
        link["url"]
            .as_str()
            .unwrap()
            .ends_with(&format!("/t/{}/?registration={token}", tenant.slug))
    );

    // The user lost the device: a new one registers through the link and is signed in.
    let mut new_device = Device::new(&app);
    let begun = app
        .begin_registration(&tenant, None, json!({ "registrationToken": token }))
        .await;
    let credential = new_device.create(&begun.options);
    let new_id = credential["id"].as_str().unwrap().to_owned();
    let finished = app
        .finish_registration(&tenant, None, &begun.ceremony_id, credential)
        .await;
    let payload = &finished.data()["finishPasskeyRegistration"];
    assert_eq!(payload["identity"]["id"], signed_in.identity_id.as_str());
    assert!(payload["accessToken"].is_string());
    app.sign_in(&tenant, &mut new_device, Some(&address), &new_id)
        .await;

    // Single use.
    let again = app
        .anonymous(
            &tenant,
            None,
            latchkey_tests::passkey::BEGIN_REGISTRATION,
            json!({ "input": { "registrationToken": token } }),
        )
        .await;
    assert_eq!(again.error_code(), "BAD_USER_INPUT");
    assert!(again.error_message().contains("already used"));
    let bad_ttl = app
        .tenant(&tenant, "mutation($id: ID!) { createRegistrationLink(input: { identityId: $id, expiresInSeconds: 10 }) { token } }", json!({ "id": signed_in.identity_id }))
        .await;
    assert_eq!(bad_ttl.error_code(), "BAD_USER_INPUT");

    // Admins list and revoke an identity's passkeys.
    let listed = app
        .tenant(
            &tenant,
            "query($id: ID!) { passkeys(identityId: $id) { totalCount nodes { id } } }",
            json!({ "id": signed_in.identity_id }),
        )
        .await;
    assert_eq!(listed.data()["passkeys"]["totalCount"], 2);
    let first = listed.data()["passkeys"]["nodes"][0]["id"].clone();
    app.tenant(
        &tenant,
        "mutation($id: ID!) { revokePasskey(input: { id: $id }) { passkey { id } } }",
        json!({ "id": first }),
    )
    .await
    .data();
    let listed = app
        .tenant(
            &tenant,
            "query($id: ID!) { passkeys(identityId: $id) { totalCount } }",
            json!({ "id": signed_in.identity_id }),
        )
        .await;
    assert_eq!(listed.data()["passkeys"]["totalCount"], 1);
    app.stop().await;
}

#[tokio::test]
async fn pages_and_public_documents() {
    let app = TestApp::start().await;
    let tenant = app.create_tenant("pages").await;
    let get = |path: String| {
        let client = app.client.clone();
        let url = format!("{}{path}", app.url);
        async move { client.get(url).send().await.unwrap() }
    };
    let page = get(format!("/t/{}/", tenant.slug)).await;
    assert_eq!(page.status(), 200);
    assert!(
        page.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("default-src 'self'")
    );
    assert!(
        page.text()
            .await
            .unwrap()
            .contains("autocomplete=\"username webauthn\"")
    );
    assert_eq!(
        get(format!("/t/{}/account", tenant.slug)).await.status(),
        200
    );
    let script = get(format!("/t/{}/assets/app.js", tenant.slug)).await;
    assert_eq!(
        script.headers()["content-type"],
        "text/javascript; charset=utf-8"
    );
    assert_eq!(
        get(format!("/t/{}/assets/../Cargo.toml", tenant.slug))
            .await
            .status(),
        404
    );
    assert_eq!(
        get(format!("/t/{}/assets/nothing.js", tenant.slug))
            .await
            .status(),
        404
    );
    // The pages' catalogs: one per language, the same for every tenant.
    let catalog = get(format!("/t/{}/locales/de.json", tenant.slug)).await;
    assert_eq!(catalog.status(), 200);
    assert_eq!(
        catalog.headers()["content-type"],
        "application/json; charset=utf-8"
    );
    assert_eq!(catalog.headers()["cache-control"], "no-cache");
    let german: Value = catalog.json().await.unwrap();
    assert_eq!(german["signin.title"], "Anmelden");
    for missing in ["it.json", "de", "../en.json"] {
        assert_eq!(
            get(format!("/t/{}/locales/{missing}", tenant.slug))
                .await
                .status(),
            404,
            "{missing}"
        );
    }
    assert_eq!(get("/t/no-such-tenant/".into()).await.status(), 404);
    assert_eq!(
        get("/t/no-such-tenant/jwks.json".into()).await.status(),
        404
    );
    let redirect = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let response = redirect
        .get(format!("{}/t/{}", app.url, tenant.slug))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 308);
    assert_eq!(
        response.headers()["location"],
        format!("/t/{}/", tenant.slug).as_str()
    );
    app.stop().await;
}
