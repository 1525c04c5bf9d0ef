//! Firebase Authentication's modified scrypt, in the canonical form
//! `$firebase-scrypt$r=<rounds>,m=<mem_cost>$<salt separator>$<signer key>$<salt>$<hash>`,
//! the byte fields in standard base64 without padding.
//!
//! The algorithm, as Firebase publishes it (<https://github.com/firebase/scrypt>) and PyPI's
//! `firebase-scrypt` implements it:
//!
//! 1. `derived = scrypt(password, salt ‖ salt_separator, N = 2^mem_cost, r = rounds, p = 1)`;
//! 2. `hash = AES-256-CTR(key = derived[..32], counter block = 16 zero bytes)` applied to the
//!    project's signer key.
//!
//! The stored hash is compared with the result in constant time. Firebase derives 64 bytes and
//! keys AES with the first 32; scrypt's last step is PBKDF2, whose first output block does not
//! depend on the length asked for, so deriving only 32 bytes gives the same key.
//!
//! `rounds` and `mem_cost` are the project's hash config (usually 8 and 14). Firebase's import
//! API takes `rounds` 0–8; 0 is refused here, as scrypt needs `r` ≥ 1. `mem_cost` is accepted
//! up to 16: scrypt then takes 128 · r · 2^16 bytes, 64 MiB at r = 8.

use crate::encoding;
use crate::error::{HashError, check_range};
use aes::Aes256;
use ctr::Ctr128BE;
use ctr::cipher::{KeyIvInit, StreamCipher};
use std::fmt;
use subtle::ConstantTimeEq;

const SCHEME: &str = "Firebase scrypt";

/// Fewest and most rounds (scrypt's `r`).
const ROUNDS: (u32, u32) = (1, 8);
/// Smallest and largest memory cost (scrypt's `log2 N`).
const MEM_COST: (u32, u32) = (1, 16);

/// A Firebase scrypt hash whose bounds are checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FirebaseHash {
    rounds: u32,
    mem_cost: u8,
    salt_separator: Vec<u8>,
    signer_key: Vec<u8>,
    salt: Vec<u8>,
    hash: Vec<u8>,
}

impl FirebaseHash {
    /// A hash with these fields, if they are within the bounds.
    pub(crate) fn new(
        rounds: u32,
        mem_cost: u32,
        salt_separator: Vec<u8>,
        signer_key: Vec<u8>,
        salt: Vec<u8>,
        hash: Vec<u8>,
    ) -> Result<Self, HashError> {
        check_range("Firebase scrypt rounds", rounds, ROUNDS.0, ROUNDS.1, "")?;
        check_range(
            "Firebase scrypt mem_cost",
            mem_cost,
            MEM_COST.0,
            MEM_COST.1,
            "",
        )?;
        if signer_key.is_empty() {
            return Err(HashError::malformed(SCHEME, "the signer key is empty"));
        }
        if salt.is_empty() {
            return Err(HashError::malformed(SCHEME, "the salt is empty"));
        }
        if hash.len() != signer_key.len() {
            return Err(HashError::malformed(
                SCHEME,
                format!(
                    "the hash is {} bytes long but the signer key {} bytes; they must be as long",
                    hash.len(),
                    signer_key.len()
                ),
            ));
        }
        Ok(Self {
            rounds,
            mem_cost: mem_cost as u8, // at most 16: checked above
            salt_separator,
            signer_key,
            salt,
            hash,
        })
    }

    /// Parses a canonical string.
    pub(crate) fn parse(stored: &str) -> Result<Self, HashError> {
        let fields: Vec<&str> = stored.split('$').collect();
        let [
            "",
            "firebase-scrypt",
            params,
            separator,
            signer_key,
            salt,
            hash,
        ] = fields[..]
        else {
            return Err(HashError::malformed(
                SCHEME,
                "it should have the form \
                 $firebase-scrypt$r=<rounds>,m=<mem_cost>$<salt separator>$<signer key>$<salt>$<hash>",
            ));
        };
        let Some((rounds, mem_cost)) = params
            .strip_prefix("r=")
            .and_then(|rest| rest.split_once(",m="))
        else {
            return Err(HashError::malformed(
                SCHEME,
                "the parameters should read r=<rounds>,m=<mem_cost>",
            ));
        };
        Self::new(
            encoding::decimal(rounds, SCHEME, "rounds")?,
            encoding::decimal(mem_cost, SCHEME, "mem_cost")?,
            encoding::decode_canonical(separator, SCHEME, "salt separator")?,
            encoding::decode_canonical(signer_key, SCHEME, "signer key")?,
            encoding::decode_canonical(salt, SCHEME, "salt")?,
            encoding::decode_canonical(hash, SCHEME, "hash")?,
        )
    }

