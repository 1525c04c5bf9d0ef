//! The rules of the OpenID Connect provider, over raw HTTP: exact redirect URIs, PKCE (S256
//! only, no downgrade), single-use codes whose replay revokes, no implicit or password grants,
//! client authentication, token forgeries, forced re-authentication, logout, the admin API for
//! applications, and tenant isolation of all of it.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use latchkey_sdk::{Verifier, VerifyError};
use latchkey_tests::oidc::{Browser, Pkce, RegisteredApp, param};
use latchkey_tests::passkey::{Device, claims, header};
use latchkey_tests::{TestApp, TestTenant, unique_email};
use reqwest::StatusCode;
use serde_json::{Value, json};

const CALLBACK: &str = "https://rp.example/cb";

/// A browser signed in to `tenant` (it holds the provider's cookie) and its passkey device.
async fn signed_in(app: &TestApp, tenant: &TestTenant) -> (Browser, Device, String) {
    let (device, credential_id, tokens) = app.sign_up(tenant, &unique_email()).await;
    let mut browser = Browser::new();
    browser
        .establish_session(app, tenant, &tokens.access_token)
        .await;
    (browser, device, credential_id)
}

/// An authorization request with this file's scope, state and nonce, plus `extra`.
fn authorize_url(
    app: &TestApp,
    tenant: &TestTenant,
    client_id: &str,
    redirect_uri: &str,
    extra: &[(&str, &str)],
) -> String {
    let mut params = vec![
        ("scope", "openid email offline_access"),
        ("state", "st-1"),
        ("nonce", "n-1"),
    ];
    params.extend_from_slice(extra);
    app.authorize_url(tenant, client_id, redirect_uri, &params)
}

/// Authorizes with a signed-in browser and returns the code.
async fn code(
    browser: &Browser,
    app: &TestApp,
    tenant: &TestTenant,
    client_id: &str,
    pkce: Option<&Pkce>,
) -> String {
    let mut extra = vec![];
    if let Some(pkce) = pkce {
        extra = vec![
            ("code_challenge", pkce.challenge.as_str()),
            ("code_challenge_method", "S256"),
        ];
    }
    let (status, location, body) = browser
        .get(&authorize_url(app, tenant, client_id, CALLBACK, &extra))
        .await;
    assert_eq!(status, StatusCode::FOUND, "{body}");
    let callback = url::Url::parse(&location.unwrap()).unwrap();
    param(&callback, "code").unwrap_or_else(|| panic!("no code in {callback}"))
}

async fn exchange(
    app: &TestApp,
    tenant: &TestTenant,
    client: &RegisteredApp,
    code: &str,
    verifier: Option<&str>,
) -> (StatusCode, Value) {
    let mut form = vec![
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", CALLBACK),
    ];
    if let Some(verifier) = verifier {
        form.push(("code_verifier", verifier));
    }
    let basic = client
        .client_secret
        .as_deref()
        .map(|s| (client.client_id.as_str(), s));
    if basic.is_none() {
        form.push(("client_id", &client.client_id));
    }
    app.oauth_post(tenant, "token", basic, &form).await
}

