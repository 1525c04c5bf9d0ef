//! PATCH (RFC 7644 §3.5.2): parsing a PatchOp body and applying its operations to a
//! resource, including the shapes Microsoft Entra ID and Okta send.
//!
//! Vendor shapes accepted:
//! - Entra ID: capitalised ops (`Replace`), string booleans (`"False"`), path-less
//!   `replace` whose keys are dotted or URN-qualified paths, `add`/`replace` on
//!   `emails[type eq "work"].value` when the user has no such email (the element is
//!   created), member removal as `remove` on `members` with the members in `value`, the
//!   manager as a plain id, and attributes Latchkey does not store (ignored).
//! - Okta: path-less `replace` of `{id, displayName}` to rename a group (the group's own
//!   id is accepted), member changes by `members[value eq "…"]`, `add` and full `replace`.

use serde_json::{Map, Value};

use crate::error::{Result, ScimError};
use crate::filter::{CompareOp, Filter};
use crate::json;
use crate::path::AttributePath;
use crate::schema::{self, Attribute, Kind, Mutability, PATCH_OP, ResourceSchema, Target};

/// More operations than this in one request → tooMany.
const MAX_OPERATIONS: usize = 1000;

/// What an operation does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OpKind {
    /// Adds values (appends to a multi-valued attribute).
    Add,
    /// Unassigns the target.
    Remove,
    /// Replaces values.
    Replace,
}

/// One PATCH operation.
#[derive(Clone, Debug, PartialEq)]
pub struct Operation {
    /// add, remove or replace.
    pub op: OpKind,
    /// The target; None for the resource itself.
    pub path: Option<AttributePath>,
    /// The value, as sent (`Some(Value::Null)` for an explicit null).
    pub value: Option<Value>,
}

/// Parses a PatchOp body: `schemas` must list PATCH_OP (invalid_syntax otherwise) and
/// `Operations` be a non-empty array of at most 1000 operations (tooMany beyond). `op` is
/// case-insensitive (Entra ID sends `Add`, `Replace`, `Remove`); anything else →
/// invalid_syntax. `remove` without path → noTarget; `add`/`replace` without value →
/// invalid_syntax; a path that does not parse → invalid_path. An empty `path` counts as
/// none. Member names (`op`, `path`, `value`, `Operations`) are case-insensitive.
pub fn parse_patch(body: &Value) -> Result<Vec<Operation>> {
    let body = body
        .as_object()
        .ok_or_else(|| ScimError::invalid_syntax("a PATCH body must be a JSON object"))?;
    let declared = json::member(body, "schemas")
        .and_then(Value::as_array)
        .is_some_and(|schemas| {
            schemas.iter().any(|urn| {
                urn.as_str()
                    .is_some_and(|urn| urn.eq_ignore_ascii_case(PATCH_OP))
            })
        });
    if !declared {
        return Err(ScimError::invalid_syntax(format!(
            "schemas must list {PATCH_OP}"
        )));
    }
    let operations = json::member(body, "Operations")
        .and_then(Value::as_array)
        .filter(|operations| !operations.is_empty())
        .ok_or_else(|| ScimError::invalid_syntax("Operations must be a non-empty array"))?;
    if operations.len() > MAX_OPERATIONS {
        return Err(ScimError::too_many(format!(
            "at most {MAX_OPERATIONS} operations per request"
        )));
    }
    operations
        .iter()
        .enumerate()
        .map(|(index, operation)| {
            parse_operation(operation).map_err(|error| in_operation(index, error))
        })
        .collect()
}

/// The error, saying which operation (counted from 1) it is about.
fn in_operation(index: usize, error: ScimError) -> ScimError {
    ScimError {
        detail: format!("operation {}: {}", index + 1, error.detail),
        ..error
    }
}

/// The error about a sub-attribute of `attribute`, naming it `attribute.sub`.
fn in_attribute(attribute: &Attribute) -> impl Fn(ScimError) -> ScimError {
    move |error| ScimError {
        detail: format!("{}.{}", attribute.name, error.detail),
        ..error
    }
}

fn parse_operation(operation: &Value) -> Result<Operation> {
    let operation = operation
        .as_object()
        .ok_or_else(|| ScimError::invalid_syntax("an operation must be a JSON object"))?;
    let op = match json::member(operation, "op").and_then(Value::as_str) {
        Some(op) if op.eq_ignore_ascii_case("add") => OpKind::Add,
        Some(op) if op.eq_ignore_ascii_case("remove") => OpKind::Remove,
        Some(op) if op.eq_ignore_ascii_case("replace") => OpKind::Replace,
        _ => {
            return Err(ScimError::invalid_syntax(
                "op must be add, remove or replace",
            ));
        }
    };
    let path = match json::member(operation, "path") {
        None | Some(Value::Null) => None,
        Some(Value::String(text)) if text.trim().is_empty() => None,
        Some(Value::String(text)) => Some(AttributePath::parse(text)?),
        Some(_) => return Err(ScimError::invalid_path("path must be a string")),
    };
    let value = json::member(operation, "value").cloned();
    match (op, &path, &value) {
        (OpKind::Remove, None, _) => Err(ScimError::no_target("remove needs a path")),
        (OpKind::Add | OpKind::Replace, _, None) => {
            Err(ScimError::invalid_syntax("add and replace need a value"))
        }
        _ => Ok(Operation { op, path, value }),
    }
}

