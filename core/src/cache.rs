//! Lookups cached in the ephemeral store (API keys, OAuth clients, tenant quotas), shared by the
//! replicas. A cache is only a cache: when the store fails (Redis down or slow), a read is a
//! miss and a write is skipped, so the lookup comes from the database and the request goes on.
//!
//! Dropping an entry is different: it is how a change (a revoked key, a rotated client secret)
//! reaches every replica at once. So a change to something cached drops the entry before it
//! commits, and a store that cannot do that refuses the change with `Unavailable` (nothing is
//! changed); and again after it commits, for a lookup that read the old row meanwhile.

use crate::ephemeral::{EphemeralStore, StoreKey};
use crate::error::Result;
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::time::Duration;

/// The cached value at `key`; `None` when there is none, it does not parse, or the store failed.
pub async fn read<T: DeserializeOwned>(store: &dyn EphemeralStore, key: &StoreKey) -> Option<T> {
    match store.get(key).await {
        Ok(bytes) => bytes.and_then(|bytes| serde_json::from_slice(&bytes).ok()),
        Err(error) => {
            tracing::debug!(%error, "cache read skipped; reading the database");
            None
        }
    }
}

/// Caches `value` at `key` for `ttl`; a store that fails is passed over.
pub async fn write<T: Serialize>(
    store: &dyn EphemeralStore,
    key: &StoreKey,
    value: &T,
    ttl: Duration,
) {
    let Ok(bytes) = serde_json::to_vec(value) else {
        return;
    };
    if let Err(error) = store.set(key, &bytes, ttl).await {
        tracing::debug!(%error, "cache write skipped");
    }
}

/// Drops `key` before the change that makes it stale commits: `Unavailable` when the store
/// cannot, so the change is refused rather than left cached on other replicas.
pub async fn drop_before_commit(store: &dyn EphemeralStore, key: &StoreKey) -> Result<()> {
    store.delete(key).await
}

/// Drops `key` again once the change committed. The change stands either way; a store that
/// failed just now leaves at most an entry written by a lookup that raced the change.
pub async fn drop_after_commit(store: &dyn EphemeralStore, key: &StoreKey) {
    if let Err(error) = store.delete(key).await {
        tracing::error!(%error, key = key.as_str(), "a changed entry could not be dropped from the cache after the change committed");
    }
}