async fn userinfo(app: &TestApp, tenant: &TestTenant, token: &str) -> StatusCode {
    app.client
        .get(app.oauth_url(tenant, "userinfo"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .status()
}

/// The redirect back to the client carrying an error, with `state` and `iss`.
async fn error_redirect(
    app: &TestApp,
    tenant: &TestTenant,
    browser: &Browser,
    url: &str,
) -> String {
    let (status, location, body) = browser.get(url).await;
    assert_eq!(status, StatusCode::FOUND, "{body}");
    let callback = url::Url::parse(&location.unwrap()).unwrap();
    assert!(callback.as_str().starts_with(CALLBACK), "{callback}");
    assert_eq!(param(&callback, "state").as_deref(), Some("st-1"));
    assert_eq!(param(&callback, "iss"), Some(app.issuer(tenant)));
    assert_eq!(param(&callback, "code"), None);
    param(&callback, "error").unwrap()
}

#[tokio::test]
async fn redirect_uris_are_compared_exactly_and_never_redirected_to_on_error() {
    let app = TestApp::start().await;
    let tenant = app.create_tenant("redir").await;
    let web = app
        .create_application(&tenant, "WEB", &[CALLBACK], json!({}))
        .await;
    let browser = Browser::new();
    for near_miss in [
        "https://rp.example/cb/",
        "https://RP.example/cb",
        "https://rp.example/CB",
        "https://rp.example/cb?x=1",
        "https://rp.example/cb#f",
        "https://rp.example:443/cb",
        "https://rp.example/cb/..;/x",
        "https://rp.example/x/../cb",
        "https://rp.example@evil.example/cb",
        "https://rp.example.evil.example/cb",
        "https://evil.example/cb",
        "https://*.example/cb",
        "http://rp.example/cb",
    ] {
        let (status, location, body) = browser
            .get(&authorize_url(
                &app,
                &tenant,
                &web.client_id,
                near_miss,
                &[],
            ))
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{near_miss} accepted");
        assert_eq!(location, None, "no redirect for {near_miss}");
        assert!(body.contains("redirect_uri"), "{body}");
    }
    let (status, location, _) = browser
        .get(&authorize_url(&app, &tenant, "lkc_nobody", CALLBACK, &[]))
        .await;
    assert_eq!((status, location), (StatusCode::BAD_REQUEST, None));

    // Registration refuses what could never match safely.
    for (app_type, uri) in [
        ("WEB", "http://rp.example/cb"),
        ("WEB", "https://*.rp.example/cb"),
        ("SPA", "https://rp.example/cb#frag"),
        ("WEB", "https://user@rp.example/cb"),
        ("NATIVE", "http://localhost/cb"),
        ("WEB", "com.example.app:/cb"),
    ] {
        let response = app
            .tenant(
                &tenant,
                "mutation($input: CreateApplicationInput!) { createApplication(input: $input) { application { id } } }",
                json!({ "input": { "name": "x", "type": app_type, "redirectUris": [uri] } }),
            )
            .await;
        assert_eq!(response.error_code(), "BAD_USER_INPUT", "{app_type} {uri}");
        assert_eq!(
            response.body["errors"][0]["extensions"]["field"],
            "redirectUris"
        );
    }

    // Native apps: loopback IPs over http, any port (RFC 8252 §7.3), and private schemes.
    let native = app
        .create_application(
            &tenant,
            "NATIVE",
            &["http://127.0.0.1/callback", "com.example.app:/oauth"],
            json!({}),
        )
        .await;
    let pkce = Pkce::new();
    let (mut browser, mut device, credential_id) = signed_in(&app, &tenant).await;
    let url = authorize_url(
        &app,
        &tenant,
        &native.client_id,
        "http://127.0.0.1:53124/callback",
        &[
            ("code_challenge", &pkce.challenge),
            ("code_challenge_method", "S256"),
        ],
    );
    let callback = browser
        .authorize(&app, &tenant, &mut device, &credential_id, &url)
        .await;
    assert_eq!(callback.port(), Some(53124));
    assert!(param(&callback, "code").is_some());
}

#[tokio::test]
async fn pkce_is_required_for_public_clients_s256_only_and_cannot_be_downgraded() {
    let app = TestApp::start().await;
    let tenant = app.create_tenant("pkce").await;
    let spa = app
        .create_application(&tenant, "SPA", &[CALLBACK], json!({}))
        .await;
    let web = app
        .create_application(&tenant, "WEB", &[CALLBACK], json!({}))
        .await;
    let (browser, _device, _) = signed_in(&app, &tenant).await;
    let pkce = Pkce::new();

    let missing = authorize_url(&app, &tenant, &spa.client_id, CALLBACK, &[]);
    assert_eq!(
        error_redirect(&app, &tenant, &browser, &missing).await,
        "invalid_request"
    );
    let plain = authorize_url(
        &app,
        &tenant,
        &spa.client_id,
        CALLBACK,
        &[
            ("code_challenge", &pkce.verifier),
            ("code_challenge_method", "plain"),
        ],
    );
    assert_eq!(
        error_redirect(&app, &tenant, &browser, &plain).await,
        "invalid_request"
    );
    let no_method = authorize_url(
        &app,
        &tenant,
        &spa.client_id,
        CALLBACK,
        &[("code_challenge", &pkce.challenge)],
    );
    assert_eq!(
        error_redirect(&app, &tenant, &browser, &no_method).await,
        "invalid_request"
    );

    // A public client's code needs its verifier, and the right one.
    let code_value = code(&browser, &app, &tenant, &spa.client_id, Some(&pkce)).await;
    let (status, body) = exchange(&app, &tenant, &spa, &code_value, None).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_grant"))
    );
    let code_value = code(&browser, &app, &tenant, &spa.client_id, Some(&pkce)).await;
    let (status, body) = exchange(
        &app,
        &tenant,
        &spa,
        &code_value,
        Some(&Pkce::new().verifier),
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_grant"))
    );
    let code_value = code(&browser, &app, &tenant, &spa.client_id, Some(&pkce)).await;
    let (status, body) = exchange(&app, &tenant, &spa, &code_value, Some(&pkce.verifier)).await;
    assert_eq!(status, StatusCode::OK, "{body}");

    // Downgrade: no challenge at authorize, then a verifier at the token endpoint.
    let code_value = code(&browser, &app, &tenant, &web.client_id, None).await;
    let (status, body) = exchange(&app, &tenant, &web, &code_value, Some(&pkce.verifier)).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_grant"))
    );
    // A confidential client without PKCE still works.
    let code_value = code(&browser, &app, &tenant, &web.client_id, None).await;
    let (status, _) = exchange(&app, &tenant, &web, &code_value, None).await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn codes_are_single_use_bound_to_client_and_redirect_and_a_replay_revokes() {
    let app = TestApp::start().await;
    let tenant = app.create_tenant("codes").await;
    let web = app
        .create_application(&tenant, "WEB", &[CALLBACK], json!({}))
        .await;
    let other = app
        .create_application(&tenant, "WEB", &[CALLBACK], json!({}))
        .await;
    let (browser, _device, _) = signed_in(&app, &tenant).await;

    let first = code(&browser, &app, &tenant, &web.client_id, None).await;
    let (status, tokens) = exchange(&app, &tenant, &web, &first, None).await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    let access = tokens["access_token"].as_str().unwrap();
    let refresh = tokens["refresh_token"].as_str().unwrap();
    assert_eq!(userinfo(&app, &tenant, access).await, StatusCode::OK);

    let (status, body) = exchange(&app, &tenant, &web, &first, None).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_grant"))
    );
    assert_eq!(
        userinfo(&app, &tenant, access).await,
        StatusCode::UNAUTHORIZED,
        "tokens from a replayed code are revoked"
    );
    let (status, body) = app
        .oauth_post(
            &tenant,
            "token",
            Some((&web.client_id, web.client_secret.as_deref().unwrap())),
            &[("grant_type", "refresh_token"), ("refresh_token", refresh)],
        )
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_grant"))
    );

    // A code is for the client it was issued to, and for the same redirect URI.
    let stolen = code(&browser, &app, &tenant, &web.client_id, None).await;
    let (_, body) = exchange(&app, &tenant, &other, &stolen, None).await;
    assert_eq!(body["error"], "invalid_grant");
    let fresh = code(&browser, &app, &tenant, &web.client_id, None).await;
    let (_, body) = app
        .oauth_post(
            &tenant,
            "token",
            Some((&web.client_id, web.client_secret.as_deref().unwrap())),
            &[
                ("grant_type", "authorization_code"),
                ("code", &fresh),
                ("redirect_uri", "https://rp.example/other"),
            ],
        )
        .await;
    assert_eq!(body["error"], "invalid_grant");
    let (_, body) = exchange(&app, &tenant, &web, "lkac_made_up", None).await;
    assert_eq!(body["error"], "invalid_grant");
}

