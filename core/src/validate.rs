//! Input newtypes: parsing is validation, and a value of one of these types is known good.
//! Errors name the GraphQL input field so clients can point at it.

use crate::error::{Error, Result};
use idna::uts46::{AsciiDenyList, DnsLength, Hyphens, Uts46};
use serde_json::Value;
use unicode_security::{RestrictionLevel, RestrictionLevelDetection};

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
    refuse_bidi_controls(field, value)
}

/// The bidirectional formatting characters (embeddings, overrides, isolates and marks),
/// which can make a text display as something other than what it is.
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

fn refuse_bidi_controls(field: &str, value: &str) -> Result<()> {
    if value.chars().any(is_bidi_control) {
        return Err(Error::validation(
            field,
            "must not contain bidirectional control characters (U+202A to U+202E, U+2066 to U+2069, U+200E, U+200F, U+061C)",
        ));
    }
    Ok(())
}

/// An email address as given, with its normalised form, which identifies it.
///
/// The normalised form is the one stored form of an address, used wherever addresses are
/// compared (identities, invitations, sign-in, organization domains, CRM matching): the
/// local part in lower case, `@`, and the domain processed by UTS 46 ToASCII (lower case,
/// internationalized labels in their `xn--` form). So `Ada@Exämple.com` and
/// `ada@xn--exmple-cua.com` are one address. The ASCII form is the one DNS, SMTP without
/// extensions, organization domains ([`Domain`]) and Host headers use, and an ASCII address
/// keeps the form it had before internationalized domains were normalised.
///
/// Refused: bidirectional control characters anywhere, and a domain label that mixes
/// scripts beyond what UTS 39's "Highly Restrictive" level allows (Latin with Cyrillic or
/// Greek, for instance), since such a label can pass for another domain.
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
        refuse_bidi_controls(field, value)?;
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
        let domain = ascii_domain(domain)
            .ok_or_else(|| invalid("is not an email address (the domain after @ is not valid)"))?;
        refuse_mixed_scripts(field, &domain)?;
        let normalized = format!("{}@{domain}", local.to_lowercase());
        if normalized.len() > 254 {
            return Err(invalid("must be at most 254 characters"));
        }
        Ok(Self {
            original: value.to_owned(),
            normalized,
        })
    }

    pub fn as_str(&self) -> &str {
        &self.original
    }

    /// The stored form that identifies the address (see [`Email`]).
    pub fn normalized(&self) -> &str {
        &self.normalized
    }
}

/// `domain` in its stored form: UTS 46 ToASCII (lower case, internationalized labels in
/// their `xn--` form, the STD3 rules and DNS lengths checked), when it is a domain of two
/// labels or more.
fn ascii_domain(domain: &str) -> Option<String> {
    let ascii = Uts46::new()
        .to_ascii(
            domain.as_bytes(),
            AsciiDenyList::STD3,
            Hyphens::CheckFirstLast,
            DnsLength::Verify,
        )
        .ok()?;
    let labels: Vec<&str> = ascii.split('.').collect();
    let labels_ok = labels.len() >= 2
        && labels.iter().all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        });
    labels_ok.then(|| ascii.into_owned())
}

/// Refuses a label of `ascii_domain` (in its Unicode form) whose characters are not "Highly
/// Restrictive" in the sense of UTS 39 §5.2 (one script, or Latin with Han and Japanese
/// kana, Han and Bopomofo, or Han and Hangul): such a label can pass for another domain.
fn refuse_mixed_scripts(field: &str, ascii_domain: &str) -> Result<()> {
    let (unicode, _) = Uts46::new().to_unicode(
        ascii_domain.as_bytes(),
        AsciiDenyList::STD3,
        Hyphens::CheckFirstLast,
    );
    match unicode
        .split('.')
        .find(|label| !label.check_restriction_level(RestrictionLevel::HighlyRestrictive))
    {
        Some(label) => Err(Error::validation(
            field,
            format!(
                "has a domain label that mixes scripts or uses symbols ({label:?}; Latin with Cyrillic, for instance), which lets it pass for another domain"
            ),
        )),
        None => Ok(()),
    }
}

/// A DNS host or domain name in lower case without the root dot, such as `example.com`
/// (a tenant's custom domain, an organization's email domain), in the stored form of email
/// domains (see [`Email`]): internationalized names are taken in either spelling and kept in
/// their `xn--` form; at most 253 characters, a top-level label that is not a number, no
/// label that mixes scripts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Domain(String);

