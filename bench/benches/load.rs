//! Load generator for the tenant API: starts a server, seeds identities in several tenants,
//! then measures requests/s and p50/p99 latency of `viewer`, of a page of 50 identities, of a
//! passkey sign-in (begin + finish, with the counter update, session and token issuance), and
//! of `refreshSession`. The software authenticator's signing happens between the two timed
//! calls and is reported on its own line, not in the server's figures.
//!
//! `cargo bench -p latchkey-bench` runs on SQLite (a file, as the embedded default does) and
//! the in-process store; with `LATCHKEY_TEST_DATABASE_URL` / `LATCHKEY_TEST_REDIS_URL` set, on
//! PostgreSQL and Redis. Knobs: `BENCH_TENANTS` (5), `BENCH_IDENTITIES` per tenant (1000),
//! `BENCH_CONCURRENCY` (32), `BENCH_SECONDS` per scenario (10). The server and the load share
//! the machine, so the figures are a floor, not a ceiling.

use latchkey_bench::sessions::{PasskeySignIns, RefreshChains};
use latchkey_bench::{
    Figures, graphql_request, http_load, knob, lift_rate_limits, no_errors, start_server,
    worker_client,
};
use latchkey_tests::{TestApp, TestTenant};
use serde_json::json;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// One GraphQL query with an API key, worker `i` in tenant `i` modulo their number.
async fn measure(
    app: &TestApp,
    tenants: Arc<Vec<TestTenant>>,
    query: &'static str,
    concurrency: usize,
    duration: Duration,
) -> Figures {
    let url = app.url.clone();
    http_load(
        (0..concurrency).map(worker_client).collect(),
        duration,
        move |client, worker, _| {
            let tenant = &tenants[worker % tenants.len()];
            graphql_request(client, &url, tenant, &tenant.api_key, query, json!({}))
        },
        no_errors,
    )
    .await
}

#[tokio::main]
async fn main() {
    let tenants_count = knob("BENCH_TENANTS", 5);
    let identities = knob("BENCH_IDENTITIES", 1000);
    let concurrency = knob("BENCH_CONCURRENCY", 32);
    let seconds = knob("BENCH_SECONDS", 10) as u64;

    let (app, backend) = start_server().await;

    let seeding = Instant::now();
    let mut tenants = Vec::new();
    for _ in 0..tenants_count {
        let tenant = app.create_tenant("bench").await;
        let seeders = (0..8).map(|worker| {
            let app = app.clone();
            let tenant = tenant.clone();
            tokio::spawn(async move {
                for n in (worker..identities).step_by(8) {
                    app.create_identity(&tenant, &format!("user{n}@example.com"))
                        .await;
                }
            })
        });
        for seeder in seeders.collect::<Vec<_>>() {
            seeder.await.expect("seeder");
        }
        tenants.push(tenant);
    }
    eprintln!(
        "seeded {} identities in {tenants_count} tenants in {:.1?}",
        tenants_count * identities,
        seeding.elapsed()
    );

    let tenants = Arc::new(tenants);
    println!(
        "backend: {backend}; {tenants_count} tenants x {identities} identities; concurrency {concurrency}; {seconds} s per scenario"
    );
    println!("| scenario | requests/s | p50 | p99 |");
    println!("|---|---|---|---|");
    for (name, query) in [
        ("viewer", "{ viewer { kind roles } }"),
        (
            "identities(first: 50)",
            "{ identities(first: 50) { totalCount pageInfo { hasNextPage endCursor } nodes { id email displayName status createdAt } } }",
        ),
    ] {
        let figures = measure(
            &app,
            tenants.clone(),
            query,
            concurrency,
            Duration::from_secs(seconds),
        )
        .await;
        figures.print_row(name);
    }
    let passkey_tenant = app.create_tenant("bench-passkeys").await;
    lift_rate_limits(&app, &passkey_tenant).await;
    let workers = vec![app.clone(); concurrency];
    let sign_ins = PasskeySignIns::prepare(&app, &passkey_tenant, &workers).await;
    let (server, signing) = sign_ins.run(Duration::from_secs(seconds)).await;
    server.print_row("passkey sign-in (begin + finish, server time)");
    println!(
        "| (software authenticator signing, not server time) | | {:.3} ms | {:.3} ms |",
        signing.p50.as_secs_f64() * 1000.0,
        signing.p99.as_secs_f64() * 1000.0
    );
    let chains = RefreshChains::prepare(&app, &passkey_tenant, &workers).await;
    let refreshes = chains.run(Duration::from_secs(seconds)).await;
    refreshes.print_row("refreshSession");
    drop(workers);
    if let Ok(app) = Arc::try_unwrap(app) {
        app.stop().await;
    }
}