#[tokio::test]
async fn no_implicit_or_password_grants_and_clear_oauth_errors() {
    let app = TestApp::start().await;
    let tenant = app.create_tenant("grants").await;
    let web = app
        .create_application(&tenant, "WEB", &[CALLBACK], json!({}))
        .await;
    let secret = web.client_secret.clone().unwrap();
    let machine = app
        .create_application(&tenant, "MACHINE", &[], json!({ "scopes": ["api"] }))
        .await;
    let (browser, _device, _) = signed_in(&app, &tenant).await;

    for response_type in ["token", "id_token", "code id_token", "code token"] {
        let mut url = authorize_url(&app, &tenant, &web.client_id, CALLBACK, &[]);
        url = url.replace(
            "response_type=code",
            &format!("response_type={}", response_type.replace(' ', "+")),
        );
        assert_eq!(
            error_redirect(&app, &tenant, &browser, &url).await,
            "unsupported_response_type",
            "{response_type}"
        );
    }
    let scope = authorize_url(&app, &tenant, &web.client_id, CALLBACK, &[])
        .replace("offline_access", "admin");
    assert_eq!(
        error_redirect(&app, &tenant, &browser, &scope).await,
        "invalid_scope"
    );
    let repeated = format!(
        "{}&state=again",
        authorize_url(&app, &tenant, &web.client_id, CALLBACK, &[])
    );
    let (status, location, _) = browser.get(&repeated).await;
    assert_eq!((status, location), (StatusCode::BAD_REQUEST, None));

    let basic = Some((web.client_id.as_str(), secret.as_str()));
    let (status, body) = app
        .oauth_post(
            &tenant,
            "token",
            basic,
            &[
                ("grant_type", "password"),
                ("username", "a"),
                ("password", "b"),
            ],
        )
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("unsupported_grant_type"))
    );
    let (status, body) = app
        .oauth_post(
            &tenant,
            "token",
            basic,
            &[("grant_type", "client_credentials")],
        )
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("unauthorized_client"))
    );
    let (status, body) = app.oauth_post(&tenant, "token", basic, &[]).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_request"))
    );

    // Client authentication.
    let response = app
        .client
        .post(app.oauth_url(&tenant, "token"))
        .basic_auth(&web.client_id, Some("lkcs_wrong"))
        .form(&[("grant_type", "authorization_code"), ("code", "x")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert!(
        response.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .starts_with("Basic")
    );
    assert_eq!(
        response.json::<Value>().await.unwrap()["error"],
        "invalid_client"
    );
    let (status, body) = app
        .oauth_post(
            &tenant,
            "token",
            None,
            &[
                ("grant_type", "client_credentials"),
                ("client_id", &machine.client_id),
                ("client_secret", "lkcs_wrong"),
            ],
        )
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("invalid_client"))
    );
    let (status, body) = app
        .oauth_post(
            &tenant,
            "token",
            basic,
            &[
                ("grant_type", "client_credentials"),
                ("client_secret", &secret),
            ],
        )
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_request")),
        "two methods at once"
    );
    let (status, _) = app
        .oauth_post(
            &tenant,
            "token",
            None,
            &[("grant_type", "client_credentials")],
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    // Rotating the secret: the old one stops working, the new one works.
    let new_secret = app
        .sdk(&tenant)
        .rotate_application_secret(&machine.id)
        .await
        .unwrap();
    let machine_secret = machine.client_secret.as_deref().unwrap();
    let (status, _) = app
        .oauth_post(
            &tenant,
            "token",
            Some((&machine.client_id, machine_secret)),
            &[("grant_type", "client_credentials")],
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, body) = app
        .oauth_post(
            &tenant,
            "token",
            Some((&machine.client_id, &new_secret)),
            &[("grant_type", "client_credentials")],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["token_type"], "Bearer");
}

