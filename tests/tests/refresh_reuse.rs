//! The refresh token reuse interval (`refreshTokenReuseSeconds`): a refresh token presented
//! again shortly after its rotation (a client's retry, or refreshes racing each other) answers
//! the same new refresh token instead of revoking the session; later, reuse still revokes it.
//! Time is a `ManualClock` that stands still unless a test moves it, so nothing here depends on
//! how fast the machine is.

use futures::future::join_all;
use latchkey_tests::clock::ManualClock;
use latchkey_tests::oidc::RegisteredApp;
use latchkey_tests::passkey::claims;
use latchkey_tests::{TestApp, TestTenant, test_settings, unique_email};
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::sync::Arc;

const CALLBACK: &str = "https://rp.example/cb";
const CONCURRENT: usize = 20;
const REFRESH_SESSION: &str = "mutation($t: String!) { refreshSession(input: { refreshToken: $t }) { session { id } accessToken refreshToken } }";
const SET_REUSE: &str = "mutation($s: Int!) { updateTenantSettings(input: { refreshTokenReuseSeconds: $s }) { settings { refreshTokenReuseSeconds } } }";

async fn start() -> (TestApp, Arc<ManualClock>) {
    let clock = Arc::new(ManualClock::new());
    let app = TestApp::start_with_clock(test_settings(), clock.clone()).await;
    (app, clock)
}

/// A confidential application and a user's first tokens for it (with a refresh token).
async fn application_session(app: &TestApp, tenant: &TestTenant) -> (RegisteredApp, Value) {
    let web = app
        .create_application(tenant, "WEB", &[CALLBACK], json!({}))
        .await;
    let tokens = app
        .user_tokens(tenant, &web, CALLBACK, "openid offline_access")
        .await;
    (web, tokens)
}

async fn refresh(
    app: &TestApp,
    tenant: &TestTenant,
    client: &RegisteredApp,
    token: &str,
) -> (StatusCode, Value) {
    app.oauth_post(
        tenant,
        "token",
        Some((&client.client_id, client.client_secret.as_deref().unwrap())),
        &[("grant_type", "refresh_token"), ("refresh_token", token)],
    )
    .await
}

async fn userinfo(app: &TestApp, tenant: &TestTenant, access_token: &str) -> StatusCode {
    app.client
        .get(app.oauth_url(tenant, "userinfo"))
        .bearer_auth(access_token)
        .send()
        .await
        .unwrap()
        .status()
}

async fn reuse_audits(app: &TestApp, tenant: &TestTenant) -> Value {
    app.tenant(
        tenant,
        "{ auditEvents(filter: { action: \"session.refresh_token_reused\" }) { totalCount } }",
        json!({}),
    )
    .await
    .data()["auditEvents"]["totalCount"]
        .clone()
}

#[tokio::test]
async fn concurrent_refreshes_with_one_token_all_get_the_same_new_refresh_token() {
    let (app, _clock) = start().await;
    let tenant = app.create_tenant("reuse-race").await;
    let (web, tokens) = application_session(&app, &tenant).await;
    let first = tokens["refresh_token"].as_str().unwrap();
    let session = claims(tokens["access_token"].as_str().unwrap())["sid"].clone();

    let answers = join_all((0..CONCURRENT).map(|_| refresh(&app, &tenant, &web, first))).await;
    let mut refresh_tokens: Vec<&str> = Vec::new();
    for (status, body) in &answers {
        assert_eq!(*status, StatusCode::OK, "{body}");
        refresh_tokens.push(body["refresh_token"].as_str().unwrap());
        let access = claims(body["access_token"].as_str().unwrap());
        assert_eq!(
            access["sid"], session,
            "an access token of the same session"
        );
    }
    refresh_tokens.dedup();
    assert_eq!(refresh_tokens.len(), 1, "one rotation: {refresh_tokens:?}");
    let second = refresh_tokens[0];
    assert_ne!(second, first);
    // The session is alive: every access token works, and the new refresh token rotates.
    for (_, body) in &answers {
        let access = body["access_token"].as_str().unwrap();
        assert_eq!(userinfo(&app, &tenant, access).await, StatusCode::OK);
    }
    let (status, body) = refresh(&app, &tenant, &web, second).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_ne!(body["refresh_token"].as_str().unwrap(), second);
    assert_eq!(reuse_audits(&app, &tenant).await, 0);

    // Another tenant's token endpoint knows neither the token nor the client.
    let other = app.create_tenant("reuse-race-other").await;
    let (status, body) = refresh(&app, &other, &web, first).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("invalid_client"))
    );
    let (other_web, _) = application_session(&app, &other).await;
    let (status, body) = refresh(&app, &other, &other_web, first).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_grant"))
    );
    app.stop().await;
}

