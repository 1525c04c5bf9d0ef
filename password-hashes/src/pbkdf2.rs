//! PBKDF2 with HMAC (RFC 8018), as Django and Keycloak store it, in the canonical form
//! `$pbkdf2-sha256$i=<iterations>$<salt>$<hash>` (or `pbkdf2-sha1`, `pbkdf2-sha512`), salt
//! and hash in standard base64 without padding.
//!
//! The salt is the bytes the source fed to PBKDF2: Django's text salt as its UTF-8 bytes,
//! Keycloak's random bytes as they were. The hash length is that of the source's output (it is
//! PBKDF2's `dkLen`): 32 bytes for Django's SHA-256, 20 for its SHA-1, 32 or 64 for Keycloak.

use crate::encoding;
use crate::error::{HashError, check_range};
use std::fmt;
use subtle::ConstantTimeEq;

const SCHEME: &str = "PBKDF2";

/// Fewest and most iterations accepted.
const ITERATIONS: (u32, u32) = (1, 10_000_000);
/// Shortest and longest hash accepted, in bytes.
const HASH_LENGTH: (usize, usize) = (16, 64);

/// The hash function inside PBKDF2's HMAC.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Digest {
    Sha1,
    Sha256,
    Sha512,
}

impl Digest {
    /// The name in canonical strings, after `pbkdf2-`.
    fn name(self) -> &'static str {
        match self {
            Self::Sha1 => "sha1",
            Self::Sha256 => "sha256",
            Self::Sha512 => "sha512",
        }
    }

    /// The digest named `name` in a canonical string.
    pub(crate) fn from_name(name: &str) -> Option<Self> {
        [Self::Sha1, Self::Sha256, Self::Sha512]
            .into_iter()
            .find(|digest| digest.name() == name)
    }
}

/// A PBKDF2 hash whose bounds are checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Pbkdf2Hash {
    digest: Digest,
    iterations: u32,
    salt: Vec<u8>,
    hash: Vec<u8>,
}

impl Pbkdf2Hash {
    /// A hash of `digest` with these fields, if they are within the bounds.
    pub(crate) fn new(
        digest: Digest,
        iterations: u32,
        salt: Vec<u8>,
        hash: Vec<u8>,
    ) -> Result<Self, HashError> {
        check_range(
            "PBKDF2 iterations",
            iterations,
            ITERATIONS.0,
            ITERATIONS.1,
            "",
        )?;
        let length = i64::try_from(hash.len()).unwrap_or(i64::MAX);
        check_range(
            "PBKDF2 hash length",
            length,
            HASH_LENGTH.0 as i64,
            HASH_LENGTH.1 as i64,
            " bytes",
        )?;
        if salt.is_empty() {
            return Err(HashError::malformed(SCHEME, "the salt is empty"));
        }
        Ok(Self {
            digest,
            iterations,
            salt,
            hash,
        })
    }

    /// The digest.
    pub(crate) fn digest(&self) -> Digest {
        self.digest
    }

    /// Parses a canonical string.
    pub(crate) fn parse(stored: &str) -> Result<Self, HashError> {
        let fields: Vec<&str> = stored.split('$').collect();
        let ["", algorithm, iterations, salt, hash] = fields[..] else {
            return Err(HashError::malformed(
                SCHEME,
                "it should have the form $pbkdf2-<digest>$i=<iterations>$<salt>$<hash>",
            ));
        };
        let digest = algorithm
            .strip_prefix("pbkdf2-")
            .and_then(Digest::from_name)
            .ok_or_else(|| {
                HashError::malformed(SCHEME, "the digest is not sha1, sha256 or sha512")
            })?;
        let iterations = iterations.strip_prefix("i=").ok_or_else(|| {
            HashError::malformed(SCHEME, "the iterations field does not start with i=")
        })?;
        Self::new(
            digest,
            encoding::decimal(iterations, SCHEME, "iterations")?,
            encoding::decode_canonical(salt, SCHEME, "salt")?,
            encoding::decode_canonical(hash, SCHEME, "hash")?,
        )
    }

    /// Whether `password` derives the stored hash, compared in constant time.
    pub(crate) fn verify(&self, password: &[u8]) -> bool {
        let mut derived = vec![0; self.hash.len()];
        let derive = match self.digest {
            Digest::Sha1 => pbkdf2::pbkdf2_hmac::<sha1::Sha1>,
            Digest::Sha256 => pbkdf2::pbkdf2_hmac::<sha2::Sha256>,
            Digest::Sha512 => pbkdf2::pbkdf2_hmac::<sha2::Sha512>,
        };
        derive(password, &self.salt, self.iterations, &mut derived);
        derived.ct_eq(&self.hash).into()
    }
}

