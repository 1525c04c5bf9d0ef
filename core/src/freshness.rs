//! Whether what a replica keeps in memory is still true: the counters every entry of the
//! [`crate::near_cache::NearCache`] is checked against, and how changes reach them.
//!
//! - **A change bumps a counter.** A transaction that changed something a cache holds (an API
//!   key, a session, an identity's status, a client, a quota: tables declared with
//!   [`Guard::Tenant`]) bumps its tenant's counter when it commits; a change to the tenant
//!   catalogue (a tenant's row or its domains: [`Guard::Catalogue`]) bumps the epoch, which
//!   every entry is checked against. An entry carries the counters as they were *before* it
//!   was read from the database, so a change that commits while it is being read makes it
//!   stale at once.
//! - **Every replica hears of it.** The change is then published through the [`ChangeFeed`]
//!   (Redis pub/sub); the other replicas apply it when it arrives ([`Freshness::apply`]).
//! - **A replica that may miss changes trusts nothing.** While its subscription is down (Redis
//!   unreachable, the connection lost), [`Freshness::stamp`] answers `None` and every entry is
//!   stale: caches are bypassed and every lookup reads the database. When the subscription is
//!   back, the epoch is bumped (whatever was published meanwhile was missed) before the caches
//!   are used again.
//!
//! A replica alone (the embedded default, no Redis) follows every change: it makes them all.

use async_trait::async_trait;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use uuid::Uuid;

/// Counters the tenants share by hash: a change in one tenant also drops the entries of the
/// tenants that share its counter (a miss, never a stale hit), and memory stays bounded
/// however many tenants there are.
const STRIPES: usize = 1024;

/// What a table's changes make stale, declared with [`crate::tenant_owned!`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Guard {
    /// Nothing cached depends on the table.
    Nothing,
    /// Its tenant's cached access state (keys, sessions, identities, clients, quotas).
    Tenant,
    /// Tenant resolution (a tenant's row, its domains): every entry.
    Catalogue,
}

/// A change, as applied and as published.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Change {
    Tenant(Uuid),
    Everything,
}

impl Change {
    /// The message published for it: the tenant's id, or `*`.
    pub fn encode(self) -> String {
        match self {
            Change::Tenant(id) => id.to_string(),
            Change::Everything => "*".to_owned(),
        }
    }

    /// A published message; anything unreadable counts as a change to everything.
    pub fn decode(message: &str) -> Change {
        match Uuid::parse_str(message) {
            Ok(id) => Change::Tenant(id),
            Err(_) => Change::Everything,
        }
    }
}

/// Where changes are published for the other replicas.
#[async_trait]
pub trait ChangeFeed: Send + Sync {
    async fn publish(&self, change: Change) -> crate::Result<()>;
}

/// The counters an entry was read under.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Stamp {
    epoch: u64,
    generation: u64,
}

/// This replica's counters and whether it hears every change.
pub struct Freshness {
    epoch: AtomicU64,
    stripes: Box<[AtomicU64]>,
    following: AtomicBool,
    feed: OnceLock<Arc<dyn ChangeFeed>>,
}

impl Default for Freshness {
    fn default() -> Self {
        Self {
            epoch: AtomicU64::new(0),
            stripes: (0..STRIPES).map(|_| AtomicU64::new(0)).collect(),
            following: AtomicBool::new(true),
            feed: OnceLock::new(),
        }
    }
}

impl Freshness {
    fn stripe(&self, tenant: Option<Uuid>) -> u64 {
        match tenant {
            Some(id) => {
                let index = (id.as_u128() % STRIPES as u128) as usize;
                self.stripes[index].load(Ordering::Acquire)
            }
            None => 0,
        }
    }

    /// The counters of `tenant`'s entries (`None`: the catalogue's), to take before reading
    /// what will be cached; `None` while changes may be missed (nothing may be cached then).
    pub fn stamp(&self, tenant: Option<Uuid>) -> Option<Stamp> {
        if !self.following.load(Ordering::Acquire) {
            return None;
        }
        Some(Stamp {
            epoch: self.epoch.load(Ordering::Acquire),
            generation: self.stripe(tenant),
        })
    }

    /// Whether an entry of `tenant` read under `stamp` still holds.
    pub fn is_current(&self, tenant: Option<Uuid>, stamp: Stamp) -> bool {
        self.stamp(tenant) == Some(stamp)
    }

    /// Applies a change made here or heard of: the entries it touches are stale from now.
    pub fn apply(&self, change: Change) {
        match change {
            Change::Tenant(id) => {
                let index = (id.as_u128() % STRIPES as u128) as usize;
                self.stripes[index].fetch_add(1, Ordering::AcqRel);
            }
            Change::Everything => {
                self.epoch.fetch_add(1, Ordering::AcqRel);
            }
        }
    }

    /// A change this replica committed: applied here, then published to the others. A failed
    /// publication is logged; the replicas that missed it have lost their subscription too
    /// (they bypass their caches) or keep an entry at most until it expires.
    pub async fn changed(&self, change: Change) {
        self.apply(change);
        if let Some(feed) = self.feed.get()
            && let Err(error) = feed.publish(change).await
        {
            tracing::warn!(%error, change = %change.encode(), "a change could not be published to the other replicas");
        }
    }

    /// Publishes this replica's changes through `feed` (set once, at start-up).
    pub fn publish_through(&self, feed: Arc<dyn ChangeFeed>) {
        let _ = self.feed.set(feed);
    }

    /// Whether this replica hears every change; when it stops, its caches are bypassed, and
    /// when it starts again, everything cached before is stale.
    pub fn set_following(&self, following: bool) {
        if following {
            self.apply(Change::Everything);
        }
        self.following.store(following, Ordering::Release);
    }

    pub fn is_following(&self) -> bool {
        self.following.load(Ordering::Acquire)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_change_stales_its_tenant_and_everything_stales_all() {
        let freshness = Freshness::default();
        let (a, b) = (
            Uuid::now_v7(),
            Uuid::from_u128(Uuid::now_v7().as_u128() + 1),
        );
        let (stamp_a, stamp_b) = (
            freshness.stamp(Some(a)).unwrap(),
            freshness.stamp(Some(b)).unwrap(),
        );
        let catalogue = freshness.stamp(None).unwrap();
        freshness.apply(Change::Tenant(a));
        assert!(!freshness.is_current(Some(a), stamp_a));
        assert!(freshness.is_current(Some(b), stamp_b));
        assert!(freshness.is_current(None, catalogue));
        freshness.apply(Change::Everything);
        assert!(!freshness.is_current(Some(b), stamp_b));
        assert!(!freshness.is_current(None, catalogue));
    }

    #[test]
    fn nothing_is_current_while_changes_may_be_missed_nor_after() {
        let freshness = Freshness::default();
        let tenant = Some(Uuid::now_v7());
        let before = freshness.stamp(tenant).unwrap();
        freshness.set_following(false);
        assert_eq!(freshness.stamp(tenant), None);
        assert!(!freshness.is_current(tenant, before));
        freshness.set_following(true);
        assert!(!freshness.is_current(tenant, before), "missed meanwhile");
        assert!(freshness.stamp(tenant).is_some());
    }

    #[test]
    fn messages_round_trip_and_garbage_means_everything() {
        let id = Uuid::now_v7();
        assert_eq!(
            Change::decode(&Change::Tenant(id).encode()),
            Change::Tenant(id)
        );
        assert_eq!(Change::decode("*"), Change::Everything);
        assert_eq!(Change::decode("nonsense"), Change::Everything);
    }
}
