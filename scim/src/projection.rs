//! Attribute selection in responses: the `attributes` and `excludedAttributes` query
//! parameters (RFC 7644 §3.4.2.5, §3.9), on top of each attribute's `returned`.

use serde_json::{Map, Value};

use crate::error::{Result, ScimError};
use crate::path::AttributePath;
use crate::schema::{Attribute, ResourceSchema, Returned};

/// Which attributes a client asked to see. The default shows every attribute returned by
/// default.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Projection {
    /// `attributes`: only these, plus those returned always.
    attributes: Vec<AttributePath>,
    /// `excludedAttributes`: everything but these (and those returned always).
    excluded: Vec<AttributePath>,
}

impl Projection {
    /// From the query parameters, comma-separated attribute paths (either may be absent).
    /// When both are given, `attributes` wins and `excludedAttributes` is ignored: the
    /// explicit list is what the client most precisely asked for. A path that is not an
    /// attribute path, or that holds a value filter → invalid_path.
    pub fn parse(attributes: Option<&str>, excluded_attributes: Option<&str>) -> Result<Self> {
        let attributes = paths(attributes)?;
        let excluded = if attributes.is_empty() {
            paths(excluded_attributes)?
        } else {
            Vec::new()
        };
        Ok(Self {
            attributes,
            excluded,
        })
    }

    /// The resource as the client asked to see it. With `attributes`: only those (a
    /// sub-attribute keeps its parent with only that sub-attribute; an extension URN
    /// keeps the whole extension; a URN-qualified attribute keeps it inside the
    /// extension object), plus `schemas` and the attributes returned always (`id`). With
    /// `excludedAttributes`: everything but those, never removing `schemas` nor what is
    /// returned always. Names are case-insensitive. Attributes returned never are left
    /// out, and those returned on request only appear when named in `attributes`.
    pub fn apply(&self, resource: &Value, schema: &ResourceSchema) -> Value {
        let Value::Object(object) = resource else {
            return resource.clone();
        };
        let mut shown = Map::new();
        for (key, value) in object {
            if key.eq_ignore_ascii_case("schemas") {
                shown.insert(key.clone(), value.clone());
            } else if let Some((urn, attributes)) = schema.extension(key) {
                let whole = self.names_schema(urn);
                if let Value::Object(members) = value
                    && !(whole && self.attributes.is_empty())
                {
                    let members = self.members(members, attributes, Some(urn), whole, schema);
                    if !members.is_empty() {
                        shown.insert(key.clone(), Value::Object(members));
                    }
                }
            } else if let Some(value) =
                self.member(key, value, &schema.attributes, None, false, schema)
            {
                shown.insert(key.clone(), value);
            }
        }
        Value::Object(shown)
    }

    /// The paths the client listed: `attributes`, or else `excludedAttributes`.
    fn listed(&self) -> &[AttributePath] {
        if self.attributes.is_empty() {
            &self.excluded
        } else {
            &self.attributes
        }
    }

    /// Whether the listed paths name the schema `urn` as a whole.
    fn names_schema(&self, urn: &str) -> bool {
        self.listed()
            .iter()
            .any(|path| path.is_schema_urn() && path.attribute.eq_ignore_ascii_case(urn))
    }

    /// The members of one object (the resource's core attributes, or an extension's)
    /// to show. `whole`: the client asked for the whole object by its URN.
    fn members(
        &self,
        members: &Map<String, Value>,
        attributes: &[Attribute],
        extension: Option<&str>,
        whole: bool,
        schema: &ResourceSchema,
    ) -> Map<String, Value> {
        members
            .iter()
            .filter_map(|(key, value)| {
                let value = self.member(key, value, attributes, extension, whole, schema)?;
                Some((key.clone(), value))
            })
            .collect()
    }

    /// What to show of the member `key` of an object whose attributes are `attributes`.
    fn member(
        &self,
        key: &str,
        value: &Value,
        attributes: &[Attribute],
        extension: Option<&str>,
        whole: bool,
        schema: &ResourceSchema,
    ) -> Option<Value> {
        match attributes.iter().find(|a| a.name.eq_ignore_ascii_case(key)) {
            // What Latchkey does not publish is only left out of an explicit list.
            None => (self.attributes.is_empty() || whole).then(|| value.clone()),
            Some(attribute) => self.value(attribute, value, extension, whole, schema),
        }
    }