#[tokio::test]
async fn forged_tokens_are_refused_by_introspection_userinfo_and_the_api() {
    let app = TestApp::start().await;
    let tenant = app.create_tenant("forge").await;
    let machine = app
        .create_application(&tenant, "MACHINE", &[], json!({}))
        .await;
    let auth = (
        machine.client_id.as_str(),
        machine.client_secret.as_deref().unwrap(),
    );
    let (_, _, signed_up) = app.sign_up(&tenant, &unique_email()).await;
    let genuine = &signed_up.access_token;
    let (_, issued) = app
        .oauth_post(
            &tenant,
            "token",
            Some(auth),
            &[("grant_type", "client_credentials")],
        )
        .await;
    let machine_token = issued["access_token"].as_str().unwrap();
    let jwks: Value = app
        .client
        .get(format!("{}/t/{}/jwks.json", app.url, tenant.slug))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let public = serde_json::to_vec(&jwks["keys"][0]).unwrap();
    let attacker = aws_lc_rs::signature::EcdsaKeyPair::generate_pkcs8(
        &aws_lc_rs::signature::ECDSA_P256_SHA256_FIXED_SIGNING,
        &aws_lc_rs::rand::SystemRandom::new(),
    )
    .unwrap();
    // Forgeries of `token`'s claims: unsigned, "signed" with the public key, and signed by an
    // attacker's key that the header points to or carries.
    let forge = |token: &str| -> Vec<String> {
        let kid = header(token)["kid"].as_str().unwrap().to_owned();
        let claims = claims(token);
        let none = format!(
            "{}.{}.",
            URL_SAFE_NO_PAD.encode(json!({ "alg": "none", "typ": "JWT", "kid": kid }).to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let mut hs = Header::new(Algorithm::HS256);
        hs.kid = Some(kid.clone());
        let hmac = jsonwebtoken::encode(&hs, &claims, &EncodingKey::from_secret(&public).unwrap())
            .unwrap();
        // Keys named by the token itself (jku, RFC 7515 x5u, x5c, jwk) are never looked at.
        let attacker_signed = |edit: &dyn Fn(&mut Header)| {
            let mut header = Header::new(Algorithm::ES256);
            header.kid = Some(kid.clone());
            edit(&mut header);
            jsonwebtoken::encode(
                &header,
                &claims,
                &EncodingKey::from_ec_der(attacker.as_ref()),
            )
            .unwrap()
        };
        let jku = attacker_signed(&|h| h.jku = Some("https://attacker.example/jwks.json".into()));
        let x5u = attacker_signed(&|h| h.x5u = Some("https://attacker.example/cert.pem".into()));
        let x5c = attacker_signed(&|h| h.x5c = Some(vec!["MIIBattacker".into()]));
        let jwk = attacker_signed(&|h| {
            h.jwk = Some(serde_json::from_value(jwks["keys"][0].clone()).unwrap())
        });
        vec![none, hmac, jku, x5u, x5c, jwk]
    };

    assert_eq!(
        app.anonymous(&tenant, Some(genuine), "{ viewer { kind } }", json!({}))
            .await
            .data()["viewer"]["kind"],
        "IDENTITY"
    );
    for forged in forge(genuine) {
        assert_eq!(
            userinfo(&app, &tenant, &forged).await,
            StatusCode::UNAUTHORIZED
        );
        let viewer = app
            .anonymous(&tenant, Some(&forged), "{ viewer { kind } }", json!({}))
            .await;
        assert_eq!(viewer.error_code(), "UNAUTHENTICATED", "{forged}");
    }
    // Introspection by the client the genuine token was issued to.
    let (_, body) = app
        .oauth_post(
            &tenant,
            "introspect",
            Some(auth),
            &[("token", machine_token)],
        )
        .await;
    assert_eq!(body["active"], true, "{body}");
    for forged in forge(machine_token) {
        let (status, body) = app
            .oauth_post(&tenant, "introspect", Some(auth), &[("token", &forged)])
            .await;
        assert_eq!(
            (status, body["active"].as_bool()),
            (StatusCode::OK, Some(false)),
            "{forged}"
        );
    }
    // Introspection is for confidential clients.
    let spa = app
        .create_application(&tenant, "SPA", &[CALLBACK], json!({}))
        .await;
    let (status, body) = app
        .oauth_post(
            &tenant,
            "introspect",
            None,
            &[("token", genuine), ("client_id", &spa.client_id)],
        )
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("invalid_client"))
    );
}

