//! The store in Redis (one node, Sentinel or Cluster), shared by replicas.

use super::address::RedisAddress;
use super::changes;
use super::link::{Connection, Link};
use super::{EphemeralStore, StoreKey};
use crate::error::{Dependency, Error, Result};
use crate::freshness::{Change, ChangeFeed, Freshness};
use async_trait::async_trait;
use redis::FromRedisValue;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The store in Redis. Every failure of Redis (refused, timed out, dropped, cluster down,
/// failover in progress) is [`Error::Unavailable`]; a command fails within one connection
/// attempt while Redis is known to be unreachable (at once when it refuses), and otherwise
/// within about the timeout (twice that for a command
/// retried on a fresh connection). Idempotent commands (`GET`, `SET`, `DEL`, `PING`) are
/// retried once on a fresh connection when the first attempt failed; `GETDEL` and the
/// counter's `INCR` are not, since the first attempt may have run.
pub struct RedisStore {
    link: Link,
    timeout: Duration,
    address: RedisAddress,
    /// The task that follows the replicas' changes, once [`RedisStore::follow_changes`] ran.
    follower: Mutex<Option<tokio::task::JoinHandle<()>>>,
}

impl Drop for RedisStore {
    fn drop(&mut self) {
        if let Some(follower) = self.follower.lock().ok().and_then(|mut f| f.take()) {
            follower.abort();
        }
    }
}

impl RedisStore {
    /// Starts keeping a connection to `url` (see [`RedisAddress`] for its forms) and returns
    /// within about `timeout` whether or not Redis is reachable: the store connects in the
    /// background. Only a malformed URL is an error. `timeout` bounds every command and
    /// every connection attempt.
    pub async fn connect(url: &str, timeout: Duration) -> Result<Self> {
        let address = RedisAddress::parse(url)
            .map_err(|reason| Error::validation("LATCHKEY_REDIS_URL", reason))?;
        let link = Link::start(&address, timeout)
            .await
            .map_err(|e| Error::validation("LATCHKEY_REDIS_URL", e.to_string()))?;
        Ok(Self {
            link,
            timeout,
            address,
            follower: Mutex::new(None),
        })
    }

    /// Keeps `freshness` following the changes the replicas publish (see
    /// [`crate::freshness`]) and publishes this replica's changes, both through this Redis.
    pub fn follow_changes(self: &Arc<Self>, freshness: &Arc<Freshness>) -> Result<()> {
        let follower = changes::follow(&self.address, self.timeout, freshness)
            .map_err(|e| Error::validation("LATCHKEY_REDIS_URL", e.to_string()))?;
        if let Ok(mut slot) = self.follower.lock()
            && let Some(previous) = slot.replace(follower)
        {
            previous.abort();
        }
        freshness.publish_through(self.clone());
        Ok(())
    }

    async fn query<T: FromRedisValue>(&self, request: &Request, retry: Retry) -> Result<T> {
        let (connection, generation) = self.link.current().await?;
        let failure = match self.attempt(connection, request).await {
            Ok(value) => return Ok(value),
            Err(failure) if failure.is_ours() => return Err(failure.into_error()),
            Err(failure) => failure,
        };
        if retry == Retry::Never {
            self.link.report_failure();
            return Err(failure.into_error());
        }
        match self.link.replacement(generation).await {
            Some(fresh) => self
                .attempt(fresh, request)
                .await
                .map_err(Failure::into_error),
            None => Err(failure.into_error()),
        }
    }

    async fn attempt<T: FromRedisValue>(
        &self,
        mut connection: Connection,
        request: &Request,
    ) -> Result<T, Failure> {
        let reply = match request {
            Request::Command(command) => {
                tokio::time::timeout(self.timeout, command.query_async(&mut connection)).await
            }
            Request::Pipeline(pipeline) => {
                tokio::time::timeout(self.timeout, pipeline.query_async(&mut connection)).await
            }
        };
        match reply {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(error)) => Err(Failure::Redis(error)),
            Err(_) => Err(Failure::Timeout(self.timeout)),
        }
    }
}

enum Request {
    Command(redis::Cmd),
    Pipeline(redis::Pipeline),
}

