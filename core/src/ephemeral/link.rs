//! The connection of a [`super::RedisStore`]: opened, watched and replaced by one background
//! task, so that requests never wait for Redis to come back and never meet a stale connection.
//!
//! - **Start without Redis.** The task connects; until it has, and whenever it finds Redis
//!   unreachable, it retries every [`RECONNECT_INTERVAL`], and at once when a command asks:
//!   [`Link::current`] then waits for that one attempt, which a refused connection ends at
//!   once and the timeout bounds otherwise. So a command fails fast while Redis is down, and
//!   the first command after Redis returns finds it (it does not wait for the next retry).
//!   The task logs the outage once and the recovery once.
//! - **Recover at once.** The task checks the connection it holds every [`HEALTH_INTERVAL`],
//!   and at once when a command reports a failure; a connection that fails the check is
//!   replaced right away, so the first request after Redis returns finds a fresh connection.
//! - **Bounded.** Every connection attempt and every check gives up after the store's timeout.
//! - **Failover.** A Sentinel connection is checked by asking the sentinels which node is the
//!   primary (and that node, with `ROLE`): once they name another, the store connects to it. A cluster connection follows its cluster itself
//!   (redirections, slot refresh, reconnection per node), so it is opened once and kept.
//!
//! The redis crate's `ConnectionManager` was not used: it reconnects only after a command has
//! failed (the first request after a restart fails), makes commands wait for a reconnection in
//! progress rather than fail while Redis is known to be down, stops retrying after its
//! schedule until the next command, and is bound to one address, so it cannot follow a
//! Sentinel failover.

use super::address::RedisAddress;
use crate::error::{Dependency, Error, Result, UNAVAILABLE_RETRY_AFTER};
use redis::aio::{ConnectionLike, MultiplexedConnection};
use redis::cluster::ClusterClient;
use redis::cluster_async::ClusterConnection;
use redis::sentinel::{SentinelClient, SentinelNodeConnectionInfo, SentinelServerType};
use redis::{AsyncConnectionConfig, IntoConnectionInfo, RedisResult};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{Notify, watch};

/// How often the task tries again while Redis is unreachable: the longest a recovered Redis
/// waits before the store uses it again.
pub(super) const RECONNECT_INTERVAL: Duration = Duration::from_millis(100);

/// The least time between two connection attempts while Redis is unreachable.
const MIN_RETRY_SPACING: Duration = Duration::from_millis(10);

/// How often the task checks a connection that no command has reported as failed.
const HEALTH_INTERVAL: Duration = Duration::from_millis(500);

/// A connection commands run on; cheap to clone (both kinds multiplex).
#[derive(Clone)]
pub(super) enum Connection {
    Node(MultiplexedConnection),
    Cluster(ClusterConnection),
}

impl ConnectionLike for Connection {
    fn req_packed_command<'a>(
        &'a mut self,
        cmd: &'a redis::Cmd,
    ) -> redis::RedisFuture<'a, redis::Value> {
        match self {
            Connection::Node(connection) => connection.req_packed_command(cmd),
            Connection::Cluster(connection) => connection.req_packed_command(cmd),
        }
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a redis::Pipeline,
        offset: usize,
        count: usize,
    ) -> redis::RedisFuture<'a, Vec<redis::Value>> {
        match self {
            Connection::Node(connection) => connection.req_packed_commands(pipeline, offset, count),
            Connection::Cluster(connection) => {
                connection.req_packed_commands(pipeline, offset, count)
            }
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            Connection::Node(connection) => connection.get_db(),
            Connection::Cluster(connection) => connection.get_db(),
        }
    }
}

/// What the task connects to.
pub(super) enum Target {
    Node(redis::Client),
    /// The cluster's client, and the nodes it was given.
    Cluster(ClusterClient, Vec<String>),
    Sentinel {
        sentinels: SentinelClient,
        /// The node the current connection goes to.
        primary: Option<redis::ConnectionAddr>,
    },
}

impl Target {
    pub(super) fn new(address: &RedisAddress, timeout: Duration) -> RedisResult<Self> {
        Ok(match address {
            RedisAddress::Node(url) => Target::Node(redis::Client::open(url.as_str())?),
            RedisAddress::Cluster(nodes) => Target::Cluster(
                ClusterClient::builder(nodes.iter().map(String::as_str))
                    .connection_timeout(timeout)
                    .response_timeout(timeout)
                    // Redirections and a node's reconnection are retried within the timeout.
                    .retries(4)
                    .min_retry_wait(10)
                    .max_retry_wait(100)
                    .retry_wait_formula(10, 2)
                    .build()?,
                nodes.clone(),
            ),
            RedisAddress::Sentinel {
                sentinels,
                master,
                primary,
            } => {
                let primary = primary.as_str().into_connection_info()?;
                let mut node = SentinelNodeConnectionInfo::default()
                    .set_redis_connection_info(primary.redis_settings().clone());
                if matches!(primary.addr(), redis::ConnectionAddr::TcpTls { .. }) {
                    node = node.set_tls_mode(redis::TlsMode::Secure);
                }
                Target::Sentinel {
                    sentinels: SentinelClient::build(
                        sentinels.iter().map(String::as_str).collect(),
                        master.as_str(),
                        Some(node),
                        SentinelServerType::Master,
                    )?,
                    primary: None,
                }
            }
        })
    }