#[tokio::test]
async fn prompt_login_and_max_age_force_a_new_sign_in() {
    let app = TestApp::start().await;
    let tenant = app.create_tenant("fresh").await;
    let web = app
        .create_application(&tenant, "WEB", &[CALLBACK], json!({}))
        .await;
    let (mut browser, mut device, credential_id) = signed_in(&app, &tenant).await;

    let first = code(&browser, &app, &tenant, &web.client_id, None).await;
    let (_, tokens) = exchange(&app, &tenant, &web, &first, None).await;
    let first_auth_time = claims(tokens["id_token"].as_str().unwrap())["auth_time"]
        .as_i64()
        .unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;

    for extra in [[("prompt", "login")], [("max_age", "0")]] {
        let url = authorize_url(
            &app,
            &tenant,
            &web.client_id,
            CALLBACK,
            &[
                extra[0],
                ("login_hint", "who@example.com"),
                ("ui_locales", "de-AT fr"),
            ],
        );
        let (status, location, _) = browser.get(&url).await;
        assert_eq!(
            status,
            StatusCode::SEE_OTHER,
            "{extra:?} must sign in again"
        );
        let location = location.unwrap();
        assert!(
            location.contains("login_hint=who%40example.com"),
            "{location}"
        );
        // The page's language: the application's choice, passed on.
        assert!(location.contains("ui_locales=de-AT+fr"), "{location}");
    }
    let url = authorize_url(
        &app,
        &tenant,
        &web.client_id,
        CALLBACK,
        &[("prompt", "login")],
    );
    let callback = browser
        .authorize(&app, &tenant, &mut device, &credential_id, &url)
        .await;
    let (_, tokens) = exchange(
        &app,
        &tenant,
        &web,
        &param(&callback, "code").unwrap(),
        None,
    )
    .await;
    let id = claims(tokens["id_token"].as_str().unwrap());
    assert!(id["auth_time"].as_i64().unwrap() > first_auth_time, "{id}");
    assert_eq!(id["nonce"], "n-1");

    // prompt=none with a session that is too old: login_required, never a page.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let url = authorize_url(
        &app,
        &tenant,
        &web.client_id,
        CALLBACK,
        &[("prompt", "none"), ("max_age", "0")],
    );
    assert_eq!(
        error_redirect(&app, &tenant, &browser, &url).await,
        "login_required"
    );
}

