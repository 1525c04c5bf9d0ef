//! Argon2 in PHC strings, as argon2-cffi, libsodium, the reference implementation and the
//! `argon2` crate write them: `$argon2id$v=19$m=<KiB>,t=<passes>,p=<lanes>$<salt>$<hash>`,
//! salt and hash in standard base64 without padding (the PHC string format,
//! <https://github.com/P-H-C/phc-string-format>). `$argon2i$` and `$argon2d$` are accepted
//! too, and version 16 (`v=16`, Argon2 1.0) as well as 19 (1.3).
//!
//! A stored string must name its version. Hashes made before the version was written into
//! the string (by argon2-cffi before 16.0, for one; Django's tests keep such a hash) leave
//! `v=` out, which the reference implementation reads as version 16: [`with_explicit_version`]
//! writes that in when such a hash is imported.

use crate::error::{HashError, check_range};
use argon2::password_hash::phc::PasswordHash;
use argon2::{Argon2, Params, PasswordVerifier};

const SCHEME: &str = "argon2";

/// The most memory a hash may ask for: 256 MiB.
const MAX_MEMORY_KIB: u32 = 256 * 1024;
/// The most passes over the memory.
const MAX_PASSES: u32 = 16;
/// The most lanes.
const MAX_LANES: u32 = 16;

/// The parameters a stored string may carry; `keyid` and `data` would need a secret or
/// associated data that imports never bring.
const PARAMS: [&str; 3] = ["m", "t", "p"];

/// Parses and checks `stored`, an Argon2 PHC string.
pub(crate) fn parse(stored: &str) -> Result<PasswordHash, HashError> {
    let hash = PasswordHash::new(stored)
        .map_err(|e| HashError::malformed(SCHEME, format!("it is not a valid PHC string ({e})")))?;
    if !matches!(hash.algorithm.as_str(), "argon2id" | "argon2i" | "argon2d") {
        return Err(HashError::malformed(
            SCHEME,
            "the algorithm is not argon2id, argon2i or argon2d",
        ));
    }
    match hash.version {
        Some(0x10 | 0x13) => {}
        Some(other) => {
            return Err(HashError::malformed(
                SCHEME,
                format!("version {other} is neither 16 nor 19"),
            ));
        }
        None => {
            return Err(HashError::malformed(
                SCHEME,
                "it does not name its version (v=19 or v=16)",
            ));
        }
    }
    if let Some((name, _)) = hash
        .params
        .iter()
        .find(|(name, _)| !PARAMS.contains(&name.as_str()))
    {
        return Err(HashError::Unsupported(format!(
            "argon2 parameter '{name}' is not supported (only m, t and p are)"
        )));
    }
    let params = Params::try_from(&hash)
        .map_err(|e| HashError::malformed(SCHEME, format!("its parameters are not valid ({e})")))?;
    check_range(
        "argon2 memory (m)",
        params.m_cost(),
        1,
        MAX_MEMORY_KIB,
        " KiB",
    )?;
    check_range("argon2 passes (t)", params.t_cost(), 1, MAX_PASSES, "")?;
    check_range("argon2 lanes (p)", params.p_cost(), 1, MAX_LANES, "")?;
    if hash.salt.is_none() || hash.hash.is_none() {
        return Err(HashError::malformed(
            SCHEME,
            "it lacks the salt or the hash",
        ));
    }
    Ok(hash)
}

/// Whether `password` matches `hash`, which [`parse`] accepted.
pub(crate) fn verify(password: &[u8], hash: &PasswordHash) -> Result<bool, HashError> {
    match Argon2::default().verify_password(password, hash) {
        Ok(()) => Ok(true),
        Err(argon2::password_hash::Error::PasswordInvalid) => Ok(false),
        Err(e) => Err(HashError::malformed(SCHEME, e.to_string())),
    }
}

