//! Throttling password guesses (NIST SP 800-63B rev 4 §3.2.2) so that a stranger cannot use it
//! to lock the owner out: wrong passwords are counted per (account, client IP) and per client
//! IP over [`WINDOW`], and a count that reaches its limit blocks only that pair, or that IP,
//! for the rest of the window. There is no lock on the account as a whole: its owner, from
//! their own address, is never held back by guesses from elsewhere; guessing spread over many
//! addresses meets the per-IP limits, the 15-character minimum and the breached-password check,
//! and a second factor. A right password clears its pair's count. Unknown addresses are
//! counted like known ones, so the throttle tells nothing about which exist.

use crate::ephemeral::{EphemeralStore, StoreKey};
use crate::error::{Error, Result};
use crate::scope::TenantScope;
use crate::secrets;
use crate::settings::RateLimits;
use std::time::Duration;

/// The window failures are counted in, and how long a block lasts at most.
pub const WINDOW: Duration = Duration::from_secs(15 * 60);

/// The throttle of one sign-in attempt: an address (normalized) from a client IP.
pub struct Throttle<'a> {
    pub store: &'a dyn EphemeralStore,
    pub scope: &'a TenantScope,
    pub limits: &'a RateLimits,
    pub email_normalized: &'a str,
    pub client_ip: Option<&'a str>,
}

impl Throttle<'_> {
    fn key(&self, kind: &str, subject: &str) -> StoreKey {
        StoreKey::tenant(self.scope, kind, &secrets::hash(subject))
    }

    fn pair(&self) -> String {
        format!(
            "{}|{}",
            self.email_normalized,
            self.client_ip.unwrap_or("-")
        )
    }

    fn ip(&self) -> &str {
        self.client_ip.unwrap_or("-")
    }

    /// Refuses the attempt while this pair or this IP is blocked.
    pub async fn admit(&self) -> Result<()> {
        for key in [
            self.key("password-blocked-pair", &self.pair()),
            self.key("password-blocked-ip", self.ip()),
        ] {
            if self.store.get(&key).await?.is_some() {
                tracing::info!("password sign-in throttled");
                return Err(Error::RateLimited {
                    retry_after: WINDOW,
                });
            }
        }
        Ok(())
    }

    /// Counts a wrong password; blocks the pair or the IP once it reaches its limit.
    pub async fn failed(&self) -> Result<()> {
        let counts = [
            (
                "password-failures-pair",
                "password-blocked-pair",
                self.pair(),
                self.limits.password_failures_per_account_and_ip,
            ),
            (
                "password-failures-ip",
                "password-blocked-ip",
                self.ip().to_owned(),
                self.limits.password_failures_per_ip,
            ),
        ];
        for (counter, block, subject, limit) in counts {
            let failures = self
                .store
                .increment(&self.key(counter, &subject), WINDOW)
                .await?;
            if failures >= u64::from(limit) {
                self.store
                    .set(&self.key(block, &subject), b"1", WINDOW)
                    .await?;
            }
        }
        Ok(())
    }

    /// A right password: the pair's failures start again from zero.
    pub async fn succeeded(&self) -> Result<()> {
        self.store
            .delete(&self.key("password-failures-pair", &self.pair()))
            .await
    }
}
