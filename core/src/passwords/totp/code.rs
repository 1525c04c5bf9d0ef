//! RFC 6238 time-based one-time passwords as authenticator apps make them: HMAC-SHA1 (what
//! every app supports; some accept SHA-256 in the URI and silently use SHA-1), 30-second steps,
//! six digits, and a 160-bit secret (RFC 4226 §4), shown to the user in base32.

use aws_lc_rs::hmac;
use chrono::{DateTime, Utc};

/// Seconds per time step.
pub const STEP_SECONDS: i64 = 30;
/// Digits per code.
pub const DIGITS: u32 = 6;
/// Bytes of a new secret.
pub const SECRET_BYTES: usize = 20;
/// Steps either side of now a code may come from (clock drift, typing time).
pub const DRIFT_STEPS: i64 = 1;

/// A new random secret.
pub fn new_secret() -> Vec<u8> {
    use rand::RngCore;
    let mut secret = vec![0; SECRET_BYTES];
    rand::rng().fill_bytes(&mut secret);
    secret
}

/// The secret as authenticator apps take it: base32 without padding.
pub fn secret_text(secret: &[u8]) -> String {
    data_encoding::BASE32_NOPAD.encode(secret)
}

/// The time step of `at`.
pub fn step_of(at: DateTime<Utc>) -> i64 {
    at.timestamp().div_euclid(STEP_SECONDS)
}

/// The code of time step `step` (RFC 4226 §5.3 dynamic truncation).
pub fn code_at(secret: &[u8], step: i64) -> String {
    let key = hmac::Key::new(hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY, secret);
    let tag = hmac::sign(&key, &step.to_be_bytes());
    let digest = tag.as_ref();
    let offset = usize::from(digest[digest.len() - 1] & 0x0f);
    let binary = u32::from_be_bytes([
        digest[offset] & 0x7f,
        digest[offset + 1],
        digest[offset + 2],
        digest[offset + 3],
    ]);
    format!(
        "{:0width$}",
        binary % 10u32.pow(DIGITS),
        width = DIGITS as usize
    )
}

/// The step within the drift window around `now` whose code is `code`, the latest first, if
/// any is after `last_used` (a step once accepted never is again, RFC 6238 §5.2).
pub fn matching_step(
    secret: &[u8],
    code: &str,
    now: DateTime<Utc>,
    last_used: Option<i64>,
) -> Option<i64> {
    let current = step_of(now);
    (current - DRIFT_STEPS..=current + DRIFT_STEPS)
        .rev()
        .filter(|step| last_used.is_none_or(|last| *step > last))
        .find(|step| crate::secrets::same_secret(&code_at(secret, *step), code))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    /// RFC 6238 Appendix B, SHA-1, truncated to six digits.
    #[test]
    fn rfc_6238_test_vectors() {
        let secret = b"12345678901234567890";
        for (time, expected) in [
            (59, "287082"),
            (1_111_111_109, "081804"),
            (1_111_111_111, "050471"),
            (1_234_567_890, "005924"),
            (2_000_000_000, "279037"),
            (20_000_000_000, "353130"),
        ] {
            let at = Utc.timestamp_opt(time, 0).unwrap();
            assert_eq!(code_at(secret, step_of(at)), expected, "at {time}");
        }
    }

    #[test]
    fn one_step_of_drift_and_no_replay() {
        let secret = new_secret();
        let now = Utc.timestamp_opt(1_700_000_015, 0).unwrap();
        let step = step_of(now);
        for drift in [-1, 0, 1] {
            let code = code_at(&secret, step + drift);
            assert_eq!(matching_step(&secret, &code, now, None), Some(step + drift));
        }
        for far in [-2, 2] {
            let code = code_at(&secret, step + far);
            assert_eq!(matching_step(&secret, &code, now, None), None);
        }
        let code = code_at(&secret, step);
        assert_eq!(matching_step(&secret, &code, now, Some(step)), None);
        let earlier = code_at(&secret, step - 1);
        assert_eq!(matching_step(&secret, &earlier, now, Some(step - 1)), None);
    }

    #[test]
    fn secrets_are_160_bits_in_base32() {
        let secret = new_secret();
        assert_eq!(secret.len(), 20);
        assert_eq!(secret_text(&secret).len(), 32);
    }
}