    /// Opens a connection that has answered once (a node still loading its data has not).
    async fn open(&mut self, config: &AsyncConnectionConfig) -> RedisResult<Connection> {
        let mut connection = match self {
            Target::Node(client) => Connection::Node(
                client
                    .get_multiplexed_async_connection_with_config(config)
                    .await?,
            ),
            // The client checks with ROLE that the node the sentinels name is the primary.
            Target::Sentinel { sentinels, primary } => {
                let client = sentinels.async_get_client().await?;
                let connection = client.get_multiplexed_async_connection_with_config(config);
                let connection = Connection::Node(connection.await?);
                *primary = Some(client.get_connection_info().addr().clone());
                connection
            }
            Target::Cluster(client, _) => {
                return Ok(Connection::Cluster(client.get_async_connection().await?));
            }
        };
        redis::cmd("PING")
            .query_async::<()>(&mut connection)
            .await?;
        Ok(connection)
    }

    /// Clients for the nodes that carry the deployment's pub/sub messages, to try in turn: the
    /// node, the primary the sentinels name, or every cluster node given (a cluster passes
    /// each message to all its nodes).
    pub(super) async fn node_clients(&mut self) -> RedisResult<Vec<redis::Client>> {
        match self {
            Target::Node(client) => Ok(vec![client.clone()]),
            Target::Sentinel { sentinels, .. } => Ok(vec![sentinels.async_get_client().await?]),
            Target::Cluster(_, nodes) => nodes
                .iter()
                .map(|node| redis::Client::open(node.as_str()))
                .collect(),
        }
    }

    /// Whether a connection still serves: a node answers; a Sentinel's node is still the
    /// primary and still the one the sentinels name (after a forced failover the old primary
    /// keeps accepting writes until the sentinels demote it, and those writes are lost). A
    /// cluster connection is not replaced, so it always passes.
    async fn check(&mut self, mut connection: Connection) -> RedisResult<bool> {
        Ok(match self {
            Target::Node(_) => {
                redis::cmd("PING")
                    .query_async::<()>(&mut connection)
                    .await?;
                true
            }
            Target::Sentinel { sentinels, primary } => {
                let named = sentinels.async_get_client().await?;
                primary.as_ref() == Some(named.get_connection_info().addr())
                    && matches!(
                        redis::cmd("ROLE")
                            .query_async::<redis::Role>(&mut connection)
                            .await?,
                        redis::Role::Primary { .. }
                    )
            }
            Target::Cluster(..) => true,
        })
    }
}

#[derive(Clone, Default)]
struct State {
    /// `None` while Redis is unreachable (or not reached yet).
    connection: Option<Connection>,
    /// Counts the changes of `connection`, so a command can wait for the next one.
    generation: u64,
    /// Counts the connection attempts that failed, so a command can wait for the next one.
    failed_attempts: u64,
    /// When the last failed attempt ended, if it ran into the timeout (Redis hangs rather
    /// than refuses): another attempt right away would only wait out the timeout again.
    hung_at: Option<Instant>,
}

