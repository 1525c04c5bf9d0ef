//! The tenant's OpenID Connect provider driven by an independent relying party, the
//! `openidconnect` crate, with no Latchkey-specific code on the client side: discovery, the
//! code flow with PKCE and a software-passkey sign-in in the middle, ID token validation,
//! userinfo, refresh with rotation, RP-initiated logout, and the client credentials grant.

use latchkey_tests::clock::ManualClock;
use latchkey_tests::oidc::{Browser, param};
use latchkey_tests::passkey::{Device, claims};
use latchkey_tests::passwords::PASSWORD;
use latchkey_tests::{TestApp, TestTenant, test_settings, unique_email};
use openidconnect::core::{
    CoreAuthenticationFlow, CoreClient, CoreIdTokenClaims, CoreUserInfoClaims,
};
use openidconnect::{
    AuthType, AuthorizationCode, ClientId, ClientSecret, CsrfToken, IssuerUrl, LogoutRequest,
    Nonce, OAuth2TokenResponse, PkceCodeChallenge, PostLogoutRedirectUrl,
    ProviderMetadataWithLogout, RedirectUrl, RefreshToken, Scope, TokenIntrospectionResponse,
    TokenResponse,
};
use reqwest::StatusCode;
use serde_json::json;
use std::sync::Arc;

const CALLBACK: &str = "https://rp.example/callback";
const SIGNED_OUT: &str = "https://rp.example/signed-out";