/// The canonical string.
impl fmt::Display for Pbkdf2Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "$pbkdf2-{}$i={}${}${}",
            self.digest.name(),
            self.iterations,
            encoding::encode(&self.salt),
            encoding::encode(&self.hash)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Django's `pbkdf2_sha256$390000$seasalt2$geC/uZ92nRXDSjSxeoiBqYyRcrLzMm8xK3ro1QS1uo8=`
    /// for "lètmein" (Django's tests/auth_tests/test_hashers.py), salt "seasalt2" in base64.
    const DJANGO_SHA256: &str =
        "$pbkdf2-sha256$i=390000$c2Vhc2FsdDI$geC/uZ92nRXDSjSxeoiBqYyRcrLzMm8xK3ro1QS1uo8";

    /// RFC 6070's PBKDF2-HMAC-SHA1 vector 2 ("password", "salt", 2 iterations), with its
    /// 20-byte output.
    const RFC6070_SHA1: &str = "$pbkdf2-sha1$i=2$c2FsdA$6mwBTcctb4zNHtkqzh1B8NjeiVc";

    /// PBKDF2-HMAC-SHA512 of "password" with salt "salt" and one iteration, 64 bytes, as
    /// Python's `hashlib.pbkdf2_hmac("sha512", b"password", b"salt", 1)` computes it.
    const SHA512_ONE: &str = "$pbkdf2-sha512$i=1$c2FsdA$hn9wzxreAs/zdSWZo6U9xK80x6ZpgVrl1RNVThyM8lLALUcKKFoFAbrZmb/pQ8CPBQI119aLHaVeY/c7YKV/zg";

    #[test]
    fn verifies_each_digest() {
        let django = Pbkdf2Hash::parse(DJANGO_SHA256).unwrap();
        assert!(django.verify("lètmein".as_bytes()));
        assert!(!django.verify("lètmeinz".as_bytes()));
        let sha1 = Pbkdf2Hash::parse(RFC6070_SHA1).unwrap();
        assert!(sha1.verify(b"password"));
        assert!(!sha1.verify(b"Password"));
        let sha512 = Pbkdf2Hash::parse(SHA512_ONE).unwrap();
        assert!(sha512.verify(b"password"));
        assert!(!sha512.verify(b"passwort"));
    }

    #[test]
    fn the_canonical_string_round_trips() {
        for stored in [DJANGO_SHA256, RFC6070_SHA1, SHA512_ONE] {
            assert_eq!(Pbkdf2Hash::parse(stored).unwrap().to_string(), stored);
        }
    }

    #[test]
    fn refuses_bounds() {
        let cases = [
            (
                RFC6070_SHA1.replacen("i=2", "i=0", 1),
                "PBKDF2 iterations 0 is below 1",
            ),
            (
                RFC6070_SHA1.replacen("i=2", "i=10000001", 1),
                "PBKDF2 iterations 10000001 is above 10000000",
            ),
            (
                "$pbkdf2-sha1$i=2$c2FsdA$6mwBTcctb4zNHtkqzh1B".to_owned(),
                "PBKDF2 hash length 15 bytes is below 16 bytes",
            ),
            (
                format!("$pbkdf2-sha512$i=1$c2FsdA${}", encoding::encode(&[0; 67])),
                "PBKDF2 hash length 67 bytes is above 64 bytes",
            ),
        ];
        for (stored, message) in cases {
            assert_eq!(Pbkdf2Hash::parse(&stored).unwrap_err().to_string(), message);
        }
        let at_limit = RFC6070_SHA1.replacen("i=2", "i=10000000", 1);
        Pbkdf2Hash::parse(&at_limit).unwrap();
    }

    #[test]
    fn refuses_malformed_strings() {
        let cases = [
            (
                RFC6070_SHA1.replacen("sha1", "md5", 1),
                "PBKDF2 hash is malformed: the digest is not sha1, sha256 or sha512",
            ),
            (
                RFC6070_SHA1.replacen("i=2", "2", 1),
                "PBKDF2 hash is malformed: the iterations field does not start with i=",
            ),
            (
                RFC6070_SHA1.replacen("i=2", "i=two", 1),
                "PBKDF2 hash is malformed: iterations is not a whole number",
            ),
            (
                RFC6070_SHA1.replacen("c2FsdA", "", 1),
                "PBKDF2 hash is malformed: the salt is empty",
            ),
            (
                RFC6070_SHA1.replacen("c2FsdA", "c2FsdA==", 1),
                "PBKDF2 salt is not base64 (standard alphabet, no padding)",
            ),
            (
                format!("{RFC6070_SHA1}="),
                "PBKDF2 hash is not base64 (standard alphabet, no padding)",
            ),
            (
                format!("{RFC6070_SHA1}$"),
                "PBKDF2 hash is malformed: it should have the form $pbkdf2-<digest>$i=<iterations>$<salt>$<hash>",
            ),
        ];
        for (stored, message) in cases {
            assert_eq!(
                Pbkdf2Hash::parse(&stored).unwrap_err().to_string(),
                message,
                "{stored}"
            );
        }
    }
}
