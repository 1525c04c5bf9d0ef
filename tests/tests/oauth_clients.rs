//! What one client learns about the others: introspection answers only for the caller's own
//! tokens (RFC 7662 §4), and the token, introspection and revocation endpoints answer every
//! client authentication failure alike, so client ids cannot be told from unknown ones.

use latchkey_tests::oidc::RegisteredApp;
use latchkey_tests::{TestApp, TestTenant, unique_email};
use reqwest::StatusCode;
use reqwest::header::WWW_AUTHENTICATE;
use serde_json::{Value, json};

const CALLBACK: &str = "https://rp.example/cb";

fn basic(client: &RegisteredApp) -> (&str, &str) {
    (
        client.client_id.as_str(),
        client.client_secret.as_deref().unwrap(),
    )
}

async fn client_credentials(app: &TestApp, tenant: &TestTenant, client: &RegisteredApp) -> String {
    let (status, tokens) = app
        .oauth_post(
            tenant,
            "token",
            Some(basic(client)),
            &[("grant_type", "client_credentials")],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    tokens["access_token"].as_str().unwrap().to_owned()
}

async fn introspect(
    app: &TestApp,
    tenant: &TestTenant,
    caller: &RegisteredApp,
    token: &str,
) -> Value {
    let (status, body) = app
        .oauth_post(
            tenant,
            "introspect",
            Some(basic(caller)),
            &[("token", token)],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

#[tokio::test]
async fn introspection_answers_only_for_the_callers_own_tokens() {
    let app = TestApp::start().await;
    let tenant = app.create_tenant("introspect-own").await;
    let alpha = app
        .create_application(&tenant, "MACHINE", &[], json!({}))
        .await;
    let bravo = app
        .create_application(&tenant, "MACHINE", &[], json!({}))
        .await;
    let web = app
        .create_application(&tenant, "WEB", &[CALLBACK], json!({}))
        .await;
    let alpha_token = client_credentials(&app, &tenant, &alpha).await;
    let bravo_token = client_credentials(&app, &tenant, &bravo).await;
    let user = app
        .user_tokens(&tenant, &web, CALLBACK, "openid email offline_access")
        .await;
    let user_access = user["access_token"].as_str().unwrap();
    let user_refresh = user["refresh_token"].as_str().unwrap();
    let (_, _, first_party) = app.sign_up(&tenant, &unique_email()).await;

    // Its own tokens: active, with their claims.
    let own = introspect(&app, &tenant, &alpha, &alpha_token).await;
    assert_eq!(own["active"], true, "{own}");
    assert_eq!(own["client_id"], alpha.client_id.as_str());
    assert_eq!(own["sub"], alpha.client_id.as_str());
    let own = introspect(&app, &tenant, &web, user_access).await;
    assert_eq!(own["active"], true, "{own}");
    assert_eq!(own["client_id"], web.client_id.as_str());
    assert!(own["sid"].is_string() && own["sub"].is_string(), "{own}");
    let own = introspect(&app, &tenant, &web, user_refresh).await;
    assert_eq!(own["active"], true, "{own}");

    // Another application's tokens and first-party session tokens: inactive, nothing more.
    for (caller, token) in [
        (&alpha, bravo_token.as_str()),
        (&bravo, alpha_token.as_str()),
        (&alpha, user_access),
        (&alpha, user_refresh),
        (&web, alpha_token.as_str()),
        (&alpha, first_party.access_token.as_str()),
        (&web, first_party.access_token.as_str()),
        (&web, first_party.refresh_token.as_str()),
    ] {
        assert_eq!(
            introspect(&app, &tenant, caller, token).await,
            json!({ "active": false }),
            "{} asking about {token}",
            caller.client_id
        );
    }

    // Another tenant's client: its own tenant's endpoint does not know the token, and this
    // tenant's endpoint does not know the client.
    let other = app.create_tenant("introspect-own-other").await;
    let outsider = app
        .create_application(&other, "MACHINE", &[], json!({}))
        .await;
    assert_eq!(
        introspect(&app, &other, &outsider, &alpha_token).await,
        json!({ "active": false })
    );
    let (status, body) = app
        .oauth_post(
            &tenant,
            "introspect",
            Some(basic(&outsider)),
            &[("token", &alpha_token)],
        )
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("invalid_client"))
    );
    app.stop().await;
}

/// What an endpoint answers a client authentication: status, `WWW-Authenticate`, body.
async fn authenticate(
    app: &TestApp,
    tenant: &TestTenant,
    endpoint: &str,
    basic: Option<(&str, &str)>,
    form: &[(&str, &str)],
) -> (StatusCode, Option<String>, Value) {
    let mut request = app.client.post(app.oauth_url(tenant, endpoint)).form(form);
    if let Some((id, secret)) = basic {
        request = request.basic_auth(id, Some(secret));
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    let challenge = response
        .headers()
        .get(WWW_AUTHENTICATE)
        .map(|v| v.to_str().unwrap().to_owned());
    (status, challenge, response.json().await.unwrap())
}

#[tokio::test]
async fn unknown_clients_and_failed_authentications_get_the_same_answer() {
    let app = TestApp::start().await;
    let tenant = app.create_tenant("client-auth").await;
    let other = app.create_tenant("client-auth-other").await;
    let web = app
        .create_application(&tenant, "WEB", &[CALLBACK], json!({}))
        .await;
    let spa = app
        .create_application(&tenant, "SPA", &[CALLBACK], json!({}))
        .await;
    let unknown = format!("{}-unknown", web.client_id);
    let expected_body = json!({
        "error": "invalid_client",
        "error_description": "client authentication failed",
    });

    for (endpoint, extra) in [
        ("token", ("grant_type", "client_credentials")),
        ("introspect", ("token", "lkr_anything")),
        ("revoke", ("token", "lkr_anything")),
    ] {
        // HTTP Basic: an unknown id, a wrong secret, a public client with a secret, and a
        // real client at another tenant.
        let mut answers = Vec::new();
        for (tenant, id) in [
            (&tenant, unknown.as_str()),
            (&tenant, web.client_id.as_str()),
            (&tenant, spa.client_id.as_str()),
            (&other, web.client_id.as_str()),
        ] {
            answers.push(authenticate(&app, tenant, endpoint, Some((id, "wrong")), &[extra]).await);
        }
        for answer in &answers {
            assert_eq!(
                answer,
                &(
                    StatusCode::UNAUTHORIZED,
                    Some("Basic realm=\"latchkey\"".to_owned()),
                    expected_body.clone()
                ),
                "{endpoint}"
            );
        }
        // In the body: an unknown id without a secret, a confidential client without one or
        // with a wrong one, a public client with one.
        let mut answers = Vec::new();
        for form in [
            vec![("client_id", unknown.as_str()), extra],
            vec![("client_id", web.client_id.as_str()), extra],
            vec![
                ("client_id", web.client_id.as_str()),
                ("client_secret", "wrong"),
                extra,
            ],
            vec![
                ("client_id", spa.client_id.as_str()),
                ("client_secret", "wrong"),
                extra,
            ],
        ] {
            answers.push(authenticate(&app, &tenant, endpoint, None, &form).await);
        }
        for answer in &answers {
            assert_eq!(
                answer,
                &(StatusCode::UNAUTHORIZED, None, expected_body.clone()),
                "{endpoint}"
            );
        }
    }
    // The right secret still works.
    let (status, _, body) = authenticate(
        &app,
        &tenant,
        "introspect",
        Some(basic(&web)),
        &[("token", "lkr_anything")],
    )
    .await;
    assert_eq!((status, body), (StatusCode::OK, json!({ "active": false })));
    app.stop().await;
}
