//! Django's `auth_user.password` column (`django.contrib.auth.hashers`): `<algorithm>$<rest>`.
//!
//! - `pbkdf2_sha256$<iterations>$<salt>$<hash>` and `pbkdf2_sha1$…`: PBKDF2 over the UTF-8
//!   password with the salt's text as its bytes (Django's salts are plain text), the hash in
//!   padded standard base64, 32 bytes for SHA-256 and 20 for SHA-1.
//! - `argon2$argon2id$v=19$m=…,t=…,p=…$<salt>$<hash>`: argon2-cffi's PHC string behind
//!   Django's prefix (older ones `argon2$argon2i$…`, the oldest without `v=`).
//! - `bcrypt$$2b$<cost>$…`: a bcrypt string behind Django's prefix.
//!
//! `bcrypt_sha256` (bcrypt of the password's hex SHA-256), `scrypt` and the unsalted or
//! single-round digests (`md5`, `sha1`, `unsalted_md5`, `unsalted_sha1`, `crypt`) are refused,
//! and so are unusable passwords (`!…`).

use super::reportable;
use crate::encoding;
use crate::error::HashError;
use crate::pbkdf2::{Digest, Pbkdf2Hash};
use crate::{argon2, bcrypt};

const SCHEME: &str = "Django";

/// Turns a Django password hash into a stored string.
///
/// # Errors
///
/// A hasher this crate does not verify, a malformed hash, or one outside the bounds of
/// [`crate::parse`].
pub fn from_django(encoded: &str) -> Result<String, HashError> {
    let encoded = encoded.trim();
    if encoded.starts_with('!') {
        return Err(HashError::Unsupported(
            "the Django user has no usable password (the hash starts with '!')".to_owned(),
        ));
    }
    let (algorithm, rest) = encoded
        .split_once('$')
        .ok_or_else(|| HashError::malformed(SCHEME, "it does not start with <algorithm>$"))?;
    match algorithm {
        "pbkdf2_sha256" => pbkdf2(Digest::Sha256, rest),
        "pbkdf2_sha1" => pbkdf2(Digest::Sha1, rest),
        "argon2" => {
            let stored = argon2::with_explicit_version(&format!("${rest}"));
            argon2::parse(&stored)?;
            Ok(stored)
        }
        "bcrypt" => {
            bcrypt::validate(rest)?;
            Ok(rest.to_owned())
        }
        "bcrypt_sha256" => Err(HashError::Unsupported(
            "Django's bcrypt_sha256 hashes (bcrypt of the password's SHA-256) are not supported"
                .to_owned(),
        )),
        other => Err(HashError::Unsupported(format!(
            "Django's {} hashes are not supported",
            reportable(other)
        ))),
    }
}

