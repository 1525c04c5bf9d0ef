//! The replicas' change feed on Redis (see [`crate::freshness`]): a change is published on
//! [`CHANNEL`], and each replica keeps a subscription to it in a background task.
//!
//! - **Not following, not trusting.** Until the subscription is confirmed, and from the
//!   moment it fails (the stream ends, or the connection does not answer a `PING` within the
//!   store's timeout, checked every [`CHECK_INTERVAL`]), the replica is marked as not
//!   following: its near cache is bypassed. Once subscribed again, everything cached before
//!   is stale and the cache is used again.
//! - **Where.** The same Redis the store uses: the node, the primary the sentinels name, or
//!   the first cluster node that accepts the subscription (a cluster passes every published
//!   message to all its nodes).

use super::address::RedisAddress;
use super::link::Target;
use crate::freshness::{Change, Freshness};
use futures::StreamExt;
use std::sync::{Arc, Weak};
use std::time::Duration;

/// Where changes are published.
pub(super) const CHANNEL: &str = "latchkey:changes";

/// How often the subscription's connection is checked while no message comes: the longest a
/// silently dropped connection goes unnoticed is this plus the store's timeout.
const CHECK_INTERVAL: Duration = Duration::from_millis(500);

/// How long the task waits before subscribing again after a failure.
const RETRY_INTERVAL: Duration = Duration::from_millis(100);

/// Starts following the changes published on `address` into `freshness`; the task ends when
/// `freshness` is dropped (or the handle aborted).
pub(super) fn follow(
    address: &RedisAddress,
    timeout: Duration,
    freshness: &Arc<Freshness>,
) -> redis::RedisResult<tokio::task::JoinHandle<()>> {
    let target = Target::new(address, timeout)?;
    freshness.set_following(false);
    Ok(tokio::spawn(keep(
        target,
        timeout,
        Arc::downgrade(freshness),
    )))
}

async fn keep(mut target: Target, timeout: Duration, freshness: Weak<Freshness>) {
    // Whether the current outage was logged: each is logged once, and so is its end.
    let mut logged = false;
    loop {
        match subscribe(&mut target, timeout).await {
            Ok(pubsub) => {
                let Some(strong) = freshness.upgrade() else {
                    return;
                };
                strong.set_following(true);
                drop(strong);
                if logged {
                    tracing::info!("following the replicas' changes again; caches in use");
                }
                let cause = listen(pubsub, timeout, &freshness).await;
                let Some(strong) = freshness.upgrade() else {
                    return;
                };
                strong.set_following(false);
                tracing::warn!(
                    error = %cause,
                    "lost the replicas' change feed; caches are bypassed until it is back"
                );
                logged = true;
            }
            Err(error) => {
                if !logged {
                    tracing::warn!(
                        %error,
                        "cannot subscribe to the replicas' change feed; caches are bypassed until it can"
                    );
                }
                logged = true;
            }
        }
        if freshness.strong_count() == 0 {
            return;
        }
        tokio::time::sleep(RETRY_INTERVAL).await;
    }
}

/// A subscription to [`CHANNEL`] on the first node that accepts it within `timeout`.
async fn subscribe(target: &mut Target, timeout: Duration) -> Result<redis::aio::PubSub, String> {
    let clients = tokio::time::timeout(timeout, target.node_clients())
        .await
        .map_err(|_| format!("no answer within {} ms", timeout.as_millis()))?
        .map_err(|error| error.to_string())?;
    let mut failure = "no Redis node to subscribe to".to_owned();
    for client in clients {
        let attempt = async {
            let mut pubsub = client.get_async_pubsub().await?;
            pubsub.subscribe(CHANNEL).await?;
            Ok::<_, redis::RedisError>(pubsub)
        };
        match tokio::time::timeout(timeout, attempt).await {
            Ok(Ok(pubsub)) => return Ok(pubsub),
            Ok(Err(error)) => failure = error.to_string(),
            Err(_) => failure = format!("no answer within {} ms", timeout.as_millis()),
        }
    }
    Err(failure)
}

/// Applies the messages of a subscription until it fails; answers why it did.
async fn listen(
    pubsub: redis::aio::PubSub,
    timeout: Duration,
    freshness: &Weak<Freshness>,
) -> String {
    let (mut sink, mut stream) = pubsub.split();
    loop {
        tokio::select! {
            message = stream.next() => {
                let Some(message) = message else {
                    return "the connection closed".to_owned();
                };
                let Some(freshness) = freshness.upgrade() else {
                    return "stopped".to_owned();
                };
                let payload: String = message.get_payload().unwrap_or_default();
                freshness.apply(Change::decode(&payload));
            }
            () = tokio::time::sleep(CHECK_INTERVAL) => {
                match tokio::time::timeout(timeout, sink.ping::<redis::Value>()).await {
                    Ok(Ok(_)) => {}
                    Ok(Err(error)) => return error.to_string(),
                    Err(_) => return format!("no answer to PING within {} ms", timeout.as_millis()),
                }
            }
        }
    }
}
