//! Load generator for the OpenID Connect token endpoint: client-credentials tokens per second
//! and authorization-code exchanges per second (p50/p99), then the same client-credentials
//! load against node's `oidc-provider` set up equivalently (one confidential client,
//! client_secret_basic, JWT access tokens signed ES256; `bench/oidc-provider/server.mjs`),
//! reported side by side with the ratio.
//!
//! `cargo bench -p latchkey-bench --bench oidc` (SQLite file + in-process store; PostgreSQL and
//! Redis with `LATCHKEY_TEST_DATABASE_URL` / `LATCHKEY_TEST_REDIS_URL`). Needs `node` and
//! `npm ci` in `bench/oidc-provider` for the comparison (skipped with a note otherwise).
//! Knobs: `BENCH_CONCURRENCY` (32), `BENCH_SECONDS` per scenario (10).

use latchkey_bench::{Figures, drive, knob, lift_rate_limits, start_server};
use latchkey_tests::oidc::{Browser, param};
use latchkey_tests::{TestApp, TestTenant};
use serde_json::json;
use std::path::Path;
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, BufReader};

const CALLBACK: &str = "https://rp.example/callback";
const PEER_CLIENT: (&str, &str) = (
    "bench",
    "bench-secret-that-is-long-enough-for-hmac-256-bits",
);

/// Client-credentials token requests against `token_url` with HTTP Basic client auth.
async fn client_credentials(
    token_url: String,
    client: (String, String),
    scope: &'static str,
    concurrency: usize,
    duration: Duration,
) -> Figures {
    let http = reqwest::Client::new();
    let shared = Arc::new((http, token_url, client));
    drive(vec![(); concurrency], duration, move |()| {
        let shared = shared.clone();
        async move {
            let (http, url, (id, secret)) = &*shared;
            let sent = Instant::now();
            let response = http
                .post(url)
                .basic_auth(id, Some(secret))
                .form(&[("grant_type", "client_credentials"), ("scope", scope)])
                .send()
                .await
                .expect("token request");
            assert!(response.status().is_success(), "{}", response.status());
            let body: serde_json::Value = response.json().await.expect("token JSON");
            assert!(body["access_token"].is_string());
            ((), sent.elapsed())
        }
    })
    .await
}

/// Authorization-code exchanges: each worker has a signed-in browser; it asks `authorize` for
/// a code (not timed) and exchanges it at the token endpoint (timed).
async fn code_exchanges(
    app: Arc<TestApp>,
    tenant: TestTenant,
    concurrency: usize,
    duration: Duration,
) -> Figures {
    let web = app
        .create_application(&tenant, "WEB", &[CALLBACK], json!({}))
        .await;
    let mut browsers = Vec::new();
    for _ in 0..concurrency {
        let email = format!("{}@example.com", latchkey_tests::unique("bench"));
        let (_, _, tokens) = app.sign_up(&tenant, &email).await;
        let mut browser = Browser::new();
        browser
            .establish_session(&app, &tenant, &tokens.access_token)
            .await;
        browsers.push(browser);
    }
    let authorize = app.authorize_url(
        &tenant,
        &web.client_id,
        CALLBACK,
        &[
            ("scope", "openid email offline_access"),
            ("state", "s"),
            ("nonce", "n"),
        ],
    );
    let token_url = app.oauth_url(&tenant, "token");
    let shared = Arc::new((authorize, token_url, web));
    drive(browsers, duration, move |browser: Browser| {
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
            assert!(response.status().is_success(), "{}", response.status());
            let took = sent.elapsed();
            (browser, took)
        }
    })
    .await
}

/// Starts node's oidc-provider from `bench/oidc-provider`; returns the child and its URL, or
/// why it could not start.
async fn start_peer() -> Result<(tokio::process::Child, String), String> {
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

#[tokio::main]
async fn main() {
    let concurrency = knob("BENCH_CONCURRENCY", 32);
    let duration = Duration::from_secs(knob("BENCH_SECONDS", 10) as u64);
    let (app, backend) = start_server().await;
    let tenant = app.create_tenant("bench-oidc").await;
    lift_rate_limits(&app, &tenant).await;
    let machine = app
        .create_application(&tenant, "MACHINE", &[], json!({ "scopes": ["api"] }))
        .await;

    println!(
        "backend: {backend}; concurrency {concurrency}; {} s per scenario",
        duration.as_secs()
    );
    println!("| scenario | requests/s | p50 | p99 |");
    println!("|---|---|---|---|");
    let ours = client_credentials(
        app.oauth_url(&tenant, "token"),
        (
            machine.client_id.clone(),
            machine.client_secret.clone().unwrap(),
        ),
        "api",
        concurrency,
        duration,
    )
    .await;
    ours.print_row("Latchkey: client_credentials");
    let exchanges = code_exchanges(app.clone(), tenant, concurrency, duration).await;
    exchanges.print_row("Latchkey: authorization_code exchange");

    match start_peer().await {
        Ok((mut child, url)) => {
            let peer = client_credentials(
                format!("{url}/token"),
                (PEER_CLIENT.0.into(), PEER_CLIENT.1.into()),
                "api",
                concurrency,
                duration,
            )
            .await;
            peer.print_row("node oidc-provider: client_credentials");
            println!(
                "\nclient_credentials throughput, Latchkey / oidc-provider: {:.2}x",
                ours.per_second() / peer.per_second()
            );
            child.kill().await.ok();
        }
        Err(why) => println!("\n(oidc-provider comparison skipped: {why})"),
    }
    if let Ok(app) = Arc::try_unwrap(app) {
        app.stop().await;
    }
}
