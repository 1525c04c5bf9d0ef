//! What a tenant declares about its users' profiles: the attribute schema (which custom
//! attributes exist, their type, whether users may edit them, their validation) and the consent
//! purposes users grant or withdraw (each with a version that moves when its text changes).
//! Part of the tenant settings; checked when they are saved.

use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Attribute definitions per tenant, at most.
pub const MAX_ATTRIBUTES: usize = 100;
/// Consent purposes per tenant, at most.
pub const MAX_CONSENT_PURPOSES: usize = 20;

/// The type of an attribute's values.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AttributeType {
    #[default]
    String,
    Number,
    Boolean,
    /// A calendar date, `YYYY-MM-DD`.
    Date,
}

impl AttributeType {
    /// The GraphQL name (`STRING`, `NUMBER`, `BOOLEAN`, `DATE`), also what the hosted pages'
    /// `config.json` says.
    pub fn api_name(self) -> &'static str {
        match self {
            AttributeType::String => "STRING",
            AttributeType::Number => "NUMBER",
            AttributeType::Boolean => "BOOLEAN",
            AttributeType::Date => "DATE",
        }
    }
}

/// One custom attribute of the tenant's identities.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct AttributeDefinition {
    /// The key in `attributes`: a letter, then letters, digits or `_`, at most 64.
    pub name: String,
    pub kind: AttributeType,
    /// End users may change it themselves (`updateViewerProfile`); otherwise only admins and
    /// connectors.
    pub user_editable: bool,
    /// For strings: the most characters.
    pub max_length: Option<u32>,
    /// For strings: the only values allowed, if any.
    pub allowed_values: Vec<String>,
    /// Shown on the account page.
    pub label: Option<String>,
}

/// A reason the tenant asks consent for (terms, marketing emails…).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ConsentPurpose {
    /// A letter, then letters, digits or `_`, at most 64 (`marketing`, `terms`).
    pub key: String,
    /// Moves when the text changes: a decision names the version it was made on.
    pub version: u32,
    /// What the user agrees to, shown on the account page.
    pub title: String,
}

