//! Requests per CPU-second of the server side. The Latchkey release binary runs as a process of
//! its own (`LATCHKEY_BIN`, else `target/release/latchkey`: `cargo build --release` first),
//! configured through its environment: the embedded default (SQLite file in a fresh data
//! directory, in-process store), or PostgreSQL and Redis with `LATCHKEY_TEST_DATABASE_URL`,
//! `LATCHKEY_TEST_MIGRATION_DATABASE_URL` and `LATCHKEY_TEST_REDIS_URL`. This process seeds
//! tenants, applications, API keys and identities through the platform and tenant APIs (the big
//! identity tenants by direct inserts, `latchkey_bench::bulk`), then drives each scenario for
//! `BENCH_SECONDS` (12) with `BENCH_CONCURRENCY` (32) workers, each on its own keep-alive
//! connection, and reports requests (answered successfully), errors (error answers, such as a
//! 503 for a request that waited too long for a database connection: counted, not fatal),
//! requests/s, p50, p99 and requests per CPU-second of the server side: the server process,
//! plus every `postgres` and `redis-server` process on PostgreSQL + Redis
//! (`latchkey_bench::usage`). The load generator's own CPU does not count.
//!
//! `cargo bench -p latchkey-bench --bench cpu -- <scenario>` runs one scenario (see
//! [`SCENARIOS`]), no argument runs all. `BENCH_BIG_TENANT` (1000000) sizes `identities_1m`.
//! `oidc_provider` needs `node` and `npm ci` in `bench/oidc-provider`.

use latchkey_bench::bulk::{insert_identities, seeded_email};
use latchkey_bench::oidc::{CALLBACK, CodeExchanges, PEER_CLIENT, client_credentials, start_peer};
use latchkey_bench::server::{Backend, ServerConfig};
use latchkey_bench::sessions::{PasskeySignIns, RefreshChains};
use latchkey_bench::usage::{Meter, Services, Usage, clock_ticks, resident_kib};
use latchkey_bench::{
    Figures, graphql_request, http_load, knob, lift_rate_limits, no_errors, worker_client,
};
use latchkey_tests::{TestApp, TestTenant};
use serde_json::{Value, json};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Every scenario, in the order they run.
const SCENARIOS: [&str; 11] = [
    "client_credentials",
    "oidc_provider",
    "viewer_api_key",
    "viewer_access_token",
    "userinfo",
    "introspection",
    "passkey_sign_in",
    "refresh_session",
    "code_exchange",
    "identities_1k",
    "identities_1m",
];

const VIEWER_KIND: &str = "{ viewer { kind roles } }";
const VIEWER_IDENTITY: &str = "{ viewer { identity { id email } } }";
const FIRST_50: &str = "{ identities(first: 50) { totalCount pageInfo { hasNextPage endCursor } nodes { id email displayName status createdAt } } }";
const BY_EMAIL: &str = "query($email: String!) { identities(first: 1, filter: { email: $email }) { nodes { id email displayName status } } }";

/// How long the side-by-side pair (`client_credentials`, `oidc_provider`) runs untimed first, so
/// that node's JIT has compiled the hot paths before it is measured.
const WARM_UP: Duration = Duration::from_secs(2);

/// The timed part of a scenario, ready to run for a given time.
type Run = Box<dyn FnOnce(Duration) -> Pin<Box<dyn Future<Output = Figures> + Send>> + Send>;

fn timed<F, Fut>(load: F) -> Run
where
    F: FnOnce(Duration) -> Fut + Send + 'static,
    Fut: Future<Output = Figures> + Send + 'static,
{
    Box::new(move |duration| Box::pin(load(duration)))
}

/// Who answers a scenario: Latchkey, or node's oidc-provider (kept running while it is held).
enum ServerSide {
    Latchkey,
    Peer(tokio::process::Child),
}

/// A scenario with everything it needs seeded, and its timed parts (one row each).
struct Prepared {
    name: &'static str,
    side: ServerSide,
    parts: Vec<(String, Run)>,
}

/// What every scenario's preparation uses.
struct Bench {
    config: ServerConfig,
    /// Seeds through the APIs.
    app: TestApp,
    /// One client of the server per worker, each with its own connection and address.
    workers: Vec<Arc<TestApp>>,
}

impl Bench {
    fn clients(&self) -> Vec<reqwest::Client> {
        (0..self.workers.len()).map(worker_client).collect()
    }