/// The connection kept by the background task; the task ends when the link is dropped.
pub(super) struct Link {
    state: watch::Receiver<State>,
    failed: Arc<Notify>,
    /// False for a cluster, whose connection is kept rather than replaced.
    replaced: bool,
    timeout: Duration,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Link {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Link {
    /// Starts the task and waits for its first connection attempt (at most about `timeout`),
    /// so a server that starts with Redis up serves its first requests from it. Only an
    /// address the redis crate cannot use is an error; an unreachable Redis is not.
    pub(super) async fn start(address: &RedisAddress, timeout: Duration) -> RedisResult<Self> {
        let target = Target::new(address, timeout)?;
        let replaced = !matches!(target, Target::Cluster(..));
        let (sender, mut state) = watch::channel(State::default());
        let failed = Arc::new(Notify::new());
        let task = tokio::spawn(keep(
            target,
            sender,
            failed.clone(),
            timeout,
            address.topology(),
        ));
        let first_attempt = state.wait_for(|state| state.generation > 0);
        // Bounded by the attempt's own timeout; the margin covers scheduling.
        let _ = tokio::time::timeout(timeout * 2, first_attempt).await;
        Ok(Self {
            state,
            failed,
            replaced,
            timeout,
            task,
        })
    }

    /// The connection to use and its generation. While Redis is known to be unreachable, the
    /// task tries once more now and this waits for that attempt (at most the timeout):
    /// `Unavailable` if it failed (the task logged the outage once; this does not log per
    /// request).
    ///
    /// A Redis that hangs is not tried again for each command: for [`RECONNECT_INTERVAL`]
    /// after an attempt ran into the timeout, commands fail at once (so one request meets the
    /// timeout at most once, not at every command it sends).
    pub(super) async fn current(&self) -> Result<(Connection, u64)> {
        if let Some(found) = self.connected() {
            return Ok(found);
        }
        let mut state = self.state.clone();
        let (seen, hung_at) = {
            let now = state.borrow();
            (now.failed_attempts, now.hung_at)
        };
        if hung_at.is_none_or(|at| at.elapsed() >= RECONNECT_INTERVAL) {
            self.failed.notify_one();
            let _ = tokio::time::timeout(
                self.timeout,
                state.wait_for(|state| state.connection.is_some() || state.failed_attempts > seen),
            )
            .await;
        }
        self.connected().ok_or(Error::Unavailable {
            dependency: Dependency::Redis,
            retry_after: UNAVAILABLE_RETRY_AFTER,
        })
    }

    fn connected(&self) -> Option<(Connection, u64)> {
        let state = self.state.borrow();
        let connection = state.connection.clone()?;
        Some((connection, state.generation))
    }

    /// Tells the task that a command failed, so it checks its connection now.
    pub(super) fn report_failure(&self) {
        self.failed.notify_one();
    }

    /// Reports a failure on connection `generation` and waits, at most the timeout, for the
    /// connection that replaces it. `None` when none comes: the connection passed its check,
    /// Redis is unreachable, or the connection is a cluster's (which retries by itself).
    pub(super) async fn replacement(&self, generation: u64) -> Option<Connection> {
        self.report_failure();
        if !self.replaced {
            return None;
        }
        let mut state = self.state.clone();
        let next = tokio::time::timeout(
            self.timeout,
            state.wait_for(|state| state.generation != generation),
        )
        .await;
        next.ok()?.ok()?.connection.clone()
    }
}

fn publish(state: &watch::Sender<State>, connection: Option<Connection>) {
    state.send_modify(|state| {
        state.connection = connection;
        state.generation += 1;
    });
}

/// The task: connect, publish, watch until the connection fails its check, and again.
async fn keep(
    mut target: Target,
    state: watch::Sender<State>,
    failed: Arc<Notify>,
    timeout: Duration,
    topology: &'static str,
) {
    let config = AsyncConnectionConfig::new()
        .set_connection_timeout(Some(timeout))
        .set_response_timeout(Some(timeout));
    // None until the first attempt: the first outcome is always logged.
    let mut reachable: Option<bool> = None;
    loop {
        let cause = match tokio::time::timeout(timeout, target.open(&config)).await {
            Ok(Ok(connection)) => {
                match reachable {
                    None => tracing::info!(redis.topology = topology, "connected to Redis"),
                    Some(false) => {
                        tracing::info!(redis.topology = topology, "Redis is reachable again")
                    }
                    Some(true) => {
                        tracing::debug!(redis.topology = topology, "Redis connection replaced")
                    }
                }
                reachable = Some(true);
                publish(&state, Some(connection.clone()));
                watch_connection(&mut target, connection, &failed, timeout).await;
                // Replace it at once; it is withdrawn only if that fails.
                continue;
            }
            Ok(Err(error)) => {
                let hung_at = error.is_timeout().then(Instant::now);
                (error.to_string(), hung_at)
            }
            Err(_) => (
                format!("no answer within {} ms", timeout.as_millis()),
                Some(Instant::now()),
            ),
        };
        let (cause, hung_at) = cause;
        state.send_modify(|state| {
            state.failed_attempts += 1;
            state.hung_at = hung_at;
        });
        if reachable != Some(false) {
            tracing::warn!(
                redis.topology = topology,
                error = %cause,
                retry_ms = RECONNECT_INTERVAL.as_millis() as u64,
                "Redis is not reachable; requests that need it answer UNAVAILABLE \
                 until it is, and the store keeps trying to connect"
            );
            reachable = Some(false);
            publish(&state, None);
        }
        // The next attempt: after the interval, or sooner when a command asks for it (never
        // more often than every MIN_RETRY_SPACING, however many commands ask).
        tokio::time::sleep(MIN_RETRY_SPACING).await;
        tokio::select! {
            () = tokio::time::sleep(RECONNECT_INTERVAL) => {}
            () = failed.notified() => {}
        }
    }
}

/// Returns when the connection fails its check: on a failure report, or every
/// [`HEALTH_INTERVAL`].
async fn watch_connection(
    target: &mut Target,
    connection: Connection,
    failed: &Notify,
    timeout: Duration,
) {
    loop {
        tokio::select! {
            () = failed.notified() => {}
            () = tokio::time::sleep(HEALTH_INTERVAL) => {}
        }
        match tokio::time::timeout(timeout, target.check(connection.clone())).await {
            Ok(Ok(true)) => {}
            Ok(Ok(false)) => {
                tracing::info!("the sentinels name another primary; reconnecting");
                return;
            }
            Ok(Err(error)) => {
                tracing::debug!(error = %error, "Redis connection failed its check");
                return;
            }
            Err(_) => {
                tracing::debug!("Redis connection did not answer its check in time");
                return;
            }
        }
    }
}
