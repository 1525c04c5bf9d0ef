//! Firebase Authentication users, as `firebase auth:export` writes them: each user's
//! `passwordHash` and `salt` in standard base64, and the project's password hash parameters
//! (Authentication → Users → Password hash parameters in the Firebase console:
//! `base64_signer_key`, `base64_salt_separator`, `rounds`, `mem_cost`).
//!
//! Only the standard base64 alphabet is accepted, padded or not; hashes read through other
//! APIs in the URL-safe alphabet (`-`, `_`) must be converted to the standard one first.

use crate::encoding::decode_source;
use crate::error::HashError;
use crate::firebase::FirebaseHash;
use std::fmt;

const SCHEME: &str = "Firebase";

/// A Firebase project's password hash parameters.
#[derive(Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FirebaseConfig {
    /// `base64_signer_key`: the project's key, in standard base64.
    pub signer_key: String,
    /// `base64_salt_separator`, in standard base64.
    pub salt_separator: String,
    /// `rounds` (scrypt's `r`).
    pub rounds: u32,
    /// `mem_cost` (scrypt's `log2 N`).
    pub mem_cost: u32,
}

/// Leaves the signer key out: it is the project's secret.
impl fmt::Debug for FirebaseConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FirebaseConfig")
            .field("signer_key", &"<redacted>")
            .field("salt_separator", &self.salt_separator)
            .field("rounds", &self.rounds)
            .field("mem_cost", &self.mem_cost)
            .finish()
    }
}

/// Turns an exported Firebase user's `passwordHash` and `salt` into a stored string, with the
/// project's parameters written into it.
///
/// # Errors
///
/// A field that is not base64, or parameters outside the bounds of [`crate::parse`].
pub fn from_firebase(
    password_hash: &str,
    salt: &str,
    config: &FirebaseConfig,
) -> Result<String, HashError> {
    let hash = FirebaseHash::new(
        config.rounds,
        config.mem_cost,
        decode_source(config.salt_separator.trim(), SCHEME, "salt separator")?,
        decode_source(config.signer_key.trim(), SCHEME, "signer key")?,
        decode_source(salt.trim(), SCHEME, "salt")?,
        decode_source(password_hash.trim(), SCHEME, "password hash")?,
    )?;
    Ok(hash.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Scheme, parse, verify};

    /// The project parameters of <https://github.com/firebase/scrypt>'s README vector.
    fn readme_config() -> FirebaseConfig {
        FirebaseConfig {
            signer_key: "jxspr8Ki0RYycVU8zykbdLGjFQ3McFUH0uiiTvC8pVMXAn210wjLNmdZJzxUECKbm0QsEmYUSDzZvpjeJ9WmXA=="
                .to_owned(),
            salt_separator: "Bw==".to_owned(),
            rounds: 8,
            mem_cost: 14,
        }
    }

    const README_HASH: &str =
        "lSrfV15cpx95/sZS2W9c9Kp6i/LVgQNDNC/qzrCnh1SAyZvqmZqAjTdn3aoItz+VHjoZilo78198JAdRuid5lQ==";
    const README_SALT: &str = "42xEC+ixf3L2lw==";

    #[test]
    fn the_published_vector() {
        let stored = from_firebase(README_HASH, README_SALT, &readme_config()).unwrap();
        assert_eq!(stored, crate::firebase::tests::README_VECTOR);
        assert_eq!(parse(&stored), Ok(Scheme::FirebaseScrypt));
        assert_eq!(verify(b"user1password", &stored), Ok(true));
        assert_eq!(verify(b"user1passwork", &stored), Ok(false));
    }

    #[test]
    fn padding_is_optional() {
        let unpadded = from_firebase(
            README_HASH.trim_end_matches('='),
            "42xEC+ixf3L2lw",
            &readme_config(),
        );
        assert_eq!(unpadded.unwrap(), crate::firebase::tests::README_VECTOR);
    }

    #[test]
    fn refuses_bounds_and_bad_fields() {
        let config = |rounds, mem_cost| FirebaseConfig {
            rounds,
            mem_cost,
            ..readme_config()
        };
        let cases = [
            (
                config(0, 14),
                README_SALT,
                "Firebase scrypt rounds 0 is below 1",
            ),
            (
                config(9, 14),
                README_SALT,
                "Firebase scrypt rounds 9 is above 8",
            ),
            (
                config(8, 0),
                README_SALT,
                "Firebase scrypt mem_cost 0 is below 1",
            ),
            (
                config(8, 20),
                README_SALT,
                "Firebase scrypt mem_cost 20 is above 16",
            ),
            (
                config(8, 14),
                "42xEC-ixf3L2lw==",
                "Firebase salt is not base64 (standard alphabet A-Z a-z 0-9 + /)",
            ),
            (
                FirebaseConfig {
                    signer_key: "c2lnbmVy".to_owned(),
                    ..readme_config()
                },
                README_SALT,
                "Firebase scrypt hash is malformed: the hash is 64 bytes long but the signer key 6 bytes; they must be as long",
            ),
        ];
        for (config, salt, message) in cases {
            assert_eq!(
                from_firebase(README_HASH, salt, &config)
                    .unwrap_err()
                    .to_string(),
                message
            );
        }
    }

    #[test]
    fn debug_hides_the_signer_key() {
        let shown = format!("{:?}", readme_config());
        assert!(!shown.contains("jxspr8"));
        assert!(shown.contains("<redacted>"));
    }
}