    /// A tenant for `scenario`: rate limits lifted (one load generator, few addresses) and
    /// access tokens valid for a day, so that tokens prepared before the first scenario still
    /// work in the last.
    async fn tenant(&self, scenario: &str) -> TestTenant {
        let tenant = self
            .app
            .create_tenant(&format!("bench-{}", scenario.replace('_', "-")))
            .await;
        lift_rate_limits(&self.app, &tenant).await;
        self.app
            .tenant(
                &tenant,
                "mutation { updateTenantSettings(input: { accessTokenTtlSeconds: 86400 }) { settings { selfSignUp } } }",
                json!({}),
            )
            .await
            .data();
        tenant
    }

    /// Each worker's own end user, signed up with a passkey: their first-party access tokens
    /// (the tenant API's).
    async fn session_tokens(&self, tenant: &TestTenant) -> Vec<String> {
        let mut tokens = Vec::new();
        for _ in &self.workers {
            let email = latchkey_tests::unique_email();
            tokens.push(self.app.sign_up(tenant, &email).await.2.access_token);
        }
        tokens
    }

    /// A confidential `WEB` application and, for each worker, an end user's access token issued
    /// to it for `openid email` (sign-up, authorize, code exchange).
    async fn application_tokens(&self, tenant: &TestTenant) -> ((String, String), Vec<String>) {
        let web = self
            .app
            .create_application(tenant, "WEB", &[CALLBACK], json!({}))
            .await;
        let mut tokens = Vec::new();
        for _ in &self.workers {
            let answer = self
                .app
                .user_tokens(tenant, &web, CALLBACK, "openid email")
                .await;
            tokens.push(answer["access_token"].as_str().unwrap().to_owned());
        }
        let secret = web.client_secret.expect("a confidential client");
        ((web.client_id, secret), tokens)
    }

    /// Client-credentials tokens from `url` for `client` with scope `api`, after the same load
    /// ran untimed for [`WARM_UP`].
    async fn client_credentials(&self, url: String, client: (String, String)) -> Run {
        let clients = self.clients();
        client_credentials(clients.clone(), url.clone(), client.clone(), "api", WARM_UP).await;
        timed(move |d| client_credentials(clients, url, client, "api", d))
    }

    /// A GraphQL query load on `tenant`: worker `i` sends `tokens[i]` (modulo their number) and
    /// the variables `variables(i, n)` with its `n`-th request; `ok` checks each answer.
    fn graphql_load(
        &self,
        tenant: TestTenant,
        tokens: Vec<String>,
        query: &'static str,
        variables: impl Fn(usize, usize) -> Value + Send + Sync + 'static,
        ok: fn(&Value) -> bool,
    ) -> Run {
        let (clients, url) = (self.clients(), self.config.url());
        timed(move |duration| {
            http_load(
                clients,
                duration,
                move |client, worker, n| {
                    let token = &tokens[worker % tokens.len()];
                    graphql_request(client, &url, &tenant, token, query, variables(worker, n))
                },
                ok,
            )
        })
    }
}

fn no_variables(_: usize, _: usize) -> Value {
    json!({})
}

/// The scenario names given on the command line (flags such as cargo's `--bench` left out),
/// or all of them.
fn selected() -> Vec<&'static str> {
    let asked: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    for name in &asked {
        assert!(
            SCENARIOS.contains(&name.as_str()),
            "unknown scenario {name:?}; the scenarios are {}",
            SCENARIOS.join(", ")
        );
    }
    SCENARIOS
        .into_iter()
        .filter(|s| asked.is_empty() || asked.iter().any(|a| a == s))
        .collect()
}

