//! What the load generators in `benches/` share: knobs from the environment, a server on the
//! configured backend (in this process, or the release binary as a process of its own:
//! [`server`]), workers driven for a fixed time on their own connections, the loads several
//! benches run ([`oidc`], [`sessions`]), and the table rows they print. [`usage`] reads what the
//! server side spends from `/proc`; [`bulk`] seeds big tenants straight into the database.

pub mod bulk;
pub mod oidc;
pub mod server;
pub mod sessions;
pub mod usage;

use latchkey_api::config::Settings;
use latchkey_tests::{TestApp, TestTenant, test_database_url, test_redis_url, test_settings};
use serde_json::{Value, json};
use std::future::Future;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A number from the environment variable `name`, or `default`.
pub fn knob(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Throughput and latency of one scenario.
pub struct Figures {
    /// Requests answered successfully: the throughput and the latencies count only these.
    pub requests: usize,
    pub elapsed: Duration,
    pub p50: Duration,
    pub p99: Duration,
    /// Requests answered with an error, and the first such answer.
    pub errors: usize,
    pub first_error: Option<String>,
}

impl Figures {
    pub fn from_latencies(mut latencies: Vec<Duration>, elapsed: Duration) -> Self {
        latencies.sort();
        let last = latencies.len().saturating_sub(1);
        let at = |q: f64| {
            latencies
                .get(((latencies.len() as f64 * q) as usize).min(last))
                .copied()
                .unwrap_or_default()
        };
        Self {
            requests: latencies.len(),
            elapsed,
            p50: at(0.50),
            p99: at(0.99),
            errors: 0,
            first_error: None,
        }
    }

    pub fn per_second(&self) -> f64 {
        self.requests as f64 / self.elapsed.as_secs_f64()
    }

    /// One Markdown table row: name (with the errors, if any), requests/s, p50, p99.
    pub fn print_row(&self, name: &str) {
        println!(
            "| {name}{} | {:.0} | {:.2} ms | {:.2} ms |",
            self.errors_note(),
            self.per_second(),
            self.p50.as_secs_f64() * 1000.0,
            self.p99.as_secs_f64() * 1000.0
        );
    }

    /// ` (N errors, the first: …)`, or nothing without errors.
    fn errors_note(&self) -> String {
        match &self.first_error {
            Some(first) => format!(" ({} errors, the first: {first})", self.errors),
            None => String::new(),
        }
    }
}

/// Runs one worker per state until `duration` is over. Each `step` takes its worker's state
/// and gives it back with the time that counts (so untimed preparation can happen inside), or
/// with what went wrong when the server answered with an error.
pub async fn drive<S, F, Fut>(states: Vec<S>, duration: Duration, step: F) -> Figures
where
    S: Send + 'static,
    F: Fn(S) -> Fut + Send + Sync + Clone + 'static,
    Fut: Future<Output = (S, Result<Duration, String>)> + Send,
{
    let started = Instant::now();
    let deadline = started + duration;
    let workers: Vec<_> = states
        .into_iter()
        .map(|mut state| {
            let step = step.clone();
            tokio::spawn(async move {
                let (mut latencies, mut errors) = (Vec::new(), Vec::new());
                while Instant::now() < deadline {
                    let (next, outcome) = step(state).await;
                    state = next;
                    match outcome {
                        Ok(took) => latencies.push(took),
                        Err(error) => errors.push(error),
                    }
                }
                (latencies, errors)
            })
        })
        .collect();
    let (mut latencies, mut errors) = (Vec::new(), Vec::new());
    for worker in workers {
        let (worker_latencies, worker_errors) = worker.await.expect("worker");
        latencies.extend(worker_latencies);
        errors.extend(worker_errors);
    }
    Figures {
        errors: errors.len(),
        first_error: errors.into_iter().next(),
        ..Figures::from_latencies(latencies, started.elapsed())
    }
}

/// The HTTP client of worker `worker`: one keep-alive connection, from a loopback address of its
/// own (127.0.0.2, 127.0.0.3, …), so that the server's per-address rate limits count the
/// workers apart as they would count distinct users. It does not follow redirects (a browser's
/// steps are checked one by one).
pub fn worker_client(worker: usize) -> reqwest::Client {
    let address = Ipv4Addr::new(127, 0, (worker / 250) as u8, (worker % 250 + 2) as u8);
    reqwest::Client::builder()
        .local_address(IpAddr::V4(address))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("an HTTP client")
}

/// Each worker sends `request(client, worker, n)` (its `n`-th request) on its own client, for
/// `duration`; the time counts from sending to the parsed JSON answer. An answer that is not a
/// success which `ok` accepts counts as an error.
pub async fn http_load<R>(
    clients: Vec<reqwest::Client>,
    duration: Duration,
    request: R,
    ok: fn(&Value) -> bool,
) -> Figures
where
    R: Fn(&reqwest::Client, usize, usize) -> reqwest::RequestBuilder + Send + Sync + 'static,
{
    let request = Arc::new(request);
    let states = clients
        .into_iter()
        .enumerate()
        .map(|(worker, client)| (client, worker, 0))
        .collect();
    drive(states, duration, move |(client, worker, n)| {
        let request = request.clone();
        async move {
            let sent = Instant::now();
            let response = request(&client, worker, n)
                .send()
                .await
                .expect("request is sent");
            let status = response.status();
            let text = response.text().await.expect("an answer");
            let accepted = serde_json::from_str::<Value>(&text).is_ok_and(|body| ok(&body));
            let outcome = match status.is_success() && accepted {
                true => Ok(sent.elapsed()),
                false => Err(format!("HTTP {status}: {text}")),
            };
            ((client, worker, n + 1), outcome)
        }
    })
    .await
}

/// A GraphQL request to `tenant`'s API on the server at `url`, with `token`.
pub fn graphql_request(
    client: &reqwest::Client,
    url: &str,
    tenant: &TestTenant,
    token: &str,
    query: &str,
    variables: Value,
) -> reqwest::RequestBuilder {
    client
        .post(format!("{url}/t/{}/graphql", tenant.slug))
        .bearer_auth(token)
        .json(&json!({ "query": query, "variables": variables }))
}

/// A GraphQL answer without errors.
pub fn no_errors(body: &Value) -> bool {
    body.get("errors").is_none()
}

/// A server on PostgreSQL/Redis when `LATCHKEY_TEST_DATABASE_URL` / `LATCHKEY_TEST_REDIS_URL`
/// are set, else on a SQLite file (as the embedded default runs) and the in-process store.
/// Returns it with a description of the backend.
pub async fn start_server() -> (Arc<TestApp>, String) {
    let (settings, backend) = backend_settings();
    (Arc::new(TestApp::start_with(settings).await), backend)
}

/// The settings [`start_server`] uses, for a benchmark that changes some before starting:
/// each call on SQLite names a new file.
pub fn backend_settings() -> (Settings, String) {
    let mut settings = test_settings();
    let backend = if test_database_url().is_some() {
        "PostgreSQL"
    } else {
        let dir = std::env::temp_dir().join(latchkey_tests::unique("latchkey-bench"));
        std::fs::create_dir_all(&dir).expect("bench directory");
        settings.database_url = Some(format!(
            "sqlite://{}?mode=rwc",
            dir.join("bench.db").display()
        ));
        "SQLite (file)"
    };
    let store = if test_redis_url().is_some() {
        "Redis"
    } else {
        "in-process"
    };
    settings.database_max_connections = 16;
    (settings, format!("{backend} + {store} store"))
}

/// Lifts a tenant's sign-in, sign-up and token endpoint rate limits: the per-address defaults
/// would throttle a load generator on one address.
pub async fn lift_rate_limits(app: &TestApp, tenant: &TestTenant) {
    app.tenant(
        tenant,
        "mutation { updateTenantSettings(input: { rateLimits: { signInPerIp: 100000, signInPerIdentity: 100000, signInPerIdentityAllIps: 100000, signUpPerIp: 100000, emailVerificationPerIp: 100000, emailVerificationPerAddress: 100000, emailVerificationPerAddressAllIps: 100000, emailVerificationPerTenant: 100000, tokenPerIp: 100000, tokenPerClient: 100000 } }) { settings { selfSignUp } } }",
        json!({}),
    )
    .await
    .data();
}