#[tokio::test]
async fn reuse_after_the_interval_or_of_a_used_successor_revokes_the_session() {
    let (app, clock) = start().await;
    let tenant = app.create_tenant("reuse-late").await;
    let (web, tokens) = application_session(&app, &tenant).await;
    let first = tokens["refresh_token"].as_str().unwrap().to_owned();

    // A retry within the interval (5 seconds by default) gets the same refresh token.
    let (_, rotated) = refresh(&app, &tenant, &web, &first).await;
    let second = rotated["refresh_token"].as_str().unwrap().to_owned();
    clock.advance(4);
    let (status, retried) = refresh(&app, &tenant, &web, &first).await;
    assert_eq!(status, StatusCode::OK, "{retried}");
    assert_eq!(retried["refresh_token"], second.as_str());
    // A client that is not the token's own gets nothing, and revokes nothing.
    let intruder = app
        .create_application(&tenant, "WEB", &[CALLBACK], json!({}))
        .await;
    let (status, body) = refresh(&app, &tenant, &intruder, &first).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_grant"))
    );

    // Past the interval, the spent token is a reuse: the session is revoked.
    clock.advance(2);
    let (status, body) = refresh(&app, &tenant, &web, &first).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_grant"))
    );
    let (status, _) = refresh(&app, &tenant, &web, &second).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "the whole session ended");
    let access = retried["access_token"].as_str().unwrap();
    assert_eq!(
        userinfo(&app, &tenant, access).await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(reuse_audits(&app, &tenant).await, 1);

    // Within the interval, but its successor was used already: a reuse too.
    let (web, tokens) = application_session(&app, &tenant).await;
    let first = tokens["refresh_token"].as_str().unwrap().to_owned();
    let (_, rotated) = refresh(&app, &tenant, &web, &first).await;
    let second = rotated["refresh_token"].as_str().unwrap().to_owned();
    let (status, _) = refresh(&app, &tenant, &web, &second).await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = refresh(&app, &tenant, &web, &first).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_grant"))
    );
    let access = rotated["access_token"].as_str().unwrap();
    assert_eq!(
        userinfo(&app, &tenant, access).await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(reuse_audits(&app, &tenant).await, 2);
    app.stop().await;
}

