//! What a new password must be (NIST SP 800-63B rev 4, §3.1.1.2): long enough (15 characters
//! when it is the only factor, 8 when the tenant requires a second one), at most
//! [`MAX_LENGTH`], and not guessable: zxcvbn's lists of common and breached passwords, names
//! and words, keyboard patterns and repeats, with the account's own address, name and the
//! tenant's name as context words. No composition rules and no expiry. Characters are counted
//! after NFKC normalization, which is also what gets hashed, so the same password typed on
//! another keyboard matches. zxcvbn builds its dictionaries on first use, so a server that
//! never sees a password never holds them.

use crate::error::{Error, Result};
use unicode_normalization::UnicodeNormalization;
use zxcvbn::Score;

/// The shortest password that may be the only factor.
pub const MIN_LENGTH_SINGLE_FACTOR: usize = 15;
/// The shortest password where a second factor is required.
pub const MIN_LENGTH_WITH_SECOND_FACTOR: usize = 8;
/// The longest password accepted (characters).
pub const MAX_LENGTH: usize = 256;

/// The form a password is hashed and compared in.
pub fn normalize(password: &str) -> String {
    password.nfkc().collect()
}

/// Who the password is for: words it must not be built from.
pub struct PasswordContext<'a> {
    pub email: &'a str,
    pub display_name: Option<&'a str>,
    pub tenant_name: &'a str,
    /// The tenant requires a second factor with passwords.
    pub second_factor_required: bool,
}

impl PasswordContext<'_> {
    /// The address, its local part, the names, their words, and the names without spaces.
    fn words(&self) -> Vec<String> {
        let local = self.email.split('@').next().unwrap_or_default();
        let names: Vec<&str> = self
            .display_name
            .into_iter()
            .chain([self.tenant_name])
            .collect();
        let mut words = vec![self.email.to_owned(), local.to_owned()];
        for name in names {
            words.push(name.to_owned());
            words.push(name.split_whitespace().collect());
            words.extend(name.split_whitespace().map(str::to_owned));
        }
        words
    }
}

/// Checks a new password; answers its normalized form or says what is wrong with it.
pub fn check_new_password(
    field: &str,
    password: &str,
    context: &PasswordContext<'_>,
) -> Result<String> {
    let normalized = normalize(password);
    let length = normalized.chars().count();
    let minimum = if context.second_factor_required {
        MIN_LENGTH_WITH_SECOND_FACTOR
    } else {
        MIN_LENGTH_SINGLE_FACTOR
    };
    if length < minimum {
        return Err(Error::validation(
            field,
            format!(
                "is too short: use at least {minimum} characters (a few unrelated words make a good one)"
            ),
        ));
    }
    if length > MAX_LENGTH {
        return Err(Error::validation(
            field,
            format!("is too long: at most {MAX_LENGTH} characters"),
        ));
    }
    let words = context.words();
    let words: Vec<&str> = words.iter().map(String::as_str).collect();
    let estimate = zxcvbn::zxcvbn(&normalized, &words);
    if estimate.score() < Score::Three {
        let why = estimate
            .feedback()
            .and_then(|feedback| feedback.warning())
            .map(|warning| format!(" ({warning})"))
            .unwrap_or_default();
        return Err(Error::validation(
            field,
            format!(
                "is too easy to guess: it is common, appears in breaches, or is built from your \
                 address, your name or this service's name{why}; choose a longer phrase of \
                 unrelated words"
            ),
        ));
    }
    Ok(normalized)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn context(second_factor_required: bool) -> PasswordContext<'static> {
        PasswordContext {
            email: "ada.lovelace@example.com",
            display_name: Some("Ada Lovelace"),
            tenant_name: "Acme Shop",
            second_factor_required,
        }
    }

    fn reason(password: &str, second_factor: bool) -> String {
        check_new_password("password", password, &context(second_factor))
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn length_depends_on_the_second_factor() {
        assert!(reason("qz7 vlk 8wp", false).contains("at least 15 characters"));
        check_new_password("password", "qz7 vlk 8wp", &context(true)).unwrap();
        assert!(reason("qz7 vl", true).contains("at least 8 characters"));
        assert!(reason(&"qz7 vlk 8wp ".repeat(30), false).contains("at most 256"));
    }

    #[test]
    fn common_and_personal_passwords_are_refused() {
        for weak in [
            "passwordpassword",
            "aaaaaaaaaaaaaaaaaaaa",
            "qwertyuiopasdfghjkl",
            "123456789012345678",
            "adalovelace12345",
            "acmeshopacmeshop1",
        ] {
            assert!(reason(weak, false).contains("too easy to guess"), "{weak}");
        }
    }

    #[test]
    fn no_composition_rules() {
        // Lowercase letters and spaces only: long and unguessable is enough.
        let accepted =
            check_new_password("password", "violet tractor harbor lemon", &context(false)).unwrap();
        assert_eq!(accepted, "violet tractor harbor lemon");
    }

    #[test]
    fn compatibility_forms_normalize_to_the_same_password() {
        // A full-width "Ａ" and a ligature "ﬁ" are the same password as "A" and "fi".
        assert_eq!(normalize("Ａﬁ"), "Afi");
        // Each code point counts once.
        assert!(reason("ééééé ééééé éé", false).contains("at least 15"));
    }
}
