//! Three replicas of the real binary on PostgreSQL and Redis behind HAProxy, under bounded
//! mixed load (API keys, passkey ceremonies begun on one replica and finished on another, the
//! OIDC code flow, CRM webhook deliveries), through four faults in turn:
//! (a) a rolling restart with SIGTERM: no client request fails;
//! (b) a replica SIGKILLed: only requests it had in hand fail;
//! (c) Redis stopped for a few seconds: what needs only PostgreSQL keeps working, what needs
//!     Redis is refused with `UNAVAILABLE`, and everything works again once Redis is back;
//! (d) PostgreSQL restarted: requests are refused with 503 `UNAVAILABLE` meanwhile (never a
//!     500, never data with errors), and work again once it is back.
//! Then every acknowledged `createIdentity` exists exactly once, with its audit event and
//! outbox event, and reached the CRM webhook. The test asserts outcomes and their order, not
//! speeds; it prints what the clients saw and how long recovery took.
//!
//! It starts its own PostgreSQL, Redis and HAProxy on free ports (never the machine's), so it
//! runs only with `LATCHKEY_TEST_REPLICAS=1` (`.ci/run` does); it needs `initdb`/`postgres`,
//! `redis-server`, `haproxy` and the `latchkey` binary (`cargo build -p latchkey-api`).

use latchkey_tests::passkey::Device;
use latchkey_tests::replicas::enabled;
use latchkey_tests::replicas::fleet::Fleet;
use latchkey_tests::replicas::load::{
    Acknowledged, Client, Context, Load, Observed, OidcClient, Record, Rotation, Target,
};
use latchkey_tests::replicas::outcome::Outcome;
use latchkey_tests::{TestApp, TestTenant, unique_email};
use nix::sys::signal::Signal;
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

const REPLICAS: usize = 3;
const CALLBACK: &str = "https://rp.example/callback";
/// How long the load runs before and after each fault.
const SETTLE: Duration = Duration::from_millis(1500);
/// How long Redis and PostgreSQL stay down.
const OUTAGE: Duration = Duration::from_secs(3);

/// What one experiment showed, for the table at the end.
struct Experiment {
    name: &'static str,
    records: Vec<Record>,
    notes: Vec<String>,
}

/// Everything that went against the expected outcome, reported together at the end.
#[derive(Default)]
struct Violations(Vec<String>);

impl Violations {
    fn check(&mut self, ok: bool, what: impl FnOnce() -> String) {
        if !ok {
            self.0.push(what());
        }
    }

    /// Each record `allowed` refuses, with what the client saw.
    fn each(
        &mut self,
        experiment: &str,
        records: &[Record],
        at: Instant,
        allowed: impl Fn(&Record) -> bool,
    ) {
        for record in records.iter().filter(|r| !allowed(r)) {
            self.0.push(format!(
                "{experiment}: {:?} {} via {:?} (served by {}) at {:+.3}s: {:?}",
                record.client,
                record.operation,
                record.target,
                record.served_by.as_deref().unwrap_or("-"),
                seconds_between(at, record.started),
                record.outcome,
            ));
        }
    }
}

fn seconds_between(from: Instant, to: Instant) -> f64 {
    if to >= from {
        (to - from).as_secs_f64()
    } else {
        -(from - to).as_secs_f64()
    }
}

/// The first success among `records` that started at or after `since`: how long after.
fn first_success(records: &[Record], since: Instant, which: impl Fn(&Record) -> bool) -> String {
    records
        .iter()
        .filter(|r| r.started >= since && r.outcome == Outcome::Ok && which(r))
        .map(|r| r.ended - since)
        .min()
        .map(|d| format!("{:.2}s", d.as_secs_f64()))
        .unwrap_or_else(|| "none".into())
}

