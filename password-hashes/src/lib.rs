//! Password hashes imported from other identity platforms.
//!
//! Latchkey keeps an imported user's password hash as one self-describing string, checks a
//! password against it at sign-in, and then hashes the password again with argon2id (the
//! caller does that). This crate turns each source's export into that string, refuses what it
//! cannot verify or what would cost too much to verify, and verifies passwords. It is pure and
//! synchronous: no I/O, no randomness; verifying is as slow as the hash asks, so callers run it
//! where slow work belongs.
//!
//! # Stored strings
//!
//! | scheme | form | bounds |
//! |---|---|---|
//! | [`Scheme::Argon2`] | `$argon2id$v=19$m=<KiB>,t=<passes>,p=<lanes>$<salt>$<hash>` (also `$argon2i$`, `$argon2d$`, `v=16`) | m ≤ 262144 KiB (256 MiB), t ≤ 16, p ≤ 16 |
//! | [`Scheme::Bcrypt`] | `$2b$<cost>$<salt+hash>` (also `$2a$`, `$2y$`; `$2x$` is refused) | cost 4–16 |
//! | [`Scheme::Pbkdf2Sha1`], [`Scheme::Pbkdf2Sha256`], [`Scheme::Pbkdf2Sha512`] | `$pbkdf2-sha256$i=<iterations>$<salt>$<hash>` | iterations 1–10,000,000; hash 16–64 bytes |
//! | [`Scheme::FirebaseScrypt`] | `$firebase-scrypt$r=<rounds>,m=<mem_cost>$<salt separator>$<signer key>$<salt>$<hash>` | rounds 1–8, mem_cost 1–16 |
//!
//! Argon2 and bcrypt strings are those of the algorithms' own libraries (PHC strings and
//! modular crypt). The PBKDF2 and Firebase forms are Latchkey's: their byte fields are in
//! standard base64 without padding. The bounds are checked whenever a string is parsed, so a
//! hostile import file cannot make sign-in expensive.
//!
//! # Sources
//!
//! - [`from_django`]: Django's `password` column (`pbkdf2_sha256`, `pbkdf2_sha1`, `argon2`,
//!   `bcrypt`).
//! - [`from_keycloak`]: a Keycloak credential's `secretData` and `credentialData` JSON
//!   (`pbkdf2`, `pbkdf2-sha256`, `pbkdf2-sha512`, `argon2`).
//! - [`from_firebase`]: a `firebase auth:export` user's `passwordHash` and `salt` with the
//!   project's hash parameters.
//! - [`from_bcrypt_or_phc`]: sources that export bcrypt or Argon2 strings as they are (Auth0,
//!   CSV files).
//!
//! # Passwords
//!
//! [`verify`] takes the password's bytes as the source hashed them: every source above hashes
//! the UTF-8 bytes of the password as the user typed it, so pass those, not a normalized form.

#![forbid(unsafe_code)]

mod argon2;
mod bcrypt;
mod encoding;
mod error;
mod firebase;
mod pbkdf2;
mod sources;
mod stored;

pub use error::HashError;
pub use sources::firebase::{FirebaseConfig, from_firebase};
pub use sources::{django::from_django, from_bcrypt_or_phc, keycloak::from_keycloak};

use stored::Stored;

/// The algorithm of a stored string.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scheme {
    /// Argon2id, Argon2i or Argon2d, in a PHC string.
    Argon2,
    /// bcrypt (`$2a$`, `$2b$`, `$2y$`).
    Bcrypt,
    /// PBKDF2 with HMAC-SHA-1.
    Pbkdf2Sha1,
    /// PBKDF2 with HMAC-SHA-256.
    Pbkdf2Sha256,
    /// PBKDF2 with HMAC-SHA-512.
    Pbkdf2Sha512,
    /// Firebase's modified scrypt.
    FirebaseScrypt,
}

/// Checks that `stored` is a stored string of a supported scheme within its bounds, and tells
/// its scheme.
///
/// # Errors
///
/// [`HashError`] says what is wrong, in words for an administrator.
pub fn parse(stored: &str) -> Result<Scheme, HashError> {
    Stored::parse(stored).map(|parsed| parsed.scheme())
}

/// Whether `password` matches `stored`; the hashes are compared in constant time.
///
/// This costs what the hash's parameters ask for, within the bounds [`parse`] checks.
///
/// # Errors
///
/// Whatever [`parse`] refuses; a wrong password is `Ok(false)`, not an error.
pub fn verify(password: &[u8], stored: &str) -> Result<bool, HashError> {
    Stored::parse(stored)?.verify(password)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tells_each_scheme() {
        let cases = [
            (
                "$argon2i$v=19$m=8,t=1,p=1$c2FsdHNhbHQ$YC9+jJCrQhs5R6db7LlN8Q",
                Scheme::Argon2,
            ),
            (
                "$2b$05$I3xsKSp7f0XvEq7L02CmauotvqhVldxKKaBF7QmLZuwKlJC5/y896",
                Scheme::Bcrypt,
            ),
            (
                "$pbkdf2-sha1$i=2$c2FsdA$6mwBTcctb4zNHtkqzh1B8NjeiVc",
                Scheme::Pbkdf2Sha1,
            ),
            (
                "$pbkdf2-sha256$i=1$c2FsdA$Eg+2z/z4syxD5yJSVsT4N6hlSMkszDVICAWYfLcL4Xs",
                Scheme::Pbkdf2Sha256,
            ),
            (
                "$pbkdf2-sha512$i=1$c2FsdA$hn9wzxreAs/zdSWZo6U9xK80x6ZpgVrl1RNVThyM8lLALUcKKFoFAbrZmb/pQ8CPBQI119aLHaVeY/c7YKV/zg",
                Scheme::Pbkdf2Sha512,
            ),
            (firebase::tests::README_VECTOR, Scheme::FirebaseScrypt),
        ];
        for (stored, scheme) in cases {
            assert_eq!(parse(stored), Ok(scheme), "{stored}");
        }
    }

    #[test]
    fn verifies_through_the_public_api() {
        let stored = "$pbkdf2-sha256$i=1$c2FsdA$Eg+2z/z4syxD5yJSVsT4N6hlSMkszDVICAWYfLcL4Xs";
        assert_eq!(verify(b"password", stored), Ok(true));
        assert_eq!(verify(b"passwore", stored), Ok(false));
        assert_eq!(
            verify(b"user1password", firebase::tests::README_VECTOR),
            Ok(true)
        );
    }

    #[test]
    fn refuses_unknown_formats() {
        for stored in [
            "",
            "plain",
            "$",
            "$md5$salt$hash",
            "$1$saltsalt$hash",
            "$scrypt$ln=16,r=8,p=1$c2FsdA$aGFzaA",
            "pbkdf2_sha256$390000$seasalt2$geC/uZ92nRXDSjSxeoiBqYyRcrLzMm8xK3ro1QS1uo8=",
        ] {
            assert_eq!(parse(stored), Err(HashError::UnknownFormat), "{stored}");
            assert_eq!(verify(b"password", stored), Err(HashError::UnknownFormat));
        }
    }

    #[test]
    fn verify_checks_the_bounds_too() {
        let dear = "$2b$17$I3xsKSp7f0XvEq7L02CmauotvqhVldxKKaBF7QmLZuwKlJC5/y896";
        assert_eq!(
            verify(b"password", dear).unwrap_err().to_string(),
            "bcrypt cost 17 is above 16"
        );
    }
}
