//! Short-lived state (API-key lookups, ceremony challenges, rate-limit counters, single-use
//! tokens) behind one trait, with a Redis implementation for production and an in-process one
//! for the embedded default and tests.
//!
//! Keys are built only by [`StoreKey::tenant`], which takes the scope and hash-tags the tenant
//! (`{…}`) so all of a tenant's keys land in one Redis Cluster slot.

use crate::error::{Error, Result};
use crate::scope::TenantScope;
use crate::secrets;
use async_trait::async_trait;
use moka::Expiry;
use moka::future::Cache;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The window of [`rate_limit`] counters.
pub const RATE_WINDOW: Duration = Duration::from_secs(60);

/// Counts one attempt of `kind` by `subject` (an address, an email, a client id: stored only as
/// a hash) in the tenant, and refuses it with `RateLimited` once more than `limit` were made in
/// the current window of [`RATE_WINDOW`].
pub async fn rate_limit(
    store: &dyn EphemeralStore,
    scope: &TenantScope,
    kind: &str,
    subject: &str,
    limit: u32,
) -> Result<()> {
    let key = StoreKey::tenant(scope, &format!("rate:{kind}"), &secrets::hash(subject));
    if store.increment(&key, RATE_WINDOW).await? > u64::from(limit) {
        tracing::info!(limit.kind = kind, "rate limit reached");
        return Err(Error::RateLimited {
            retry_after: RATE_WINDOW,
        });
    }
    Ok(())
}

/// A key in the ephemeral store, always bound to a tenant.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct StoreKey(String);

