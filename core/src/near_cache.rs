//! Lookups kept in this replica's memory (tenants, API keys, sessions, clients, quotas), so a
//! request that only reads needs no database and no Redis round trip. An entry counts only
//! while [`Freshness`] says nothing it depends on changed since it was read; while this
//! replica may miss changes, nothing is kept and nothing kept counts.

use crate::error::Result;
use crate::freshness::{Freshness, Stamp};
use std::any::Any;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use uuid::Uuid;

/// Entries kept at most (the least recently used go first).
const CAPACITY: u64 = 100_000;

/// How long an entry is kept at most: a bound for a change whose publication was lost.
const TTL: Duration = Duration::from_secs(60);

/// What an entry is: its kind (a module's constant), the tenant it belongs to (`None`: the
/// catalogue's) and its key within them.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct Key {
    kind: &'static str,
    tenant: Option<Uuid>,
    key: Box<str>,
}

#[derive(Clone)]
struct Entry {
    stamp: Stamp,
    value: Arc<dyn Any + Send + Sync>,
}

/// The replica's cache of lookups, shared by its requests.
#[derive(Clone)]
pub struct NearCache {
    entries: moka::sync::Cache<Key, Entry>,
    freshness: Arc<Freshness>,
}

impl std::fmt::Debug for NearCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NearCache")
            .field("entries", &self.entries.entry_count())
            .field("following", &self.freshness.is_following())
            .finish()
    }
}

impl NearCache {
    pub fn new(freshness: Arc<Freshness>) -> Self {
        Self {
            entries: moka::sync::Cache::builder()
                .max_capacity(CAPACITY)
                .time_to_live(TTL)
                .build(),
            freshness,
        }
    }

    pub fn freshness(&self) -> &Arc<Freshness> {
        &self.freshness
    }

    /// The entry `kind`/`key` of `tenant`, if kept and still current.
    pub fn get<T: Clone + Send + Sync + 'static>(
        &self,
        kind: &'static str,
        tenant: Option<Uuid>,
        key: &str,
    ) -> Option<T> {
        let key = Key {
            kind,
            tenant,
            key: key.into(),
        };
        let entry = self.entries.get(&key)?;
        if !self.freshness.is_current(tenant, entry.stamp) {
            self.entries.invalidate(&key);
            return None;
        }
        entry.value.downcast_ref::<T>().cloned()
    }

    /// The entry if current, else what `load` reads, kept when `keep` says so (a lookup that
    /// found nothing, for one, is not kept). The counters are taken before `load` runs: a
    /// change committing meanwhile leaves the entry stale.
    pub async fn get_or_load<T, F>(
        &self,
        kind: &'static str,
        tenant: Option<Uuid>,
        key: &str,
        load: F,
        keep: impl FnOnce(&T) -> bool,
    ) -> Result<T>
    where
        T: Clone + Send + Sync + 'static,
        F: Future<Output = Result<T>>,
    {
        if let Some(found) = self.get(kind, tenant, key) {
            return Ok(found);
        }
        let stamp = self.freshness.stamp(tenant);
        let loaded = load.await?;
        if let Some(stamp) = stamp
            && keep(&loaded)
        {
            self.entries.insert(
                Key {
                    kind,
                    tenant,
                    key: key.into(),
                },
                Entry {
                    stamp,
                    value: Arc::new(loaded.clone()),
                },
            );
        }
        Ok(loaded)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::freshness::Change;

    #[tokio::test]
    async fn an_entry_counts_until_its_tenant_changes_and_is_not_kept_while_not_following() {
        let cache = NearCache::new(Arc::new(Freshness::default()));
        let id = Uuid::now_v7();
        let tenant = Some(id);
        let load = |value: u32| async move { Ok(value) };
        let always = |_: &u32| true;
        assert_eq!(
            cache
                .get_or_load("k", tenant, "a", load(1), always)
                .await
                .unwrap(),
            1
        );
        assert_eq!(
            cache
                .get_or_load("k", tenant, "a", load(2), always)
                .await
                .unwrap(),
            1
        );
        assert_eq!(cache.get::<u32>("k", None, "a"), None, "another tenant's");
        cache.freshness().apply(Change::Tenant(id));
        assert_eq!(cache.get::<u32>("k", tenant, "a"), None);
        assert_eq!(
            cache
                .get_or_load("k", tenant, "a", load(3), always)
                .await
                .unwrap(),
            3
        );
        cache.freshness().set_following(false);
        assert_eq!(cache.get::<u32>("k", tenant, "a"), None);
        assert_eq!(
            cache
                .get_or_load("k", tenant, "a", load(4), always)
                .await
                .unwrap(),
            4
        );
        cache.freshness().set_following(true);
        assert_eq!(
            cache.get::<u32>("k", tenant, "a"),
            None,
            "read while not following"
        );
    }

    #[tokio::test]
    async fn a_change_during_the_load_leaves_the_entry_stale() {
        let cache = NearCache::new(Arc::new(Freshness::default()));
        let tenant = Uuid::now_v7();
        let freshness = cache.freshness().clone();
        let racing = async move {
            freshness.apply(Change::Tenant(tenant));
            Ok(1u32)
        };
        cache
            .get_or_load("k", Some(tenant), "a", racing, |_| true)
            .await
            .unwrap();
        assert_eq!(cache.get::<u32>("k", Some(tenant), "a"), None);
    }

    #[tokio::test]
    async fn what_keep_refuses_is_not_kept() {
        let cache = NearCache::new(Arc::new(Freshness::default()));
        let none = async { Ok(None::<u32>) };
        cache
            .get_or_load("k", None, "a", none, Option::is_some)
            .await
            .unwrap();
        assert_eq!(cache.get::<Option<u32>>("k", None, "a"), None);
    }
}