/// Applies `operations` in order to `resource` (a JSON object in canonical attribute
/// names, as returned to clients), all or nothing: on error `resource` is unchanged.
///
/// - Path-less `add`/`replace`: `value` is an object whose keys are themselves paths
///   (`active`, `name.givenName`, a URN-qualified attribute, or an extension URN whose
///   object is merged into the extension).
/// - Values are coerced by the schema ([`ResourceSchema::normalize`]): `"False"` is
///   false, read-only sub-attributes in a value are dropped.
/// - `add` on a multi-valued attribute appends what is not there yet (a member with the
///   same `value`); on a complex attribute it merges sub-attributes; elsewhere, and for
///   `replace`, it sets the value (a whole array, a whole complex value).
/// - A value filter selects the elements to change; when it selects none and consists of
///   `eq` comparisons joined by `and`, `add` and `replace` create the element they
///   describe; otherwise → noTarget.
/// - A sub-attribute path on a multi-valued attribute without filter
///   (`emails.type`) changes every element (creating one when there are none).
/// - `remove`, or a value of null, `""` or `[]` with `replace` (and null or `""` with
///   `add`), unassigns the target; removing what is absent, or with a filter selecting
///   nothing, changes nothing. `add` of `[]` adds nothing.
/// - Setting `primary` true on an element sets it false on the others (RFC 7643 §2.4).
/// - Changing a read-only attribute, an immutable one that has a value, or removing a
///   required one → mutability. Writing the value an attribute already has is no change.
/// - Paths to attributes Latchkey does not publish are ignored: Entra ID's default
///   mappings send attributes it does not store (`phoneNumbers`, `addresses`…), and
///   failing would stop every update of the user.
/// - `schemas` lists the extension URNs whose objects the resource has afterwards.
pub fn apply_patch(
    resource: &mut Value,
    operations: &[Operation],
    schema: &ResourceSchema,
) -> Result<()> {
    let mut patched = resource.clone();
    let object = patched
        .as_object_mut()
        .ok_or_else(|| ScimError::invalid_syntax("the resource must be a JSON object"))?;
    for (index, operation) in operations.iter().enumerate() {
        apply_operation(object, operation, schema).map_err(|error| in_operation(index, error))?;
    }
    list_extensions(object, schema);
    *resource = patched;
    Ok(())
}

fn apply_operation(
    resource: &mut Map<String, Value>,
    operation: &Operation,
    schema: &ResourceSchema,
) -> Result<()> {
    let value = operation.value.as_ref();
    if let Some(path) = &operation.path {
        return apply_path(resource, operation.op, path, value, schema);
    }
    if operation.op == OpKind::Remove {
        return Err(ScimError::no_target("remove needs a path"));
    }
    let Some(Value::Object(members)) = value else {
        return Err(ScimError::invalid_syntax(
            "without a path, the value must be an object of attributes",
        ));
    };
    for (key, value) in members {
        apply_path(
            resource,
            operation.op,
            &AttributePath::parse(key)?,
            Some(value),
            schema,
        )?;
    }
    Ok(())
}

fn apply_path(
    resource: &mut Map<String, Value>,
    op: OpKind,
    path: &AttributePath,
    value: Option<&Value>,
    schema: &ResourceSchema,
) -> Result<()> {
    if path.is_schema_urn() {
        return apply_schema(resource, op, &path.attribute, value, schema);
    }
    // Not published: ignored (see `apply_patch`).
    let Some(target) = schema.locate(path) else {
        return Ok(());
    };
    let attribute = target.attribute;
    if path.value_filter.is_some() && !(attribute.multi_valued && attribute.kind == Kind::Complex) {
        return Err(ScimError::invalid_path(format!(
            "{} is not multi-valued and complex: a value filter does not apply",
            attribute.name
        )));
    }
    let container = match target.extension {
        None => resource,
        Some(urn) if op == OpKind::Remove && json::member(resource, urn).is_none() => return Ok(()),
        // Created empty if need be; `list_extensions` drops it if it stays empty.
        Some(urn) => object_entry(resource, urn),
    };
    let filter = path.value_filter.as_deref();
    let value = match (op, value) {
        (OpKind::Remove, listed) => return remove(container, &target, filter, listed),
        (_, None) => return Err(ScimError::invalid_syntax("add and replace need a value")),
        (OpKind::Add, Some(Value::Array(elements))) if elements.is_empty() => return Ok(()),
        (_, Some(value)) if unassigns(value) => return remove(container, &target, filter, None),
        (_, Some(value)) => value,
    };
    match (filter, target.sub_attribute) {
        (None, None) => set_attribute(container, op, attribute, value),
        (None, Some(sub_attribute)) if !attribute.multi_valued => {
            let value = normalized(sub_attribute, value)?;
            let object = object_entry(container, attribute.name);
            write(object, sub_attribute, value).map_err(in_attribute(attribute))
        }
        (filter, sub_attribute) => set_elements(container, attribute, filter, sub_attribute, value),
    }
}

/// Whether a value of `add`/`replace` unassigns its target (RFC 7643 §2.5 treats null
/// and empty values as unassigned).
fn unassigns(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::String(text) => text.is_empty(),
        Value::Array(elements) => elements.is_empty(),
        _ => false,
    }
}

/// A path that is a schema URN: the extension as a whole (or, for the core URN, the
/// core attributes), whose object's members are applied one by one.
fn apply_schema(
    resource: &mut Map<String, Value>,
    op: OpKind,
    urn: &str,
    value: Option<&Value>,
    schema: &ResourceSchema,
) -> Result<()> {
    let extension = schema.extension(urn).map(|(urn, _)| urn);
    if extension.is_none() && !urn.eq_ignore_ascii_case(schema.schema) {
        // Another resource type's schema: nothing of it is published here.
        return Ok(());
    }
    match (extension, op, value) {
        (Some(extension), OpKind::Remove, _) | (Some(extension), _, Some(Value::Null)) => {
            json::remove(resource, extension);
            Ok(())
        }
        (_, OpKind::Add | OpKind::Replace, Some(Value::Object(members))) => {
            for (key, value) in members {
                let path = AttributePath::parse(&format!("{urn}:{key}"))?;
                apply_path(resource, op, &path, Some(value), schema)?;
            }
            Ok(())
        }
        (None, OpKind::Remove, _) => Err(ScimError::invalid_path(format!(
            "{urn} is the resource's core schema: remove its attributes one by one"
        ))),
        _ => Err(ScimError::invalid_value(format!(
            "{urn} takes an object of its attributes"
        ))),
    }
}