/// How long the slowest of `records` that `which` picks took.
fn slowest(records: &[Record], which: impl Fn(&Record) -> bool) -> String {
    records
        .iter()
        .filter(|r| which(r))
        .map(|r| r.ended - r.started)
        .max()
        .map(|d| format!("{:.2}s", d.as_secs_f64()))
        .unwrap_or_else(|| "none".into())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_replicas_behind_haproxy_ride_out_restarts_kills_and_outages() {
    if !enabled() {
        println!(
            "skipped: the three-replica fault test starts its own PostgreSQL, Redis and HAProxy; \
             run it with LATCHKEY_TEST_REPLICAS=1 (as .ci/run does)"
        );
        return;
    }
    let began = Instant::now();
    let fleet = Fleet::start(REPLICAS).await;
    let started_in = began.elapsed();
    let receiver = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&receiver)
        .await;
    let balancer = fleet.balancer();
    let tenant = set_up_tenant(&balancer, &receiver).await;
    let context = Arc::new(Context {
        http: Context::http_client(),
        balancer: balancer.url.clone(),
        replicas: fleet.replicas.iter().map(|r| r.url()).collect(),
        public_url: balancer.public_url.clone(),
        oidc: oidc_client(&balancer, &tenant).await,
        tenant,
        rotation: Rotation::new(REPLICAS),
    });
    let mut run = Run {
        fleet,
        context,
        violations: Violations::default(),
        experiments: Vec::new(),
        acknowledged: Vec::new(),
    };
    run.baseline().await;
    run.rolling_restart().await;
    run.kill_one().await;
    run.outage(Dependency::Redis, "(c) Redis stopped").await;
    run.outage(Dependency::Postgres, "(d) PostgreSQL restarted")
        .await;
    let Run {
        fleet,
        context,
        mut violations,
        experiments,
        acknowledged,
    } = run;

    let checked = Instant::now();
    check_writes(&fleet, &context.tenant, &acknowledged, &mut violations);
    check_deliveries(&receiver, &acknowledged, &mut violations).await;
    let checks_took = checked.elapsed();

    print_table(&experiments);
    let haproxy: Vec<String> = fleet
        .haproxy
        .servers()
        .await
        .iter()
        .map(|s| {
            format!(
                "{} {} requests, {} retried, {} redispatched",
                s.name, s.sessions, s.retries, s.redispatches
            )
        })
        .collect();
    println!("HAProxy: {}", haproxy.join("; "));
    println!(
        "start-up {:.1}s, write and delivery checks {:.1}s, whole test {:.1}s; {} acknowledged writes",
        started_in.as_secs_f64(),
        checks_took.as_secs_f64(),
        began.elapsed().as_secs_f64(),
        acknowledged.len()
    );
    assert!(
        violations.0.is_empty(),
        "{} unexpected outcome(s):\n{}",
        violations.0.len(),
        violations.0.join("\n")
    );
}

/// A tenant that allows sign-up without a proven address (the test reads no mail), with rate
/// limits far above the load (every client is 127.0.0.1), a webhook connector to `receiver`
/// for created identities, and a web application for the OIDC client.
async fn set_up_tenant(balancer: &TestApp, receiver: &MockServer) -> TestTenant {
    let tenant = balancer.create_tenant("replicas").await;
    balancer
        .tenant(
            &tenant,
            "mutation($input: UpdateTenantSettingsInput!) { updateTenantSettings(input: $input) { settings { requireVerifiedEmail } } }",
            json!({ "input": {
                "requireVerifiedEmail": false,
                "rateLimits": {
                    "signInPerIp": 100000, "signInPerIdentity": 100000,
                    "signInPerIdentityAllIps": 100000, "signUpPerIp": 100000,
                    "tokenPerIp": 100000, "tokenPerClient": 100000,
                },
            } }),
        )
        .await
        .data();
    balancer
        .tenant(
            &tenant,
            "mutation($input: CreateCrmConnectorInput!) { createCrmConnector(input: $input) { connector { id } } }",
            json!({ "input": {
                "name": "Back office",
                "kind": "WEBHOOK",
                "triggers": ["IDENTITY_CREATED"],
                "settings": { "url": format!("{}/hooks/latchkey", receiver.uri()) },
                "credentials": { "secret": "whsec_0123456789abcdef" },
            } }),
        )
        .await
        .data();
    tenant
}

/// A web application and the passkey of the user it signs in.
async fn oidc_client(balancer: &TestApp, tenant: &TestTenant) -> OidcClient {
    let application = balancer
        .create_application(tenant, "WEB", &[CALLBACK], json!({}))
        .await;
    let mut device = Device::new(balancer);
    let begun = balancer
        .begin_registration(
            tenant,
            None,
            json!({ "email": unique_email(), "displayName": "OIDC user" }),
        )
        .await;
    let credential = device.create(&begun.options);
    let credential_id = credential["id"].as_str().unwrap().to_owned();
    balancer
        .finish_registration(tenant, None, &begun.ceremony_id, credential)
        .await
        .data();
    OidcClient {
        client_id: application.client_id,
        client_secret: application
            .client_secret
            .expect("a web application's secret"),
        redirect_uri: CALLBACK.to_owned(),
        device: tokio::sync::Mutex::new(device),
        credential_id,
    }
}

