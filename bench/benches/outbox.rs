//! The CRM outbox: how fast deliveries go out, and how long a change takes to reach the CRM.
//!
//! The CRM is a local fake (a `WEBHOOK` connector aimed at an HTTP receiver on loopback that
//! answers 200 at once and notes when each event arrived), so what is measured is Latchkey's
//! side: claiming, reading the event and the subject, signing, recording the outcome.
//! - throughput: `BENCH_EVENTS` (2000) identities are created (8 clients) while the connector
//!   is disabled, so their deliveries queue up (the dispatchers park them); then the connector
//!   is enabled and the time until every delivery is `DELIVERED` gives delivered events per
//!   second. On PostgreSQL with one server (one dispatcher), then with two servers on the same
//!   database (two dispatchers sharing the queue); on SQLite one server, one dispatcher.
//! - latency: with the connector enabled and the queue empty, `BENCH_LATENCY_SAMPLES` (200)
//!   identities are created one at a time, after a random pause (so that changes fall at any
//!   point of the dispatcher's idle poll), and the time from sending `createIdentity` to the
//!   CRM receiving the event (matched by email) is measured; with the default poll interval
//!   (`LATCHKEY_CRM_POLL_INTERVAL_MS` = 1000) and with 50 ms.
//!
//! `cargo bench -p latchkey-bench --bench outbox` runs on SQLite and the in-process store;
//! with `LATCHKEY_TEST_DATABASE_URL` / `LATCHKEY_TEST_REDIS_URL` set, on PostgreSQL and Redis.
//! The servers run with the production dispatcher settings (lease, retries), not the test
//! harness's fast ones. Everything shares the machine, so the figures are a floor.

use chrono::{DateTime, Utc};
use latchkey_bench::{backend_settings, knob};
use latchkey_tests::{TestApp, TestTenant, test_database_url, unique};
use serde_json::{Value, json};
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

const DELIVERED: &str = "latchkey_crm_deliveries_total{kind=\"webhook\",outcome=\"delivered\"}";
const CALL_SECONDS: &str = "latchkey_crm_delivery_duration_seconds_sum{kind=\"webhook\"}";
const STATEMENTS: &str = "latchkey_database_statements_total{outcome=\"ok\"}";
const SECRET: &str = "whsec_0123456789abcdef";

/// What the fake CRM has received.
#[derive(Default)]
struct Seen {
    requests: usize,
    events: HashSet<String>,
    first: Option<Instant>,
    last: Option<Instant>,
    by_email: HashMap<String, Instant>,
}

/// Answers 200 at once and notes the arrival (the time is taken before anything else).
#[derive(Clone, Default)]
struct Receiver(Arc<Mutex<Seen>>);

impl Respond for Receiver {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let at = Instant::now();
        let body: Value = serde_json::from_slice(&request.body).unwrap_or(Value::Null);
        let mut seen = self.0.lock().expect("receiver");
        seen.requests += 1;
        seen.first.get_or_insert(at);
        seen.last = Some(at);
        if let Some(id) = body["id"].as_str() {
            seen.events.insert(id.to_owned());
        }
        if let Some(email) = body["data"]["email"].as_str() {
            seen.by_email.entry(email.to_owned()).or_insert(at);
        }
        ResponseTemplate::new(200)
    }
}

/// A fake CRM of its own for each scenario: its own server thread (wiremock runs it on one),
/// no request recording.
struct FakeCrm {
    server: MockServer,
    receiver: Receiver,
}

impl FakeCrm {
    async fn start() -> Self {
        let server = MockServer::builder()
            .disable_request_recording()
            .start()
            .await;
        let receiver = Receiver::default();
        Mock::given(method("POST"))
            .respond_with(receiver.clone())
            .mount(&server)
            .await;
        Self { server, receiver }
    }

    fn seen<T>(&self, read: impl FnOnce(&Seen) -> T) -> T {
        read(&self.receiver.0.lock().expect("receiver"))
    }
}

