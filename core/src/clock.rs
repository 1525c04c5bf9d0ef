//! The time that time-based rules are measured against. Services that apply such a rule take a
//! [`Clock`] instead of reading the system time themselves, so that a test can move time
//! forward without waiting.

use chrono::{DateTime, Utc};

/// Tells the time.
pub trait Clock: Send + Sync + std::fmt::Debug {
    fn now(&self) -> DateTime<Utc>;
}

/// The system's clock: what the server runs with.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// A clock that its owner moves: it stands still from when it is made until
/// [`ManualClock::advance`], so that a rule measured against it does not depend on how fast
/// the machine runs (tests, and simulations of time-based rules).
#[derive(Debug)]
pub struct ManualClock {
    now: std::sync::Mutex<DateTime<Utc>>,
}

impl ManualClock {
    /// A clock standing at the current time.
    pub fn new() -> Self {
        Self {
            now: std::sync::Mutex::new(Utc::now()),
        }
    }

    /// Moves the clock forward by `seconds`.
    pub fn advance(&self, seconds: i64) {
        *self.now.lock().unwrap_or_else(|e| e.into_inner()) += chrono::Duration::seconds(seconds);
    }
}

impl Default for ManualClock {
    fn default() -> Self {
        Self::new()
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        *self.now.lock().unwrap_or_else(|e| e.into_inner())
    }
}
