//! A connector's contract mapping: what a customer bought (a product or line item, named by
//! any of its identifiers: SKU, product code, product id or name) and the role a contact has
//! on the contract (a HubSpot association label, a Salesforce contact role), each mapped to
//! organization roles and entitlement keys:
//!
//! ```json
//! { "products": { "PRO-ANNUAL": { "roles": ["analyst"], "entitlements": ["analytics"] } },
//!   "contactRoles": { "Decision Maker": { "roles": ["org:admin"] } } }
//! ```
//!
//! Checked when the connector is saved, against the tenant's roles and entitlement keys;
//! errors name the field (`contractMapping.products.PRO-ANNUAL.roles[0]`).

use latchkey_core::error::{Error, Result};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;

/// What one product or contact role gives.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Gives {
    #[serde(default)]
    pub roles: Vec<String>,
    #[serde(default)]
    pub entitlements: Vec<String>,
}

impl Gives {
    /// `self` with `other`'s roles and entitlements added, each once and sorted.
    pub fn with(mut self, other: &Gives) -> Gives {
        self.roles.extend(other.roles.iter().cloned());
        self.entitlements.extend(other.entitlements.iter().cloned());
        self.roles.sort();
        self.roles.dedup();
        self.entitlements.sort();
        self.entitlements.dedup();
        self
    }
}

/// A checked contract mapping.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ContractMapping {
    #[serde(default)]
    pub products: BTreeMap<String, Gives>,
    #[serde(default)]
    pub contact_roles: BTreeMap<String, Gives>,
}

impl ContractMapping {
    /// The stored mapping of a connector (none: an empty one, which maps nothing).
    pub fn stored(value: Option<&Value>) -> ContractMapping {
        value
            .and_then(|value| serde_json::from_value(value.clone()).ok())
            .unwrap_or_default()
    }

    /// What the products bought give together: each product counts once, by the first of
    /// its identifiers the mapping names.
    pub fn for_products(&self, products: &[Vec<String>]) -> Gives {
        products
            .iter()
            .filter_map(|identifiers| identifiers.iter().find_map(|id| self.products.get(id)))
            .fold(Gives::default(), |all, gives| all.with(gives))
    }

    /// What a contact's role on the contract gives (nothing without a role or a mapping).
    pub fn for_contact_role(&self, role: Option<&str>) -> Gives {
        role.and_then(|role| self.contact_roles.get(role))
            .cloned()
            .unwrap_or_default()
    }
}

fn invalid(field: &str, reason: impl Into<String>) -> Error {
    Error::validation(field, reason)
}

/// Checks `value` against the tenant's role names and entitlement keys; answers it as stored.
pub(super) fn check_contract_mapping(
    value: &Value,
    roles: &[String],
    entitlements: &[String],
) -> Result<Value> {
    const FIELD: &str = "contractMapping";
    let map = value.as_object().ok_or_else(|| {
        invalid(
            FIELD,
            "must be a JSON object with products and contactRoles",
        )
    })?;
    let mut checked = Map::new();
    for (member, table) in map {
        if !matches!(member.as_str(), "products" | "contactRoles") {
            return Err(invalid(
                &format!("{FIELD}.{member}"),
                "is not part of a contract mapping (known: products, contactRoles)",
            ));
        }
        let field = format!("{FIELD}.{member}");
        let table = table.as_object().ok_or_else(|| {
            invalid(
                &field,
                "must be a JSON object: { \"<name in the CRM>\": { \"roles\": [...], \"entitlements\": [...] } }",
            )
        })?;
        if table.len() > 500 {
            return Err(invalid(&field, "holds at most 500 entries"));
        }
        let mut entries = Map::new();
        for (name, gives) in table {
            let field = format!("{field}.{name}");
            if name.trim().is_empty() || name.len() > 200 || name.chars().any(char::is_control) {
                return Err(invalid(
                    &field,
                    "names a product or contact role by 1 to 200 printable characters",
                ));
            }
            entries.insert(
                name.clone(),
                check_gives(&field, gives, roles, entitlements)?,
            );
        }
        checked.insert(member.clone(), Value::Object(entries));
    }
    Ok(Value::Object(checked))
}

