//! Attribute paths (RFC 7644 §3.10) and the PATCH `path` grammar (§3.5.2):
//! `[URN ":"] attribute ["." sub-attribute]`, optionally followed by a value filter in
//! brackets and a sub-attribute of the selected elements, or a bare schema URN.

use crate::error::{Result, ScimError};
use crate::filter::{self, Filter};
use crate::schema;

/// A parsed attribute path.
///
/// A bare schema URN (`urn:…:enterprise:2.0:User`, the whole extension) is represented
/// with `urn` None and `attribute` the URN in its canonical case; see
/// [`AttributePath::is_schema_urn`].
#[derive(Clone, Debug, PartialEq)]
pub struct AttributePath {
    /// The schema URN prefix as written (`urn:…:enterprise:2.0:User`); None for no prefix.
    pub urn: Option<String>,
    /// The attribute name as written (names compare case-insensitively).
    pub attribute: String,
    /// The sub-attribute before any value filter (`name.givenName`).
    pub sub_attribute: Option<String>,
    /// The filter selecting elements of a multi-valued attribute
    /// (`emails[type eq "work"]`); its attribute names are sub-attributes of the elements.
    pub value_filter: Option<Box<Filter>>,
    /// The sub-attribute of the selected elements (`emails[type eq "work"].value`).
    pub filter_sub_attribute: Option<String>,
}

impl AttributePath {
    /// Parses `userName`, `name.givenName`,
    /// `urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber`,
    /// `urn:…:enterprise:2.0:User:manager.value`, `emails[type eq "work"].value`,
    /// `members[value eq "abc"]` and bare schema URNs.
    ///
    /// Text starting with `urn:` (any case) is a URN-qualified attribute: the attribute is
    /// what follows the last `:` before any `[`, unless the whole text is the URN of a
    /// schema Latchkey publishes. A value filter may only follow an attribute name.
    /// Errors → invalid_path.
    pub fn parse(text: &str) -> Result<Self> {
        let text = text.trim();
        // Neither URNs nor attribute names contain `[`: the first one opens the filter.
        let Some(open) = text.find('[') else {
            return Self::parse_attribute(text);
        };
        let mut path = Self::parse_attribute(&text[..open])?;
        if path.sub_attribute.is_some() || path.is_schema_urn() {
            return Err(ScimError::invalid_path(format!(
                "{text:?}: a value filter must follow an attribute name"
            )));
        }
        let (value_filter, end) = filter::parse_value_filter(text, open)
            .map_err(|error| ScimError::invalid_path(format!("{text:?}: {}", error.detail)))?;
        path.value_filter = Some(Box::new(value_filter));
        let rest = &text[end..];
        if !rest.is_empty() {
            let sub_attribute = rest
                .strip_prefix('.')
                .filter(|name| is_name(name))
                .ok_or_else(|| {
                    ScimError::invalid_path(format!(
                        "{text:?}: only `.` and a sub-attribute name may follow `]`"
                    ))
                })?;
            path.filter_sub_attribute = Some(sub_attribute.to_owned());
        }
        Ok(path)
    }

    /// Parses a path without value filter: `[URN ":"] name ["." name]` or a schema URN.
    /// The filter parser reads attribute paths with it too.
    pub(crate) fn parse_attribute(text: &str) -> Result<Self> {
        let invalid = || ScimError::invalid_path(format!("{text:?} is not an attribute path"));
        let (urn, rest) = if starts_with_urn(text) {
            if let Some(schema) = published_schema(text) {
                return Ok(Self::named(None, schema, None));
            }
            let colon = text.rfind(':').ok_or_else(invalid)?;
            (Some(&text[..colon]), &text[colon + 1..])
        } else {
            (None, text)
        };
        let (attribute, sub_attribute) = match rest.split_once('.') {
            Some((attribute, sub_attribute)) => (attribute, Some(sub_attribute)),
            None => (rest, None),
        };
        if !is_name(attribute) || sub_attribute.is_some_and(|name| !is_name(name)) {
            return Err(invalid());
        }
        Ok(Self::named(urn, attribute, sub_attribute))
    }

    fn named(urn: Option<&str>, attribute: &str, sub_attribute: Option<&str>) -> Self {
        Self {
            urn: urn.map(str::to_owned),
            attribute: attribute.to_owned(),
            sub_attribute: sub_attribute.map(str::to_owned),
            value_filter: None,
            filter_sub_attribute: None,
        }
    }

