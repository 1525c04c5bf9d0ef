//! Keycloak password credentials: the `secretData` and `credentialData` JSON strings of a
//! `credential` row or of a realm export's `users[].credentials[]`.
//!
//! ```text
//! secretData     {"value":"<base64 hash>","salt":"<base64 salt>","additionalParameters":{}}
//! credentialData {"hashIterations":27500,"algorithm":"pbkdf2-sha256","additionalParameters":{}}
//! ```
//!
//! - `pbkdf2`, `pbkdf2-sha256`, `pbkdf2-sha512`: PBKDF2 with HMAC-SHA-1, -SHA-256, -SHA-512
//!   (Keycloak's `Pbkdf2PasswordHashProvider`, Java's `PBKDF2WithHmacSHA…` over the UTF-8
//!   password). The hash length is the stored value's: Keycloak has written 64 bytes and, for
//!   `pbkdf2-sha256` since version 24, 32 bytes. Keycloak may pad passwords shorter than its
//!   `max-padding-length` with NUL characters before hashing; an HMAC key is padded with zero
//!   bytes to the digest's block size anyway, so that padding changes nothing and the plain
//!   password verifies.
//! - `argon2` (Keycloak 24 and later, `Argon2PasswordHashProvider`): the raw hash of
//!   `hashLength` bytes, with `hashIterations` passes and, in `credentialData`'s
//!   `additionalParameters` (each a one-element list), `type` (`id`, `i`, `d`), `version`
//!   (`1.3`, `1.0`), `hashLength`, `memory` (KiB) and `parallelism`. It becomes a PHC string.

use super::reportable;
use crate::encoding::{self, decimal};
use crate::error::HashError;
use crate::pbkdf2::{Digest, Pbkdf2Hash};
use serde::Deserialize;
use std::collections::HashMap;

const SCHEME: &str = "Keycloak";

/// `secretData`: the hash and the salt. Its `additionalParameters` is always empty.
#[derive(Deserialize)]
struct SecretData {
    value: String,
    salt: String,
}

/// `credentialData`: how the hash was made.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CredentialData {
    /// A Java `int`.
    hash_iterations: i32,
    algorithm: String,
    #[serde(default)]
    additional_parameters: HashMap<String, Vec<String>>,
}

impl CredentialData {
    /// `hashIterations`, which must not be negative.
    fn iterations(&self) -> Result<u32, HashError> {
        u32::try_from(self.hash_iterations).map_err(|_| {
            HashError::malformed(SCHEME, "credentialData's hashIterations is negative")
        })
    }

    /// The first value of the additional parameter `name`.
    fn parameter(&self, name: &'static str) -> Result<&str, HashError> {
        self.additional_parameters
            .get(name)
            .and_then(|values| values.first())
            .map(String::as_str)
            .ok_or_else(|| {
                HashError::malformed(
                    SCHEME,
                    format!("credentialData's additionalParameters has no {name}"),
                )
            })
    }
}

/// Turns a Keycloak password credential into a stored string.
///
/// # Errors
///
/// JSON that is not a Keycloak password credential, an algorithm this crate does not verify,
/// or a hash outside the bounds of [`crate::parse`].
pub fn from_keycloak(secret_data: &str, credential_data: &str) -> Result<String, HashError> {
    let secret: SecretData = serde_json::from_str(secret_data).map_err(|e| {
        HashError::malformed(SCHEME, format!("secretData is not the expected JSON ({e})"))
    })?;
    let data: CredentialData = serde_json::from_str(credential_data).map_err(|e| {
        HashError::malformed(
            SCHEME,
            format!("credentialData is not the expected JSON ({e})"),
        )
    })?;
    let salt = encoding::decode_source(&secret.salt, SCHEME, "salt")?;
    let hash = encoding::decode_source(&secret.value, SCHEME, "hash value")?;
    let digest = match data.algorithm.as_str() {
        "pbkdf2" => Digest::Sha1,
        "pbkdf2-sha256" => Digest::Sha256,
        "pbkdf2-sha512" => Digest::Sha512,
        "argon2" => return argon2(&data, &salt, &hash),
        other => {
            return Err(HashError::Unsupported(format!(
                "Keycloak's {} credentials are not supported",
                reportable(other)
            )));
        }
    };
    Ok(Pbkdf2Hash::new(digest, data.iterations()?, salt, hash)?.to_string())
}

