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

use latchkey_bench::{Figures, drive, knob, lift_rate_limits, start_server};
use latchkey_tests::passkey::SignedIn;
use latchkey_tests::{TestApp, TestTenant};
use serde_json::json;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// One GraphQL query with an API key, tenants taken in turn.
async fn measure(
    app: Arc<TestApp>,
    tenants: Arc<Vec<TestTenant>>,
    query: &'static str,
    concurrency: usize,
    duration: Duration,
) -> Figures {
    drive((0..concurrency).collect(), duration, move |i: usize| {
        let (app, tenants) = (app.clone(), tenants.clone());
        async move {
            let tenant = &tenants[i % tenants.len()];
            let sent = Instant::now();
            let response = app.tenant(tenant, query, json!({})).await;
            assert!(response.status.is_success(), "{}", response.body);
            (i + 1, sent.elapsed())
        }
    })
    .await
}

/// Passkey sign-ins: each worker has its own identity and device (a credential's counter must
/// rise in order). Server time is begin + finish; signing time is collected apart.
async fn measure_sign_ins(
    app: Arc<TestApp>,
    tenant: TestTenant,
    concurrency: usize,
    duration: Duration,
) -> (Figures, Figures) {
    let mut accounts = Vec::new();
    for _ in 0..concurrency {
        let email = format!("{}@example.com", latchkey_tests::unique("bench"));
        let (device, credential_id, _) = app.sign_up(&tenant, &email).await;
        accounts.push((device, credential_id, email));
    }
    let started = Instant::now();
    let deadline = started + duration;
    let workers = accounts
        .into_iter()
        .map(|(mut device, credential_id, email)| {
            let app = app.clone();
            let tenant = tenant.clone();
            tokio::spawn(async move {
                let (mut server, mut signing) = (Vec::new(), Vec::new());
                while Instant::now() < deadline {
                    let begin = Instant::now();
                    let begun = app.begin_sign_in(&tenant, Some(&email)).await;
                    let begin_time = begin.elapsed();
                    let sign = Instant::now();
                    let assertion = device.get(&begun.options, Some(&credential_id));
                    signing.push(sign.elapsed());
                    let finish = Instant::now();
                    let response = app
                        .finish_sign_in(&tenant, &begun.ceremony_id, assertion)
                        .await;
                    assert!(response.data()["finishPasskeySignIn"]["accessToken"].is_string());
                    server.push(begin_time + finish.elapsed());
                }
                (server, signing)
            })
        });
    let (mut server, mut signing) = (Vec::new(), Vec::new());
    for worker in workers.collect::<Vec<_>>() {
        let (s, g) = worker.await.expect("worker");
        server.extend(s);
        signing.extend(g);
    }
    let elapsed = started.elapsed();
    (
        Figures::from_latencies(server, elapsed),
        Figures::from_latencies(signing, elapsed),
    )
}

/// `refreshSession` chains: each worker rotates its own session's refresh token.
async fn measure_refreshes(
    app: Arc<TestApp>,
    tenant: TestTenant,
    concurrency: usize,
    duration: Duration,
) -> Figures {
    let mut sessions: Vec<SignedIn> = Vec::new();
    for _ in 0..concurrency {
        let email = format!("{}@example.com", latchkey_tests::unique("bench"));
        sessions.push(app.sign_up(&tenant, &email).await.2);
    }
    let refresh_tokens = sessions.into_iter().map(|s| s.refresh_token).collect();
    drive(refresh_tokens, duration, move |refresh_token: String| {
        let (app, tenant) = (app.clone(), tenant.clone());
        async move {
            let sent = Instant::now();
            let response = app
                .anonymous(
                    &tenant,
                    None,
                    "mutation($t: String!) { refreshSession(input: { refreshToken: $t }) { accessToken refreshToken } }",
                    json!({ "t": refresh_token }),
                )
                .await;
            let next = response.data()["refreshSession"]["refreshToken"]
                .as_str()
                .expect("a new refresh token")
                .to_owned();
            (next, sent.elapsed())
        }
    })
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
            app.clone(),
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
    let (server, signing) = measure_sign_ins(
        app.clone(),
        passkey_tenant.clone(),
        concurrency,
        Duration::from_secs(seconds),
    )
    .await;
    server.print_row("passkey sign-in (begin + finish, server time)");
    println!(
        "| (software authenticator signing, not server time) | | {:.3} ms | {:.3} ms |",
        signing.p50.as_secs_f64() * 1000.0,
        signing.p99.as_secs_f64() * 1000.0
    );
    let refreshes = measure_refreshes(
        app.clone(),
        passkey_tenant,
        concurrency,
        Duration::from_secs(seconds),
    )
    .await;
    refreshes.print_row("refreshSession");
    if let Ok(app) = Arc::try_unwrap(app) {
        app.stop().await;
    }
}