/// Whether a failed command may run again: only when running it twice does no harm.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Retry {
    OnceOnFreshConnection,
    Never,
}

enum Failure {
    Redis(redis::RedisError),
    Timeout(Duration),
}

impl Failure {
    fn is_ours(&self) -> bool {
        matches!(self, Failure::Redis(error) if is_unexpected_reply(error))
    }

    fn into_error(self) -> Error {
        match self {
            Failure::Redis(error) if is_unexpected_reply(&error) => Error::internal(error),
            failure => Error::unavailable(Dependency::Redis, &failure),
        }
    }
}

/// A reply of an unexpected shape is a bug here, not Redis being unavailable.
fn is_unexpected_reply(error: &redis::RedisError) -> bool {
    matches!(
        error.kind(),
        redis::ErrorKind::Parse | redis::ErrorKind::UnexpectedReturnType
    )
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Failure::Redis(error) => write!(f, "{error}"),
            Failure::Timeout(timeout) => {
                write!(f, "no answer within {} ms", timeout.as_millis())
            }
        }
    }
}

fn ttl_millis(ttl: Duration) -> u64 {
    (ttl.as_millis() as u64).max(1)
}

fn command(name: &str, key: &StoreKey) -> redis::Cmd {
    let mut command = redis::cmd(name);
    command.arg(key.as_str());
    command
}

#[async_trait]
impl ChangeFeed for RedisStore {
    #[tracing::instrument(name = "redis", skip_all, fields(db.operation = "PUBLISH"))]
    async fn publish(&self, change: Change) -> Result<()> {
        let mut publish = redis::cmd("PUBLISH");
        publish.arg(changes::CHANNEL).arg(change.encode());
        // Publishing twice only makes some entries stale twice.
        let _receivers: i64 = self
            .query(&Request::Command(publish), Retry::OnceOnFreshConnection)
            .await?;
        Ok(())
    }
}

#[async_trait]
impl EphemeralStore for RedisStore {
    #[tracing::instrument(name = "redis", skip_all, fields(db.operation = "GET"))]
    async fn get(&self, key: &StoreKey) -> Result<Option<Vec<u8>>> {
        let request = Request::Command(command("GET", key));
        self.query(&request, Retry::OnceOnFreshConnection).await
    }

    #[tracing::instrument(name = "redis", skip_all, fields(db.operation = "SET"))]
    async fn set(&self, key: &StoreKey, value: &[u8], ttl: Duration) -> Result<()> {
        let mut set = command("SET", key);
        set.arg(value).arg("PX").arg(ttl_millis(ttl));
        self.query(&Request::Command(set), Retry::OnceOnFreshConnection)
            .await
    }

    #[tracing::instrument(name = "redis", skip_all, fields(db.operation = "DEL"))]
    async fn delete(&self, key: &StoreKey) -> Result<()> {
        let request = Request::Command(command("DEL", key));
        self.query(&request, Retry::OnceOnFreshConnection).await
    }

    #[tracing::instrument(name = "redis", skip_all, fields(db.operation = "GETDEL"))]
    async fn take(&self, key: &StoreKey) -> Result<Option<Vec<u8>>> {
        let request = Request::Command(command("GETDEL", key));
        self.query(&request, Retry::Never).await
    }

    #[tracing::instrument(name = "redis", skip_all, fields(db.operation = "INCR"))]
    async fn increment(&self, key: &StoreKey, window: Duration) -> Result<u64> {
        // One transaction on one key, so one cluster slot.
        let mut pipeline = redis::pipe();
        pipeline
            .atomic()
            .cmd("INCR")
            .arg(key.as_str())
            .cmd("PEXPIRE")
            .arg(key.as_str())
            .arg(ttl_millis(window))
            .arg("NX");
        let (count, _): (u64, i64) = self
            .query(&Request::Pipeline(pipeline), Retry::Never)
            .await?;
        Ok(count)
    }

    #[tracing::instrument(name = "redis", skip_all, fields(db.operation = "PING"))]
    async fn ping(&self) -> Result<()> {
        let request = Request::Command(redis::cmd("PING"));
        self.query(&request, Retry::OnceOnFreshConnection).await
    }

    fn kind(&self) -> &'static str {
        "redis"
    }
}