impl Domain {
    pub fn parse(field: &str, input: &str) -> Result<Self> {
        let value = input.trim().trim_end_matches('.');
        let invalid = |reason: &str| Error::validation(field, reason);
        if value.is_empty() {
            return Err(invalid("must not be empty"));
        }
        refuse_bidi_controls(field, value)?;
        let value = ascii_domain(value).ok_or_else(|| {
            invalid(
                "is not a domain name such as example.com (letters, digits and hyphens, at most 253 characters)",
            )
        })?;
        refuse_mixed_scripts(field, &value)?;
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

/// A language tag (BCP 47, e.g. `de`, `fr-CA`, `zh-Hant-TW`): a 2–3 letter language and up
/// to four subtags of 1–8 letters or digits; stored with the language lowercased.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Locale(String);

impl Locale {
    pub fn parse(field: &str, input: &str) -> Result<Self> {
        let value = input.trim().replace('_', "-");
        let mut parts = value.split('-');
        let language = parts.next().unwrap_or_default();
        let subtags: Vec<&str> = parts.collect();
        let ok = (2..=3).contains(&language.len())
            && language.chars().all(|c| c.is_ascii_alphabetic())
            && subtags.len() <= 4
            && subtags.iter().all(|s| {
                (1..=8).contains(&s.len()) && s.chars().all(|c| c.is_ascii_alphanumeric())
            });
        if !ok {
            return Err(Error::validation(
                field,
                "must be a language tag such as en, de or fr-CA",
            ));
        }
        let rest: String = subtags.iter().map(|s| format!("-{s}")).collect();
        Ok(Self(format!("{}{rest}", language.to_ascii_lowercase())))
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
    fn emails_have_one_stored_form_whatever_the_domain_spelling() {
        let normalized = |input: &str| {
            Email::parse("email", input)
                .unwrap()
                .normalized()
                .to_owned()
        };
        // ASCII addresses keep the form they always had.
        assert_eq!(normalized("ada@example.com"), "ada@example.com");
        assert_eq!(normalized("Ada@EXAMPLE.com"), "ada@example.com");
        // An internationalized domain is stored in its xn-- form, from either spelling, and
        // the address is kept as given.
        let unicode = Email::parse("email", "Ada@Exämple.COM").unwrap();
        assert_eq!(unicode.as_str(), "Ada@Exämple.COM");
        assert_eq!(unicode.normalized(), "ada@xn--exmple-cua.com");
        assert_eq!(
            normalized("ada@XN--EXMPLE-CUA.com"),
            "ada@xn--exmple-cua.com"
        );
        // UTS 46 mapping: full-width letters, the ideographic full stop.
        assert_eq!(normalized("ada@ｅｘａｍｐｌｅ。com"), "ada@example.com");
        // One script per label, in any script; Latin with Japanese is "Highly Restrictive".
        assert_eq!(normalized("ada@пример.рф"), "ada@xn--e1afmkfd.xn--p1ai");
        assert!(Email::parse("email", "ada@abcカタカナ.jp").is_ok());
        // The local part is lower-cased as before, not otherwise changed.
        assert_eq!(normalized("Zoë@example.com"), "zoë@example.com");
        for bad in [
            "ada@xn--.com",
            "ada@xn--a-.com",
            "ada@exa_mple.com",
            "ada@example.com.",
        ] {
            assert!(Email::parse("email", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn mixed_script_domains_are_refused() {
        // A Cyrillic а (U+0430) or ο (U+03BF, Greek) among Latin letters, in either spelling.
        for bad in [
            "ada@p\u{430}ypal.com",
            "ada@g\u{3bf}\u{3bf}gle.com",
            "ada@mail.p\u{430}ypal.com",
            &format!("ada@{}", idna::domain_to_ascii("p\u{430}ypal.com").unwrap()),
            "ada@☃.com",
        ] {
            let error = Email::parse("email", bad).unwrap_err();
            assert!(
                matches!(&error, Error::Validation { field, reason } if field == "email" && reason.contains("mixes scripts")),
                "{bad:?} gave {error:?}"
            );
        }
        assert_eq!(
            Domain::parse("domain", "Exämple.com").unwrap().as_str(),
            "xn--exmple-cua.com"
        );
        assert!(Domain::parse("domain", "p\u{430}ypal.com").is_err());
    }

    #[test]
    fn bidirectional_controls_are_refused_in_addresses_and_names() {
        for control in [
            '\u{202A}', '\u{202B}', '\u{202C}', '\u{202D}', '\u{202E}', '\u{2066}', '\u{2067}',
            '\u{2068}', '\u{2069}', '\u{200E}', '\u{200F}', '\u{061C}',
        ] {
            for (field, result) in [
                (
                    "email",
                    Email::parse("email", &format!("ada{control}@example.com")).map(|_| ()),
                ),
                (
                    "email",
                    Email::parse("email", &format!("ada@exa{control}mple.com")).map(|_| ()),
                ),
                (
                    "displayName",
                    Name::parse("displayName", &format!("Ada{control}x"), 200).map(|_| ()),
                ),
                (
                    "domain",
                    Domain::parse("domain", &format!("exa{control}mple.com")).map(|_| ()),
                ),
            ] {
                let error = result.unwrap_err();
                assert!(
                    matches!(&error, Error::Validation { field: f, reason } if f == field && reason.contains("bidirectional")),
                    "{control:?} in {field} gave {error:?}"
                );
            }
        }
        // Right-to-left text itself is fine.
        assert!(Name::parse("displayName", "עדה לאבלייס", 200).is_ok());
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