/// Unassigns the target. `listed`: Entra ID's legacy member removal names the elements
/// to remove in the operation's value (`{"op":"Remove","path":"members","value":[…]}`).
fn remove(
    container: &mut Map<String, Value>,
    target: &Target<'_>,
    filter: Option<&Filter>,
    listed: Option<&Value>,
) -> Result<()> {
    let attribute = target.attribute;
    let Some(current) = json::member_mut(container, attribute.name) else {
        return Ok(());
    };
    match (filter, target.sub_attribute) {
        (None, None) => match listed.filter(|listed| attribute.multi_valued && !listed.is_null()) {
            Some(listed) => {
                let listed = elements(attribute, listed)?;
                if let Value::Array(elements) = current {
                    elements.retain(|element| !listed.iter().any(|l| contains(element, l)));
                }
            }
            None => {
                if attribute.required {
                    return Err(ScimError::mutability(format!(
                        "{} is required and cannot be removed",
                        attribute.name
                    )));
                }
                check(attribute, Some(current), None)?;
                json::remove(container, attribute.name);
            }
        },
        (filter, Some(sub_attribute)) => {
            for object in selected(current, attribute, filter) {
                if let Some(old) = json::member(object, sub_attribute.name) {
                    check(sub_attribute, Some(old), None).map_err(in_attribute(attribute))?;
                    json::remove(object, sub_attribute.name);
                }
            }
            if let Value::Array(elements) = current {
                elements.retain(|element| element.as_object().is_none_or(|o| !o.is_empty()));
            }
        }
        (Some(filter), None) => {
            if let Value::Array(elements) = current {
                elements.retain(|element| !filter.matches_element(element, attribute));
            }
        }
    }
    // Unassigned once nothing is left (RFC 7644 §3.5.2.2).
    if json::member(container, attribute.name).is_some_and(is_vacant) {
        json::remove(container, attribute.name);
    }
    Ok(())
}

fn is_vacant(value: &Value) -> bool {
    match value {
        Value::Array(elements) => elements.is_empty(),
        Value::Object(members) => members.is_empty(),
        _ => false,
    }
}

/// The objects a sub-attribute path reaches inside an attribute's value: the value of a
/// single-valued complex attribute, or the elements the filter selects (all without one).
fn selected<'v>(
    current: &'v mut Value,
    attribute: &Attribute,
    filter: Option<&Filter>,
) -> Vec<&'v mut Map<String, Value>> {
    match current {
        Value::Object(object) => vec![object],
        Value::Array(elements) => elements
            .iter_mut()
            .filter(|element| {
                filter.is_none_or(|filter| filter.matches_element(element, attribute))
            })
            .filter_map(Value::as_object_mut)
            .collect(),
        _ => Vec::new(),
    }
}

/// Sets a whole attribute (no filter, no sub-attribute).
fn set_attribute(
    container: &mut Map<String, Value>,
    op: OpKind,
    attribute: &Attribute,
    value: &Value,
) -> Result<()> {
    let current = json::member(container, attribute.name);
    if !attribute.multi_valued {
        // A read-only value is compared as sent: normalizing would drop its read-only
        // sub-attributes and hide the attempted change.
        let mut value = match attribute.mutability {
            Mutability::ReadOnly => value.clone(),
            _ => normalized(attribute, value)?,
        };
        // `add` merges into a complex value; `replace` replaces it (RFC 7644 §3.5.2.1, .3).
        if let (OpKind::Add, Some(Value::Object(old)), Value::Object(new)) = (op, current, &value) {
            let mut merged = old.clone();
            for (name, sub_value) in new {
                json::put(&mut merged, name, sub_value.clone());
            }
            value = Value::Object(merged);
        }
        return write(container, attribute, value);
    }
    let new = elements(attribute, value)?;
    let (mut elements, touched) = match op {
        OpKind::Add => {
            let mut elements = current
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            let mut touched = Vec::new();
            for element in new {
                if !elements
                    .iter()
                    .any(|old| same_element(attribute, old, &element))
                {
                    touched.push(elements.len());
                    elements.push(element);
                }
            }
            (elements, touched)
        }
        // Okta replaces all the members of a group at once.
        _ => {
            let touched = (0..new.len()).collect();
            (new, touched)
        }
    };
    single_primary(&mut elements, &touched);
    write(container, attribute, Value::Array(elements))
}