#[tokio::test]
async fn first_party_refreshes_share_the_interval_and_0_turns_it_off() {
    let (app, clock) = start().await;
    let tenant = app.create_tenant("reuse-first-party").await;
    let (_, _, signed_in) = app.sign_up(&tenant, &unique_email()).await;
    let variables = json!({ "t": signed_in.refresh_token });

    let answers = join_all(
        (0..CONCURRENT).map(|_| app.anonymous(&tenant, None, REFRESH_SESSION, variables.clone())),
    )
    .await;
    let mut refresh_tokens: Vec<&Value> = answers
        .iter()
        .map(|answer| &answer.data()["refreshSession"]["refreshToken"])
        .collect();
    refresh_tokens.dedup();
    assert_eq!(refresh_tokens.len(), 1, "one rotation: {refresh_tokens:?}");
    for answer in &answers {
        let payload = &answer.data()["refreshSession"];
        assert_eq!(payload["session"]["id"], signed_in.session_id.as_str());
        let viewer = app
            .anonymous(
                &tenant,
                payload["accessToken"].as_str(),
                "{ viewer { kind } }",
                json!({}),
            )
            .await;
        assert_eq!(viewer.data()["viewer"]["kind"], "IDENTITY");
    }
    clock.advance(5);
    let late = app
        .anonymous(&tenant, None, REFRESH_SESSION, variables.clone())
        .await;
    assert_eq!(late.error_code(), "UNAUTHENTICATED");
    let next = app
        .anonymous(
            &tenant,
            None,
            REFRESH_SESSION,
            json!({ "t": refresh_tokens[0] }),
        )
        .await;
    assert_eq!(next.error_code(), "UNAUTHENTICATED", "the session ended");

    // With the interval off, even an immediate second presentation is a reuse.
    let off = app.tenant(&tenant, SET_REUSE, json!({ "s": 0 })).await;
    assert_eq!(
        off.data()["updateTenantSettings"]["settings"]["refreshTokenReuseSeconds"],
        0
    );
    let (_, _, signed_in) = app.sign_up(&tenant, &unique_email()).await;
    let variables = json!({ "t": signed_in.refresh_token });
    let rotated = app
        .anonymous(&tenant, None, REFRESH_SESSION, variables.clone())
        .await;
    let access = rotated.data()["refreshSession"]["accessToken"].clone();
    let again = app
        .anonymous(&tenant, None, REFRESH_SESSION, variables)
        .await;
    assert_eq!(again.error_code(), "UNAUTHENTICATED");
    let viewer = app
        .anonymous(&tenant, access.as_str(), "{ viewer { kind } }", json!({}))
        .await;
    assert_eq!(viewer.status, 401, "the session ended at once");
    app.stop().await;
}

#[tokio::test]
async fn the_reuse_interval_is_a_tenant_setting_from_0_to_60_seconds() {
    let app = TestApp::start().await;
    let tenant = app.create_tenant("reuse-setting").await;
    let other = app.create_tenant("reuse-setting-other").await;
    let read = "{ tenant { settings { refreshTokenReuseSeconds } } }";
    assert_eq!(
        app.tenant(&tenant, read, json!({})).await.data()["tenant"]["settings"]["refreshTokenReuseSeconds"],
        5
    );
    let too_long = app.tenant(&tenant, SET_REUSE, json!({ "s": 61 })).await;
    assert_eq!(too_long.error_code(), "BAD_USER_INPUT");
    assert_eq!(
        too_long.body["errors"][0]["extensions"]["field"],
        "refreshTokenReuseSeconds"
    );
    assert!(
        too_long.error_message().contains("between 0 and 60"),
        "{}",
        too_long.error_message()
    );
    let negative = app.tenant(&tenant, SET_REUSE, json!({ "s": -1 })).await;
    assert!(negative.body.get("errors").is_some(), "{}", negative.body);
    let set = app.tenant(&tenant, SET_REUSE, json!({ "s": 60 })).await;
    assert_eq!(
        set.data()["updateTenantSettings"]["settings"]["refreshTokenReuseSeconds"],
        60
    );
    assert_eq!(
        app.tenant(&tenant, read, json!({})).await.data()["tenant"]["settings"]["refreshTokenReuseSeconds"],
        60
    );
    // Another tenant keeps its own.
    assert_eq!(
        app.tenant(&other, read, json!({})).await.data()["tenant"]["settings"]["refreshTokenReuseSeconds"],
        5
    );
    // A viewer key may read it but not change it.
    let (_, viewer) = app.create_api_key(&tenant, &["VIEWER"]).await;
    let refused = app
        .as_key(&tenant, &viewer, SET_REUSE, json!({ "s": 1 }))
        .await;
    assert_eq!(refused.error_code(), "FORBIDDEN");
    app.stop().await;
}