/// A key of an attribute or a consent purpose: a letter, then letters, digits and `_`, at most
/// 64 bytes.
pub(crate) fn is_key(value: &str) -> bool {
    let mut chars = value.chars();
    value.len() <= 64
        && chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Checks the attribute schema; errors name `attributeSchema[i].…`.
pub fn check_attribute_schema(schema: &[AttributeDefinition]) -> Result<()> {
    if schema.len() > MAX_ATTRIBUTES {
        return Err(Error::validation(
            "attributeSchema",
            format!("at most {MAX_ATTRIBUTES} attributes"),
        ));
    }
    let mut seen = std::collections::HashSet::new();
    for (i, definition) in schema.iter().enumerate() {
        let field = |name: &str| format!("attributeSchema[{i}].{name}");
        if !is_key(&definition.name) {
            return Err(Error::validation(
                &field("name"),
                "must start with a letter and hold only letters, digits and _ (at most 64)",
            ));
        }
        if !seen.insert(definition.name.as_str()) {
            return Err(Error::validation(&field("name"), "is defined twice"));
        }
        let string = definition.kind == AttributeType::String;
        if !string && (definition.max_length.is_some() || !definition.allowed_values.is_empty()) {
            return Err(Error::validation(
                &field("kind"),
                "maxLength and allowedValues apply to STRING attributes only",
            ));
        }
        if definition
            .max_length
            .is_some_and(|max| !(1..=10_000).contains(&max))
        {
            return Err(Error::validation(
                &field("maxLength"),
                "must be between 1 and 10000",
            ));
        }
        if definition
            .label
            .as_ref()
            .is_some_and(|l| l.chars().count() > 100)
        {
            return Err(Error::validation(&field("label"), "at most 100 characters"));
        }
    }
    Ok(())
}

/// Checks the consent purposes; errors name `consentPurposes[i].…`.
pub fn check_consent_purposes(purposes: &[ConsentPurpose]) -> Result<()> {
    if purposes.len() > MAX_CONSENT_PURPOSES {
        return Err(Error::validation(
            "consentPurposes",
            format!("at most {MAX_CONSENT_PURPOSES} purposes"),
        ));
    }
    let mut seen = std::collections::HashSet::new();
    for (i, purpose) in purposes.iter().enumerate() {
        let field = |name: &str| format!("consentPurposes[{i}].{name}");
        if !is_key(&purpose.key) {
            return Err(Error::validation(
                &field("key"),
                "must start with a letter and hold only letters, digits and _ (at most 64)",
            ));
        }
        if !seen.insert(purpose.key.as_str()) {
            return Err(Error::validation(&field("key"), "is defined twice"));
        }
        if purpose.version == 0 {
            return Err(Error::validation(&field("version"), "must be 1 or more"));
        }
        let title = purpose.title.trim();
        if title.is_empty() || title.chars().count() > 500 {
            return Err(Error::validation(
                &field("title"),
                "must be 1 to 500 characters",
            ));
        }
    }
    Ok(())
}

impl AttributeDefinition {
    /// Checks `value` for this attribute; `field` names it in the error. `null` removes it.
    pub fn check_value(&self, field: &str, value: &Value) -> Result<()> {
        let ok = match (self.kind, value) {
            (_, Value::Null) => return Ok(()),
            (AttributeType::String, Value::String(text)) => {
                if self
                    .max_length
                    .is_some_and(|max| text.chars().count() > max as usize)
                {
                    return Err(Error::validation(
                        field,
                        format!("at most {} characters", self.max_length.unwrap_or_default()),
                    ));
                }
                if !self.allowed_values.is_empty() && !self.allowed_values.contains(text) {
                    return Err(Error::validation(
                        field,
                        format!("must be one of {}", self.allowed_values.join(", ")),
                    ));
                }
                !text.chars().any(char::is_control)
            }
            (AttributeType::Number, Value::Number(_))
            | (AttributeType::Boolean, Value::Bool(_)) => true,
            (AttributeType::Date, Value::String(text)) => {
                chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d").is_ok()
            }
            _ => false,
        };
        if ok {
            Ok(())
        } else {
            let expected = match self.kind {
                AttributeType::String => "text without control characters",
                AttributeType::Number => "a number",
                AttributeType::Boolean => "true or false",
                AttributeType::Date => "a date such as 2026-12-31",
            };
            Err(Error::validation(field, format!("must be {expected}")))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn attribute(name: &str, kind: AttributeType) -> AttributeDefinition {
        AttributeDefinition {
            name: name.into(),
            kind,
            ..AttributeDefinition::default()
        }
    }

    #[test]
    fn values_are_checked_by_type() {
        let mut tier = attribute("tier", AttributeType::String);
        tier.allowed_values = vec!["gold".into(), "silver".into()];
        tier.check_value("attributes.tier", &json!("gold")).unwrap();
        let error = tier
            .check_value("attributes.tier", &json!("bronze"))
            .unwrap_err();
        assert!(
            error
                .to_string()
                .starts_with("attributes.tier: must be one of gold, silver")
        );
        attribute("born", AttributeType::Date)
            .check_value("attributes.born", &json!("1990-02-28"))
            .unwrap();
        assert!(
            attribute("born", AttributeType::Date)
                .check_value("attributes.born", &json!("1990-02-30"))
                .is_err()
        );
        assert!(
            attribute("age", AttributeType::Number)
                .check_value("attributes.age", &json!("40"))
                .is_err()
        );
        attribute("age", AttributeType::Number)
            .check_value("attributes.age", &Value::Null)
            .unwrap();
    }

    #[test]
    fn schemas_and_purposes_are_checked() {
        let twice = vec![
            attribute("tier", AttributeType::String),
            attribute("tier", AttributeType::Number),
        ];
        let error = check_attribute_schema(&twice).unwrap_err().to_string();
        assert!(error.starts_with("attributeSchema[1].name"), "{error}");
        let mut bad = attribute("age", AttributeType::Number);
        bad.max_length = Some(3);
        assert!(check_attribute_schema(&[bad]).is_err());
        let purpose = ConsentPurpose {
            key: "marketing".into(),
            version: 0,
            title: "Emails about offers".into(),
        };
        let error = check_consent_purposes(&[purpose]).unwrap_err().to_string();
        assert!(error.starts_with("consentPurposes[0].version"), "{error}");
    }
}