impl StoreKey {
    pub fn tenant(scope: &TenantScope, kind: &str, id: &str) -> Self {
        Self(format!("lk:{{{}}}:{kind}:{id}", scope.tenant_id()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Short-lived key/value state with expiry.
#[async_trait]
pub trait EphemeralStore: Send + Sync + 'static {
    async fn get(&self, key: &StoreKey) -> Result<Option<Vec<u8>>>;
    async fn set(&self, key: &StoreKey, value: &[u8], ttl: Duration) -> Result<()>;
    async fn delete(&self, key: &StoreKey) -> Result<()>;
    /// Reads and removes in one step: at most one caller gets the value (single-use state).
    async fn take(&self, key: &StoreKey) -> Result<Option<Vec<u8>>>;
    /// Adds one to a counter that starts at zero and expires `window` after its first increment;
    /// returns the new count (fixed-window rate limiting).
    async fn increment(&self, key: &StoreKey, window: Duration) -> Result<u64>;
    /// Checks that the store answers.
    async fn ping(&self) -> Result<()>;
    /// "in-process" or "redis", for logs and `/readyz`.
    fn kind(&self) -> &'static str;
}

#[derive(Clone)]
struct Entry {
    value: Arc<[u8]>,
    expires_at: Instant,
}

struct EntryExpiry;

impl Expiry<String, Entry> for EntryExpiry {
    fn expire_after_create(&self, _: &String, entry: &Entry, now: Instant) -> Option<Duration> {
        Some(entry.expires_at.saturating_duration_since(now))
    }

    fn expire_after_update(
        &self,
        _: &String,
        entry: &Entry,
        now: Instant,
        _: Option<Duration>,
    ) -> Option<Duration> {
        Some(entry.expires_at.saturating_duration_since(now))
    }
}

/// The store inside one process (embedded default, tests). Bounded in size.
pub struct InProcessStore {
    cache: Cache<String, Entry>,
}

impl InProcessStore {
    pub fn new(max_entries: u64) -> Self {
        Self {
            cache: Cache::builder()
                .max_capacity(max_entries)
                .expire_after(EntryExpiry)
                .build(),
        }
    }
}

impl Default for InProcessStore {
    fn default() -> Self {
        Self::new(1_000_000)
    }
}

fn live(entry: Option<Entry>) -> Option<Vec<u8>> {
    entry
        .filter(|e| e.expires_at > Instant::now())
        .map(|e| e.value.to_vec())
}

#[async_trait]
impl EphemeralStore for InProcessStore {
    async fn get(&self, key: &StoreKey) -> Result<Option<Vec<u8>>> {
        Ok(live(self.cache.get(key.as_str()).await))
    }

    async fn set(&self, key: &StoreKey, value: &[u8], ttl: Duration) -> Result<()> {
        let entry = Entry {
            value: value.into(),
            expires_at: Instant::now() + ttl,
        };
        self.cache.insert(key.as_str().to_owned(), entry).await;
        Ok(())
    }

    async fn delete(&self, key: &StoreKey) -> Result<()> {
        self.cache.invalidate(key.as_str()).await;
        Ok(())
    }

    async fn take(&self, key: &StoreKey) -> Result<Option<Vec<u8>>> {
        Ok(live(self.cache.remove(key.as_str()).await))
    }

    async fn increment(&self, key: &StoreKey, window: Duration) -> Result<u64> {
        use moka::ops::compute::Op;
        let result = self
            .cache
            .entry(key.as_str().to_owned())
            .and_compute_with(|current| {
                let now = Instant::now();
                let next = match current.map(|e| e.into_value()) {
                    Some(entry) if entry.expires_at > now => {
                        let count =
                            u64::from_le_bytes(entry.value.as_ref().try_into().unwrap_or([0; 8]));
                        Entry {
                            value: (count + 1).to_le_bytes().to_vec().into(),
                            expires_at: entry.expires_at,
                        }
                    }
                    _ => Entry {
                        value: 1u64.to_le_bytes().to_vec().into(),
                        expires_at: now + window,
                    },
                };
                std::future::ready(Op::Put(next))
            })
            .await;
        let entry = result
            .into_entry()
            .ok_or_else(|| Error::internal("counter vanished"))?;
        Ok(u64::from_le_bytes(
            entry.value().value.as_ref().try_into().unwrap_or([0; 8]),
        ))
    }

    async fn ping(&self) -> Result<()> {
        Ok(())
    }

    fn kind(&self) -> &'static str {
        "in-process"
    }
}

/// The store in Redis (or Redis Cluster, thanks to the hash-tagged keys), shared by replicas.
pub struct RedisStore {
    connection: redis::aio::ConnectionManager,
}

impl RedisStore {
    pub async fn connect(url: &str) -> Result<Self> {
        let client = redis::Client::open(url).map_err(Error::internal)?;
        let connection = redis::aio::ConnectionManager::new(client)
            .await
            .map_err(Error::internal)?;
        Ok(Self { connection })
    }
}

fn ttl_millis(ttl: Duration) -> u64 {
    (ttl.as_millis() as u64).max(1)
}

#[async_trait]
impl EphemeralStore for RedisStore {
    #[tracing::instrument(name = "redis", skip_all, fields(db.operation = "GET"))]
    async fn get(&self, key: &StoreKey) -> Result<Option<Vec<u8>>> {
        let mut connection = self.connection.clone();
        redis::cmd("GET")
            .arg(key.as_str())
            .query_async(&mut connection)
            .await
            .map_err(Error::internal)
    }

    #[tracing::instrument(name = "redis", skip_all, fields(db.operation = "SET"))]
    async fn set(&self, key: &StoreKey, value: &[u8], ttl: Duration) -> Result<()> {
        let mut connection = self.connection.clone();
        redis::cmd("SET")
            .arg(key.as_str())
            .arg(value)
            .arg("PX")
            .arg(ttl_millis(ttl))
            .query_async::<()>(&mut connection)
            .await
            .map_err(Error::internal)
    }

    #[tracing::instrument(name = "redis", skip_all, fields(db.operation = "DEL"))]
    async fn delete(&self, key: &StoreKey) -> Result<()> {
        let mut connection = self.connection.clone();
        redis::cmd("DEL")
            .arg(key.as_str())
            .query_async::<()>(&mut connection)
            .await
            .map_err(Error::internal)
    }

    #[tracing::instrument(name = "redis", skip_all, fields(db.operation = "GETDEL"))]
    async fn take(&self, key: &StoreKey) -> Result<Option<Vec<u8>>> {
        let mut connection = self.connection.clone();
        redis::cmd("GETDEL")
            .arg(key.as_str())
            .query_async(&mut connection)
            .await
            .map_err(Error::internal)
    }

    #[tracing::instrument(name = "redis", skip_all, fields(db.operation = "INCR"))]
    async fn increment(&self, key: &StoreKey, window: Duration) -> Result<u64> {
        let mut connection = self.connection.clone();
        let (count, _): (u64, i64) = redis::pipe()
            .atomic()
            .cmd("INCR")
            .arg(key.as_str())
            .cmd("PEXPIRE")
            .arg(key.as_str())
            .arg(ttl_millis(window))
            .arg("NX")
            .query_async(&mut connection)
            .await
            .map_err(Error::internal)?;
        Ok(count)
    }

    #[tracing::instrument(name = "redis", skip_all, fields(db.operation = "PING"))]
    async fn ping(&self) -> Result<()> {
        let mut connection = self.connection.clone();
        redis::cmd("PING")
            .query_async::<String>(&mut connection)
            .await
            .map(|_| ())
            .map_err(Error::internal)
    }

    fn kind(&self) -> &'static str {
        "redis"
    }
}

#[cfg(test)]
mod tests {
    //! One suite, run against the in-process store always and against Redis when
    //! `LATCHKEY_TEST_REDIS_URL` is set.