#[tokio::test]
async fn logout_needs_a_hint_or_confirmation_and_registered_uris() {
    let app = TestApp::start().await;
    let tenant = app.create_tenant("logout").await;
    let web = app
        .create_application(
            &tenant,
            "WEB",
            &[CALLBACK],
            json!({ "postLogoutRedirectUris": ["https://rp.example/bye"] }),
        )
        .await;
    let (browser, _device, _) = signed_in(&app, &tenant).await;
    let logout = app.oauth_url(&tenant, "logout");

    // Without id_token_hint the user confirms; the page posts back to the same origin.
    let (status, _, body) = browser
        .get(&format!(
            "{logout}?client_id={}&post_logout_redirect_uri=https%3A%2F%2Frp.example%2Fbye",
            web.client_id
        ))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        body.contains("method=\"post\"") && body.contains("name=\"confirm\""),
        "{body}"
    );
    // The session is still there.
    code(&browser, &app, &tenant, &web.client_id, None).await;

    // An unregistered post-logout URI is refused, with no redirect.
    let first = code(&browser, &app, &tenant, &web.client_id, None).await;
    let (_, tokens) = exchange(&app, &tenant, &web, &first, None).await;
    let id_token = tokens["id_token"].as_str().unwrap();
    let (status, location, _) = browser
        .get(&format!("{logout}?id_token_hint={id_token}&post_logout_redirect_uri=https%3A%2F%2Fevil.example%2F"))
        .await;
    assert_eq!((status, location), (StatusCode::BAD_REQUEST, None));

    // A forged confirmation from another site arrives without the cookie (SameSite=Lax): it
    // ends nothing and does not clear this browser's cookie either.
    let forged = browser
        .client
        .post(&logout)
        .form(&[("confirm", "yes")])
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), StatusCode::SEE_OTHER);
    assert!(forged.headers().get("set-cookie").is_none());
    code(&browser, &app, &tenant, &web.client_id, None).await;

    // The confirmed POST signs out: the application's tokens die with the browser session.
    let mut request = browser.client.post(&logout).form(&[
        ("confirm", "yes"),
        ("client_id", web.client_id.as_str()),
        ("post_logout_redirect_uri", "https://rp.example/bye"),
        ("state", "s"),
    ]);
    request = request.header("cookie", browser.cookie.clone().unwrap());
    let response = request.send().await.unwrap();
    assert_eq!(response.status(), StatusCode::FOUND);
    assert_eq!(
        response.headers()["location"],
        "https://rp.example/bye?state=s"
    );
    assert!(
        response.headers()["set-cookie"]
            .to_str()
            .unwrap()
            .contains("Max-Age=0")
    );
    assert_eq!(
        userinfo(&app, &tenant, tokens["access_token"].as_str().unwrap()).await,
        StatusCode::UNAUTHORIZED
    );
    let url = authorize_url(
        &app,
        &tenant,
        &web.client_id,
        CALLBACK,
        &[("prompt", "none")],
    );
    assert_eq!(
        error_redirect(&app, &tenant, &browser, &url).await,
        "login_required"
    );
}

#[tokio::test]
async fn applications_admin_api() {
    let app = TestApp::start().await;
    let tenant = app.create_tenant("apps").await;
    let web = app
        .create_application(
            &tenant,
            "WEB",
            &[CALLBACK],
            json!({ "accessTokenTtlSeconds": 120 }),
        )
        .await;
    let (_, viewer_key) = app.create_api_key(&tenant, &["VIEWER"]).await;

    let listed = app.as_key(&tenant, &viewer_key, "{ applications { totalCount nodes { clientId type confidential scopes accessTokenTtlSeconds } } }", json!({})).await;
    let nodes = &listed.data()["applications"]["nodes"];
    assert_eq!(nodes[0]["clientId"], web.client_id.as_str());
    assert_eq!(nodes[0]["type"], "WEB");
    assert_eq!(nodes[0]["confidential"], true);
    assert_eq!(
        nodes[0]["scopes"],
        json!(["openid", "profile", "email", "offline_access"])
    );
    assert_eq!(nodes[0]["accessTokenTtlSeconds"], 120);
    let refused = app
        .as_key(&tenant, &viewer_key, "mutation { createApplication(input: { name: \"x\", type: SPA, redirectUris: [\"https://a.example/\"] }) { application { id } } }", json!({}))
        .await;
    assert_eq!(refused.error_code(), "FORBIDDEN");

    let updated = app
        .tenant(&tenant, "mutation($input: UpdateApplicationInput!) { updateApplication(input: $input) { application { redirectUris name } } }", json!({ "input": { "id": web.id, "name": "Renamed", "redirectUris": ["https://rp.example/new"] } }))
        .await;
    assert_eq!(
        updated.data()["updateApplication"]["application"]["redirectUris"],
        json!(["https://rp.example/new"])
    );
    let bad_ttl = app
        .tenant(&tenant, "mutation($input: UpdateApplicationInput!) { updateApplication(input: $input) { application { id } } }", json!({ "input": { "id": web.id, "accessTokenTtlSeconds": 5 } }))
        .await;
    assert_eq!(bad_ttl.error_code(), "BAD_USER_INPUT");
    let spa = app
        .create_application(&tenant, "SPA", &[CALLBACK], json!({}))
        .await;
    let rotate_public = app.sdk(&tenant).rotate_application_secret(&spa.id).await;
    assert!(
        format!("{rotate_public:?}").contains("FORBIDDEN"),
        "{rotate_public:?}"
    );

    // The access-token lifetime override shows in issued tokens; deleting the app ends them.
    let machine = app
        .create_application(
            &tenant,
            "MACHINE",
            &[],
            json!({ "accessTokenTtlSeconds": 60 }),
        )
        .await;
    let (_, tokens) = app
        .oauth_post(
            &tenant,
            "token",
            Some((
                &machine.client_id,
                machine.client_secret.as_deref().unwrap(),
            )),
            &[("grant_type", "client_credentials")],
        )
        .await;
    assert_eq!(tokens["expires_in"], 60);
    assert_eq!(
        userinfo(&app, &tenant, tokens["access_token"].as_str().unwrap()).await,
        StatusCode::FORBIDDEN,
        "live, but not a user's token"
    );
    let deleted = app
        .tenant(&tenant, "mutation($input: ApplicationIdInput!) { deleteApplication(input: $input) { application { clientId } } }", json!({ "input": { "id": machine.id } }))
        .await;
    assert_eq!(
        deleted.data()["deleteApplication"]["application"]["clientId"],
        machine.client_id.as_str()
    );
    // Userinfo tells a live client token (which it refuses for want of a user) from a dead
    // one (introspection answers only the deleted client itself, which cannot ask any more).
    assert_eq!(
        userinfo(&app, &tenant, tokens["access_token"].as_str().unwrap()).await,
        StatusCode::UNAUTHORIZED,
        "a deleted client's tokens are inactive"
    );

    let audit = app
        .tenant(
            &tenant,
            "{ auditEvents(first: 50) { nodes { action } } }",
            json!({}),
        )
        .await;
    let actions: Vec<&str> = audit.data()["auditEvents"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|n| n["action"].as_str())
        .collect();
    for action in [
        "application.create",
        "application.update",
        "application.delete",
    ] {
        assert!(actions.contains(&action), "{action} in {actions:?}");
    }
}

