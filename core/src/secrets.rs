//! Bearer secrets: generated with the OS random source, shown once, stored as SHA-256 hashes.
//! They carry 256 bits of entropy, so a fast hash is enough (no password stretching).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore;
use sha2::{Digest, Sha256};

/// A freshly generated secret: `prefix` + 43 base64url characters.
pub fn generate(prefix: &str) -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    format!("{prefix}{}", URL_SAFE_NO_PAD.encode(bytes))
}

/// The hex SHA-256 of a secret, as stored and looked up.
pub fn hash(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// Whether a presented secret is the expected one, in time that does not depend on where
/// they differ (both are hashed first, so their lengths leak nothing either).
pub fn same_secret(presented: &str, expected: &str) -> bool {
    aws_lc_rs::constant_time::verify_slices_are_equal(
        &Sha256::digest(presented.as_bytes()),
        &Sha256::digest(expected.as_bytes()),
    )
    .is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_secret_compares_whole_values() {
        assert!(same_secret("lkm_abc", "lkm_abc"));
        assert!(!same_secret("lkm_abd", "lkm_abc"));
        assert!(!same_secret("lkm_ab", "lkm_abc"));
        assert!(!same_secret("", "lkm_abc"));
    }

    #[test]
    fn secrets_are_unique_and_hash_stably() {
        let a = generate("lk_");
        let b = generate("lk_");
        assert_ne!(a, b);
        assert!(a.starts_with("lk_"));
        assert_eq!(a.len(), 3 + 43);
        assert_eq!(hash(&a), hash(&a));
        assert_ne!(hash(&a), hash(&b));
    }
}