/// Sets the elements a filter selects (all without one), or their sub-attribute; creates
/// the element when none is selected and the filter describes one.
fn set_elements(
    container: &mut Map<String, Value>,
    attribute: &Attribute,
    filter: Option<&Filter>,
    sub_attribute: Option<&Attribute>,
    value: &Value,
) -> Result<()> {
    let updates: Vec<(&Attribute, Value)> = match sub_attribute {
        Some(sub_attribute) => vec![(sub_attribute, normalized(sub_attribute, value)?)],
        None => match normalized_element(attribute, value)? {
            Value::Object(members) => members
                .into_iter()
                .filter_map(|(name, value)| Some((attribute.sub_attribute(&name)?, value)))
                .collect(),
            _ => {
                return Err(ScimError::invalid_value(format!(
                    "an element of {} must be an object",
                    attribute.name
                )));
            }
        },
    };
    let mut elements = json::member(container, attribute.name)
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let mut touched: Vec<usize> = (0..elements.len())
        .filter(|&index| {
            filter.is_none_or(|filter| filter.matches_element(&elements[index], attribute))
        })
        .collect();
    if touched.is_empty() {
        let element = described_element(attribute, filter).ok_or_else(|| {
            ScimError::no_target(format!(
                "no element of {} matches the filter",
                attribute.name
            ))
        })?;
        touched.push(elements.len());
        elements.push(Value::Object(element));
    }
    for &index in &touched {
        if let Value::Object(element) = &mut elements[index] {
            for (sub_attribute, value) in &updates {
                write(element, sub_attribute, value.clone()).map_err(in_attribute(attribute))?;
            }
        }
    }
    single_primary(&mut elements, &touched);
    json::put(container, attribute.name, Value::Array(elements));
    Ok(())
}

/// The element a filter made of `eq` comparisons joined by `and` describes (an empty
/// one without filter): what Entra ID expects `emails[type eq "work"].value` to create
/// when the user has no work email. None for any other filter.
fn described_element(attribute: &Attribute, filter: Option<&Filter>) -> Option<Map<String, Value>> {
    let mut element = Map::new();
    for conjunct in filter.map(Filter::conjuncts).unwrap_or_default() {
        let Filter::Compare {
            path,
            op: CompareOp::Eq,
            value,
        } = conjunct
        else {
            return None;
        };
        let sub_attribute = attribute.sub_attribute(&path.attribute)?;
        if path.sub_attribute.is_some() || sub_attribute.mutability == Mutability::ReadOnly {
            return None;
        }
        let value = normalized(sub_attribute, value).ok()?;
        element.insert(sub_attribute.name.to_owned(), value);
    }
    Some(element)
}

/// Sets `attribute` in `object` after checking its mutability.
fn write(object: &mut Map<String, Value>, attribute: &Attribute, value: Value) -> Result<()> {
    check(
        attribute,
        json::member(object, attribute.name),
        Some(&value),
    )?;
    json::put(object, attribute.name, value);
    Ok(())
}

/// Whether changing `attribute` from `current` to `new` is allowed. Writing the value it
/// already has changes nothing and is allowed: Okta renames a group with a path-less
/// `replace` that also carries the group's (read-only) id.
fn check(attribute: &Attribute, current: Option<&Value>, new: Option<&Value>) -> Result<()> {
    let current = current.filter(|value| !value.is_null());
    if current == new {
        return Ok(());
    }
    match attribute.mutability {
        Mutability::ReadOnly => Err(ScimError::mutability(format!(
            "{} is read-only",
            attribute.name
        ))),
        Mutability::Immutable if current.is_some() => Err(ScimError::mutability(format!(
            "{} is immutable and already set",
            attribute.name
        ))),
        _ => Ok(()),
    }
}

fn normalized(attribute: &Attribute, value: &Value) -> Result<Value> {
    let mut value = value.clone();
    schema::normalize_value(attribute, &mut value)?;
    Ok(value)
}

fn normalized_element(attribute: &Attribute, value: &Value) -> Result<Value> {
    let mut value = value.clone();
    schema::normalize_single(attribute, &mut value)?;
    Ok(value)
}

/// The elements a value for a multi-valued attribute carries: an array, or one element.
fn elements(attribute: &Attribute, value: &Value) -> Result<Vec<Value>> {
    match value {
        Value::Array(elements) => elements
            .iter()
            .filter(|element| !element.is_null())
            .map(|element| normalized_element(attribute, element))
            .collect(),
        element => Ok(vec![normalized_element(attribute, element)?]),
    }
}

/// Whether two elements are the same: equal, or for elements whose `value` is
/// immutable (a group member's id), with the same `value` (compared exactly).
fn same_element(attribute: &Attribute, old: &Value, new: &Value) -> bool {
    let identified = attribute
        .sub_attribute("value")
        .is_some_and(|value| value.mutability == Mutability::Immutable);
    match (json::get(old, "value"), json::get(new, "value")) {
        (Some(old_value), Some(new_value)) if identified => old_value == new_value,
        _ => old == new,
    }
}

/// Whether `element` has every sub-attribute `listed` has, with the same value.
fn contains(element: &Value, listed: &Value) -> bool {
    match listed {
        Value::Object(members) => members
            .iter()
            .all(|(name, value)| json::get(element, name) == Some(value)),
        value => element == value,
    }
}

/// At most one element is primary (RFC 7643 §2.4): the last of those just set primary
/// stays so, the others become `primary: false`.
fn single_primary(elements: &mut [Value], touched: &[usize]) {
    let primary = |element: &Value| json::get(element, "primary") == Some(&Value::Bool(true));
    let Some(&kept) = touched
        .iter()
        .rev()
        .find(|&&index| primary(&elements[index]))
    else {
        return;
    };
    for (index, element) in elements.iter_mut().enumerate() {
        if index != kept
            && primary(element)
            && let Value::Object(members) = element
        {
            json::put(members, "primary", Value::Bool(false));
        }
    }
}

/// The object under `name`, created (or replacing a value that is not an object).
fn object_entry<'m>(
    container: &'m mut Map<String, Value>,
    name: &str,
) -> &'m mut Map<String, Value> {
    let object = match json::remove(container, name) {
        Some(Value::Object(object)) => object,
        _ => Map::new(),
    };
    match container.entry(name).or_insert(Value::Object(object)) {
        Value::Object(object) => object,
        _ => unreachable!("an object was just inserted"),
    }
}