/// The PHC string of a Keycloak Argon2 credential.
fn argon2(data: &CredentialData, salt: &[u8], hash: &[u8]) -> Result<String, HashError> {
    let variant = match data.parameter("type")? {
        "id" => "argon2id",
        "i" => "argon2i",
        "d" => "argon2d",
        _ => {
            return Err(HashError::malformed(
                SCHEME,
                "the argon2 type in credentialData is not id, i or d",
            ));
        }
    };
    let version = match data.parameter("version")? {
        "1.3" => 19,
        "1.0" => 16,
        _ => {
            return Err(HashError::malformed(
                SCHEME,
                "the argon2 version in credentialData is not 1.3 or 1.0",
            ));
        }
    };
    let length = decimal(data.parameter("hashLength")?, SCHEME, "hashLength")?;
    if usize::try_from(length) != Ok(hash.len()) {
        return Err(HashError::malformed(
            SCHEME,
            format!(
                "the hash value is {} bytes long but hashLength says {length}",
                hash.len()
            ),
        ));
    }
    let stored = format!(
        "${variant}$v={version}$m={},t={},p={}${}${}",
        decimal(data.parameter("memory")?, SCHEME, "memory")?,
        data.iterations()?,
        decimal(data.parameter("parallelism")?, SCHEME, "parallelism")?,
        encoding::encode(salt),
        encoding::encode(hash),
    );
    crate::argon2::parse(&stored)?;
    Ok(stored)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Scheme, parse, verify};

    const EMPTY: &str = r#""additionalParameters":{}"#;

    fn secret(value: &str, salt: &str) -> String {
        format!(r#"{{"value":"{value}","salt":"{salt}",{EMPTY}}}"#)
    }

    fn pbkdf2_data(iterations: i64, algorithm: &str) -> String {
        format!(r#"{{"hashIterations":{iterations},"algorithm":"{algorithm}",{EMPTY}}}"#)
    }

    /// A `credential` row of a Keycloak database dump published in a public repository
    /// (user "guest", realm "playground-realm"), whose password is "password": 27500
    /// iterations, 64-byte hash.
    const PUBLISHED_SHA256: (&str, &str) = (
        "dZQ9NZSwAUqjTHPcT9AwJNFdTFSaRNZrLGrHWbrYQw96B4V75gCDznmCeg2KZNIh1hZJl9bTjXFypQ0wnd/lEg==",
        "pZtH53GJnV0eGApv+6g4Zg==",
    );

    #[test]
    fn published_pbkdf2_sha256() {
        let (value, salt) = PUBLISHED_SHA256;
        let stored =
            from_keycloak(&secret(value, salt), &pbkdf2_data(27500, "pbkdf2-sha256")).unwrap();
        assert_eq!(
            stored,
            "$pbkdf2-sha256$i=27500$pZtH53GJnV0eGApv+6g4Zg$dZQ9NZSwAUqjTHPcT9AwJNFdTFSaRNZrLGrHWbrYQw96B4V75gCDznmCeg2KZNIh1hZJl9bTjXFypQ0wnd/lEg"
        );
        assert_eq!(verify(b"password", &stored), Ok(true));
        assert_eq!(verify(b"Password", &stored), Ok(false));
    }

    #[test]
    fn published_argon2() {
        // A `credential` row of a Keycloak database dump published in a public repository,
        // whose password is "admin".
        let secret_data = secret(
            "ZJ2FBUdgRpbiKnc5fyso+xl5+oF28CCxtOb8px0wxRY=",
            "jM1Lzk2NROgNikoynodeBQ==",
        );
        let credential_data = r#"{"hashIterations":5,"algorithm":"argon2","additionalParameters":{"hashLength":["32"],"memory":["7168"],"type":["id"],"version":["1.3"],"parallelism":["1"]}}"#;
        let stored = from_keycloak(&secret_data, credential_data).unwrap();
        assert_eq!(
            stored,
            "$argon2id$v=19$m=7168,t=5,p=1$jM1Lzk2NROgNikoynodeBQ$ZJ2FBUdgRpbiKnc5fyso+xl5+oF28CCxtOb8px0wxRY"
        );
        assert_eq!(verify(b"admin", &stored), Ok(true));
        assert_eq!(verify(b"admin ", &stored), Ok(false));
    }

    #[test]
    fn pbkdf2_sha1_and_sha512() {
        // Made with Python's hashlib.pbkdf2_hmac, as Keycloak's provider computes them:
        // "lètmein", salt bytes 0..16, 1000 iterations, 64-byte output.
        let salt = "AAECAwQFBgcICQoLDA0ODw==";
        let sha1 = "4/JGumPxl4VjREwR3GtkoA8C0cNcvlxc3XVXr4nXh4LNL5fQBTPxtiPFe4hFFuBNOLDpkzREeFsUzJ+cSq69Dw==";
        let sha512 = "wRwIVIB7ojZQJanl/eLbPCvCqJxLQm1p3uH8oEIOBEIVO29J1GeSZCKK2J5tkiPC+9j7bexQMagrwZzszXvwRQ==";
        for (value, algorithm, scheme) in [
            (sha1, "pbkdf2", Scheme::Pbkdf2Sha1),
            (sha512, "pbkdf2-sha512", Scheme::Pbkdf2Sha512),
        ] {
            let stored =
                from_keycloak(&secret(value, salt), &pbkdf2_data(1000, algorithm)).unwrap();
            assert_eq!(parse(&stored), Ok(scheme));
            assert_eq!(
                verify("lètmein".as_bytes(), &stored),
                Ok(true),
                "{algorithm}"
            );
            assert_eq!(
                verify("letmein".as_bytes(), &stored),
                Ok(false),
                "{algorithm}"
            );
        }
    }

    #[test]
    fn accepts_data_without_additional_parameters() {
        let (value, salt) = PUBLISHED_SHA256;
        let secret_data = format!(r#"{{"value":"{value}","salt":"{salt}"}}"#);
        let credential_data = r#"{"hashIterations":27500,"algorithm":"pbkdf2-sha256"}"#;
        let stored = from_keycloak(&secret_data, credential_data).unwrap();
        assert_eq!(parse(&stored), Ok(Scheme::Pbkdf2Sha256));
    }

    #[test]
    fn refuses_bounds() {
        let (value, salt) = PUBLISHED_SHA256;
        let secret_data = secret(value, salt);
        let cases = [
            (
                pbkdf2_data(0, "pbkdf2-sha256"),
                "PBKDF2 iterations 0 is below 1",
            ),
            (
                pbkdf2_data(20_000_000, "pbkdf2-sha256"),
                "PBKDF2 iterations 20000000 is above 10000000",
            ),
            (
                pbkdf2_data(-1, "pbkdf2-sha256"),
                "Keycloak hash is malformed: credentialData's hashIterations is negative",
            ),
        ];
        for (credential_data, message) in cases {
            assert_eq!(
                from_keycloak(&secret_data, &credential_data)
                    .unwrap_err()
                    .to_string(),
                message
            );
        }
        let short = secret("AAECAwQFBgcICQoLDA0O", salt);
        assert_eq!(
            from_keycloak(&short, &pbkdf2_data(27500, "pbkdf2"))
                .unwrap_err()
                .to_string(),
            "PBKDF2 hash length 15 bytes is below 16 bytes"
        );
    }

    #[test]
    fn refuses_argon2_credentials_out_of_bounds_or_inconsistent() {
        let secret_data = secret(
            "ZJ2FBUdgRpbiKnc5fyso+xl5+oF28CCxtOb8px0wxRY=",
            "jM1Lzk2NROgNikoynodeBQ==",
        );
        let data = |iterations: i32, memory: &str, kind: &str, version: &str, length: &str| {
            format!(
                r#"{{"hashIterations":{iterations},"algorithm":"argon2","additionalParameters":{{"hashLength":["{length}"],"memory":["{memory}"],"type":["{kind}"],"version":["{version}"],"parallelism":["1"]}}}}"#
            )
        };
        let cases = [
            (
                data(5, "1048576", "id", "1.3", "32"),
                "argon2 memory (m) 1048576 KiB is above 262144 KiB",
            ),
            (
                data(100, "7168", "id", "1.3", "32"),
                "argon2 passes (t) 100 is above 16",
            ),
            (
                data(5, "7168", "x", "1.3", "32"),
                "Keycloak hash is malformed: the argon2 type in credentialData is not id, i or d",
            ),
            (
                data(5, "7168", "id", "1.2", "32"),
                "Keycloak hash is malformed: the argon2 version in credentialData is not 1.3 or 1.0",
            ),
            (
                data(5, "7168", "id", "1.3", "64"),
                "Keycloak hash is malformed: the hash value is 32 bytes long but hashLength says 64",
            ),
            (
                data(5, "lots", "id", "1.3", "32"),
                "Keycloak hash is malformed: memory is not a whole number",
            ),
            (
                r#"{"hashIterations":5,"algorithm":"argon2","additionalParameters":{}}"#.to_owned(),
                "Keycloak hash is malformed: credentialData's additionalParameters has no type",
            ),
        ];
        for (credential_data, message) in cases {
            assert_eq!(
                from_keycloak(&secret_data, &credential_data)
                    .unwrap_err()
                    .to_string(),
                message
            );
        }
        let version_10 = from_keycloak(&secret_data, &data(5, "7168", "i", "1.0", "32")).unwrap();
        assert!(version_10.starts_with("$argon2i$v=16$m=7168,t=5,p=1$"));
    }

    #[test]
    fn refuses_other_algorithms_and_bad_json() {
        let (value, salt) = PUBLISHED_SHA256;
        let secret_data = secret(value, salt);
        assert_eq!(
            from_keycloak(&secret_data, &pbkdf2_data(27500, "pbkdf2-sha384"))
                .unwrap_err()
                .to_string(),
            "Keycloak's pbkdf2-sha384 credentials are not supported"
        );
        let not_json = from_keycloak("not json", &pbkdf2_data(27500, "pbkdf2")).unwrap_err();
        assert!(
            not_json
                .to_string()
                .starts_with("Keycloak hash is malformed: secretData is not the expected JSON"),
            "{not_json}"
        );
        let incomplete = from_keycloak(&secret_data, r#"{"algorithm":"pbkdf2"}"#).unwrap_err();
        assert!(
            incomplete
                .to_string()
                .starts_with("Keycloak hash is malformed: credentialData is not the expected JSON"),
            "{incomplete}"
        );
        assert_eq!(
            from_keycloak(&secret(value, "not base64!"), &pbkdf2_data(27500, "pbkdf2"))
                .unwrap_err()
                .to_string(),
            "Keycloak salt is not base64 (standard alphabet A-Z a-z 0-9 + /)"
        );
    }
}