    use super::*;
    use uuid::Uuid;

    fn scope() -> TenantScope {
        TenantScope::new(Uuid::now_v7(), "store-test".into())
    }

    async fn suite(store: &dyn EphemeralStore) {
        let scope = scope();
        let key = StoreKey::tenant(&scope, "test", "a");
        assert!(key.as_str().contains(&format!("{{{}}}", scope.tenant_id())));
        assert_eq!(store.get(&key).await.unwrap(), None);

        store
            .set(&key, b"one", Duration::from_secs(30))
            .await
            .unwrap();
        assert_eq!(store.get(&key).await.unwrap().as_deref(), Some(&b"one"[..]));
        store
            .set(&key, b"two", Duration::from_secs(30))
            .await
            .unwrap();
        assert_eq!(store.get(&key).await.unwrap().as_deref(), Some(&b"two"[..]));
        store.delete(&key).await.unwrap();
        assert_eq!(store.get(&key).await.unwrap(), None);

        // Entries expire.
        store
            .set(&key, b"short", Duration::from_millis(50))
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_millis(120)).await;
        assert_eq!(store.get(&key).await.unwrap(), None);

        // take() hands a value to exactly one of many concurrent callers.
        let single = StoreKey::tenant(&scope, "test", "single-use");
        store
            .set(&single, b"challenge", Duration::from_secs(30))
            .await
            .unwrap();
        let takes = futures::future::join_all((0..8).map(|_| store.take(&single))).await;
        let takes: Vec<_> = takes.into_iter().map(Result::unwrap).collect();
        assert_eq!(takes.iter().filter(|t| t.is_some()).count(), 1);

        // Counters count within their window and start over after it.
        let counter = StoreKey::tenant(&scope, "test", "counter");
        for expected in 1..=5 {
            assert_eq!(
                store
                    .increment(&counter, Duration::from_millis(300))
                    .await
                    .unwrap(),
                expected
            );
        }
        tokio::time::sleep(Duration::from_millis(400)).await;
        assert_eq!(
            store
                .increment(&counter, Duration::from_millis(300))
                .await
                .unwrap(),
            1
        );

        // Keys of another tenant are other keys.
        let other = StoreKey::tenant(
            &TenantScope::new(Uuid::now_v7(), "other".into()),
            "test",
            "a",
        );
        store
            .set(&key, b"mine", Duration::from_secs(30))
            .await
            .unwrap();
        assert_eq!(store.get(&other).await.unwrap(), None);
        store.ping().await.unwrap();
    }

    #[tokio::test]
    async fn in_process_store() {
        suite(&InProcessStore::default()).await;
    }

    #[tokio::test]
    async fn redis_store() {
        let Ok(url) = std::env::var("LATCHKEY_TEST_REDIS_URL") else {
            eprintln!("skipped: LATCHKEY_TEST_REDIS_URL is not set");
            return;
        };
        suite(&RedisStore::connect(&url).await.unwrap()).await;
    }
}