fn http_client() -> openidconnect::reqwest::Client {
    openidconnect::reqwest::ClientBuilder::new()
        .redirect(openidconnect::reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

async fn discover(app: &TestApp, tenant: &TestTenant) -> ProviderMetadataWithLogout {
    ProviderMetadataWithLogout::discover_async(
        IssuerUrl::new(app.issuer(tenant)).unwrap(),
        &http_client(),
    )
    .await
    .expect("discovery")
}

#[tokio::test]
async fn code_flow_with_pkce_refresh_userinfo_and_logout() {
    let clock = Arc::new(ManualClock::new());
    let app = TestApp::start_with_clock(test_settings(), clock.clone()).await;
    let tenant = app.create_tenant("oidc").await;
    let email = unique_email();
    let (mut device, credential_id, _) = app.sign_up(&tenant, &email).await;
    let registered = app
        .create_application(
            &tenant,
            "WEB",
            &[CALLBACK],
            json!({ "postLogoutRedirectUris": [SIGNED_OUT] }),
        )
        .await;
    let secret = registered
        .client_secret
        .clone()
        .expect("web apps get a secret");
    assert!(secret.starts_with("lkcs_"));

    let metadata = discover(&app, &tenant).await;
    let end_session = metadata
        .additional_metadata()
        .end_session_endpoint
        .clone()
        .expect("end_session_endpoint is published");
    let client = CoreClient::from_provider_metadata(
        metadata,
        ClientId::new(registered.client_id.clone()),
        Some(ClientSecret::new(secret)),
    )
    .set_redirect_uri(RedirectUrl::new(CALLBACK.into()).unwrap());

    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (authorize_url, state, nonce) = client
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .add_scope(Scope::new("email".into()))
        .add_scope(Scope::new("profile".into()))
        .add_scope(Scope::new("offline_access".into()))
        .set_pkce_challenge(challenge)
        .url();

    // No session yet: the provider sends the browser to the hosted sign-in page, which signs
    // in with the passkey and comes back.
    let mut browser = Browser::new();
    let callback = browser
        .authorize(
            &app,
            &tenant,
            &mut device,
            &credential_id,
            authorize_url.as_str(),
        )
        .await;
    assert_eq!(
        format!(
            "{}://{}{}",
            callback.scheme(),
            callback.host_str().unwrap(),
            callback.path()
        ),
        CALLBACK
    );
    assert_eq!(
        param(&callback, "state").as_deref(),
        Some(state.secret().as_str())
    );
    assert_eq!(
        param(&callback, "iss"),
        Some(app.issuer(&tenant)),
        "RFC 9207 iss"
    );
    let code = param(&callback, "code").expect("a code");

    let tokens = client
        .exchange_code(AuthorizationCode::new(code.clone()))
        .unwrap()
        .set_pkce_verifier(verifier)
        .request_async(&http_client())
        .await
        .expect("code exchange");
    let id_token = tokens.id_token().expect("an ID token").clone();
    let id_claims: &CoreIdTokenClaims = id_token
        .claims(&client.id_token_verifier(), &nonce)
        .expect("the ID token validates");
    assert_eq!(id_claims.email().map(|e| e.as_str()), Some(email.as_str()));
    assert!(id_claims.auth_time().is_some());
    let raw_id = claims(&id_token.to_string());
    assert_eq!(raw_id["amr"], json!(["webauthn"]));
    assert!(raw_id["sid"].is_string());
    assert_eq!(raw_id["aud"], registered.client_id.as_str());
    let access = claims(tokens.access_token().secret());
    assert_eq!(access["aud"], registered.client_id.as_str());
    assert_eq!(access["client_id"], registered.client_id.as_str());
    assert_eq!(access["sub"], id_claims.subject().as_str());
    let refresh = tokens
        .refresh_token()
        .expect("offline_access gives a refresh token")
        .clone();

    let userinfo: CoreUserInfoClaims = client
        .user_info(tokens.access_token().clone(), None)
        .unwrap()
        .request_async(&http_client())
        .await
        .expect("userinfo");
    assert_eq!(userinfo.subject(), id_claims.subject());
    assert_eq!(userinfo.email().map(|e| e.as_str()), Some(email.as_str()));

    // An access token issued to an application is not a credential for the tenant API.
    let viewer = app
        .anonymous(
            &tenant,
            Some(tokens.access_token().secret()),
            "{ viewer { kind } }",
            json!({}),
        )
        .await;
    assert_eq!(viewer.error_code(), "UNAUTHENTICATED");

    // Refresh rotates the refresh token; the spent one, presented again after the tenant's
    // reuse interval (5 seconds), revokes the session.
    let refreshed = client
        .exchange_refresh_token(&refresh)
        .unwrap()
        .request_async(&http_client())
        .await
        .expect("refresh");
    let rotated = refreshed
        .refresh_token()
        .expect("a new refresh token")
        .clone();
    assert_ne!(rotated.secret(), refresh.secret());
    clock.advance(5);
    let reused = client
        .exchange_refresh_token(&refresh)
        .unwrap()
        .request_async(&http_client())
        .await;
    assert!(
        format!("{reused:?}").contains("invalid_grant"),
        "{reused:?}"
    );
    let after_reuse = client
        .exchange_refresh_token(&RefreshToken::new(rotated.secret().clone()))
        .unwrap()
        .request_async(&http_client())
        .await;
    assert!(after_reuse.is_err(), "the whole session is revoked");
    let userinfo_after = client
        .user_info(refreshed.access_token().clone(), None)
        .unwrap()
        .request_async::<openidconnect::EmptyAdditionalClaims, _, openidconnect::core::CoreGenderClaim>(&http_client())
        .await;
    assert!(
        userinfo_after.is_err(),
        "its access tokens stop working at userinfo"
    );

    // The browser session still stands: a second authorization needs no sign-in.
    let (challenge, _verifier) = PkceCodeChallenge::new_random_sha256();
    let (again, _, _) = client
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .set_pkce_challenge(challenge)
        .add_prompt(openidconnect::core::CoreAuthPrompt::None)
        .url();
    let (status, location, _) = browser
        .get(&again.as_str().replace("localhost", "127.0.0.1"))
        .await;
    assert_eq!(status, StatusCode::FOUND);
    assert!(param(&url::Url::parse(&location.unwrap()).unwrap(), "code").is_some());

    // RP-initiated logout with the ID token as hint: back to the registered URI with state.
    let logout = LogoutRequest::from(end_session)
        .set_id_token_hint(&id_token)
        .set_post_logout_redirect_uri(PostLogoutRedirectUrl::new(SIGNED_OUT.into()).unwrap())
        .set_state(CsrfToken::new("bye".into()))
        .http_get_url();
    let (status, location, body) = browser
        .get(&logout.as_str().replace("localhost", "127.0.0.1"))
        .await;
    assert_eq!(status, StatusCode::FOUND, "{body}");
    assert_eq!(
        location.as_deref(),
        Some(format!("{SIGNED_OUT}?state=bye").as_str())
    );

    // Signed out: prompt=none now answers login_required.
    let (challenge, _verifier) = PkceCodeChallenge::new_random_sha256();
    let (again, state, _) = client
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .set_pkce_challenge(challenge)
        .add_prompt(openidconnect::core::CoreAuthPrompt::None)
        .url();
    let (status, location, _) = browser
        .get(&again.as_str().replace("localhost", "127.0.0.1"))
        .await;
    assert_eq!(status, StatusCode::FOUND);
    let error = url::Url::parse(&location.unwrap()).unwrap();
    assert_eq!(param(&error, "error").as_deref(), Some("login_required"));
    assert_eq!(
        param(&error, "state").as_deref(),
        Some(state.secret().as_str())
    );
}

#[tokio::test]
async fn public_spa_client_uses_pkce_without_a_secret() {
    let app = TestApp::start().await;
    let tenant = app.create_tenant("spa").await;
    let (mut device, credential_id, _) = app.sign_up(&tenant, &unique_email()).await;
    let registered = app
        .create_application(&tenant, "SPA", &["https://spa.example/"], json!({}))
        .await;
    assert_eq!(
        registered.client_secret, None,
        "public clients get no secret"
    );
    let client = CoreClient::from_provider_metadata(
        discover(&app, &tenant).await,
        ClientId::new(registered.client_id.clone()),
        None,
    )
    .set_redirect_uri(RedirectUrl::new("https://spa.example/".into()).unwrap());
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (authorize_url, _, nonce) = client
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .set_pkce_challenge(challenge)
        .set_login_hint(openidconnect::LoginHint::new("someone@example.com".into()))
        .url();
    let callback = Browser::new()
        .authorize(
            &app,
            &tenant,
            &mut device,
            &credential_id,
            authorize_url.as_str(),
        )
        .await;
    let tokens = client
        .exchange_code(AuthorizationCode::new(param(&callback, "code").unwrap()))
        .unwrap()
        .set_pkce_verifier(verifier)
        .request_async(&http_client())
        .await
        .expect("public client code exchange");
    tokens
        .id_token()
        .unwrap()
        .claims(&client.id_token_verifier(), &nonce)
        .expect("ID token validates");
}

#[tokio::test]
async fn client_credentials_introspection_and_revocation() {
    let app = TestApp::start().await;
    let tenant = app.create_tenant("m2m").await;
    let machine = app
        .create_application(
            &tenant,
            "MACHINE",
            &[],
            json!({ "scopes": ["orders:read", "orders:write"] }),
        )
        .await;
    let secret = machine.client_secret.clone().unwrap();
    let metadata = discover(&app, &tenant).await;
    let client = CoreClient::from_provider_metadata(
        metadata,
        ClientId::new(machine.client_id.clone()),
        Some(ClientSecret::new(secret.clone())),
    )
    .set_auth_type(AuthType::RequestBody);
    let tokens = client
        .exchange_client_credentials()
        .unwrap()
        .add_scope(Scope::new("orders:read".into()))
        .request_async(&http_client())
        .await
        .expect("client credentials (client_secret_post)");
    let access = claims(tokens.access_token().secret());
    assert_eq!(access["sub"], machine.client_id.as_str());
    assert_eq!(access["scope"], "orders:read");
    assert!(access.get("sid").is_none());
    assert!(tokens.refresh_token().is_none());

    // A scope the client was not given is refused.
    let refused = client
        .exchange_client_credentials()
        .unwrap()
        .add_scope(Scope::new("admin".into()))
        .request_async(&http_client())
        .await;
    assert!(
        format!("{refused:?}").contains("invalid_scope"),
        "{refused:?}"
    );

    // Introspection (client_secret_basic) through the same library, then revocation.
    let introspection_url =
        openidconnect::IntrospectionUrl::new(app.oauth_url(&tenant, "introspect")).unwrap();
    let basic = CoreClient::from_provider_metadata(
        discover(&app, &tenant).await,
        ClientId::new(machine.client_id.clone()),
        Some(ClientSecret::new(secret)),
    )
    .set_introspection_url(introspection_url);
    let introspected = basic
        .introspect(tokens.access_token())
        .request_async(&http_client())
        .await
        .expect("introspection");
    assert!(introspected.active());
    assert_eq!(
        introspected.client_id().map(|c| c.as_str()),
        Some(machine.client_id.as_str())
    );
    // (The library refuses a revocation URL over plain http, so this one is a direct POST.)
    let (status, _) = app
        .oauth_post(
            &tenant,
            "revoke",
            Some((
                &machine.client_id,
                machine.client_secret.as_deref().unwrap(),
            )),
            &[("token", tokens.access_token().secret())],
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let introspected = basic
        .introspect(tokens.access_token())
        .request_async(&http_client())
        .await
        .unwrap();
    assert!(!introspected.active(), "a revoked token is inactive");
}

/// Runs the code flow of a new single-page application through the `openidconnect` client in
/// `browser` (signed in already), with `extra` authorization parameters; where the provider
/// sends the browser to step up with a passkey, signs in with `device` on the page. Answers
/// the validated ID token's claims and whether a step-up was asked for.
async fn code_flow_claims(
    app: &TestApp,
    tenant: &TestTenant,
    browser: &mut Browser,
    device: Option<(&mut Device, &str)>,
    extra: &[(&str, &str)],
) -> (serde_json::Value, bool) {
    let registered = app
        .create_application(tenant, "SPA", &["https://spa.example/"], json!({}))
        .await;
    let client = CoreClient::from_provider_metadata(
        discover(app, tenant).await,
        ClientId::new(registered.client_id.clone()),
        None,
    )
    .set_redirect_uri(RedirectUrl::new("https://spa.example/".into()).unwrap());
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let mut request = client
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .set_pkce_challenge(challenge);
    for (name, value) in extra {
        request = request.add_extra_param(*name, *value);
    }
    let (authorize_url, _, nonce) = request.url();
    let authorize_url = authorize_url.as_str().replace("localhost", "127.0.0.1");
    let (status, location, body) = browser.get(&authorize_url).await;
    let stepped_up = status == StatusCode::SEE_OTHER;
    let callback = if stepped_up {
        let page = location.unwrap();
        assert!(page.contains("step_up=passkey"), "{page}");
        let (device, credential_id) = device.expect("a device to step up with");
        browser
            .authorize(app, tenant, device, credential_id, &authorize_url)
            .await
    } else {
        assert_eq!(status, StatusCode::FOUND, "{body}");
        reqwest::Url::parse(&location.unwrap()).unwrap()
    };
    let tokens = client
        .exchange_code(AuthorizationCode::new(param(&callback, "code").unwrap()))
        .unwrap()
        .set_pkce_verifier(verifier)
        .request_async(&http_client())
        .await
        .expect("code exchange");
    let id_token = tokens.id_token().unwrap();
    id_token
        .claims(&client.id_token_verifier(), &nonce)
        .expect("the ID token validates");
    (claims(&id_token.to_string()), stepped_up)
}

/// A browser whose session is `access_token`'s (the hosted page's step after a sign-in).
async fn browser_of(app: &TestApp, tenant: &TestTenant, access_token: &str) -> Browser {
    let mut browser = Browser::new();
    browser.establish_session(app, tenant, access_token).await;
    browser
}

#[tokio::test]
async fn an_email_code_sign_in_says_otp_in_the_id_token() {
    let app = TestApp::start().await;
    let tenant = app.create_tenant("oidc-otp").await;
    let email = unique_email();
    app.sign_up(&tenant, &email).await;
    let challenge = app
        .start_email_verification(&tenant, &email, "SIGN_IN")
        .await
        .data()["startEmailVerification"]["challengeId"]
        .clone();
    let code = latchkey_tests::mailbox::code_of(&app.last_mail_to(&email).unwrap()).unwrap();
    let signed_in = app
        .anonymous(
            &tenant,
            None,
            "mutation($input: SignInWithEmailCodeInput!) { signInWithEmailCode(input: $input) { accessToken } }",
            json!({ "input": { "challengeId": challenge, "code": code } }),
        )
        .await;
    let access_token = signed_in.data()["signInWithEmailCode"]["accessToken"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut browser = browser_of(&app, &tenant, &access_token).await;
    let (id, _) = code_flow_claims(&app, &tenant, &mut browser, None, &[]).await;
    assert_eq!(id["amr"], json!(["otp"]));
    assert!(id.get("acr").is_none());
}

#[tokio::test]
async fn password_sign_ins_say_pwd_and_with_totp_mfa() {
    let clock = Arc::new(ManualClock::new());
    let app = TestApp::start_with_clock(test_settings(), clock.clone()).await;
    let tenant = app.create_tenant("oidc-pwd").await;
    app.allow_passwords(&tenant, json!({})).await;
    let email = unique_email();
    let account = app.password_account(&tenant, &email).await;
    let mut browser = browser_of(&app, &tenant, &account.access_token).await;
    let (id, _) = code_flow_claims(&app, &tenant, &mut browser, None, &[]).await;
    assert_eq!(id["amr"], json!(["pwd"]));

    let now = || {
        use latchkey_core::clock::Clock;
        u64::try_from(clock.now().timestamp()).unwrap()
    };
    let (authenticator, _) = app.enroll_totp(&tenant, &account.access_token, now()).await;
    clock.advance(30);
    let first = app.sign_in_with_password(&tenant, &email, PASSWORD).await;
    let token = first.data()["signInWithPassword"]["secondFactorToken"]
        .as_str()
        .unwrap()
        .to_owned();
    let done = app
        .complete_second_factor(&tenant, &token, &authenticator.generate(now()))
        .await;
    let access_token = done.data()["completeSecondFactor"]["accessToken"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut browser = browser_of(&app, &tenant, &access_token).await;
    let (id, _) = code_flow_claims(&app, &tenant, &mut browser, None, &[]).await;
    assert_eq!(id["amr"], json!(["pwd", "otp", "mfa"]));
    assert!(id.get("acr").is_none());
}

#[tokio::test]
async fn acr_values_phr_asks_a_password_session_to_step_up_with_a_passkey() {
    let app = TestApp::start().await;
    let tenant = app.create_tenant("oidc-phr").await;
    app.allow_passwords(&tenant, json!({})).await;
    let email = unique_email();
    let (mut device, credential_id, passkey_session) = app.sign_up(&tenant, &email).await;
    app.anonymous(
        &tenant,
        Some(&passkey_session.access_token),
        "mutation($p: String!) { changePassword(input: { newPassword: $p }) { identity { id } } }",
        json!({ "p": PASSWORD }),
    )
    .await
    .data();

    // A passkey session satisfies phr at once, and the ID token says so.
    let mut browser = browser_of(&app, &tenant, &passkey_session.access_token).await;
    let (id, stepped_up) =
        code_flow_claims(&app, &tenant, &mut browser, None, &[("acr_values", "phr")]).await;
    assert!(!stepped_up);
    assert_eq!(id["acr"], "phr");
    assert_eq!(id["amr"], json!(["webauthn"]));

    // A password session is sent to the page for a passkey; the token after it says phr.
    let password = app.sign_in_with_password(&tenant, &email, PASSWORD).await;
    let access_token = password.data()["signInWithPassword"]["accessToken"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut browser = browser_of(&app, &tenant, &access_token).await;
    let (id, stepped_up) = code_flow_claims(
        &app,
        &tenant,
        &mut browser,
        Some((&mut device, &credential_id)),
        &[("acr_values", "phr")],
    )
    .await;
    assert!(stepped_up);
    assert_eq!(id["acr"], "phr");
    assert_eq!(id["amr"], json!(["webauthn"]));
}
