//! The store inside one process (embedded default, tests).

use super::{EphemeralStore, StoreKey};
use crate::error::{Error, Result};
use async_trait::async_trait;
use moka::Expiry;
use moka::future::Cache;
use std::sync::Arc;
use std::time::{Duration, Instant};

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
