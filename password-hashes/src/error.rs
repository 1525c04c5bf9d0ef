//! Why a hash was refused.
//!
//! The messages are meant for an administrator reading an import's validation report: they
//! name the field and the limit, and never repeat the hash, its salt or any other secret part.

/// A hash that cannot be stored or checked, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum HashError {
    /// The string is none of the supported formats.
    #[error(
        "the hash is not in a supported format: it should start with $argon2id$, $argon2i$, \
         $argon2d$, $2a$, $2b$, $2y$, $pbkdf2-sha1$, $pbkdf2-sha256$, $pbkdf2-sha512$ or \
         $firebase-scrypt$"
    )]
    UnknownFormat,

    /// The string has the shape of a format but not all of it.
    #[error("{scheme} hash is malformed: {reason}")]
    Malformed {
        /// The format or source, e.g. "bcrypt" or "Keycloak".
        scheme: &'static str,
        /// What is wrong, in words.
        reason: String,
    },

    /// A field that should be base64 is not.
    #[error("{scheme} {field} is not base64 ({alphabet})")]
    NotBase64 {
        /// The format or source.
        scheme: &'static str,
        /// The field, e.g. "salt".
        field: &'static str,
        /// Which base64 was expected.
        alphabet: &'static str,
    },

    /// A cost parameter is lower than the format allows.
    #[error("{what} {value}{unit} is below {limit}{unit}")]
    BelowMinimum {
        /// The parameter, e.g. "bcrypt cost".
        what: &'static str,
        /// Its value in the hash.
        value: i64,
        /// The smallest value accepted.
        limit: i64,
        /// The unit, with a leading space, or empty.
        unit: &'static str,
    },

    /// A cost parameter is higher than Latchkey accepts, so that a hostile import cannot make
    /// sign-in expensive.
    #[error("{what} {value}{unit} is above {limit}{unit}")]
    AboveMaximum {
        /// The parameter, e.g. "bcrypt cost".
        what: &'static str,
        /// Its value in the hash.
        value: i64,
        /// The largest value accepted.
        limit: i64,
        /// The unit, with a leading space, or empty.
        unit: &'static str,
    },

    /// A real format or variant that this crate does not verify.
    #[error("{0}")]
    Unsupported(String),
}

impl HashError {
    /// A [`HashError::Malformed`] for `scheme`.
    pub(crate) fn malformed(scheme: &'static str, reason: impl Into<String>) -> Self {
        Self::Malformed {
            scheme,
            reason: reason.into(),
        }
    }
}

/// Checks that `value` lies in `min..=max`, naming the parameter `what` (with `unit`, e.g.
/// " bytes") in the error.
pub(crate) fn check_range(
    what: &'static str,
    value: impl Into<i64>,
    min: impl Into<i64>,
    max: impl Into<i64>,
    unit: &'static str,
) -> Result<(), HashError> {
    let (value, min, max) = (value.into(), min.into(), max.into());
    if value < min {
        Err(HashError::BelowMinimum {
            what,
            value,
            limit: min,
            unit,
        })
    } else if value > max {
        Err(HashError::AboveMaximum {
            what,
            value,
            limit: max,
            unit,
        })
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounds_read_as_sentences() {
        assert_eq!(
            check_range("bcrypt cost", 40, 4, 16, "")
                .unwrap_err()
                .to_string(),
            "bcrypt cost 40 is above 16"
        );
        assert_eq!(
            check_range("PBKDF2 hash length", 8, 16, 64, " bytes")
                .unwrap_err()
                .to_string(),
            "PBKDF2 hash length 8 bytes is below 16 bytes"
        );
        assert_eq!(check_range("bcrypt cost", 16, 4, 16, ""), Ok(()));
        assert_eq!(check_range("bcrypt cost", 4, 4, 16, ""), Ok(()));
    }
}