/// A server on the configured backend with the production dispatcher settings and the given
/// idle poll interval; the fake CRM is on loopback, so private addresses are allowed.
async fn start(poll_interval_ms: u64) -> (TestApp, String) {
    let (mut settings, backend) = backend_settings();
    settings.crm_dispatcher = true;
    settings.crm_poll_interval_ms = poll_interval_ms;
    settings.crm_retry_base_ms = 2000;
    settings.crm_max_attempts = 10;
    settings.crm_timeout_seconds = 10;
    settings.crm_lease_seconds = 120;
    settings.allow_private_networks = true;
    (TestApp::start_with(settings).await, backend)
}

/// A `WEBHOOK` connector for identity creations aimed at `crm`; returns its id.
async fn create_connector(app: &TestApp, tenant: &TestTenant, crm: &FakeCrm) -> String {
    let created = app
        .tenant(
            tenant,
            "mutation($input: CreateCrmConnectorInput!) { createCrmConnector(input: $input) { connector { id } } }",
            json!({ "input": {
                "name": "bench receiver",
                "kind": "WEBHOOK",
                "triggers": ["IDENTITY_CREATED"],
                "settings": { "url": crm.server.uri() },
                "credentials": { "secret": SECRET },
            } }),
        )
        .await;
    created.data()["createCrmConnector"]["connector"]["id"]
        .as_str()
        .expect("connector id")
        .to_owned()
}

async fn set_enabled(app: &TestApp, tenant: &TestTenant, connector: &str, enabled: bool) {
    let mutation = if enabled {
        "mutation($id: ID!) { enableCrmConnector(input: { id: $id }) { connector { enabled } } }"
    } else {
        "mutation($id: ID!) { disableCrmConnector(input: { id: $id }) { connector { enabled } } }"
    };
    app.tenant(tenant, mutation, json!({ "id": connector }))
        .await
        .data();
}

/// Creates `count` identities with 8 clients.
async fn seed(app: &Arc<TestApp>, tenant: &TestTenant, count: usize) {
    let seeders = (0..8).map(|worker| {
        let (app, tenant) = (app.clone(), tenant.clone());
        tokio::spawn(async move {
            for _ in (worker..count).step_by(8) {
                app.create_identity(&tenant, &format!("{}@example.com", unique("outbox")))
                    .await;
            }
        })
    });
    for seeder in seeders.collect::<Vec<_>>() {
        seeder.await.expect("seeder");
    }
}

/// Every delivery of `connector` (pages of 1000).
async fn deliveries(app: &TestApp, tenant: &TestTenant, connector: &str) -> Vec<Value> {
    let mut all = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let page = app
            .tenant(
                tenant,
                "query($after: String, $filter: CrmSyncEventFilter) { crmSyncEvents(first: 1000, after: $after, filter: $filter) { pageInfo { hasNextPage endCursor } nodes { status nextAttemptAt } } }",
                json!({ "after": after, "filter": { "connectorId": connector } }),
            )
            .await;
        let connection = &page.data()["crmSyncEvents"];
        all.extend(
            connection["nodes"]
                .as_array()
                .expect("nodes")
                .iter()
                .cloned(),
        );
        if connection["pageInfo"]["hasNextPage"] != true {
            return all;
        }
        after = connection["pageInfo"]["endCursor"]
            .as_str()
            .map(str::to_owned);
    }
}

