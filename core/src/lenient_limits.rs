//! Rate limits that give way when their counters cannot be reached (Redis down). Each limit
//! decides which way it fails, and says why:
//!
//! - Most fail **closed** ([`crate::ephemeral::rate_limit`]): sign-in attempts, password
//!   failures, codes and invitations sent by email. They stand between a guesser and an
//!   account, or between a script and someone's mailbox; without their counters the request is
//!   refused with `Unavailable` (never `RateLimited`).
//! - A few fail **open** (here): a tenant's request quota, and the token endpoints' per-address
//!   and per-client limits. They meter and smooth load; the credentials they guard are random
//!   secrets of 256 bits that no rate of guessing reaches. Refusing them would turn a Redis
//!   outage into an outage of every API call and every token, which is what a cache-only
//!   dependency must not do.

use crate::ephemeral::{EphemeralStore, rate_limit};
use crate::error::{Error, Result};
use crate::scope::TenantScope;

/// [`rate_limit`], except that counters that cannot be reached let the attempt through.
pub async fn rate_limit_or_allow(
    store: &dyn EphemeralStore,
    scope: &TenantScope,
    kind: &str,
    subject: &str,
    limit: u32,
) -> Result<()> {
    match rate_limit(store, scope, kind, subject, limit).await {
        Err(Error::Unavailable { .. }) => {
            tracing::debug!(
                limit.kind = kind,
                "rate limit not counted: the store is unavailable"
            );
            Ok(())
        }
        other => other,
    }
}
