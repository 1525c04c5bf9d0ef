//! Redis outages and failovers under the store, on Redis processes of the test's own.
//! `tests/redis/run` (run by `.ci/run`) starts them and sets the variables; without them each
//! test is skipped. They change the topology they run on, so they run alone
//! (`--test-threads=1`), never beside the suite on the same servers.
//!
//! - `LATCHKEY_TEST_REDIS_RESTART_PORT`: a free port; the test starts and stops `redis-server`
//!   on it itself.
//! - `LATCHKEY_TEST_REDIS_FAILOVER_SENTINEL_URL`: a Sentinel set whose primary has a replica.
//! - `LATCHKEY_TEST_REDIS_FAILOVER_CLUSTER_URL`: a cluster whose primaries have replicas.
//!
//! The tests assert outcomes and their order (which errors, which writes survive, success
//! again within a bounded number of attempts); the durations they print are measurements.
//! The only time bounds are loose behaviour checks (failing "at once" is far below the 9.5 s
//! the client took before).

use super::suite::{is_redis_unavailable, scope};
use super::*;
use redis::aio::MultiplexedConnection;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// The server's default.
const TIMEOUT: Duration = Duration::from_millis(250);
const TTL: Duration = Duration::from_secs(300);

/// A connection of the test's own, beside the store, with no response timeout (`WAIT`).
async fn raw(url: &str) -> MultiplexedConnection {
    redis::Client::open(url)
        .unwrap()
        .get_multiplexed_async_connection_with_config(
            &redis::AsyncConnectionConfig::new().set_response_timeout(None),
        )
        .await
        .unwrap_or_else(|e| panic!("{url}: {e}"))
}