/// Waits until the dispatchers have seen every queued delivery of the disabled connector and
/// parked it (its next attempt an hour ahead), so that enabling starts from a quiet queue.
async fn wait_until_parked(app: &TestApp, tenant: &TestTenant, connector: &str, count: usize) {
    let deadline = Instant::now() + Duration::from_secs(600);
    loop {
        let horizon = Utc::now() + chrono::Duration::minutes(30);
        let all = deliveries(app, tenant, connector).await;
        let parked = all
            .iter()
            .filter(|d| {
                d["status"] == "PENDING"
                    && d["nextAttemptAt"]
                        .as_str()
                        .and_then(|at| DateTime::parse_from_rfc3339(at).ok())
                        .is_some_and(|at| at > horizon)
            })
            .count();
        if all.len() == count && parked == count {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{} deliveries of {count}, {parked} parked",
            all.len()
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

async fn delivered_count(app: &TestApp, tenant: &TestTenant, connector: &str) -> u64 {
    let page = app
        .tenant(
            tenant,
            "query($filter: CrmSyncEventFilter) { crmSyncEvents(first: 1, filter: $filter) { totalCount } }",
            json!({ "filter": { "connectorId": connector, "status": "DELIVERED" } }),
        )
        .await;
    page.data()["crmSyncEvents"]["totalCount"]
        .as_u64()
        .expect("totalCount")
}

/// A server's delivered count, CRM call seconds and SQL statements, from `/metrics`.
async fn counters(app: &TestApp) -> [f64; 3] {
    let metrics = app.metrics().await;
    [DELIVERED, CALL_SECONDS, STATEMENTS].map(|name| metrics.get(name).copied().unwrap_or(0.0))
}

/// One throughput run: queue `events` deliveries behind a disabled connector (created through
/// `servers[0]`), enable it, time until every delivery is `DELIVERED`. All `servers` run
/// dispatchers.
async fn throughput(servers: &[Arc<TestApp>], events: usize, name: &str) {
    let app = &servers[0];
    let crm = FakeCrm::start().await;
    let tenant = app.create_tenant("bench-outbox").await;
    let connector = create_connector(app, &tenant, &crm).await;
    set_enabled(app, &tenant, &connector, false).await;
    let seeding = Instant::now();
    seed(app, &tenant, events).await;
    let seeded = seeding.elapsed();
    wait_until_parked(app, &tenant, &connector, events).await;
    eprintln!(
        "{name}: seeded {events} identities in {seeded:.1?}, all parked after {:.1?}",
        seeding.elapsed()
    );

    let mut before = Vec::new();
    for server in servers {
        before.push(counters(server).await);
    }
    let enabled_at = Instant::now();
    set_enabled(app, &tenant, &connector, true).await;
    let deadline = enabled_at + Duration::from_secs(1200);
    while crm.seen(|seen| seen.events.len()) < events {
        assert!(Instant::now() < deadline, "deliveries did not finish");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    while delivered_count(app, &tenant, &connector).await < events as u64 {
        assert!(Instant::now() < deadline, "deliveries were not recorded");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let all_delivered = enabled_at.elapsed();
    let (requests, first, last) = crm.seen(|seen| {
        (
            seen.requests,
            seen.first.expect("a request"),
            seen.last.expect("a request"),
        )
    });
    let mut delivered_by = Vec::new();
    let (mut calls, mut statements) = (0.0, 0.0);
    for (server, before) in servers.iter().zip(before) {
        let after = counters(server).await;
        delivered_by.push(after[0] - before[0]);
        calls += after[1] - before[1];
        statements += after[2] - before[2];
    }

    let per_second = events as f64 / all_delivered.as_secs_f64();
    let crm_span = last - first;
    println!(
        "| {name} | {events} | {:.2} s | **{per_second:.0}** | {:.0} | {:.2} ms | {:.2} ms | {:.1} |",
        all_delivered.as_secs_f64(),
        (events - 1) as f64 / crm_span.as_secs_f64(),
        (crm_span.as_secs_f64() * 1000.0) / events as f64 * servers.len() as f64,
        calls * 1000.0 / events as f64,
        statements / events as f64,
    );
    eprintln!(
        "{name}: first request at the CRM {:.0?} after enabling; {requests} requests for {events} events; delivered per dispatcher: {delivered_by:?}",
        first - enabled_at
    );
}

/// One latency run on a server whose dispatcher polls every `poll_interval`: `samples`
/// identities created one at a time, each after a random pause, and timed from sending
/// `createIdentity` to the CRM receiving its event. Answers (change → CRM, createIdentity).
async fn latency(
    app: &TestApp,
    samples: usize,
    poll_interval: Duration,
) -> (Vec<Duration>, Vec<Duration>) {
    let crm = FakeCrm::start().await;
    let tenant = app.create_tenant("bench-outbox-latency").await;
    create_connector(app, &tenant, &crm).await;
    // A pause up to one idle poll (and a little) puts each change at any point of the
    // dispatcher's sleep, rather than always just after the previous delivery.
    let mut random = Pseudorandom::seeded();
    let spread = poll_interval + Duration::from_millis(100);
    let (mut to_crm, mut answers) = (Vec::new(), Vec::new());
    for _ in 0..samples {
        tokio::time::sleep(spread.mul_f64(random.fraction())).await;
        let email = format!("{}@example.com", unique("latency"));
        let sent = Instant::now();
        app.create_identity(&tenant, &email).await;
        answers.push(sent.elapsed());
        let deadline = sent + Duration::from_secs(60);
        let received = loop {
            if let Some(at) = crm.seen(|seen| seen.by_email.get(&email).copied()) {
                break at;
            }
            assert!(Instant::now() < deadline, "{email} never reached the CRM");
            tokio::time::sleep(Duration::from_millis(1)).await;
        };
        to_crm.push(received - sent);
    }
    (to_crm, answers)
}

/// p50, p99 and max of `latencies`, in milliseconds.
fn quantiles(mut latencies: Vec<Duration>) -> (f64, f64, f64) {
    latencies.sort();
    let at = |q: f64| {
        latencies[((latencies.len() as f64 * q) as usize).min(latencies.len() - 1)].as_secs_f64()
            * 1000.0
    };
    (at(0.50), at(0.99), at(1.0))
}

/// xorshift64*: pauses that differ from run to run without a dependency.
struct Pseudorandom(u64);

impl Pseudorandom {
    fn seeded() -> Self {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(1);
        Self(nanos | 1)
    }

    fn fraction(&mut self) -> f64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// How fast the fake CRM answers on its own: `count` POSTs one at a time from one client,
/// as a dispatcher sends them.
async fn receiver_alone(count: usize) -> f64 {
    let crm = FakeCrm::start().await;
    let client = reqwest::Client::new();
    let body =
        json!({ "id": "x", "type": "identity.created", "data": { "email": "a@example.com" } });
    let started = Instant::now();
    for _ in 0..count {
        let response = client
            .post(crm.server.uri())
            .json(&body)
            .send()
            .await
            .expect("receiver answers");
        assert_eq!(response.status(), 200);
    }
    count as f64 / started.elapsed().as_secs_f64()
}

#[tokio::main]
async fn main() {
    let events = knob("BENCH_EVENTS", 2000);
    let samples = knob("BENCH_LATENCY_SAMPLES", 200);
    let postgres = test_database_url().is_some();

    let (first, backend) = start(1000).await;
    let first = Arc::new(first);
    println!(
        "backend: {backend}; {events} queued identity creations per throughput run; {samples} latency samples"
    );
    println!(
        "fake CRM alone: {:.0} requests/s (one client, one request at a time)",
        receiver_alone(2000).await
    );
    println!(
        "| scenario | events | enable → all DELIVERED | delivered/s | delivered/s at the CRM (first → last request) | per delivery and dispatcher | of which CRM call | SQL statements per delivery |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    throughput(std::slice::from_ref(&first), events, "1 dispatcher").await;
    if postgres {
        let second = Arc::new(start(1000).await.0);
        throughput(
            &[first.clone(), second.clone()],
            events,
            "2 dispatchers (2 servers, one database)",
        )
        .await;
        if let Ok(second) = Arc::try_unwrap(second) {
            second.stop().await;
        }
    }

    println!();
    println!(
        "| change → CRM request, 1 dispatcher | samples | p50 | p99 | max | createIdentity answer p50 / p99 |"
    );
    println!("|---|---|---|---|---|---|");
    let report = |name: &str, (to_crm, answers): (Vec<Duration>, Vec<Duration>)| {
        let (p50, p99, max) = quantiles(to_crm);
        let (a50, a99, _) = quantiles(answers);
        println!(
            "| {name} | {samples} | {p50:.1} ms | {p99:.1} ms | {max:.1} ms | {a50:.1} ms / {a99:.1} ms |"
        );
    };
    report(
        "poll interval 1000 ms (default)",
        latency(&first, samples, Duration::from_millis(1000)).await,
    );
    if let Ok(first) = Arc::try_unwrap(first) {
        first.stop().await;
    }
    let fast = start(50).await.0;
    report(
        "poll interval 50 ms",
        latency(&fast, samples, Duration::from_millis(50)).await,
    );
    fast.stop().await;
}