fn check_gives(field: &str, gives: &Value, roles: &[String], keys: &[String]) -> Result<Value> {
    let map = gives.as_object().ok_or_else(|| {
        invalid(
            field,
            "must be a JSON object with roles and entitlements (arrays of names)",
        )
    })?;
    let mut out = json!({ "roles": [], "entitlements": [] });
    for (member, values) in map {
        let (known, what, create) = match member.as_str() {
            "roles" => (roles, "an organization role", "createOrganizationRole"),
            "entitlements" => (keys, "an entitlement", "createEntitlement"),
            _ => {
                return Err(invalid(
                    &format!("{field}.{member}"),
                    "is not something a contract gives (known: roles, entitlements)",
                ));
            }
        };
        let list = values
            .as_array()
            .ok_or_else(|| invalid(&format!("{field}.{member}"), "must be an array of names"))?;
        let mut names = Vec::new();
        for (index, name) in list.iter().enumerate() {
            let field = format!("{field}.{member}[{index}]");
            let name = name
                .as_str()
                .ok_or_else(|| invalid(&field, "must be a name"))?;
            if !known.iter().any(|k| k == name) {
                return Err(invalid(
                    &field,
                    format!("{name:?} is not {what} of this tenant: define it with {create} first"),
                ));
            }
            if !names.contains(&name) {
                names.push(name);
            }
        }
        out[member.as_str()] = json!(names);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn a_mapping_names_only_known_roles_and_entitlements() {
        let roles = names(&["org:admin", "org:member", "analyst"]);
        let keys = names(&["analytics"]);
        let good = json!({
            "products": { "PRO-1": { "roles": ["analyst", "analyst"], "entitlements": ["analytics"] } },
            "contactRoles": { "Decision Maker": { "roles": ["org:admin"] } }
        });
        let checked = check_contract_mapping(&good, &roles, &keys).unwrap();
        assert_eq!(checked["products"]["PRO-1"]["roles"], json!(["analyst"]));
        assert_eq!(
            checked["contactRoles"]["Decision Maker"]["entitlements"],
            json!([])
        );
        for (bad, field) in [
            (json!([]), "contractMapping"),
            (json!({ "skus": {} }), "contractMapping.skus"),
            (
                json!({ "products": { "PRO-1": { "roles": ["ghost"] } } }),
                "contractMapping.products.PRO-1.roles[0]",
            ),
            (
                json!({ "products": { "PRO-1": { "entitlements": ["analytics", "sso"] } } }),
                "contractMapping.products.PRO-1.entitlements[1]",
            ),
            (
                json!({ "contactRoles": { "Buyer": { "seats": 3 } } }),
                "contractMapping.contactRoles.Buyer.seats",
            ),
            (
                json!({ "products": { "": { "roles": [] } } }),
                "contractMapping.products.",
            ),
        ] {
            match check_contract_mapping(&bad, &roles, &keys) {
                Err(Error::Validation { field: got, .. }) => assert_eq!(got, field, "{bad}"),
                other => panic!("{bad} gave {other:?}"),
            }
        }
    }

    #[test]
    fn products_count_once_by_their_first_mapped_identifier() {
        let mapping: ContractMapping = serde_json::from_value(json!({
            "products": {
                "SKU-A": { "roles": ["analyst"], "entitlements": ["analytics"] },
                "Product A": { "entitlements": ["other"] },
                "SKU-B": { "entitlements": ["sso"] }
            },
            "contactRoles": { "Decision Maker": { "roles": ["org:admin"] } }
        }))
        .unwrap();
        let gives = mapping.for_products(&[
            names(&["SKU-A", "Product A"]),
            names(&["", "SKU-B"]),
            names(&["unmapped"]),
        ]);
        assert_eq!(gives.roles, names(&["analyst"]));
        assert_eq!(gives.entitlements, names(&["analytics", "sso"]));
        assert_eq!(
            mapping.for_contact_role(Some("Decision Maker")).roles,
            names(&["org:admin"])
        );
        assert_eq!(mapping.for_contact_role(None), Gives::default());
    }
}
