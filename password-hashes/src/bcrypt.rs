//! bcrypt, in the modular crypt format every bcrypt library writes:
//! `$2b$<cost>$<22 characters of salt><31 characters of hash>`, 60 characters in all, in
//! bcrypt's own base64 alphabet.
//!
//! `$2a$`, `$2b$` and `$2y$` compute the same function for every password of at most 72 bytes
//! (longer passwords are cut at 72 bytes, as bcrypt always did). `$2x$`, which marks hashes
//! made by crypt_blowfish before its 2011 sign-extension fix, is refused: its results differ
//! for passwords with non-ASCII bytes.

use crate::error::{HashError, check_range};
use std::str::FromStr;

const SCHEME: &str = "bcrypt";

/// The cheapest cost bcrypt itself allows.
const MIN_COST: u32 = 4;
/// The dearest cost accepted: 2^16 rounds take seconds already.
const MAX_COST: u32 = 16;

/// Checks that `stored` is a bcrypt hash within the bounds.
pub(crate) fn validate(stored: &str) -> Result<(), HashError> {
    if stored.len() != 60 || !stored.is_ascii() {
        return Err(HashError::malformed(
            SCHEME,
            format!(
                "it is {} characters long, a bcrypt hash has 60 ASCII characters",
                stored.chars().count()
            ),
        ));
    }
    let variant = &stored[1..3];
    match variant {
        "2a" | "2b" | "2y" => {}
        "2x" => {
            return Err(HashError::Unsupported(
                "bcrypt hashes of variant $2x$ (from crypt_blowfish before its 2011 fix) are not \
                 supported"
                    .to_owned(),
            ));
        }
        _ => {
            return Err(HashError::malformed(
                SCHEME,
                "it does not start with $2a$, $2b$ or $2y$",
            ));
        }
    }
    let cost = crate::encoding::decimal(&stored[4..6], SCHEME, "cost")?;
    check_range("bcrypt cost", cost, MIN_COST, MAX_COST, "")?;
    bcrypt::HashParts::from_str(stored).map_err(|e| match e {
        bcrypt::BcryptError::InvalidHash(reason) => HashError::malformed(SCHEME, reason),
        other => HashError::malformed(SCHEME, other.to_string()),
    })?;
    Ok(())
}

/// Whether `password` matches `stored`, which [`validate`] accepted.
pub(crate) fn verify(password: &[u8], stored: &str) -> Result<bool, HashError> {
    bcrypt::verify(password, stored).map_err(|e| HashError::malformed(SCHEME, e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Made by PyPI `bcrypt` 5.0.0: `bcrypt.hashpw("lètmein".encode(), bcrypt.gensalt(5))`.
    const LETMEIN_2B: &str = "$2b$05$I3xsKSp7f0XvEq7L02CmauotvqhVldxKKaBF7QmLZuwKlJC5/y896";

    #[test]
    fn verifies_a_python_bcrypt_hash() {
        validate(LETMEIN_2B).unwrap();
        assert!(verify("lètmein".as_bytes(), LETMEIN_2B).unwrap());
        assert!(!verify(b"letmein", LETMEIN_2B).unwrap());
        assert!(!verify(b"", LETMEIN_2B).unwrap());
    }

    #[test]
    fn the_2a_and_2y_variants_are_the_same_function() {
        for variant in ["$2a$", "$2y$"] {
            let stored = LETMEIN_2B.replacen("$2b$", variant, 1);
            validate(&stored).unwrap();
            assert!(verify("lètmein".as_bytes(), &stored).unwrap());
        }
    }

    #[test]
    fn refuses_2x() {
        let stored = LETMEIN_2B.replacen("$2b$", "$2x$", 1);
        assert!(matches!(validate(&stored), Err(HashError::Unsupported(_))));
    }

    #[test]
    fn refuses_costs_out_of_bounds() {
        let high = LETMEIN_2B.replacen("$05$", "$17$", 1);
        assert_eq!(
            validate(&high).unwrap_err().to_string(),
            "bcrypt cost 17 is above 16"
        );
        let low = LETMEIN_2B.replacen("$05$", "$03$", 1);
        assert_eq!(
            validate(&low).unwrap_err().to_string(),
            "bcrypt cost 3 is below 4"
        );
        let huge = LETMEIN_2B.replacen("$05$", "$40$", 1);
        assert_eq!(
            validate(&huge).unwrap_err().to_string(),
            "bcrypt cost 40 is above 16"
        );
    }

    #[test]
    fn refuses_malformed_strings() {
        let short = &LETMEIN_2B[..59];
        assert_eq!(
            validate(short).unwrap_err().to_string(),
            "bcrypt hash is malformed: it is 59 characters long, a bcrypt hash has 60 ASCII \
             characters"
        );
        let bad_cost = LETMEIN_2B.replacen("$05$", "$x5$", 1);
        assert_eq!(
            validate(&bad_cost).unwrap_err().to_string(),
            "bcrypt hash is malformed: cost is not a whole number"
        );
        let bad_salt = LETMEIN_2B.replacen("I3xs", "I3!s", 1);
        assert!(matches!(
            validate(&bad_salt),
            Err(HashError::Malformed { .. })
        ));
        let non_ascii = LETMEIN_2B.replacen("I3xs", "I3é", 1);
        assert!(matches!(
            validate(&non_ascii),
            Err(HashError::Malformed { .. })
        ));
    }
}