/// An identity of the seeded `count`, spread over the whole tenant (Fibonacci hashing of the
/// worker and its request number).
fn spread(worker: usize, n: usize, count: u64) -> u64 {
    ((((worker as u64) << 32) | n as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 16) % count
}

async fn prepare(
    bench: &Bench,
    name: &'static str,
    identity_tenants: &[(&'static str, TestTenant, u64)],
) -> Option<Prepared> {
    let app = &bench.app;
    let mut side = ServerSide::Latchkey;
    let parts: Vec<(String, Run)> = match name {
        "client_credentials" => {
            let tenant = bench.tenant(name).await;
            let machine = app
                .create_application(&tenant, "MACHINE", &[], json!({ "scopes": ["api"] }))
                .await;
            let client = (machine.client_id, machine.client_secret.unwrap());
            let url = app.oauth_url(&tenant, "token");
            vec![(name.into(), bench.client_credentials(url, client).await)]
        }
        "oidc_provider" => {
            let (child, url) = match start_peer().await {
                Ok(peer) => peer,
                Err(why) => {
                    println!("(oidc_provider skipped: {why})");
                    return None;
                }
            };
            side = ServerSide::Peer(child);
            let client = (PEER_CLIENT.0.into(), PEER_CLIENT.1.into());
            let run = bench
                .client_credentials(format!("{url}/token"), client)
                .await;
            vec![(format!("{name} (node oidc-provider)"), run)]
        }
        "viewer_api_key" => {
            let tenant = bench.tenant(name).await;
            let (_, key) = app.create_api_key(&tenant, &["VIEWER"]).await;
            vec![(
                name.into(),
                bench.graphql_load(tenant, vec![key], VIEWER_KIND, no_variables, no_errors),
            )]
        }
        "viewer_access_token" => {
            let tenant = bench.tenant(name).await;
            let tokens = bench.session_tokens(&tenant).await;
            vec![(
                name.into(),
                bench.graphql_load(tenant, tokens, VIEWER_IDENTITY, no_variables, |body| {
                    body["data"]["viewer"]["identity"]["email"].is_string()
                }),
            )]
        }
        "userinfo" => {
            let tenant = bench.tenant(name).await;
            let (_, tokens) = bench.application_tokens(&tenant).await;
            let (clients, url) = (bench.clients(), app.oauth_url(&tenant, "userinfo"));
            vec![(
                name.into(),
                timed(move |d| {
                    http_load(
                        clients,
                        d,
                        move |client, worker, _| client.get(&url).bearer_auth(&tokens[worker]),
                        |body| body["sub"].is_string(),
                    )
                }),
            )]
        }
        "introspection" => {
            let tenant = bench.tenant(name).await;
            let ((id, secret), tokens) = bench.application_tokens(&tenant).await;
            let (clients, url) = (bench.clients(), app.oauth_url(&tenant, "introspect"));
            vec![(
                name.into(),
                timed(move |d| {
                    http_load(
                        clients,
                        d,
                        move |client, worker, _| {
                            client.post(&url).basic_auth(&id, Some(&secret)).form(&[
                                ("token", tokens[worker].as_str()),
                                ("token_type_hint", "access_token"),
                            ])
                        },
                        |body| body["active"] == true,
                    )
                }),
            )]
        }
        "passkey_sign_in" => {
            let tenant = bench.tenant(name).await;
            let sign_ins = PasskeySignIns::prepare(app, &tenant, &bench.workers).await;
            vec![(
                format!("{name} (begin + finish)"),
                timed(move |d| async move { sign_ins.run(d).await.0 }),
            )]
        }
        "refresh_session" => {
            let tenant = bench.tenant(name).await;
            let chains = RefreshChains::prepare(app, &tenant, &bench.workers).await;
            vec![(name.into(), timed(move |d| chains.run(d)))]
        }
        "code_exchange" => {
            let tenant = bench.tenant(name).await;
            let exchanges = CodeExchanges::prepare(app, &tenant, bench.clients()).await;
            vec![(name.into(), timed(move |d| exchanges.run(d)))]
        }
        _ => {
            let (_, tenant, count) = identity_tenants
                .iter()
                .find(|(scenario, _, _)| *scenario == name)
                .expect("the identity tenants are seeded")
                .clone();
            identity_parts(bench, name, tenant, count).await
        }
    };
    Some(Prepared { name, side, parts })
}

/// The first page of 50 and lookups by email (of identities spread over the tenant), after
/// checking that the server sees every seeded identity.
async fn identity_parts(
    bench: &Bench,
    name: &str,
    tenant: TestTenant,
    count: u64,
) -> Vec<(String, Run)> {
    let page = bench.app.tenant(&tenant, FIRST_50, json!({})).await;
    assert_eq!(page.data()["identities"]["totalCount"], count);
    let key = vec![tenant.api_key.clone()];
    let by_email = move |worker, n| json!({ "email": seeded_email(spread(worker, n, count)) });
    vec![
        (
            format!("{name} ({count}): first 50"),
            bench.graphql_load(
                tenant.clone(),
                key.clone(),
                FIRST_50,
                no_variables,
                no_errors,
            ),
        ),
        (
            format!("{name} ({count}): by email"),
            bench.graphql_load(tenant, key, BY_EMAIL, by_email, |body| {
                body["data"]["identities"]["nodes"][0]["id"].is_string()
            }),
        ),
    ]
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

fn print_row(name: &str, figures: &Figures, usage: &Usage, services: &Services) {
    let counted = |is_counted: bool, seconds: f64| {
        if is_counted {
            format!("{seconds:.2}")
        } else {
            "–".to_owned()
        }
    };
    println!(
        "| {name} | {} | {} | {:.0} | {:.2} ms | {:.2} ms | **{:.0}** | {:.2} | {} | {} | {:.1} MiB |",
        figures.requests,
        figures.errors,
        figures.per_second(),
        figures.p50.as_secs_f64() * 1000.0,
        figures.p99.as_secs_f64() * 1000.0,
        figures.requests as f64 / usage.total_seconds(),
        usage.server_seconds,
        counted(services.postgres_database.is_some(), usage.postgres_seconds),
        counted(services.redis, usage.redis_seconds),
        mib(usage.peak_rss_kib),
    );
}

#[tokio::main]
async fn main() {
    let scenarios = selected();
    let concurrency = knob("BENCH_CONCURRENCY", 32);
    let duration = Duration::from_secs(knob("BENCH_SECONDS", 12) as u64);
    let backend = Backend::from_env();
    let services = backend.services();
    let config = ServerConfig::new(backend.clone());
    let mut server = config.start().await;
    let app = config.app();

    let big_tenant = knob("BENCH_BIG_TENANT", 1_000_000) as u64;
    let sizes = [("identities_1k", 1000), ("identities_1m", big_tenant)];
    let mut identity_tenants = Vec::new();
    for (name, count) in sizes {
        if scenarios.contains(&name) {
            let slug = format!("bench-{}", name.replace('_', "-"));
            identity_tenants.push((name, app.create_tenant(&slug).await, count));
        }
    }
    if !identity_tenants.is_empty() {
        server.stop().await;
        let seeding = Instant::now();
        for (_, tenant, count) in &identity_tenants {
            insert_identities(&config.owner_database_url(), &tenant.id, *count).await;
        }
        let seeded: Vec<String> = identity_tenants
            .iter()
            .map(|(_, _, count)| count.to_string())
            .collect();
        println!(
            "seeded {} identities by direct inserts, server stopped, in {:.1?}",
            seeded.join(" + "),
            seeding.elapsed()
        );
        server = config.start().await;
    }

    let workers = (0..concurrency)
        .map(|worker| {
            let mut client = config.app();
            client.client = worker_client(worker);
            Arc::new(client)
        })
        .collect();
    let bench = Bench {
        config,
        app,
        workers,
    };
    let seeding = Instant::now();
    let mut prepared = Vec::new();
    for name in scenarios {
        prepared.extend(prepare(&bench, name, &identity_tenants).await);
    }
    println!(
        "prepared the scenarios through the APIs in {:.1?}",
        seeding.elapsed()
    );
    tokio::time::sleep(Duration::from_secs(1)).await;
    let idle = resident_kib(server.pid()).expect("the server's VmRSS");

    println!(
        "\nbackend: {}; server: {} (RUST_LOG=warn); concurrency {concurrency}; {} s per scenario; CLK_TCK {}",
        backend.describe(),
        bench.config.binary.display(),
        duration.as_secs(),
        clock_ticks()
    );
    println!(
        "idle RSS after start-up and seeding: {:.1} MiB\n",
        mib(idle)
    );
    println!(
        "| scenario | requests | errors | requests/s | p50 | p99 | per CPU-s | server CPU-s | PostgreSQL CPU-s | Redis CPU-s | peak RSS |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|");
    let (mut per_cpu, mut notes) = (Vec::new(), Vec::new());
    for scenario in prepared {
        let (pid, services) = match &scenario.side {
            ServerSide::Latchkey => (server.pid(), services.clone()),
            ServerSide::Peer(child) => (child.id().expect("the peer runs"), Services::default()),
        };
        for (row, run) in scenario.parts {
            let meter = Meter::start(pid, services.clone());
            let figures = run(duration).await;
            let usage = meter.finish();
            print_row(&row, &figures, &usage, &services);
            if let Some(first) = &figures.first_error {
                let first: String = first.chars().take(300).collect();
                notes.push(format!("{row}: the first error answer was {first}"));
            }
            if usage.other_databases_seconds >= 0.01 {
                notes.push(format!(
                    "{row}: {:.2} of its PostgreSQL CPU-s were spent by backends of other databases (the machine was not idle)",
                    usage.other_databases_seconds
                ));
            }
            per_cpu.push((
                scenario.name,
                figures.requests as f64 / usage.total_seconds(),
                figures.per_second(),
            ));
        }
    }
    for note in notes {
        println!("\nnote: {note}");
    }
    let find = |name| per_cpu.iter().find(|(n, _, _)| *n == name);
    if let (Some(ours), Some(peer)) = (find("client_credentials"), find("oidc_provider")) {
        println!(
            "\nclient_credentials, Latchkey / node oidc-provider: {:.2}x per CPU-s, {:.2}x requests/s",
            ours.1 / peer.1,
            ours.2 / peer.2
        );
    }
    server.stop().await;
}
