//! A clock that a test moves: it stands still from when it is made until the test advances
//! it, so that a rule measured against it does not depend on how fast the machine runs.

use chrono::{DateTime, Duration, Utc};
use latchkey_core::clock::Clock;
use std::sync::Mutex;

#[derive(Debug)]
pub struct ManualClock {
    now: Mutex<DateTime<Utc>>,
}

impl ManualClock {
    /// A clock standing at the current time.
    pub fn new() -> Self {
        Self {
            now: Mutex::new(Utc::now()),
        }
    }

    /// Moves the clock forward by `seconds`.
    pub fn advance(&self, seconds: i64) {
        *self.now.lock().unwrap() += Duration::seconds(seconds);
    }
}

impl Default for ManualClock {
    fn default() -> Self {
        Self::new()
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        *self.now.lock().unwrap()
    }
}
