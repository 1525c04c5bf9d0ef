//! The OpenID Connect token endpoint under load: client-credentials tokens (against Latchkey or
//! node's `oidc-provider`, `bench/oidc-provider/server.mjs`) and authorization-code exchanges.

use crate::{Figures, drive, http_load};
use latchkey_tests::oidc::{Browser, RegisteredApp, param};
use latchkey_tests::{TestApp, TestTenant, unique};
use serde_json::json;
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, BufReader};

/// The redirect URI of the applications the benches register.
pub const CALLBACK: &str = "https://rp.example/callback";

/// The confidential client `bench/oidc-provider/server.mjs` configures.
pub const PEER_CLIENT: (&str, &str) = (
    "bench",
    "bench-secret-that-is-long-enough-for-hmac-256-bits",
);

/// Client-credentials token requests against `token_url` with HTTP Basic client
/// authentication, one worker per client.
pub async fn client_credentials(
    clients: Vec<reqwest::Client>,
    token_url: String,
    client: (String, String),
    scope: &'static str,
    duration: Duration,
) -> Figures {
    http_load(
        clients,
        duration,
        move |http, _, _| {
            http.post(&token_url)
                .basic_auth(&client.0, Some(&client.1))
                .form(&[("grant_type", "client_credentials"), ("scope", scope)])
        },
        |body| body["access_token"].is_string(),
    )
    .await
}

/// Authorization-code exchanges: each worker has a signed-in browser; it asks `authorize` for
/// a code (not timed) and exchanges it at the token endpoint (timed) for a new application
/// session with an access, a refresh and an ID token.
pub struct CodeExchanges {
    browsers: Vec<Browser>,
    authorize: String,
    token_url: String,
    web: RegisteredApp,
}

impl CodeExchanges {
    /// A `WEB` application of `tenant` and one signed-up user per client, whose browser holds
    /// the provider's session cookie.
    pub async fn prepare(
        app: &TestApp,
        tenant: &TestTenant,
        clients: Vec<reqwest::Client>,
    ) -> Self {
        let web = app
            .create_application(tenant, "WEB", &[CALLBACK], json!({}))
            .await;
        let mut browsers = Vec::new();
        for client in clients {
            let email = format!("{}@example.com", unique("bench"));
            let (_, _, tokens) = app.sign_up(tenant, &email).await;
            let mut browser = Browser {
                client,
                ..Browser::new()
            };
            browser
                .establish_session(app, tenant, &tokens.access_token)
                .await;
            browsers.push(browser);
        }
        let authorize = app.authorize_url(
            tenant,
            &web.client_id,
            CALLBACK,
            &[
                ("scope", "openid email offline_access"),
                ("state", "s"),
                ("nonce", "n"),
            ],
        );
        Self {
            browsers,
            authorize,
            token_url: app.oauth_url(tenant, "token"),
            web,
        }
    }

    pub async fn run(self, duration: Duration) -> Figures {
        let shared = std::sync::Arc::new((self.authorize, self.token_url, self.web));
        drive(self.browsers, duration, move |browser: Browser| {
            let shared = shared.clone();
            async move {
                let (authorize, token_url, web) = &*shared;
                let (_, location, _) = browser.get(authorize).await;
                let callback = url::Url::parse(&location.expect("a redirect with a code")).unwrap();
                let code = param(&callback, "code").expect("a code");
                let sent = Instant::now();
                let response = browser
                    .client
                    .post(token_url)
                    .basic_auth(&web.client_id, web.client_secret.as_deref())
                    .form(&[
                        ("grant_type", "authorization_code"),
                        ("code", &code),
                        ("redirect_uri", CALLBACK),
                    ])
                    .send()
                    .await
                    .expect("token request");
                let outcome = match response.status().is_success() {
                    true => Ok(sent.elapsed()),
                    false => Err(format!(
                        "HTTP {}: {}",
                        response.status(),
                        response.text().await.unwrap_or_default()
                    )),
                };
                (browser, outcome)
            }
        })
        .await
    }
}

/// Starts node's oidc-provider from `bench/oidc-provider` (killed when the child is dropped);
/// returns the child and its URL, or why it could not start.
pub async fn start_peer() -> Result<(tokio::process::Child, String), String> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("oidc-provider");
    if !dir.join("node_modules/oidc-provider").exists() {
        return Err(format!(
            "run `npm ci` in {} to compare with oidc-provider",
            dir.display()
        ));
    }
    let mut child = tokio::process::Command::new("node")
        .arg("server.mjs")
        .arg("0")
        .current_dir(&dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| format!("node could not start: {e}"))?;
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    while let Ok(Some(line)) = lines.next_line().await {
        if let Some(url) = line.strip_prefix("listening ") {
            return Ok((child, url.to_owned()));
        }
    }
    Err("oidc-provider exited before listening".into())
}
