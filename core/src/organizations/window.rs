//! Validity windows: when a membership, an invitation's membership or a role grant starts
//! and ends, and what status that gives at a moment. A window is half-open: access holds from
//! `valid_from` (inclusive) until `valid_until` (exclusive); a missing end is open.

use crate::error::{Error, Result};
use chrono::{DateTime, SubsecRound, Utc};

/// Where a moment falls in a window.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AccessStatus {
    /// Before `valid_from`: it gives nothing yet.
    Pending,
    Active,
    /// At or after `valid_until`: it gives nothing any more.
    Expired,
}

impl AccessStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            AccessStatus::Pending => "pending",
            AccessStatus::Active => "active",
            AccessStatus::Expired => "expired",
        }
    }
}

/// A validity window; both ends optional.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Window {
    pub valid_from: Option<DateTime<Utc>>,
    pub valid_until: Option<DateTime<Utc>>,
}

impl Window {
    /// A window from input: `BAD_USER_INPUT` on `validUntil` when it does not end after it
    /// starts. Times keep microseconds, as the database stores them.
    pub fn checked(
        valid_from: Option<DateTime<Utc>>,
        valid_until: Option<DateTime<Utc>>,
    ) -> Result<Self> {
        let window = Self {
            valid_from: valid_from.map(|t| t.trunc_subsecs(6)),
            valid_until: valid_until.map(|t| t.trunc_subsecs(6)),
        };
        if let (Some(from), Some(until)) = (window.valid_from, window.valid_until)
            && until <= from
        {
            return Err(Error::validation(
                "validUntil",
                format!("must be after validFrom ({from})"),
            ));
        }
        Ok(window)
    }

    pub fn status(&self, now: DateTime<Utc>) -> AccessStatus {
        match (self.valid_from, self.valid_until) {
            (Some(from), _) if now < from => AccessStatus::Pending,
            (_, Some(until)) if now >= until => AccessStatus::Expired,
            _ => AccessStatus::Active,
        }
    }

    pub fn is_active(&self, now: DateTime<Utc>) -> bool {
        self.status(now) == AccessStatus::Active
    }

    /// The window from the earliest start to the latest end of `windows` (an open end among
    /// them leaves that end open); `None` for no windows. Gaps between them are covered.
    pub fn span(windows: impl IntoIterator<Item = Window>) -> Option<Window> {
        let mut windows = windows.into_iter();
        let first = windows.next()?;
        Some(windows.fold(first, |span, window| {
            Window {
                valid_from: span
                    .valid_from
                    .zip(window.valid_from)
                    .map(|(a, b)| a.min(b)),
                valid_until: span
                    .valid_until
                    .zip(window.valid_until)
                    .map(|(a, b)| a.max(b)),
            }
        }))
    }
}

/// The earlier of two optional ends (a missing one is open).
pub fn earliest_end(a: Option<DateTime<Utc>>, b: Option<DateTime<Utc>>) -> Option<DateTime<Utc>> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;

    #[test]
    fn a_window_is_pending_then_active_then_expired_at_its_exact_end() {
        let start = Utc::now().trunc_subsecs(6);
        let end = start + Duration::hours(24);
        let window = Window::checked(Some(start), Some(end)).unwrap();
        assert_eq!(
            window.status(start - Duration::seconds(1)),
            AccessStatus::Pending
        );
        assert_eq!(window.status(start), AccessStatus::Active);
        assert_eq!(
            window.status(end - Duration::microseconds(1)),
            AccessStatus::Active
        );
        assert_eq!(window.status(end), AccessStatus::Expired);
        assert!(Window::default().is_active(start));
    }

    #[test]
    fn an_end_not_after_the_start_names_valid_until() {
        let start = Utc::now();
        for end in [start, start - Duration::seconds(1)] {
            match Window::checked(Some(start), Some(end)) {
                Err(Error::Validation { field, .. }) => assert_eq!(field, "validUntil"),
                other => panic!("expected a validation error, got {other:?}"),
            }
        }
    }

    #[test]
    fn a_span_covers_every_window_and_keeps_open_ends_open() {
        let t = Utc::now();
        let at = |hours| Some(t + Duration::hours(hours));
        let a = Window {
            valid_from: at(0),
            valid_until: at(10),
        };
        let b = Window {
            valid_from: at(5),
            valid_until: at(20),
        };
        let span = Window::span([a, b]).unwrap();
        assert_eq!((span.valid_from, span.valid_until), (at(0), at(20)));
        let open = Window {
            valid_from: None,
            valid_until: at(1),
        };
        let span = Window::span([a, open, b]).unwrap();
        assert_eq!((span.valid_from, span.valid_until), (None, at(20)));
        assert_eq!(Window::span([]), None);
    }

    #[test]
    fn the_earliest_end_ignores_open_ends() {
        let t = Utc::now();
        let later = t + Duration::seconds(5);
        assert_eq!(earliest_end(Some(t), Some(later)), Some(t));
        assert_eq!(earliest_end(None, Some(later)), Some(later));
        assert_eq!(earliest_end(None, None), None);
    }
}