/// `phc` with `v=16` written in if it names no version, as the reference implementation reads
/// such strings; other strings are returned unchanged.
pub(crate) fn with_explicit_version(phc: &str) -> String {
    let Some((algorithm, rest)) = phc.strip_prefix('$').and_then(|s| s.split_once('$')) else {
        return phc.to_owned();
    };
    if rest.starts_with("v=") {
        phc.to_owned()
    } else {
        format!("${algorithm}$v=16${rest}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// From Django's test suite (tests/auth_tests/test_hashers.py), password "secret".
    const DJANGO_ARGON2I_V19: &str = "$argon2i$v=19$m=8,t=1,p=1$c2FsdHNhbHQ$YC9+jJCrQhs5R6db7LlN8Q";

    /// Made by PyPI argon2-cffi 25.1.0:
    /// `PasswordHasher(time_cost=2, memory_cost=1024, parallelism=2).hash("lètmein")`.
    const CFFI_ARGON2ID: &str = "$argon2id$v=19$m=1024,t=2,p=2$APA7CZKisK59YrIjswcvFA$VWeg9pIMGdoTAbVpr9YnNnZkbzd+3ILy6Zfw2RYAM6Y";

    fn check(stored: &str, password: &str) -> bool {
        verify(password.as_bytes(), &parse(stored).unwrap()).unwrap()
    }

    #[test]
    fn verifies_argon2_cffi_and_django_hashes() {
        assert!(check(CFFI_ARGON2ID, "lètmein"));
        assert!(!check(CFFI_ARGON2ID, "letmein"));
        assert!(check(DJANGO_ARGON2I_V19, "secret"));
        assert!(!check(DJANGO_ARGON2I_V19, "wrong"));
    }

    #[test]
    fn an_old_hash_without_version_is_version_16() {
        // From Django's test suite, password "secret": argon2-cffi verifies it as version 16.
        let old = "$argon2i$m=8,t=1,p=1$c29tZXNhbHQ$gwQOXSNhxiOxPOA0+PY10P9QFO4NAYysnqRt1GSQLE55m+2GYDt9FEjPMHhP2Cuf0nOEXXMocVrsJAtNSsKyfg";
        assert_eq!(
            parse(old).unwrap_err().to_string(),
            "argon2 hash is malformed: it does not name its version (v=19 or v=16)"
        );
        let explicit = with_explicit_version(old);
        assert!(explicit.starts_with("$argon2i$v=16$m=8,t=1,p=1$"));
        assert!(check(&explicit, "secret"));
        assert!(!check(&explicit, "wrong"));
        assert_eq!(with_explicit_version(CFFI_ARGON2ID), CFFI_ARGON2ID);
    }

    #[test]
    fn refuses_costs_out_of_bounds() {
        let cases = [
            (
                "m=262145,t=2,p=2",
                "argon2 memory (m) 262145 KiB is above 262144 KiB",
            ),
            ("m=1024,t=17,p=2", "argon2 passes (t) 17 is above 16"),
            ("m=1024,t=2,p=17", "argon2 lanes (p) 17 is above 16"),
        ];
        for (params, message) in cases {
            let stored = CFFI_ARGON2ID.replacen("m=1024,t=2,p=2", params, 1);
            assert_eq!(parse(&stored).unwrap_err().to_string(), message);
        }
        let at_limits = CFFI_ARGON2ID.replacen("m=1024,t=2,p=2", "m=262144,t=16,p=16", 1);
        parse(&at_limits).unwrap();
    }

    #[test]
    fn refuses_malformed_strings() {
        let cases = [
            CFFI_ARGON2ID.replacen("$v=19$", "$v=18$", 1),
            CFFI_ARGON2ID.replacen("argon2id", "argon2x", 1),
            CFFI_ARGON2ID.replacen("m=1024", "m=lots", 1),
            CFFI_ARGON2ID.replacen("m=1024", "m=4", 1),
            CFFI_ARGON2ID.replacen("APA7", "AP!7", 1),
            CFFI_ARGON2ID.rsplit_once('$').unwrap().0.to_owned(),
            format!("{CFFI_ARGON2ID}$extra"),
        ];
        for stored in cases {
            assert!(
                matches!(parse(&stored), Err(HashError::Malformed { .. })),
                "{stored}"
            );
        }
        let keyed = CFFI_ARGON2ID.replacen("p=2", "p=2,keyid=abcd", 1);
        assert!(matches!(parse(&keyed), Err(HashError::Unsupported(_))));
    }
}