    /// Whether `password` gives the stored hash, compared in constant time.
    pub(crate) fn verify(&self, password: &[u8]) -> Result<bool, HashError> {
        let params = scrypt::Params::new(self.mem_cost, self.rounds, 1)
            .map_err(|e| HashError::malformed(SCHEME, e.to_string()))?;
        let salt = [self.salt.as_slice(), self.salt_separator.as_slice()].concat();
        let mut key = [0u8; 32];
        scrypt::scrypt(password, &salt, &params, &mut key)
            .map_err(|e| HashError::malformed(SCHEME, e.to_string()))?;
        let mut result = self.signer_key.clone();
        Ctr128BE::<Aes256>::new(&key.into(), &[0u8; 16].into()).apply_keystream(&mut result);
        Ok(result.ct_eq(&self.hash).into())
    }
}

/// The canonical string.
impl fmt::Display for FirebaseHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "$firebase-scrypt$r={},m={}${}${}${}${}",
            self.rounds,
            self.mem_cost,
            encoding::encode(&self.salt_separator),
            encoding::encode(&self.signer_key),
            encoding::encode(&self.salt),
            encoding::encode(&self.hash)
        )
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// The public test vector of <https://github.com/firebase/scrypt>'s README, password
    /// "user1password", in canonical form.
    pub(crate) const README_VECTOR: &str = "$firebase-scrypt$r=8,m=14$Bw$jxspr8Ki0RYycVU8zykbdLGjFQ3McFUH0uiiTvC8pVMXAn210wjLNmdZJzxUECKbm0QsEmYUSDzZvpjeJ9WmXA$42xEC+ixf3L2lw$lSrfV15cpx95/sZS2W9c9Kp6i/LVgQNDNC/qzrCnh1SAyZvqmZqAjTdn3aoItz+VHjoZilo78198JAdRuid5lQ";

    #[test]
    fn verifies_the_published_vector() {
        let hash = FirebaseHash::parse(README_VECTOR).unwrap();
        assert!(hash.verify(b"user1password").unwrap());
        assert!(!hash.verify(b"user2password").unwrap());
        assert_eq!(hash.to_string(), README_VECTOR);
    }

    #[test]
    fn refuses_bounds() {
        let cases = [
            ("r=0,m=14", "Firebase scrypt rounds 0 is below 1"),
            ("r=9,m=14", "Firebase scrypt rounds 9 is above 8"),
            ("r=8,m=0", "Firebase scrypt mem_cost 0 is below 1"),
            ("r=8,m=17", "Firebase scrypt mem_cost 17 is above 16"),
            ("r=8,m=300", "Firebase scrypt mem_cost 300 is above 16"),
        ];
        for (params, message) in cases {
            let stored = README_VECTOR.replacen("r=8,m=14", params, 1);
            assert_eq!(
                FirebaseHash::parse(&stored).unwrap_err().to_string(),
                message
            );
        }
    }

    #[test]
    fn refuses_malformed_strings() {
        let fields: Vec<&str> = README_VECTOR.split('$').collect();
        let with = |index: usize, value: &str| {
            let mut fields = fields.clone();
            fields[index] = value;
            fields.join("$")
        };
        let cases = [
            (
                with(2, "m=14,r=8"),
                "Firebase scrypt hash is malformed: the parameters should read r=<rounds>,m=<mem_cost>",
            ),
            (
                with(2, "r=eight,m=14"),
                "Firebase scrypt hash is malformed: rounds is not a whole number",
            ),
            (
                with(3, "Bw=="),
                "Firebase scrypt salt separator is not base64 (standard alphabet, no padding)",
            ),
            (
                with(4, ""),
                "Firebase scrypt hash is malformed: the signer key is empty",
            ),
            (
                with(5, ""),
                "Firebase scrypt hash is malformed: the salt is empty",
            ),
            (
                with(5, "42xEC-ixf3L2lw"),
                "Firebase scrypt salt is not base64 (standard alphabet, no padding)",
            ),
            (
                with(6, "lSrfV15cpx95"),
                "Firebase scrypt hash is malformed: the hash is 9 bytes long but the signer key 64 bytes; they must be as long",
            ),
            (
                fields[..6].join("$"),
                "Firebase scrypt hash is malformed: it should have the form $firebase-scrypt$r=<rounds>,m=<mem_cost>$<salt separator>$<signer key>$<salt>$<hash>",
            ),
        ];
        for (stored, message) in cases {
            assert_eq!(
                FirebaseHash::parse(&stored).unwrap_err().to_string(),
                message,
                "{stored}"
            );
        }
    }
}
