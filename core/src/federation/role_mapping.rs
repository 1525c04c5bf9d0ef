//! An organization provider's role mapping: which organization roles a sign-in gets from the
//! values of one claim or attribute, applied at every sign-in.

use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The most role-mapping rules of one provider.
const MAX_RULES: usize = 100;

/// Which organization roles an enterprise sign-in gives, from the values of one claim (OIDC
/// `groups`, a SAML attribute): the roles of every rule whose value the claim holds, or
/// `defaultRoles` when none matches. Applied at every sign-in.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RoleMapping {
    #[serde(default = "groups_claim")]
    pub claim: String,
    #[serde(default)]
    pub rules: Vec<RoleRule>,
    #[serde(default)]
    pub default_roles: Vec<String>,
}

fn groups_claim() -> String {
    "groups".into()
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RoleRule {
    pub value: String,
    pub roles: Vec<String>,
}

impl RoleMapping {
    /// The roles a sign-in whose claim holds `values` gets.
    pub fn roles_for(&self, values: &[String]) -> Vec<String> {
        let mut roles: Vec<String> = self
            .rules
            .iter()
            .filter(|rule| values.contains(&rule.value))
            .flat_map(|rule| rule.roles.iter().cloned())
            .collect();
        if roles.is_empty() {
            roles = self.default_roles.clone();
        }
        roles.sort();
        roles.dedup();
        roles
    }

    pub(super) fn parse(value: Value) -> Result<Self> {
        let mapping: RoleMapping = serde_json::from_value(value).map_err(|error| {
            Error::validation(
                "roleMapping",
                format!("is not {{ claim, rules: [{{ value, roles }}], defaultRoles }}: {error}"),
            )
        })?;
        if mapping.claim.trim().is_empty() || mapping.claim.len() > 200 {
            return Err(Error::validation(
                "roleMapping.claim",
                "must name a claim or attribute (at most 200 characters)",
            ));
        }
        if mapping.rules.len() > MAX_RULES {
            return Err(Error::validation(
                "roleMapping.rules",
                format!("at most {MAX_RULES} rules"),
            ));
        }
        for (i, rule) in mapping.rules.iter().enumerate() {
            if rule.value.is_empty() || rule.value.len() > 500 {
                return Err(Error::validation(
                    &format!("roleMapping.rules[{i}].value"),
                    "must not be empty (at most 500 characters)",
                ));
            }
        }
        Ok(mapping)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn role_mapping_unions_matching_rules_else_defaults() {
        let mapping = RoleMapping::parse(json!({
            "rules": [
                { "value": "g-admins", "roles": ["admin"] },
                { "value": "g-billing", "roles": ["billing", "admin"] }
            ],
            "defaultRoles": ["member"]
        }))
        .unwrap();
        assert_eq!(mapping.claim, "groups");
        assert_eq!(
            mapping.roles_for(&["g-admins".into(), "g-billing".into()]),
            ["admin", "billing"]
        );
        assert_eq!(mapping.roles_for(&["other".into()]), ["member"]);
        assert_eq!(mapping.roles_for(&[]), ["member"]);
        assert!(RoleMapping::parse(json!({ "rules": [{ "value": "", "roles": [] }] })).is_err());
        assert!(RoleMapping::parse(json!({ "unknown": 1 })).is_err());
    }
}