/// Drops extension objects left empty and makes `schemas` (when present) list exactly
/// the extensions the resource has (RFC 7643 §3).
fn list_extensions(resource: &mut Map<String, Value>, schema: &ResourceSchema) {
    for (urn, _, _) in &schema.extensions {
        let present = json::member(resource, urn).is_some_and(|value| !is_vacant(value));
        if !present {
            json::remove(resource, urn);
        }
        if let Some(Value::Array(schemas)) = json::member_mut(resource, "schemas") {
            let listed = schemas.iter().position(|listed| {
                listed
                    .as_str()
                    .is_some_and(|listed| listed.eq_ignore_ascii_case(urn))
            });
            match (present, listed) {
                (true, None) => schemas.push(Value::from(*urn)),
                (false, Some(index)) => {
                    schemas.remove(index);
                }
                _ => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::{ENTERPRISE_USER, GROUP, USER, group, user};
    use serde_json::json;

    fn ann() -> Value {
        json!({
            "schemas": [USER],
            "id": "u1",
            "userName": "ann@example.com",
            "name": {"givenName": "Ann", "familyName": "Smith"},
            "active": true,
            "emails": [{"value": "ann@work.example", "type": "work", "primary": true}],
            "meta": {"resourceType": "User", "version": "W/\"1\""},
        })
    }

    fn admins() -> Value {
        json!({
            "schemas": [GROUP],
            "id": "g1",
            "displayName": "Admins",
            "members": [{"value": "u1"}, {"value": "u2"}],
        })
    }

    fn body(operations: Value) -> Value {
        json!({"schemas": [PATCH_OP], "Operations": operations})
    }

    fn patched(resource: Value, schema: &ResourceSchema, operations: Value) -> Result<Value> {
        let operations = parse_patch(&body(operations))?;
        let mut resource = resource;
        apply_patch(&mut resource, &operations, schema)?;
        Ok(resource)
    }

    fn user_after(operations: Value) -> Value {
        patched(ann(), user(), operations).unwrap_or_else(|error| panic!("{error}"))
    }

    fn group_after(operations: Value) -> Value {
        patched(admins(), group(), operations).unwrap_or_else(|error| panic!("{error}"))
    }

    fn user_error(operations: Value) -> ScimError {
        patched(ann(), user(), operations).unwrap_err()
    }

    #[test]
    fn parse_needs_the_patch_op_schema() {
        let error =
            parse_patch(&json!({"Operations": [{"op": "add", "path": "title", "value": "x"}]}))
                .unwrap_err();
        assert_eq!(error.scim_type, Some("invalidSyntax"));
        let other = json!({"schemas": [USER], "Operations": [{"op": "add", "path": "title", "value": "x"}]});
        assert_eq!(
            parse_patch(&other).unwrap_err().scim_type,
            Some("invalidSyntax")
        );
    }

    #[test]
    fn parse_needs_a_non_empty_operations_array_of_at_most_1000() {
        assert_eq!(
            parse_patch(&body(json!([]))).unwrap_err().scim_type,
            Some("invalidSyntax")
        );
        assert_eq!(
            parse_patch(&body(json!({}))).unwrap_err().scim_type,
            Some("invalidSyntax")
        );
        let many = vec![json!({"op": "remove", "path": "title"}); 1001];
        let error = parse_patch(&body(Value::Array(many))).unwrap_err();
        assert_eq!(
            (error.scim_type, error.detail.as_str()),
            (Some("tooMany"), "at most 1000 operations per request")
        );
        let enough = vec![json!({"op": "remove", "path": "title"}); 1000];
        assert_eq!(
            parse_patch(&body(Value::Array(enough))).unwrap().len(),
            1000
        );
    }

    #[test]
    fn parse_accepts_entra_capitalised_ops() {
        let operations = parse_patch(&body(json!([
            {"op": "Add", "path": "title", "value": "CEO"},
            {"op": "Replace", "path": "active", "value": "False"},
            {"op": "REMOVE", "path": "title"},
        ])))
        .unwrap();
        let ops: Vec<OpKind> = operations.iter().map(|o| o.op).collect();
        assert_eq!(ops, [OpKind::Add, OpKind::Replace, OpKind::Remove]);
        assert_eq!(
            operations[1].path.as_ref().map(|p| p.attribute.as_str()),
            Some("active")
        );
        assert_eq!(operations[1].value, Some(json!("False")));
    }

    #[test]
    fn parse_refuses_unknown_ops_missing_paths_values_and_bad_paths() {
        let error = |operation: Value| parse_patch(&body(json!([operation]))).unwrap_err();
        let unknown = error(json!({"op": "move", "path": "title"}));
        assert_eq!(
            (unknown.scim_type, unknown.detail.as_str()),
            (
                Some("invalidSyntax"),
                "operation 1: op must be add, remove or replace"
            )
        );
        assert_eq!(error(json!({"op": "remove"})).scim_type, Some("noTarget"));
        assert_eq!(
            error(json!({"op": "replace", "path": "title"})).scim_type,
            Some("invalidSyntax")
        );
        assert_eq!(
            error(json!({"op": "add", "path": "emails[type eq]", "value": "x"})).scim_type,
            Some("invalidPath")
        );
        assert_eq!(
            error(json!({"op": "add", "path": 7, "value": "x"})).scim_type,
            Some("invalidPath")
        );
        // An explicit null is a value (it unassigns).
        let null = parse_patch(&body(
            json!([{"op": "replace", "path": "title", "value": null}]),
        ))
        .unwrap();
        assert_eq!(null[0].value, Some(Value::Null));
    }

    #[test]
    fn entra_string_booleans_are_coerced() {
        let after = user_after(json!([{"op": "Replace", "path": "active", "value": "False"}]));
        assert_eq!(after["active"], false);
        let error = user_error(json!([{"op": "replace", "path": "active", "value": "nope"}]));
        assert_eq!(error.scim_type, Some("invalidValue"));
    }

    #[test]
    fn okta_path_less_replace_sets_each_attribute() {
        // Okta deactivates with `{"op":"replace","value":{"active":false}}`.
        let after =
            user_after(json!([{"op": "replace", "value": {"active": false, "Title": "CTO"}}]));
        assert_eq!(
            (after["active"].clone(), after["title"].clone()),
            (json!(false), json!("CTO"))
        );
        let error = user_error(json!([{"op": "replace", "value": "x"}]));
        assert_eq!(error.scim_type, Some("invalidSyntax"));
    }

    #[test]
    fn entra_path_less_keys_may_be_dotted_or_urn_qualified_paths() {
        let after = user_after(json!([{"op": "replace", "value": {
            "name.givenName": "Anna",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber": "7",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager": "m-1",
        }}]));
        assert_eq!(
            after["name"],
            json!({"givenName": "Anna", "familyName": "Smith"})
        );
        assert_eq!(
            after[ENTERPRISE_USER],
            json!({"employeeNumber": "7", "manager": {"value": "m-1"}})
        );
        assert_eq!(after["schemas"], json!([USER, ENTERPRISE_USER]));
    }

    #[test]
    fn an_extension_urn_with_an_object_is_merged_into_the_extension() {
        let mut user_with_extension = ann();
        user_with_extension[ENTERPRISE_USER] = json!({"department": "R&D"});
        let operations = json!([{"op": "add", "value": {ENTERPRISE_USER: {"costCenter": "42"}}}]);
        let after = patched(user_with_extension, user(), operations.clone()).unwrap();
        assert_eq!(
            after[ENTERPRISE_USER],
            json!({"department": "R&D", "costCenter": "42"})
        );
        let with_path =
            json!([{"op": "replace", "path": ENTERPRISE_USER, "value": {"division": "EU"}}]);
        assert_eq!(
            user_after(with_path)[ENTERPRISE_USER],
            json!({"division": "EU"})
        );
    }

    #[test]
    fn removing_the_extension_urn_removes_the_extension_and_its_schema() {
        let mut user_with_extension = ann();
        user_with_extension[ENTERPRISE_USER] = json!({"department": "R&D"});
        user_with_extension["schemas"] = json!([USER, ENTERPRISE_USER]);
        let operations = json!([{"op": "remove", "path": ENTERPRISE_USER}]);
        let after = patched(user_with_extension.clone(), user(), operations).unwrap();
        assert!(after.get(ENTERPRISE_USER).is_none());
        assert_eq!(after["schemas"], json!([USER]));
        let last_attribute =
            json!([{"op": "remove", "path": format!("{ENTERPRISE_USER}:department")}]);
        assert_eq!(
            patched(user_with_extension, user(), last_attribute).unwrap(),
            ann()
        );
    }

    #[test]
    fn okta_group_rename_carries_the_groups_own_id() {
        let renamed =
            group_after(json!([{"op": "replace", "value": {"id": "g1", "displayName": "Owners"}}]));
        assert_eq!(
            (renamed["id"].clone(), renamed["displayName"].clone()),
            (json!("g1"), json!("Owners"))
        );
        let error = patched(
            admins(),
            group(),
            json!([{"op": "replace", "value": {"id": "g2", "displayName": "Owners"}}]),
        )
        .unwrap_err();
        assert_eq!(
            (error.scim_type, error.detail.as_str()),
            (Some("mutability"), "operation 1: id is read-only")
        );
    }

    #[test]
    fn add_appends_to_a_multi_valued_attribute_skipping_existing_members() {
        // Okta and Entra add members as an array; a member already there is not doubled,
        // and the read-only `display` Okta sends is not stored.
        let after = group_after(json!([{"op": "add", "path": "members", "value": [
            {"value": "u2", "display": "Bob"},
            {"value": "u3", "display": "Cy"},
        ]}]));
        assert_eq!(
            after["members"],
            json!([{"value": "u1"}, {"value": "u2"}, {"value": "u3"}])
        );
        let single =
            group_after(json!([{"op": "add", "path": "members", "value": {"value": "u4"}}]));
        assert_eq!(single["members"][2], json!({"value": "u4"}));
        let emails = user_after(
            json!([{"op": "add", "path": "emails", "value": [{"value": "a@home", "type": "home"}]}]),
        );
        assert_eq!(emails["emails"].as_array().map(Vec::len), Some(2));
    }

    #[test]
    fn add_and_replace_set_a_single_valued_attribute() {
        assert_eq!(
            user_after(json!([{"op": "add", "path": "title", "value": "CEO"}]))["title"],
            "CEO"
        );
        assert_eq!(
            user_after(json!([{"op": "replace", "path": "USERNAME", "value": "ann@x"}]))["userName"],
            "ann@x"
        );
        let error = user_error(json!([{"op": "replace", "path": "userName", "value": 7}]));
        assert_eq!(
            (error.scim_type, error.detail.as_str()),
            (
                Some("invalidValue"),
                "operation 1: userName must be a string"
            )
        );
    }

    #[test]
    fn add_merges_a_complex_value_and_replace_replaces_it() {
        let added =
            user_after(json!([{"op": "add", "path": "name", "value": {"formatted": "Ann Smith"}}]));
        assert_eq!(
            added["name"],
            json!({"givenName": "Ann", "familyName": "Smith", "formatted": "Ann Smith"})
        );
        let replaced = user_after(
            json!([{"op": "replace", "path": "name", "value": {"formatted": "Ann Smith"}}]),
        );
        assert_eq!(replaced["name"], json!({"formatted": "Ann Smith"}));
    }

    #[test]
    fn a_sub_attribute_path_sets_the_sub_attribute_creating_its_parent() {
        let mut nameless = ann();
        nameless.as_object_mut().map(|user| user.remove("name"));
        let after = patched(
            nameless,
            user(),
            json!([{"op": "add", "path": "name.givenName", "value": "Ann"}]),
        )
        .unwrap();
        assert_eq!(after["name"], json!({"givenName": "Ann"}));
    }

    #[test]
    fn member_ids_compare_exactly_when_adding() {
        let after =
            group_after(json!([{"op": "add", "path": "members", "value": [{"value": "U1"}]}]));
        assert_eq!(
            after["members"],
            json!([{"value": "u1"}, {"value": "u2"}, {"value": "U1"}])
        );
    }

    #[test]
    fn a_sub_attribute_path_without_filter_changes_every_element() {
        let mut two = ann();
        two["emails"] = json!([{"value": "a@w"}, {"value": "a@h"}]);
        let after = patched(
            two,
            user(),
            json!([{"op": "replace", "path": "emails.type", "value": "other"}]),
        )
        .unwrap();
        assert_eq!(
            after["emails"],
            json!([{"value": "a@w", "type": "other"}, {"value": "a@h", "type": "other"}])
        );
    }

    #[test]
    fn okta_replaces_all_members_at_once() {
        let after =
            group_after(json!([{"op": "replace", "path": "members", "value": [{"value": "u9"}]}]));
        assert_eq!(after["members"], json!([{"value": "u9"}]));
    }

    #[test]
    fn replace_with_a_filter_merges_into_the_selected_elements() {
        let after = user_after(
            json!([{"op": "replace", "path": "emails[type eq \"work\"]", "value": {"value": "ann@new.example"}}]),
        );
        assert_eq!(
            after["emails"],
            json!([{"value": "ann@new.example", "type": "work", "primary": true}])
        );
    }

    #[test]
    fn a_filter_with_a_sub_attribute_sets_it_on_each_selected_element() {
        let mut two = ann();
        two["emails"] = json!([{"value": "a@w", "type": "work"}, {"value": "a@h", "type": "home"}, {"value": "b@w", "type": "WORK"}]);
        let after = patched(
            two,
            user(),
            json!([{"op": "replace", "path": "emails[type eq \"work\"].value", "value": "new@w"}]),
        )
        .unwrap();
        assert_eq!(
            after["emails"],
            json!([{"value": "new@w", "type": "work"}, {"value": "a@h", "type": "home"}, {"value": "new@w", "type": "WORK"}])
        );
    }

    #[test]
    fn entra_creates_the_work_email_a_filter_describes() {
        let mut no_emails = ann();
        no_emails.as_object_mut().map(|user| user.remove("emails"));
        for op in ["Add", "Replace"] {
            let operations = json!([{"op": op, "path": "emails[type eq \"work\"].value", "value": "ann@work.example"}]);
            let after = patched(no_emails.clone(), user(), operations).unwrap();
            assert_eq!(
                after["emails"],
                json!([{"type": "work", "value": "ann@work.example"}]),
                "{op}"
            );
        }
        let with_primary = json!([{"op": "add", "path": "emails[type eq \"home\" and primary eq \"true\"]", "value": {"value": "a@h"}}]);
        let after = patched(ann(), user(), with_primary).unwrap();
        assert_eq!(
            after["emails"],
            json!([
                {"value": "ann@work.example", "type": "work", "primary": false},
                {"type": "home", "primary": true, "value": "a@h"},
            ])
        );
    }

    #[test]
    fn a_filter_selecting_nothing_that_describes_no_element_is_no_target() {
        for path in [
            r#"emails[type ne "work"].value"#,
            r#"emails[type eq "home" or type eq "other"]"#,
            r#"emails[value sw "x"]"#,
        ] {
            let error = user_error(json!([{"op": "replace", "path": path, "value": "x@y"}]));
            let expected = "operation 1: no element of emails matches the filter";
            assert_eq!(
                (error.scim_type, error.detail.as_str()),
                (Some("noTarget"), expected),
                "{path}"
            );
        }
    }

    #[test]
    fn remove_unassigns_an_attribute_or_a_sub_attribute() {
        let after = user_after(json!([
            {"op": "add", "path": "title", "value": "Lead"},
            {"op": "remove", "path": "title"},
            {"op": "remove", "path": "name.givenName"},
        ]));
        assert!(after.get("title").is_none());
        assert_eq!(after["name"], json!({"familyName": "Smith"}));
        let nameless = user_after(
            json!([{"op": "remove", "path": "name.givenName"}, {"op": "remove", "path": "name.familyName"}]),
        );
        assert!(nameless.get("name").is_none());
    }

    #[test]
    fn remove_with_a_filter_removes_the_selected_members() {
        let after = group_after(json!([{"op": "remove", "path": "members[value eq \"u1\"]"}]));
        assert_eq!(after["members"], json!([{"value": "u2"}]));
        // Member ids compare exactly.
        assert_eq!(
            group_after(json!([{"op": "remove", "path": "members[value eq \"U1\"]"}])),
            admins()
        );
        let empty = group_after(
            json!([{"op": "remove", "path": "members[value eq \"u1\" or value eq \"u2\"]"}]),
        );
        assert!(empty.get("members").is_none());
    }

    #[test]
    fn remove_with_a_filter_and_sub_attribute_removes_it_from_the_selected_elements() {
        let after =
            user_after(json!([{"op": "remove", "path": "emails[type eq \"work\"].primary"}]));
        assert_eq!(
            after["emails"],
            json!([{"value": "ann@work.example", "type": "work"}])
        );
    }

    #[test]
    fn entra_legacy_member_removal_removes_only_the_listed_members() {
        let after =
            group_after(json!([{"op": "Remove", "path": "members", "value": [{"value": "u2"}]}]));
        assert_eq!(after["members"], json!([{"value": "u1"}]));
        let all = group_after(json!([{"op": "remove", "path": "members"}]));
        assert!(all.get("members").is_none());
    }

    #[test]
    fn removing_a_required_attribute_is_a_mutability_error() {
        let error = user_error(json!([{"op": "remove", "path": "userName"}]));
        assert_eq!(
            (error.scim_type, error.detail.as_str()),
            (
                Some("mutability"),
                "operation 1: userName is required and cannot be removed"
            )
        );
        let group_error = patched(
            admins(),
            group(),
            json!([{"op": "replace", "path": "displayName", "value": ""}]),
        )
        .unwrap_err();
        assert_eq!(group_error.scim_type, Some("mutability"));
    }

    #[test]
    fn removing_what_is_absent_changes_nothing() {
        assert_eq!(
            user_after(json!([{"op": "remove", "path": "title"}])),
            ann()
        );
        assert_eq!(
            user_after(json!([{"op": "remove", "path": format!("{ENTERPRISE_USER}:department")}])),
            ann()
        );
        assert_eq!(
            group_after(json!([{"op": "remove", "path": "members[value eq \"nobody\"]"}])),
            admins()
        );
    }

    #[test]
    fn null_empty_string_and_empty_array_unassign() {
        let after = user_after(json!([
            {"op": "add", "path": "title", "value": "Lead"},
            {"op": "replace", "path": "title", "value": null},
            {"op": "add", "path": "name.givenName", "value": ""},
            {"op": "replace", "path": "emails", "value": []},
        ]));
        assert!(after.get("title").is_none());
        assert_eq!(after["name"], json!({"familyName": "Smith"}));
        assert!(after.get("emails").is_none());
        // Adding no element adds nothing: it must not empty a group.
        assert_eq!(
            group_after(json!([{"op": "add", "path": "members", "value": []}])),
            admins()
        );
    }

    #[test]
    fn setting_an_element_primary_unsets_the_others() {
        let after = user_after(
            json!([{"op": "add", "path": "emails", "value": [{"value": "a@h", "type": "home", "primary": "True"}]}]),
        );
        assert_eq!(
            after["emails"],
            json!([
                {"value": "ann@work.example", "type": "work", "primary": false},
                {"value": "a@h", "type": "home", "primary": true},
            ])
        );
    }

    #[test]
    fn read_only_attributes_cannot_change() {
        for (path, value) in [
            ("id", json!("u2")),
            ("meta", json!({"version": "x"})),
            ("meta.version", json!("x")),
        ] {
            let error = user_error(json!([{"op": "replace", "path": path, "value": value}]));
            assert_eq!(error.scim_type, Some("mutability"), "{path}");
        }
        assert_eq!(
            user_error(json!([{"op": "remove", "path": "meta"}])).scim_type,
            Some("mutability")
        );
        let add_meta = json!([{"op": "add", "path": "meta", "value": {"version": "W/\"2\""}}]);
        assert_eq!(user_error(add_meta).scim_type, Some("mutability"));
        let same_meta = json!([{"op": "add", "value": {"meta": {"version": "W/\"1\""}}}]);
        assert_eq!(user_after(same_meta), ann());
    }

    #[test]
    fn immutable_attributes_may_be_added_but_not_changed() {
        let error = patched(
            admins(),
            group(),
            json!([{"op": "replace", "path": "members[value eq \"u1\"].value", "value": "u7"}]),
        )
        .unwrap_err();
        assert_eq!(
            (error.scim_type, error.detail.as_str()),
            (
                Some("mutability"),
                "operation 1: members.value is immutable and already set"
            )
        );
        let typed = group_after(
            json!([{"op": "add", "path": "members[value eq \"u1\"].type", "value": "User"}]),
        );
        assert_eq!(typed["members"][0], json!({"value": "u1", "type": "User"}));
    }

    #[test]
    fn entra_unpublished_attributes_are_ignored() {
        let after = user_after(json!([
            {"op": "Add", "path": "phoneNumbers[type eq \"work\"].value", "value": "555"},
            {"op": "Replace", "path": "addresses[type eq \"work\"].locality", "value": "Paris"},
            {"op": "Replace", "path": "name.honorificPrefix", "value": "Dr"},
            {"op": "Replace", "value": {"nickName": "Annie"}},
            {"op": "Remove", "path": "x509Certificates"},
        ]));
        assert_eq!(after, ann());
    }

    #[test]
    fn a_value_filter_on_a_single_valued_attribute_is_an_invalid_path() {
        let error = user_error(
            json!([{"op": "replace", "path": "name[givenName eq \"Ann\"].familyName", "value": "X"}]),
        );
        assert_eq!(error.scim_type, Some("invalidPath"));
    }

    #[test]
    fn a_failing_operation_leaves_the_resource_unchanged() {
        let operations = parse_patch(&body(json!([
            {"op": "replace", "path": "title", "value": "CEO"},
            {"op": "replace", "path": "id", "value": "other"},
        ])))
        .unwrap();
        let mut resource = ann();
        assert!(apply_patch(&mut resource, &operations, user()).is_err());
        assert_eq!(resource, ann());
    }
}
