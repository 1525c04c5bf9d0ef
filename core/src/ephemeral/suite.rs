//! One suite for every store: the in-process one always; Redis as one node, as a Cluster and
//! behind Sentinel when `LATCHKEY_TEST_REDIS_URL`, `LATCHKEY_TEST_REDIS_CLUSTER_URL` and
//! `LATCHKEY_TEST_REDIS_SENTINEL_URL` are set (`.ci/run` and `tests/redis/run` set them).
//! Without services, a Redis that cannot be reached proves the store's answer to an outage.

use super::*;
use crate::error::Dependency;
use std::time::Instant;
use uuid::Uuid;

/// Generous for a loaded test machine; the server's default is 250 ms.
pub(super) const TEST_TIMEOUT: Duration = Duration::from_millis(1000);

pub(super) fn scope() -> TenantScope {
    TenantScope::new(Uuid::now_v7(), "store-test".into())
}

pub(super) fn is_redis_unavailable(error: &Error) -> bool {
    matches!(
        error,
        Error::Unavailable {
            dependency: Dependency::Redis,
            ..
        }
    )
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

async fn redis_suite(variable: &str) {
    let Ok(url) = std::env::var(variable) else {
        eprintln!("skipped: {variable} is not set");
        return;
    };
    suite(&RedisStore::connect(&url, TEST_TIMEOUT).await.unwrap()).await;
}

#[tokio::test]
async fn redis_node_store() {
    redis_suite("LATCHKEY_TEST_REDIS_URL").await;
}

#[tokio::test]
async fn redis_cluster_store() {
    redis_suite("LATCHKEY_TEST_REDIS_CLUSTER_URL").await;
}

#[tokio::test]
async fn redis_sentinel_store() {
    redis_suite("LATCHKEY_TEST_REDIS_SENTINEL_URL").await;
}

/// Nothing listens on port 1: every form of the URL starts, then answers every operation with
/// `Unavailable` (never `RateLimited`, never `Internal`) without waiting for Redis.
#[tokio::test]
async fn an_unreachable_redis_is_unavailable_at_once() {
    for url in [
        "redis://127.0.0.1:1",
        "redis+cluster://127.0.0.1:1,127.0.0.1:2",
        "redis+sentinel://127.0.0.1:1/main",
    ] {
        let started = Instant::now();
        let store = RedisStore::connect(url, TEST_TIMEOUT).await.unwrap();
        let scope = scope();
        let key = StoreKey::tenant(&scope, "test", "a");
        let outcomes = [
            store.get(&key).await.map(|_| ()),
            store.set(&key, b"v", Duration::from_secs(1)).await,
            store.delete(&key).await,
            store.take(&key).await.map(|_| ()),
            store.increment(&key, RATE_WINDOW).await.map(|_| ()),
            rate_limit(&store, &scope, "sign-in", "203.0.113.9", 5).await,
            store.ping().await,
        ];
        for outcome in outcomes {
            let error = outcome.unwrap_err();
            assert!(is_redis_unavailable(&error), "{url}: {error:?}");
        }
        // A behaviour check, not a speed figure: far below the 9.5 s of the client's old
        // reconnect schedule.
        assert!(started.elapsed() < Duration::from_secs(5), "{url}");
    }
}

#[tokio::test]
async fn a_malformed_url_is_the_only_connect_error() {
    let error = RedisStore::connect("redis+sentinel://127.0.0.1:1", TEST_TIMEOUT)
        .await
        .err()
        .unwrap();
    assert!(matches!(error, Error::Validation { .. }), "{error:?}");
}
