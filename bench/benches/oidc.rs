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

use latchkey_bench::oidc::{CodeExchanges, PEER_CLIENT, client_credentials, start_peer};
use latchkey_bench::{knob, lift_rate_limits, start_server, worker_client};
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;

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
    let clients = || (0..concurrency).map(worker_client).collect();
    let ours = client_credentials(
        clients(),
        app.oauth_url(&tenant, "token"),
        (
            machine.client_id.clone(),
            machine.client_secret.clone().unwrap(),
        ),
        "api",
        duration,
    )
    .await;
    ours.print_row("Latchkey: client_credentials");
    let exchanges = CodeExchanges::prepare(&app, &tenant, clients())
        .await
        .run(duration)
        .await;
    exchanges.print_row("Latchkey: authorization_code exchange");

    match start_peer().await {
        Ok((mut child, url)) => {
            let peer = client_credentials(
                clients(),
                format!("{url}/token"),
                (PEER_CLIENT.0.into(), PEER_CLIENT.1.into()),
                "api",
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