#[tokio::test]
async fn clients_tokens_and_cookies_do_not_cross_tenants() {
    let app = TestApp::start().await;
    let a = app.create_tenant("iso-a").await;
    let b = app.create_tenant("iso-b").await;
    let a_machine = app.create_application(&a, "MACHINE", &[], json!({})).await;
    let a_web = app
        .create_application(&a, "WEB", &[CALLBACK], json!({}))
        .await;
    let b_machine = app.create_application(&b, "MACHINE", &[], json!({})).await;
    let a_auth = (
        a_machine.client_id.as_str(),
        a_machine.client_secret.as_deref().unwrap(),
    );
    let b_auth = (
        b_machine.client_id.as_str(),
        b_machine.client_secret.as_deref().unwrap(),
    );

    // A's client is unknown at B: token endpoint and authorize.
    let (status, body) = app
        .oauth_post(
            &b,
            "token",
            Some(a_auth),
            &[("grant_type", "client_credentials")],
        )
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("invalid_client"))
    );
    let (status, location, _) = Browser::new()
        .get(&authorize_url(&app, &b, &a_web.client_id, CALLBACK, &[]))
        .await;
    assert_eq!((status, location), (StatusCode::BAD_REQUEST, None));

    // A's token is inactive at B's introspection, refused at B's userinfo and by the SDK
    // configured for B.
    let (_, tokens) = app
        .oauth_post(
            &a,
            "token",
            Some(a_auth),
            &[("grant_type", "client_credentials")],
        )
        .await;
    let a_token = tokens["access_token"].as_str().unwrap();
    let (_, body) = app
        .oauth_post(&b, "introspect", Some(b_auth), &[("token", a_token)])
        .await;
    assert_eq!(body["active"], false);
    let (_, body) = app
        .oauth_post(&a, "introspect", Some(a_auth), &[("token", a_token)])
        .await;
    assert_eq!(body["active"], true, "but active at A");
    let (browser, _device, _) = signed_in(&app, &a).await;
    let a_code = code(&browser, &app, &a, &a_web.client_id, None).await;
    let (_, user_tokens) = exchange(&app, &a, &a_web, &a_code, None).await;
    assert_eq!(
        userinfo(&app, &b, user_tokens["access_token"].as_str().unwrap()).await,
        StatusCode::UNAUTHORIZED
    );
    let b_verifier = Verifier::new(
        app.issuer(&b).replace("localhost", "127.0.0.1"),
        [a_machine.client_id.as_str()],
    );
    let refused = b_verifier.verify(a_token).await.unwrap_err();
    assert!(
        matches!(refused, VerifyError::UnknownKey | VerifyError::Issuer),
        "{refused:?}"
    );
    let a_verifier = Verifier::new(
        app.issuer(&a).replace("localhost", "127.0.0.1"),
        [a_machine.client_id.as_str()],
    );
    assert!(
        matches!(a_verifier.verify(a_token).await, Err(VerifyError::Issuer)),
        "the issuer is the public URL"
    );
    let a_verifier = latchkey_sdk::Verifier::with_options(
        app.issuer(&a),
        [a_machine.client_id.as_str()],
        latchkey_sdk::VerifierOptions {
            jwks_uri: Some(format!("{}/t/{}/jwks.json", app.url, a.slug)),
            ..Default::default()
        },
    );
    assert_eq!(
        a_verifier.verify(a_token).await.unwrap().sub,
        a_machine.client_id
    );
    let b_verifier = latchkey_sdk::Verifier::with_options(
        app.issuer(&b),
        [a_machine.client_id.as_str()],
        latchkey_sdk::VerifierOptions {
            jwks_uri: Some(format!("{}/t/{}/jwks.json", app.url, b.slug)),
            ..Default::default()
        },
    );
    assert!(b_verifier.verify(a_token).await.is_err());

    // A's browser cookie means nothing at B.
    let mut b_browser = Browser::new();
    b_browser.cookie = browser.cookie.clone();
    let b_web = app
        .create_application(&b, "WEB", &[CALLBACK], json!({}))
        .await;
    let url = authorize_url(&app, &b, &b_web.client_id, CALLBACK, &[("prompt", "none")]);
    assert_eq!(
        error_redirect(&app, &b, &b_browser, &url).await,
        "login_required"
    );

    // B's admin API does not see A's applications.
    for query in [
        "query($id: ID!) { application(id: $id) { id } }",
        "mutation($id: ID!) { updateApplication(input: { id: $id, name: \"x\" }) { application { id } } }",
        "mutation($id: ID!) { rotateApplicationSecret(input: { id: $id }) { clientSecret } }",
        "mutation($id: ID!) { deleteApplication(input: { id: $id }) { application { id } } }",
    ] {
        let response = app.tenant(&b, query, json!({ "id": a_web.id })).await;
        assert_eq!(response.error_code(), "NOT_FOUND", "{query}");
    }
    let listed = app
        .tenant(&b, "{ applications { nodes { clientId } } }", json!({}))
        .await;
    assert!(!listed.body.to_string().contains(&a_web.client_id));
    // A still works.
    let (status, _) = app
        .oauth_post(
            &a,
            "token",
            Some(a_auth),
            &[("grant_type", "client_credentials")],
        )
        .await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn client_secret_post_claims_by_scope_and_revoked_user_tokens() {
    let app = TestApp::start().await;
    let tenant = app.create_tenant("oauth-revoke").await;
    let web = app
        .create_application(&tenant, "WEB", &[CALLBACK], json!({}))
        .await;
    let secret = web.client_secret.clone().unwrap();
    let (browser, _device, _) = signed_in(&app, &tenant).await;
    // Only `openid` (and a refresh token): no email or profile claims anywhere.
    let url = app.authorize_url(
        &tenant,
        &web.client_id,
        CALLBACK,
        &[
            ("scope", "openid offline_access"),
            ("state", "st-1"),
            ("nonce", "n-1"),
        ],
    );
    let (status, location, body) = browser.get(&url).await;
    assert_eq!(status, StatusCode::FOUND, "{body}");
    let code = param(&url::Url::parse(&location.unwrap()).unwrap(), "code").unwrap();
    // client_secret_post on the code exchange.
    let (status, tokens) = app
        .oauth_post(
            &tenant,
            "token",
            None,
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", CALLBACK),
                ("client_id", &web.client_id),
                ("client_secret", &secret),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    let id_token = claims(tokens["id_token"].as_str().unwrap());
    assert!(id_token.get("sub").is_some());
    for claim in ["email", "email_verified", "name"] {
        assert!(
            id_token.get(claim).is_none(),
            "{claim} without its scope: {id_token}"
        );
    }
    let access = tokens["access_token"].as_str().unwrap().to_owned();
    let refresh = tokens["refresh_token"].as_str().unwrap().to_owned();
    let info: Value = app
        .client
        .get(app.oauth_url(&tenant, "userinfo"))
        .bearer_auth(&access)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        info["sub"].is_string() && info.get("email").is_none(),
        "{info}"
    );

    // RFC 7009: revoking the refresh token ends it; revoking the access token ends that.
    let auth = Some((web.client_id.as_str(), secret.as_str()));
    let (status, _) = app
        .oauth_post(
            &tenant,
            "revoke",
            auth,
            &[("token", &refresh), ("token_type_hint", "refresh_token")],
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = app
        .oauth_post(
            &tenant,
            "token",
            auth,
            &[("grant_type", "refresh_token"), ("refresh_token", &refresh)],
        )
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_grant"))
    );
    let (status, _) = app
        .oauth_post(&tenant, "revoke", auth, &[("token", &access)])
        .await;
    assert_eq!(status, StatusCode::OK);
    let (_, introspected) = app
        .oauth_post(&tenant, "introspect", auth, &[("token", &access)])
        .await;
    assert_eq!(introspected["active"], false, "{introspected}");
    assert_eq!(
        userinfo(&app, &tenant, &access).await,
        StatusCode::UNAUTHORIZED
    );
}
