//! Hash exports of other platforms, turned into stored strings.
//!
//! Each function takes a field as the source exports it (surrounding whitespace is ignored),
//! checks it as [`crate::parse`] would, and returns the stored string.

pub(crate) mod django;
pub(crate) mod firebase;
pub(crate) mod keycloak;

use crate::error::HashError;
use crate::{argon2, bcrypt};

/// Takes a bcrypt (`$2a$`, `$2b$`, `$2y$`) or Argon2 PHC string as a source exports it (Auth0's
/// export, a CSV column), checks it and returns it as the stored string.
///
/// An Argon2 string without a version (`v=`), as argon2-cffi wrote before 16.0, gets `v=16`
/// written in, the version the reference implementation reads such strings as.
///
/// # Errors
///
/// Another format, or a hash outside the bounds of [`crate::parse`].
pub fn from_bcrypt_or_phc(exported: &str) -> Result<String, HashError> {
    let exported = exported.trim();
    let id = exported
        .strip_prefix('$')
        .and_then(|rest| rest.split('$').next())
        .unwrap_or_default();
    match id {
        "argon2id" | "argon2i" | "argon2d" => {
            let stored = argon2::with_explicit_version(exported);
            argon2::parse(&stored)?;
            Ok(stored)
        }
        "2a" | "2b" | "2y" | "2x" => {
            bcrypt::validate(exported)?;
            Ok(exported.to_owned())
        }
        _ => Err(HashError::Unsupported(
            "only bcrypt ($2a$, $2b$, $2y$) and Argon2 ($argon2id$, $argon2i$, $argon2d$) hashes \
             can be imported as they are"
                .to_owned(),
        )),
    }
}

/// `name`, an algorithm name read from an export, if it is short and plain enough to repeat
/// in a report; otherwise a placeholder, so that a hostile file cannot fill the report.
fn reportable(name: &str) -> &str {
    let plain = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '_';
    if !name.is_empty() && name.len() <= 32 && name.chars().all(plain) {
        name
    } else {
        "(unreadable name)"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn takes_bcrypt_and_argon2_as_they_are() {
        let bcrypt = "$2b$05$I3xsKSp7f0XvEq7L02CmauotvqhVldxKKaBF7QmLZuwKlJC5/y896";
        assert_eq!(from_bcrypt_or_phc(bcrypt).unwrap(), bcrypt);
        assert_eq!(from_bcrypt_or_phc(&format!(" {bcrypt}\n")).unwrap(), bcrypt);
        let argon2 = "$argon2i$v=19$m=8,t=1,p=1$c2FsdHNhbHQ$YC9+jJCrQhs5R6db7LlN8Q";
        assert_eq!(from_bcrypt_or_phc(argon2).unwrap(), argon2);
        assert!(crate::verify(b"secret", argon2).unwrap());
    }

    #[test]
    fn writes_in_the_version_of_old_argon2_strings() {
        let old = "$argon2i$m=8,t=1,p=1$c29tZXNhbHQ$gwQOXSNhxiOxPOA0+PY10P9QFO4NAYysnqRt1GSQLE55m+2GYDt9FEjPMHhP2Cuf0nOEXXMocVrsJAtNSsKyfg";
        let stored = from_bcrypt_or_phc(old).unwrap();
        assert_eq!(stored, old.replacen("$m=", "$v=16$m=", 1));
        assert!(crate::verify(b"secret", &stored).unwrap());
    }

    #[test]
    fn refuses_other_formats_and_bounds() {
        for other in [
            "$pbkdf2-sha1$i=2$c2FsdA$6mwBTcctb4zNHtkqzh1B8NjeiVc",
            "md5$salt$hash",
            "",
        ] {
            assert!(matches!(
                from_bcrypt_or_phc(other),
                Err(HashError::Unsupported(_))
            ));
        }
        let dear = "$2y$31$I3xsKSp7f0XvEq7L02CmauotvqhVldxKKaBF7QmLZuwKlJC5/y896";
        assert_eq!(
            from_bcrypt_or_phc(dear).unwrap_err().to_string(),
            "bcrypt cost 31 is above 16"
        );
    }

    #[test]
    fn repeats_only_plain_names() {
        assert_eq!(reportable("pbkdf2-sha384"), "pbkdf2-sha384");
        assert_eq!(reportable("bcrypt_sha256"), "bcrypt_sha256");
        assert_eq!(reportable("a b"), "(unreadable name)");
        assert_eq!(reportable(&"x".repeat(33)), "(unreadable name)");
        assert_eq!(reportable(""), "(unreadable name)");
    }
}