    /// Whether the path is a bare schema URN, naming a whole schema (an extension's
    /// attributes) rather than one attribute.
    pub fn is_schema_urn(&self) -> bool {
        self.urn.is_none() && starts_with_urn(&self.attribute)
    }
}

fn starts_with_urn(text: &str) -> bool {
    text.get(..4)
        .is_some_and(|prefix| prefix.eq_ignore_ascii_case("urn:"))
}

/// The canonical URN of the published schema `text` names, ignoring case.
fn published_schema(text: &str) -> Option<&'static str> {
    [schema::user(), schema::group()]
        .into_iter()
        .flat_map(|resource| {
            std::iter::once(resource.schema)
                .chain(resource.extensions.iter().map(|(urn, _, _)| *urn))
        })
        .find(|urn| urn.eq_ignore_ascii_case(text))
}

/// Whether `text` is an attribute name: `ATTRNAME = ALPHA *(nameChar)` with
/// `nameChar = "-" / "_" / DIGIT / ALPHA` (RFC 7643 §2.1), plus `$ref` (§2.3.7).
pub(crate) fn is_name(text: &str) -> bool {
    let mut chars = text.chars();
    chars
        .next()
        .is_some_and(|first| first.is_ascii_alphabetic() || first == '$')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::filter::CompareOp;
    use crate::schema::ENTERPRISE_USER;
    use serde_json::json;

    fn parsed(text: &str) -> AttributePath {
        AttributePath::parse(text).unwrap()
    }

    #[test]
    fn a_plain_attribute() {
        assert_eq!(
            parsed("userName"),
            AttributePath::named(None, "userName", None)
        );
    }

    #[test]
    fn an_attribute_and_its_sub_attribute() {
        assert_eq!(
            parsed("name.givenName"),
            AttributePath::named(None, "name", Some("givenName"))
        );
    }

    #[test]
    fn a_urn_qualified_attribute_splits_at_the_last_colon() {
        assert_eq!(
            parsed("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber"),
            AttributePath::named(Some(ENTERPRISE_USER), "employeeNumber", None)
        );
        // The `.` of `2.0` belongs to the URN, the last one to the attribute.
        assert_eq!(
            parsed("URN:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value"),
            AttributePath::named(
                Some("URN:ietf:params:scim:schemas:extension:enterprise:2.0:User"),
                "manager",
                Some("value")
            )
        );
    }

    #[test]
    fn a_bare_schema_urn_is_the_attribute_in_canonical_case() {
        let path = parsed("urn:ietf:params:scim:schemas:extension:Enterprise:2.0:user");
        assert_eq!(path, AttributePath::named(None, ENTERPRISE_USER, None));
        assert!(path.is_schema_urn());
        assert!(!parsed("userName").is_schema_urn());
    }

    #[test]
    fn a_value_filter_and_the_sub_attribute_after_it() {
        let path = parsed(r#"emails[type eq "work"].value"#);
        assert_eq!(path.attribute, "emails");
        assert_eq!(path.sub_attribute, None);
        assert_eq!(path.filter_sub_attribute.as_deref(), Some("value"));
        let Some(Filter::Compare {
            path: inner,
            op,
            value,
        }) = path.value_filter.as_deref()
        else {
            panic!("expected a comparison, got {:?}", path.value_filter);
        };
        assert_eq!(
            (inner.attribute.as_str(), *op, value),
            ("type", CompareOp::Eq, &json!("work"))
        );
    }

    #[test]
    fn a_value_filter_may_hold_a_bracket_in_a_string() {
        let path = parsed(r#"members[value eq "a]b"]"#);
        assert_eq!(path.filter_sub_attribute, None);
        assert!(
            matches!(path.value_filter.as_deref(), Some(Filter::Compare { value, .. }) if value == "a]b")
        );
    }

    #[test]
    fn invalid_paths_are_invalid_path_errors() {
        for text in [
            "",
            "1name",
            "name.",
            "name.given.name",
            "emails[type eq ]",
            "emails[type eq \"work\"",
            "emails[type eq \"work\"]value",
            "name.givenName[value eq \"x\"]",
            "emails[type eq \"work\"].",
        ] {
            let error = AttributePath::parse(text).unwrap_err();
            assert_eq!(error.scim_type, Some("invalidPath"), "{text:?}: {error}");
        }
    }
}