    /// What to show of `attribute`'s value, if anything.
    fn value(
        &self,
        attribute: &Attribute,
        value: &Value,
        extension: Option<&str>,
        whole: bool,
        schema: &ResourceSchema,
    ) -> Option<Value> {
        match attribute.returned {
            Returned::Never => return None,
            Returned::Always => return Some(value.clone()),
            Returned::Default | Returned::Request => {}
        }
        // The sub-attributes named for this attribute; None for the attribute itself.
        let named: Vec<Option<&str>> = self
            .listed()
            .iter()
            .filter_map(|path| schema.locate(path))
            .filter(|target| {
                target.extension == extension && target.attribute.name == attribute.name
            })
            .map(|target| target.sub_attribute.map(|sub| sub.name))
            .collect();
        let subs: Vec<&str> = named.iter().flatten().copied().collect();
        if !self.attributes.is_empty() {
            if whole || named.contains(&None) {
                return Some(value.clone());
            }
            return (!subs.is_empty())
                .then(|| {
                    only_sub_attributes(value, &|name| {
                        subs.iter().any(|s| s.eq_ignore_ascii_case(name))
                    })
                })
                .flatten();
        }
        if attribute.returned == Returned::Request || named.contains(&None) {
            return None;
        }
        if subs.is_empty() {
            return Some(value.clone());
        }
        only_sub_attributes(value, &|name| {
            !subs.iter().any(|s| s.eq_ignore_ascii_case(name))
        })
    }
}

/// The value with only the sub-attributes `keep` accepts (in each element of a
/// multi-valued attribute); None when nothing is left.
fn only_sub_attributes(value: &Value, keep: &dyn Fn(&str) -> bool) -> Option<Value> {
    match value {
        Value::Object(members) => {
            let kept: Map<String, Value> = members
                .iter()
                .filter(|(name, _)| keep(name))
                .map(|(name, value)| (name.clone(), value.clone()))
                .collect();
            (!kept.is_empty()).then_some(Value::Object(kept))
        }
        Value::Array(elements) => {
            let kept: Vec<Value> = elements
                .iter()
                .filter_map(|element| only_sub_attributes(element, keep))
                .collect();
            (!kept.is_empty()).then_some(Value::Array(kept))
        }
        simple => Some(simple.clone()),
    }
}