/// A service the replicas depend on.
#[derive(Clone, Copy, Debug)]
enum Dependency {
    Redis,
    Postgres,
}

impl Dependency {
    fn name(self) -> &'static str {
        match self {
            Dependency::Redis => "Redis",
            Dependency::Postgres => "PostgreSQL",
        }
    }

    /// Whether a request cannot succeed without it: everything needs PostgreSQL; API keys,
    /// tenants and quotas come from PostgreSQL when Redis fails, ceremonies and codes do not.
    fn needed_by(self, record: &Record) -> bool {
        match self {
            Dependency::Redis => record.client != Client::ApiKey,
            Dependency::Postgres => true,
        }
    }

    /// Stops it: Redis with SIGTERM (it closes every connection and exits), PostgreSQL with a
    /// fast shutdown (what a restart or a failover does to the clients' sessions).
    async fn stop(self, fleet: &mut Fleet) {
        match self {
            Dependency::Redis => fleet.redis.stop_server().await,
            Dependency::Postgres => fleet.postgres.stop_server().await,
        }
    }

    /// Starts it again (Redis empty, as a cache without persistence comes back).
    async fn start(self, fleet: &mut Fleet) {
        match self {
            Dependency::Redis => fleet.redis.start_server().await,
            Dependency::Postgres => fleet.postgres.start_server().await,
        }
    }
}

/// The fleet, the clients' shared context, and what the experiments found so far.
struct Run {
    fleet: Fleet,
    context: Arc<Context>,
    violations: Violations,
    experiments: Vec<Experiment>,
    acknowledged: Vec<Acknowledged>,
}

impl Run {
    /// Starts the load and lets it run a while before the fault.
    async fn start_load(&self) -> Load {
        let load = Load::start(self.context.clone());
        tokio::time::sleep(SETTLE).await;
        load
    }

    /// Keeps what an experiment's load saw, for the table and the final checks.
    fn keep(&mut self, name: &'static str, observed: Observed, notes: Vec<String>) {
        self.acknowledged.extend(observed.acknowledged);
        self.experiments.push(Experiment {
            name,
            records: observed.records,
            notes,
        });
    }

    /// Before any fault, everything works: the baseline that makes the rest meaningful.
    async fn baseline(&mut self) {
        let observed = self.start_load().await.stop().await;
        self.violations
            .each("baseline", &observed.records, Instant::now(), |r| {
                r.outcome == Outcome::Ok
            });
        for client in [Client::ApiKey, Client::Passkey, Client::Oidc] {
            self.violations
                .check(observed.records.iter().any(|r| r.client == client), || {
                    format!("(baseline) the {client:?} client made no request")
                });
        }
        self.keep("baseline", observed, vec![]);
    }

    /// (a) Each replica in turn gets SIGTERM and is started again once it has exited;
    /// HAProxy must count it out before it stops accepting, and no client request may fail.
    async fn rolling_restart(&mut self) {
        const NAME: &str = "(a) rolling restart, SIGTERM";
        let load = self.start_load().await;
        let mut notes = Vec::new();
        for index in 0..REPLICAS {
            self.context.rotation.set(index, false);
            let Fleet {
                haproxy, replicas, ..
            } = &mut self.fleet;
            let (out, (status, exited)) = tokio::join!(
                haproxy.wait_status(index, "DOWN", Duration::from_secs(30)),
                replicas[index].stop(Signal::SIGTERM, Duration::from_secs(45)),
            );
            self.violations.check(status.success(), || {
                format!(
                    "(a) replica {} exited with {status} after SIGTERM",
                    index + 1
                )
            });
            self.violations.check(out < exited, || {
                format!(
                    "(a) replica {} closed before HAProxy counted it out ({out:?} ≥ {exited:?})",
                    index + 1
                )
            });
            let back = self.fleet.restart(index).await;
            self.context.rotation.set(index, true);
            notes.push(format!(
                "r{}: out of HAProxy {:.2}s after SIGTERM, exited {:.2}s, back in {:.2}s",
                index + 1,
                out.as_secs_f64(),
                exited.as_secs_f64(),
                back.as_secs_f64()
            ));
        }
        tokio::time::sleep(SETTLE).await;
        let observed = load.stop().await;
        self.violations
            .each(NAME, &observed.records, Instant::now(), |r| {
                r.outcome == Outcome::Ok
            });
        self.keep(NAME, observed, notes);
    }

