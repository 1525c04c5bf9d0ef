//! Short-lived state (API-key lookups, ceremony challenges, rate-limit counters, single-use
//! tokens) behind one trait, with a Redis implementation for production and an in-process one
//! for the embedded default and tests.
//!
//! Keys are built only by [`StoreKey::tenant`], which takes the scope and hash-tags the tenant
//! (`{…}`) so all of a tenant's keys land in one Redis Cluster slot.
//!
//! Children: `address` (the forms of `LATCHKEY_REDIS_URL`), `in_process`, `link` (the Redis
//! connection, kept by a background task) → `redis_store` and `changes` (the replicas' change
//! feed, see [`crate::freshness`]); tests: `suite` (every store) →
//! `faults` (outages and failovers on Redis processes of their own).

mod address;
mod changes;
#[cfg(test)]
mod faults;
mod in_process;
mod link;
mod redis_store;
#[cfg(test)]
mod suite;

pub use address::RedisAddress;
pub use in_process::InProcessStore;
pub use redis_store::RedisStore;

use crate::error::{Error, Result};
use crate::scope::TenantScope;
use crate::secrets;
use async_trait::async_trait;
use std::time::Duration;

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

/// A key in the ephemeral store, bound to a tenant (or to the console, whose administrators
/// belong to no tenant).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct StoreKey(String);

impl StoreKey {
    pub fn tenant(scope: &TenantScope, kind: &str, id: &str) -> Self {
        Self(format!("lk:{{{}}}:{kind}:{id}", scope.tenant_id()))
    }

    /// A key of the console's own state (its ceremonies and rate limits).
    pub fn console(kind: &str, id: &str) -> Self {
        Self(format!("lk:{{console}}:{kind}:{id}"))
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