fn paths(list: Option<&str>) -> Result<Vec<AttributePath>> {
    list.unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|text| !text.is_empty())
        .map(|text| {
            let path = AttributePath::parse(text)?;
            if path.value_filter.is_some() {
                return Err(ScimError::invalid_path(format!(
                    "{text:?}: attributes are listed by name, without filter"
                )));
            }
            Ok(path)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::{ENTERPRISE_USER, USER, group, user};
    use serde_json::json;

    fn ann() -> Value {
        json!({
            "schemas": [USER, ENTERPRISE_USER],
            "id": "u1",
            "userName": "ann",
            "name": {"givenName": "Ann", "familyName": "Smith"},
            "emails": [
                {"value": "ann@work.example", "type": "work"},
                {"value": "ann@home.example", "type": "home"},
            ],
            "meta": {"resourceType": "User", "version": "W/\"1\""},
            ENTERPRISE_USER: {"employeeNumber": "7", "department": "R&D"},
        })
    }

    fn shown(attributes: Option<&str>, excluded: Option<&str>) -> Value {
        Projection::parse(attributes, excluded)
            .unwrap()
            .apply(&ann(), user())
    }

    #[test]
    fn the_default_shows_everything() {
        assert_eq!(shown(None, None), ann());
        assert_eq!(Projection::default().apply(&ann(), user()), ann());
    }

    #[test]
    fn attributes_keep_only_those_plus_id_and_schemas() {
        assert_eq!(
            shown(Some("USERNAME, displayName"), None),
            json!({"schemas": [USER, ENTERPRISE_USER], "id": "u1", "userName": "ann"})
        );
    }

    #[test]
    fn a_sub_attribute_keeps_its_parent_with_only_that_sub_attribute() {
        assert_eq!(
            shown(Some("name.givenName,emails.value"), None),
            json!({
                "schemas": [USER, ENTERPRISE_USER],
                "id": "u1",
                "name": {"givenName": "Ann"},
                "emails": [{"value": "ann@work.example"}, {"value": "ann@home.example"}],
            })
        );
    }

    #[test]
    fn an_extension_urn_keeps_the_whole_extension() {
        let projected = shown(Some(&format!("userName,{ENTERPRISE_USER}")), None);
        assert_eq!(
            projected[ENTERPRISE_USER],
            json!({"employeeNumber": "7", "department": "R&D"})
        );
        assert!(projected.get("name").is_none());
    }

    #[test]
    fn a_urn_qualified_attribute_stays_inside_its_extension() {
        assert_eq!(
            shown(Some(&format!("{ENTERPRISE_USER}:employeeNumber")), None),
            json!({"schemas": [USER, ENTERPRISE_USER], "id": "u1", ENTERPRISE_USER: {"employeeNumber": "7"}})
        );
        // The core URN prefix names core attributes.
        assert_eq!(
            shown(Some(&format!("{USER}:userName")), None)["userName"],
            "ann"
        );
    }

    #[test]
    fn excluded_attributes_remove_those_but_never_id_or_schemas() {
        let projected = shown(None, Some("emails,name.familyName,id,schemas,meta"));
        assert_eq!(
            projected,
            json!({
                "schemas": [USER, ENTERPRISE_USER],
                "id": "u1",
                "userName": "ann",
                "name": {"givenName": "Ann"},
                ENTERPRISE_USER: {"employeeNumber": "7", "department": "R&D"},
            })
        );
        let without_extension = shown(
            None,
            Some(&format!("{ENTERPRISE_USER},{ENTERPRISE_USER}:x")),
        );
        assert!(without_extension.get(ENTERPRISE_USER).is_none());
        let without_department = shown(None, Some(&format!("{ENTERPRISE_USER}:department")));
        assert_eq!(
            without_department[ENTERPRISE_USER],
            json!({"employeeNumber": "7"})
        );
    }

    #[test]
    fn entra_excludes_members_on_group_reads() {
        let admins = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "id": "g1", "displayName": "Admins", "members": [{"value": "u1"}]});
        let projected = Projection::parse(None, Some("members"))
            .unwrap()
            .apply(&admins, group());
        assert_eq!(
            projected,
            json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "id": "g1", "displayName": "Admins"})
        );
    }

    #[test]
    fn attributes_win_over_excluded_attributes() {
        let projection = Projection::parse(Some("userName"), Some("userName")).unwrap();
        assert_eq!(projection.apply(&ann(), user())["userName"], "ann");
    }

    #[test]
    fn invalid_paths_are_refused() {
        for list in ["user name", r#"emails[type eq "work"]"#, "name..givenName"] {
            let error = Projection::parse(Some(list), None).unwrap_err();
            assert_eq!(error.scim_type, Some("invalidPath"), "{list}");
        }
        assert_eq!(
            Projection::parse(None, Some(",,")).unwrap(),
            Projection::default()
        );
    }

    #[test]
    fn returned_never_and_request_attributes_are_held_back() {
        let mut schema = user().clone();
        for attribute in &mut schema.attributes {
            match attribute.name {
                "displayName" => attribute.returned = Returned::Never,
                "title" => attribute.returned = Returned::Request,
                _ => {}
            }
        }
        let resource = json!({"id": "u1", "displayName": "Ann", "title": "CEO"});
        assert_eq!(
            Projection::default().apply(&resource, &schema),
            json!({"id": "u1"})
        );
        let asked = Projection::parse(Some("displayName,title"), None).unwrap();
        assert_eq!(
            asked.apply(&resource, &schema),
            json!({"id": "u1", "title": "CEO"})
        );
    }
}