    /// (b) One replica is SIGKILLed under load: only requests it had in hand may fail.
    async fn kill_one(&mut self) {
        const NAME: &str = "(b) one replica SIGKILLed";
        const KILLED: usize = 1;
        let load = self.start_load().await;
        self.context.rotation.set(KILLED, false);
        let killed_at = Instant::now();
        self.fleet.replicas[KILLED]
            .stop(Signal::SIGKILL, Duration::from_secs(5))
            .await;
        // The process is gone and its connections are closed.
        let dead_at = Instant::now();
        let out = self
            .fleet
            .haproxy
            .wait_status(KILLED, "DOWN", Duration::from_secs(10))
            .await;
        tokio::time::sleep(SETTLE).await;
        let back = self.fleet.restart(KILLED).await;
        self.context.rotation.set(KILLED, true);
        tokio::time::sleep(SETTLE).await;
        let observed = load.stop().await;
        // What was in flight on the replica as it died: a step of a flow that had chosen it
        // before (addressed directly), or a request HAProxy had given it (HAProxy names it,
        // or, for a request it may not retry, closes the client's connection unanswered).
        let in_flight = |r: &Record| match r.target {
            Target::Replica(index) => index == KILLED && r.flow_started <= dead_at,
            Target::Balancer => {
                (r.touched(KILLED) || r.served_by.is_none())
                    && r.started <= dead_at
                    && r.ended >= killed_at
            }
        };
        self.violations
            .each(NAME, &observed.records, killed_at, |r| {
                r.outcome == Outcome::Ok || in_flight(r)
            });
        let notes = vec![format!(
            "r{} out of HAProxy {:.2}s after the kill; restarted and back in {:.2}s",
            KILLED + 1,
            out.as_secs_f64(),
            back.as_secs_f64()
        )];
        self.keep(NAME, observed, notes);
    }

    /// (c) and (d): `dependency` is stopped for a few seconds under load, then started
    /// again. What does not need it never fails; what does succeeds or is refused as
    /// unavailable, never with an error, and at least one request is refused; every flow that
    /// starts once it is back succeeds.
    async fn outage(&mut self, dependency: Dependency, name: &'static str) {
        let load = self.start_load().await;
        let stopped_at = Instant::now();
        dependency.stop(&mut self.fleet).await;
        tokio::time::sleep(OUTAGE).await;
        dependency.start(&mut self.fleet).await;
        let back_at = Instant::now();
        tokio::time::sleep(SETTLE * 2).await;
        let observed = load.stop().await;
        let records = &observed.records;
        let needs = |r: &Record| dependency.needed_by(r);
        let during = |r: &Record| r.ended >= stopped_at && r.started <= back_at;
        let violations = &mut self.violations;
        violations.each(name, records, stopped_at, |r| {
            needs(r) || r.outcome == Outcome::Ok
        });
        violations.each(name, records, stopped_at, |r| {
            !needs(r) || !during(r) || matches!(r.outcome, Outcome::Ok | Outcome::Unavailable)
        });
        violations.each(name, records, back_at, |r| {
            !needs(r) || r.flow_started < back_at || r.outcome == Outcome::Ok
        });
        violations.check(
            records
                .iter()
                .any(|r| during(r) && r.outcome == Outcome::Unavailable),
            || {
                format!(
                    "{name}: no request was refused while {} was down",
                    dependency.name()
                )
            },
        );
        let notes = vec![
            format!(
                "{} down {:.2}s; slowest request meanwhile {}",
                dependency.name(),
                (back_at - stopped_at).as_secs_f64(),
                slowest(records, during)
            ),
            format!(
                "after it is back: first success {} (of what needs it), {} (of the rest)",
                first_success(records, back_at, needs),
                first_success(records, back_at, |r| !needs(r))
            ),
        ];
        self.keep(name, observed, notes);
    }
}

