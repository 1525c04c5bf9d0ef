//! Input newtypes: parsing is validation, and a value of one of these types is known good.
//! Errors name the GraphQL input field so clients can point at it.

use crate::error::{Error, Result};
use serde_json::Value;

/// Largest custom-attribute document, serialised.
pub const MAX_ATTRIBUTES_BYTES: usize = 16 * 1024;

fn check_text(field: &str, value: &str, max_chars: usize) -> Result<()> {
    if value.trim().is_empty() {
        return Err(Error::validation(field, "must not be empty"));
    }
    if value.chars().count() > max_chars {
        return Err(Error::validation(
            field,
            format!("must be at most {max_chars} characters"),
        ));
    }
    if value.chars().any(char::is_control) {
        return Err(Error::validation(
            field,
            "must not contain control characters",
        ));
    }
    Ok(())
}

/// An email address as given, with its normalised (lower-case) form for uniqueness.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Email {
    original: String,
    normalized: String,
}

impl Email {
    pub fn parse(field: &str, input: &str) -> Result<Self> {
        let value = input.trim();
        let invalid = |reason: &str| Error::validation(field, reason);
        if value.is_empty() {
            return Err(invalid("must not be empty"));
        }
        if value.len() > 254 {
            return Err(invalid("must be at most 254 characters"));
        }
        let (local, domain) = value
            .rsplit_once('@')
            .ok_or_else(|| invalid("is not an email address (missing @)"))?;
        if local.is_empty() || local.len() > 64 {
            return Err(invalid(
                "is not an email address (the part before @ must have 1 to 64 characters)",
            ));
        }
        if local.contains('@')
            || value
                .chars()
                .any(|c| c.is_whitespace() || c.is_control() || c == '<' || c == '>')
        {
            return Err(invalid("is not an email address"));
        }
        if !domain_labels_ok(domain, char::is_alphanumeric) {
            return Err(invalid(
                "is not an email address (the domain after @ is not valid)",
            ));
        }
        Ok(Self {
            original: value.to_owned(),
            normalized: value.to_lowercase(),
        })
    }

    pub fn as_str(&self) -> &str {
        &self.original
    }

    pub fn normalized(&self) -> &str {
        &self.normalized
    }
}

/// Whether `domain` has at least two dot-separated labels of 1 to 63 characters made of
/// `letter`s, digits and hyphens, none starting or ending with a hyphen.
fn domain_labels_ok(domain: &str, letter: impl Fn(char) -> bool) -> bool {
    let labels: Vec<&str> = domain.split('.').collect();
    labels.len() >= 2
        && labels.iter().all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label.chars().all(|c| letter(c) || c == '-')
        })
}

/// A DNS host or domain name in lower case without the root dot, such as `example.com`
/// (a tenant's custom domain, an organization's email domain): ASCII only (internationalized
/// names in their `xn--` form), at most 253 characters, a top-level label that is not a number.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Domain(String);