async fn eventually<F: std::future::Future<Output = bool>>(
    what: &str,
    mut check: impl FnMut() -> F,
) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !check().await {
        assert!(Instant::now() < deadline, "not within 30 s: {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Writes `count` keys of as many tenants (so, in a cluster, on every primary).
async fn write_keys(store: &dyn EphemeralStore, count: usize) -> Vec<(StoreKey, Vec<u8>)> {
    let mut written = Vec::new();
    for i in 0..count {
        let key = StoreKey::tenant(&scope(), "fault", "k");
        let value = format!("before-{i}").into_bytes();
        store.set(&key, &value, TTL).await.unwrap();
        written.push((key, value));
    }
    written
}

/// One SET of the load, with when it started and whether it was acknowledged.
struct Write {
    started: Instant,
    key: StoreKey,
    value: Vec<u8>,
    acknowledged: bool,
}

#[derive(Default)]
struct Seen {
    writes: Vec<Write>,
    /// Every error, with when the operation started.
    errors: Vec<(Instant, String)>,
    /// Errors other than Unavailable.
    wrong: Vec<String>,
}

/// SET then GET of a fresh key, again and again, until stopped.
struct Load {
    seen: Arc<Mutex<Seen>>,
    stop: tokio::sync::watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl Load {
    fn start(store: Arc<RedisStore>) -> Self {
        let seen = Arc::new(Mutex::new(Seen::default()));
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let record = seen.clone();
        let task = tokio::spawn(async move {
            let mut i = 0;
            while !*stopped.borrow() {
                i += 1;
                let key = StoreKey::tenant(&scope(), "fault", "load");
                let value = format!("load-{i}").into_bytes();
                let started = Instant::now();
                let outcome = store.set(&key, &value, TTL).await;
                let read = match &outcome {
                    Ok(()) => Some(store.get(&key).await),
                    Err(_) => None,
                };
                {
                    let mut seen = record.lock().unwrap();
                    for error in [
                        outcome.as_ref().err(),
                        read.as_ref().and_then(|r| r.as_ref().err()),
                    ]
                    .into_iter()
                    .flatten()
                    {
                        if !is_redis_unavailable(error) {
                            seen.wrong.push(format!("{error:?}"));
                        }
                        seen.errors.push((started, error.to_string()));
                    }
                    seen.writes.push(Write {
                        started,
                        key,
                        value,
                        acknowledged: outcome.is_ok(),
                    });
                }
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        });
        Self { seen, stop, task }
    }

    /// Acknowledged writes started after `since`.
    fn acknowledged_since(&self, since: Instant) -> usize {
        let seen = self.seen.lock().unwrap();
        seen.writes
            .iter()
            .filter(|w| w.started >= since && w.acknowledged)
            .count()
    }

    async fn stop(self) -> Seen {
        self.stop.send(true).unwrap();
        self.task.await.unwrap();
        Arc::try_unwrap(self.seen)
            .ok()
            .unwrap()
            .into_inner()
            .unwrap()
    }
}

/// What the load saw around a failover that ran from `started` to `finished`. Asserts that
/// every error was Unavailable, that the load succeeded again within a bounded number of
/// attempts after `finished`, and that the writes of `before` and every write acknowledged
/// after `finished` are still there; the load's writes before `finished` must be too when
/// `during_must_survive`, and are counted otherwise.
async fn check_failover(
    name: &str,
    store: &RedisStore,
    load: Load,
    before: &[(StoreKey, Vec<u8>)],
    started: Instant,
    finished: Instant,
    during_must_survive: bool,
) {
    // Run on until 20 writes after the failover were acknowledged.
    eventually("writes succeed again after the failover", || {
        let done = load.acknowledged_since(finished) >= 20;
        async move { done }
    })
    .await;
    let seen = load.stop().await;
    assert!(
        seen.wrong.is_empty(),
        "{name}: errors other than Unavailable: {:?}",
        seen.wrong
    );

    let after: Vec<_> = seen
        .writes
        .iter()
        .filter(|w| w.started >= finished)
        .collect();
    let attempts_to_recover = after.iter().take_while(|w| !w.acknowledged).count();
    assert!(
        attempts_to_recover <= 40,
        "{name}: {attempts_to_recover} failed writes after the failover finished"
    );

    let mut lost_during = 0;
    let mut acknowledged_during = 0;
    for write in seen.writes.iter().filter(|w| w.acknowledged) {
        let now = store.get(&write.key).await.unwrap();
        let kept = now.as_deref() == Some(&write.value[..]);
        if write.started >= finished {
            assert!(
                kept,
                "{name}: a write acknowledged after the failover was lost"
            );
        } else {
            acknowledged_during += 1;
            if !kept {
                lost_during += 1;
            }
        }
    }
    if during_must_survive {
        assert_eq!(
            lost_during, 0,
            "{name}: writes acknowledged during the failover were lost"
        );
    }
    for (key, value) in before {
        assert_eq!(
            store.get(key).await.unwrap().as_deref(),
            Some(&value[..]),
            "{name}: a write acknowledged before the failover was lost"
        );
    }
    let window = match (seen.errors.first(), seen.errors.last()) {
        (Some((first, _)), Some((last, _))) => format!("{} ms", (*last - *first).as_millis()),
        _ => "none".into(),
    };
    eprintln!(
        "{name}: failover took {} ms (command to topology settled); the load saw {} errors \
         (all Unavailable) over {window}; {attempts_to_recover} failed writes after it settled; \
         {acknowledged_during} load writes acknowledged before it settled, {lost_during} of them \
         lost; \
         {} writes before it and {} after it all kept",
        (finished - started).as_millis(),
        seen.errors.len(),
        before.len(),
        after.iter().filter(|w| w.acknowledged).count(),
    );
}

/// Sentinel: a forced `SENTINEL FAILOVER` while the load runs. Redis replicates
/// asynchronously and a forced failover does not pause the old primary, so what Redis
/// guarantees is this: writes replicated before the failover began survive (the test waits
/// for that with `WAIT`); writes acknowledged by the old primary after the replica was
/// promoted and before it was demoted may be lost (they are counted, not asserted).
#[tokio::test]
async fn a_sentinel_failover_under_load() {
    let Ok(url) = std::env::var("LATCHKEY_TEST_REDIS_FAILOVER_SENTINEL_URL") else {
        eprintln!("skipped: LATCHKEY_TEST_REDIS_FAILOVER_SENTINEL_URL is not set");
        return;
    };
    let RedisAddress::Sentinel {
        sentinels, master, ..
    } = RedisAddress::parse(&url).unwrap()
    else {
        panic!("not a sentinel URL: {url}");
    };
    let mut sentinel = raw(&sentinels[0]).await;
    let primary_address = |mut sentinel: MultiplexedConnection| {
        let master = master.clone();
        async move {
            let (host, port): (String, u16) = redis::cmd("SENTINEL")
                .arg("GET-MASTER-ADDR-BY-NAME")
                .arg(&master)
                .query_async(&mut sentinel)
                .await
                .unwrap();
            format!("redis://{host}:{port}")
        }
    };
    let old = primary_address(sentinel.clone()).await;
    let store = Arc::new(RedisStore::connect(&url, TIMEOUT).await.unwrap());
    let before = write_keys(store.as_ref(), 200).await;
    // Replicated before the failover begins: the replica has everything up to this marker.
    let mut primary = raw(&old).await;
    redis::cmd("SET")
        .arg("lk:{fault}:marker")
        .arg(1)
        .query_async::<()>(&mut primary)
        .await
        .unwrap();
    let replicas: u64 = redis::cmd("WAIT")
        .arg(1)
        .arg(10_000)
        .query_async(&mut primary)
        .await
        .unwrap();
    assert_eq!(replicas, 1, "the replica did not catch up");

    let load = Load::start(store.clone());
    tokio::time::sleep(Duration::from_millis(200)).await;
    let started = Instant::now();
    redis::cmd("SENTINEL")
        .arg("FAILOVER")
        .arg(&master)
        .query_async::<()>(&mut sentinel)
        .await
        .unwrap();
    eventually("the sentinels name a new primary", || {
        let old = old.clone();
        let address = primary_address(sentinel.clone());
        async move { address.await != old }
    })
    .await;
    let named = started.elapsed();
    let new = primary_address(sentinel.clone()).await;
    eventually("the old primary follows the new one", || {
        let old = old.clone();
        async move {
            let mut node = raw(&old).await;
            matches!(
                redis::cmd("ROLE")
                    .query_async::<redis::Role>(&mut node)
                    .await,
                Ok(redis::Role::Replica { .. })
            )
        }
    })
    .await;
    let mut promoted = raw(&new).await;
    assert!(matches!(
        redis::cmd("ROLE")
            .query_async::<redis::Role>(&mut promoted)
            .await
            .unwrap(),
        redis::Role::Primary { .. }
    ));
    let finished = Instant::now();
    eprintln!(
        "sentinel: the sentinels named the new primary {} ms after SENTINEL FAILOVER",
        named.as_millis()
    );
    check_failover("sentinel", &store, load, &before, started, finished, false).await;
}

/// Cluster: a manual `CLUSTER FAILOVER` on a replica while the load runs. A manual failover
/// pauses the primary's writers until the replica has caught up, so Redis guarantees that no
/// acknowledged write is lost, during the failover included; the test asserts exactly that.
#[tokio::test]
async fn a_cluster_failover_under_load() {
    let Ok(url) = std::env::var("LATCHKEY_TEST_REDIS_FAILOVER_CLUSTER_URL") else {
        eprintln!("skipped: LATCHKEY_TEST_REDIS_FAILOVER_CLUSTER_URL is not set");
        return;
    };
    let RedisAddress::Cluster(nodes) = RedisAddress::parse(&url).unwrap() else {
        panic!("not a cluster URL: {url}");
    };
    let mut seed = raw(&nodes[0]).await;
    let topology: String = redis::cmd("CLUSTER")
        .arg("NODES")
        .query_async(&mut seed)
        .await
        .unwrap();
    // "<id> <ip:port@cport> <flags> <primary id> …": the first replica.
    let replica = topology
        .lines()
        .map(|line| line.split(' ').collect::<Vec<_>>())
        .find(|fields| fields[2].contains("slave") && fields[3] != "-")
        .map(|fields| format!("redis://{}", fields[1].split('@').next().unwrap()))
        .expect("a replica in the cluster");

    let store = Arc::new(RedisStore::connect(&url, TIMEOUT).await.unwrap());
    let before = write_keys(store.as_ref(), 200).await;
    let load = Load::start(store.clone());
    tokio::time::sleep(Duration::from_millis(200)).await;
    let started = Instant::now();
    let mut node = raw(&replica).await;
    redis::cmd("CLUSTER")
        .arg("FAILOVER")
        .query_async::<()>(&mut node)
        .await
        .unwrap();
    eventually("the replica is promoted and the cluster is ok", || {
        let mut node = node.clone();
        async move {
            let promoted = matches!(
                redis::cmd("ROLE")
                    .query_async::<redis::Role>(&mut node)
                    .await,
                Ok(redis::Role::Primary { .. })
            );
            let info: String = redis::cmd("CLUSTER")
                .arg("INFO")
                .query_async(&mut node)
                .await
                .unwrap_or_default();
            promoted && info.contains("cluster_state:ok")
        }
    })
    .await;
    let finished = Instant::now();
    check_failover("cluster", &store, load, &before, started, finished, true).await;
}

/// A `redis-server` of the test's own on `port`, with nothing persisted.
struct Server {
    port: u16,
    process: Option<Child>,
}

impl Server {
    async fn start(port: u16) -> Self {
        let mut server = Self {
            port,
            process: None,
        };
        server.restart().await;
        server
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    async fn restart(&mut self) {
        let process = Command::new("redis-server")
            .args(["--bind", "127.0.0.1", "--port", &self.port.to_string()])
            .args(["--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .spawn()
            .expect("redis-server");
        self.process = Some(process);
        let url = self.url();
        eventually("redis-server answers", || {
            let url = url.clone();
            async move {
                match redis::Client::open(url.as_str())
                    .unwrap()
                    .get_multiplexed_async_connection()
                    .await
                {
                    Ok(mut connection) => redis::cmd("PING")
                        .query_async::<()>(&mut connection)
                        .await
                        .is_ok(),
                    Err(_) => false,
                }
            }
        })
        .await;
    }

    fn stop(&mut self) {
        if let Some(mut process) = self.process.take() {
            process.kill().unwrap();
            process.wait().unwrap();
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Asserts that every operation fails with Unavailable, and returns how long that took.
async fn all_unavailable(store: &RedisStore, scope: &TenantScope, key: &StoreKey) -> Duration {
    let started = Instant::now();
    let outcomes = [
        store.get(key).await.map(|_| ()),
        store.set(key, b"v", TTL).await,
        store.take(key).await.map(|_| ()),
        store.increment(key, RATE_WINDOW).await.map(|_| ()),
        rate_limit(store, scope, "sign-in", "203.0.113.9", 5).await,
    ];
    for outcome in outcomes {
        let error = outcome.unwrap_err();
        assert!(is_redis_unavailable(&error), "{error:?}");
    }
    started.elapsed()
}

/// One node stopped and started again: commands fail with Unavailable at once while it is
/// down; once it is back, the store uses it again by itself, and the first commands succeed.
#[tokio::test]
async fn a_stopped_redis_fails_fast_and_a_restarted_one_serves_the_first_request() {
    let Ok(port) = std::env::var("LATCHKEY_TEST_REDIS_RESTART_PORT") else {
        eprintln!("skipped: LATCHKEY_TEST_REDIS_RESTART_PORT is not set");
        return;
    };
    let mut server = Server::start(port.parse().unwrap()).await;
    let store = RedisStore::connect(&server.url(), TIMEOUT).await.unwrap();
    let scope = scope();
    let key = StoreKey::tenant(&scope, "fault", "restart");
    store.set(&key, b"v", TTL).await.unwrap();

    // A connection dropped under the store: the next idempotent command runs on a new one.
    let mut admin = raw(&server.url()).await;
    redis::cmd("CLIENT")
        .arg(&["KILL", "TYPE", "normal", "SKIPME", "yes"][..])
        .query_async::<()>(&mut admin)
        .await
        .unwrap();
    assert_eq!(store.get(&key).await.unwrap().as_deref(), Some(&b"v"[..]));

    // Stopped: the first command meets the dead connection, the next ones know.
    server.stop();
    let first = all_unavailable(&store, &scope, &key).await;
    let known = all_unavailable(&store, &scope, &key).await;
    assert!(first < Duration::from_secs(3), "{first:?}");
    assert!(known < Duration::from_secs(3), "{known:?}");

    // Started again: how long until the store serves again, polling every 10 ms.
    server.restart().await;
    let back = Instant::now();
    let mut failures = 0;
    while let Err(error) = store.get(&key).await {
        assert!(is_redis_unavailable(&error), "{error:?}");
        failures += 1;
        assert!(
            back.elapsed() < Duration::from_secs(5),
            "not back within 5 s"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let recovery = back.elapsed();

    // Down and up once more, with no request in between: once the store has had a few of its
    // reconnection rounds, the very first command of each kind succeeds, the ones that are
    // never retried included.
    server.stop();
    all_unavailable(&store, &scope, &key).await;
    server.restart().await;
    tokio::time::sleep(link::RECONNECT_INTERVAL * 5).await;
    assert_eq!(store.increment(&key, RATE_WINDOW).await.unwrap(), 1);
    assert_eq!(
        store.take(&key).await.unwrap(),
        Some(1u64.to_string().into_bytes())
    );
    store.set(&key, b"again", TTL).await.unwrap();
    assert_eq!(
        store.get(&key).await.unwrap().as_deref(),
        Some(&b"again"[..])
    );

    eprintln!(
        "restart: with Redis stopped, five operations failed in {} ms on the dead connection \
         and in {} ms once the store knew; after the restart the store served again {} ms \
         after Redis answered ({failures} commands failed meanwhile, polling every 10 ms)",
        first.as_millis(),
        known.as_millis(),
        recovery.as_millis()
    );
}