/// Every acknowledged identity exists once, with one `identity.create` audit event and one
/// `identity.created` outbox event.
fn check_writes(
    fleet: &Fleet,
    tenant: &TestTenant,
    acknowledged: &[Acknowledged],
    violations: &mut Violations,
) {
    if acknowledged.is_empty() {
        violations.check(false, || "no createIdentity was acknowledged".into());
        return;
    }
    let rows: Vec<String> = acknowledged
        .iter()
        .map(|a| format!("('{}'::uuid, '{}')", a.identity_id, a.email))
        .collect();
    let tenant_id = &tenant.id;
    let counts = fleet.postgres.query(&format!(
        "WITH acknowledged(id, email) AS (VALUES {})
         SELECT a.email,
           (SELECT count(*) FROM identities i
             WHERE i.tenant_id = '{tenant_id}' AND i.id = a.id AND i.email = a.email),
           (SELECT count(*) FROM identities i
             WHERE i.tenant_id = '{tenant_id}' AND i.email = a.email),
           (SELECT count(*) FROM audit_events e WHERE e.tenant_id = '{tenant_id}'
             AND e.action = 'identity.create' AND e.target_id = a.id::text),
           (SELECT count(*) FROM outbox_events o WHERE o.tenant_id = '{tenant_id}'
             AND o.event_type = 'identity.created' AND o.subject_id = a.id)
         FROM acknowledged a",
        rows.join(", ")
    ));
    let lines: Vec<&str> = counts.lines().collect();
    violations.check(lines.len() == acknowledged.len(), || {
        format!("{} rows for {} writes", lines.len(), acknowledged.len())
    });
    for line in lines {
        violations.check(line.ends_with("|1|1|1|1"), || {
            format!("acknowledged write not found exactly once (email|row|by email|audit|outbox): {line}")
        });
    }
}

/// Every acknowledged identity reached the webhook; a redelivery carries the same event id.
async fn check_deliveries(
    receiver: &MockServer,
    acknowledged: &[Acknowledged],
    violations: &mut Violations,
) {
    let deadline = Instant::now() + Duration::from_secs(30);
    let missing = loop {
        let mut events: HashMap<String, Vec<String>> = HashMap::new();
        for request in receiver.received_requests().await.unwrap_or_default() {
            let Ok(body) = serde_json::from_slice::<Value>(&request.body) else {
                continue;
            };
            if body["type"] == "identity.created"
                && let Some(email) = body["data"]["email"].as_str()
            {
                events
                    .entry(email.to_owned())
                    .or_default()
                    .push(body["id"].as_str().unwrap_or("").to_owned());
            }
        }
        for (email, ids) in &events {
            violations.check(ids.iter().all(|id| *id == ids[0]), || {
                format!("{email} was delivered as different events: {ids:?}")
            });
        }
        let missing: Vec<&str> = acknowledged
            .iter()
            .filter(|a| !events.contains_key(&a.email))
            .map(|a| a.email.as_str())
            .collect();
        if missing.is_empty() || Instant::now() > deadline {
            break missing;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    violations.check(missing.is_empty(), || {
        format!(
            "{} acknowledged identities never reached the webhook: {:?}",
            missing.len(),
            &missing[..missing.len().min(10)]
        )
    });
}

/// What the clients saw, per experiment and client: ok / UNAVAILABLE / other failures, the
/// failures' kinds, and the experiment's timings.
fn print_table(experiments: &[Experiment]) {
    println!("\nWhat clients saw (requests: ok / UNAVAILABLE / other):");
    println!(
        "{:<32} {:>20} {:>20} {:>20}",
        "experiment", "API key", "passkey", "OIDC"
    );
    for experiment in experiments {
        let cell = |client: Client| {
            let records = experiment.records.iter().filter(|r| r.client == client);
            let (mut ok, mut unavailable, mut other) = (0, 0, 0);
            for record in records {
                match record.outcome {
                    Outcome::Ok => ok += 1,
                    Outcome::Unavailable => unavailable += 1,
                    Outcome::Failed(_) => other += 1,
                }
            }
            format!("{ok} / {unavailable} / {other}")
        };
        println!(
            "{:<32} {:>20} {:>20} {:>20}",
            experiment.name,
            cell(Client::ApiKey),
            cell(Client::Passkey),
            cell(Client::Oidc)
        );
        for note in &experiment.notes {
            println!("    {note}");
        }
        let mut failures: BTreeMap<String, usize> = BTreeMap::new();
        for record in &experiment.records {
            if let Outcome::Failed(what) = &record.outcome {
                *failures
                    .entry(format!("{} {what}", record.operation))
                    .or_default() += 1;
            }
        }
        for (what, count) in failures {
            println!("    {count} × {what}");
        }
    }
}