/// `<iterations>$<salt>$<hash>` of Django's PBKDF2 hashers.
fn pbkdf2(digest: Digest, rest: &str) -> Result<String, HashError> {
    let fields: Vec<&str> = rest.split('$').collect();
    let [iterations, salt, hash] = fields[..] else {
        return Err(HashError::malformed(
            SCHEME,
            "a PBKDF2 hash should read <algorithm>$<iterations>$<salt>$<hash>",
        ));
    };
    let hash = Pbkdf2Hash::new(
        digest,
        encoding::decimal(iterations, SCHEME, "iterations")?,
        salt.as_bytes().to_vec(),
        encoding::decode_source(hash, SCHEME, "hash")?,
    )?;
    Ok(hash.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Scheme, parse, verify};

    // Unless said otherwise, the literals are from Django's own tests
    // (tests/auth_tests/test_hashers.py).

    #[test]
    fn pbkdf2_sha256() {
        let stored = from_django(
            "pbkdf2_sha256$390000$seasalt2$geC/uZ92nRXDSjSxeoiBqYyRcrLzMm8xK3ro1QS1uo8=",
        )
        .unwrap();
        assert_eq!(
            stored,
            "$pbkdf2-sha256$i=390000$c2Vhc2FsdDI$geC/uZ92nRXDSjSxeoiBqYyRcrLzMm8xK3ro1QS1uo8"
        );
        assert_eq!(parse(&stored), Ok(Scheme::Pbkdf2Sha256));
        assert_eq!(verify("lètmein".as_bytes(), &stored), Ok(true));
        assert_eq!(verify("lètmeinz".as_bytes(), &stored), Ok(false));
    }

    #[test]
    fn pbkdf2_sha1() {
        let stored =
            from_django("pbkdf2_sha1$390000$seasalt2$aDapRanzW8aHTz97v2TcfHzWD+I=").unwrap();
        assert_eq!(
            stored,
            "$pbkdf2-sha1$i=390000$c2Vhc2FsdDI$aDapRanzW8aHTz97v2TcfHzWD+I"
        );
        assert_eq!(verify("lètmein".as_bytes(), &stored), Ok(true));
        assert_eq!(verify("lètmeinz".as_bytes(), &stored), Ok(false));
    }

    #[test]
    fn argon2_with_and_without_version() {
        let stored =
            from_django("argon2$argon2i$v=19$m=8,t=1,p=1$c2FsdHNhbHQ$YC9+jJCrQhs5R6db7LlN8Q")
                .unwrap();
        assert_eq!(
            stored,
            "$argon2i$v=19$m=8,t=1,p=1$c2FsdHNhbHQ$YC9+jJCrQhs5R6db7LlN8Q"
        );
        assert_eq!(verify(b"secret", &stored), Ok(true));
        assert_eq!(verify(b"wrong", &stored), Ok(false));

        let stored = from_django(
            "argon2$argon2i$m=8,t=1,p=1$c29tZXNhbHQ$gwQOXSNhxiOxPOA0+PY10P9QFO4NAYysnqRt1GSQLE55m+2GYDt9FEjPMHhP2Cuf0nOEXXMocVrsJAtNSsKyfg",
        )
        .unwrap();
        assert!(stored.starts_with("$argon2i$v=16$m=8,t=1,p=1$c29tZXNhbHQ$"));
        assert_eq!(verify(b"secret", &stored), Ok(true));
        assert_eq!(verify(b"wrong", &stored), Ok(false));

        // Django's test of a version upgrade: valid, though dear (100 MiB, 8 lanes).
        let stored = from_django(
            "argon2$argon2id$v=19$m=102400,t=2,p=8$Y041dExhNkljRUUy$TMa6A8fPJhCAUXRhJXCXdw",
        )
        .unwrap();
        assert_eq!(parse(&stored), Ok(Scheme::Argon2));
    }

    #[test]
    fn bcrypt() {
        // Made by Django 5.2.20 with PyPI bcrypt 5.0.0:
        // `BCryptPasswordHasher().encode("lètmein", bcrypt.gensalt(5))`.
        let stored =
            from_django("bcrypt$$2b$05$6pjoRbBQbiXN0NPowtd/muJy3GlP0O53J8w0f1bqVTDZN6xYv5YJO")
                .unwrap();
        assert_eq!(
            stored,
            "$2b$05$6pjoRbBQbiXN0NPowtd/muJy3GlP0O53J8w0f1bqVTDZN6xYv5YJO"
        );
        assert_eq!(verify("lètmein".as_bytes(), &stored), Ok(true));
        assert_eq!(verify("lètmeinz".as_bytes(), &stored), Ok(false));
    }

    #[test]
    fn refuses_what_it_cannot_verify() {
        // The bcrypt_sha256 and scrypt hashes are Django 5.2.20's, of "lètmein".
        let cases = [
            (
                "bcrypt_sha256$$2b$05$Xw35p7IP2ZKpTe1mvGIlAexIQYVu.BjsSCKl9pltKZ76vycOdwohO",
                "Django's bcrypt_sha256 hashes (bcrypt of the password's SHA-256) are not supported",
            ),
            (
                "md5$seasalt$3f86d0d3d465b7b458c231bf3555c0e3",
                "Django's md5 hashes are not supported",
            ),
            (
                "scrypt$16384$seasalt$8$5$ECMIUp+LMxMSK8xB/IVyba+KYGTI7FTnet025q/1f/vBAVnnP3hdYqJuRi+mJn6ji6ze3Fbb7JEFPKGpuEf5vw==",
                "Django's scrypt hashes are not supported",
            ),
            (
                "!rAnDoMuNuSaBlE",
                "the Django user has no usable password (the hash starts with '!')",
            ),
            (
                "88a434c88cca4e900f7874cd98123f43",
                "Django hash is malformed: it does not start with <algorithm>$",
            ),
        ];
        for (encoded, message) in cases {
            assert_eq!(from_django(encoded).unwrap_err().to_string(), message);
        }
    }

    #[test]
    fn refuses_malformed_hashes_and_bounds() {
        let cases = [
            (
                "pbkdf2_sha256$390000$seasalt2",
                "Django hash is malformed: a PBKDF2 hash should read <algorithm>$<iterations>$<salt>$<hash>",
            ),
            (
                "pbkdf2_sha256$lots$seasalt2$geC/uZ92nRXDSjSxeoiBqYyRcrLzMm8xK3ro1QS1uo8=",
                "Django hash is malformed: iterations is not a whole number",
            ),
            (
                "pbkdf2_sha256$390000$seasalt2$geC_uZ92nRXDSjSxeoiBqYyRcrLzMm8xK3ro1QS1uo8=",
                "Django hash is not base64 (standard alphabet A-Z a-z 0-9 + /)",
            ),
            (
                "pbkdf2_sha256$390000$$geC/uZ92nRXDSjSxeoiBqYyRcrLzMm8xK3ro1QS1uo8=",
                "PBKDF2 hash is malformed: the salt is empty",
            ),
            (
                "pbkdf2_sha256$20000000$seasalt2$geC/uZ92nRXDSjSxeoiBqYyRcrLzMm8xK3ro1QS1uo8=",
                "PBKDF2 iterations 20000000 is above 10000000",
            ),
            (
                "argon2$argon2id$v=19$m=1048576,t=2,p=8$Y041dExhNkljRUUy$TMa6A8fPJhCAUXRhJXCXdw",
                "argon2 memory (m) 1048576 KiB is above 262144 KiB",
            ),
            (
                "bcrypt$$2b$20$I3xsKSp7f0XvEq7L02CmauotvqhVldxKKaBF7QmLZuwKlJC5/y896",
                "bcrypt cost 20 is above 16",
            ),
        ];
        for (encoded, message) in cases {
            assert_eq!(
                from_django(encoded).unwrap_err().to_string(),
                message,
                "{encoded}"
            );
        }
    }
}