impl Domain {
    pub fn parse(field: &str, input: &str) -> Result<Self> {
        let value = input.trim().trim_end_matches('.').to_ascii_lowercase();
        let invalid = |reason: &str| Error::validation(field, reason);
        if value.is_empty() {
            return Err(invalid("must not be empty"));
        }
        if value.len() > 253 {
            return Err(invalid("must be at most 253 characters"));
        }
        if !domain_labels_ok(&value, |c| c.is_ascii_alphanumeric()) {
            return Err(invalid(
                "is not a domain name such as example.com (letters, digits and hyphens; internationalized names in their xn-- form)",
            ));
        }
        if value
            .rsplit('.')
            .next()
            .is_some_and(|tld| tld.chars().all(|c| c.is_ascii_digit()))
        {
            return Err(invalid("is an IP address, not a domain name"));
        }
        Ok(Self(value))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A URL-safe identifier: `[a-z0-9-]{3,63}`, not starting or ending with `-`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Slug(String);

impl Slug {
    pub fn parse(field: &str, input: &str) -> Result<Self> {
        let ok_chars = input
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
        if !(3..=63).contains(&input.len()) || !ok_chars {
            return Err(Error::validation(
                field,
                "must be 3 to 63 characters of a-z, 0-9 and -",
            ));
        }
        if input.starts_with('-') || input.ends_with('-') {
            return Err(Error::validation(field, "must not start or end with -"));
        }
        Ok(Self(input.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A human-readable name (tenant name, display name, key name): 1 to `max` characters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Name(String);

impl Name {
    pub fn parse(field: &str, input: &str, max_chars: usize) -> Result<Self> {
        let value = input.trim();
        check_text(field, value, max_chars)?;
        Ok(Self(value.to_owned()))
    }

    pub fn into_inner(self) -> String {
        self.0
    }
}

/// A phone number in E.164 form: `+` and 8 to 15 digits.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Phone(String);

impl Phone {
    pub fn parse(field: &str, input: &str) -> Result<Self> {
        let value: String = input
            .chars()
            .filter(|c| !matches!(c, ' ' | '-' | '(' | ')'))
            .collect();
        let digits = value.strip_prefix('+').unwrap_or("");
        if !(8..=15).contains(&digits.len()) || !digits.chars().all(|c| c.is_ascii_digit()) {
            return Err(Error::validation(
                field,
                "must be an E.164 phone number such as +14155550100",
            ));
        }
        Ok(Self(value))
    }

    pub fn into_inner(self) -> String {
        self.0
    }
}

/// An id in another system (such as a CRM contact id): 1 to 255 characters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExternalId(String);

impl ExternalId {
    pub fn parse(field: &str, input: &str) -> Result<Self> {
        check_text(field, input, 255)?;
        Ok(Self(input.to_owned()))
    }

    pub fn into_inner(self) -> String {
        self.0
    }
}

/// Custom attributes: a JSON object of at most [`MAX_ATTRIBUTES_BYTES`] bytes serialised.
#[derive(Clone, Debug, PartialEq)]
pub struct Attributes(Value);

impl Attributes {
    pub fn parse(field: &str, input: Value) -> Result<Self> {
        if !input.is_object() {
            return Err(Error::validation(field, "must be a JSON object"));
        }
        let size = serde_json::to_vec(&input).map_err(Error::internal)?.len();
        if size > MAX_ATTRIBUTES_BYTES {
            return Err(Error::validation(
                field,
                format!("must be at most {MAX_ATTRIBUTES_BYTES} bytes of JSON (got {size})"),
            ));
        }
        Ok(Self(input))
    }

    pub fn empty() -> Self {
        Self(Value::Object(Default::default()))
    }

    pub fn into_inner(self) -> Value {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn emails() {
        let email = Email::parse("email", " Ada@Example.COM ").unwrap();
        assert_eq!(email.as_str(), "Ada@Example.COM");
        assert_eq!(email.normalized(), "ada@example.com");
        for bad in [
            "",
            "ada",
            "@example.com",
            "ada@",
            "ada@localhost",
            "ada@exa mple.com",
            "a b@example.com",
            "ada@-example.com",
            "ada@example..com",
        ] {
            let error = Email::parse("email", bad).unwrap_err();
            assert!(
                matches!(&error, Error::Validation { field, .. } if field == "email"),
                "{bad:?} gave {error:?}"
            );
        }
        assert!(Email::parse("email", &format!("{}@example.com", "a".repeat(65))).is_err());
    }

    #[test]
    fn slugs() {
        assert!(Slug::parse("slug", "acme-2").is_ok());
        for bad in ["ab", "Acme", "acme_co", "-acme", "acme-", &"a".repeat(64)] {
            assert!(Slug::parse("slug", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn names_and_phones() {
        assert_eq!(
            Name::parse("name", "  Ada  ", 10).unwrap().into_inner(),
            "Ada"
        );
        assert!(Name::parse("name", "   ", 10).is_err());
        assert!(Name::parse("name", "x\u{7}y", 10).is_err());
        assert!(Name::parse("name", &"x".repeat(11), 10).is_err());
        assert_eq!(
            Phone::parse("phone", "+1 415-555-0100")
                .unwrap()
                .into_inner(),
            "+14155550100"
        );
        assert!(Phone::parse("phone", "4155550100").is_err());
    }

    #[test]
    fn attributes_are_bounded_objects() {
        assert!(Attributes::parse("attributes", json!({"plan": "pro"})).is_ok());
        assert!(Attributes::parse("attributes", json!([1, 2])).is_err());
        let big = json!({ "blob": "x".repeat(MAX_ATTRIBUTES_BYTES) });
        let error = Attributes::parse("attributes", big).unwrap_err();
        assert!(error.to_string().contains("at most 16384 bytes"));
    }

    #[test]
    fn domains() {
        assert_eq!(
            Domain::parse("domain", "Login.Example.com.")
                .unwrap()
                .as_str(),
            "login.example.com"
        );
        assert!(Domain::parse("domain", "localhost").is_err());
        assert!(Domain::parse("domain", "exa_mple.com").is_err());
    }
}
