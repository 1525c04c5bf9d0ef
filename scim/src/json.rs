//! Case-insensitive access to the members of JSON objects: SCIM attribute names are
//! case-insensitive (RFC 7643 §2.1), so a client's `UserName` is the resource's `userName`.

use serde_json::{Map, Value};

/// The member of `object` named `name`, ignoring case.
pub(crate) fn member<'m>(object: &'m Map<String, Value>, name: &str) -> Option<&'m Value> {
    object
        .iter()
        .find(|(key, _)| key.eq_ignore_ascii_case(name))
        .map(|(_, value)| value)
}

/// The member of `object` named `name`, ignoring case, to change it.
pub(crate) fn member_mut<'m>(
    object: &'m mut Map<String, Value>,
    name: &str,
) -> Option<&'m mut Value> {
    object
        .iter_mut()
        .find(|(key, _)| key.eq_ignore_ascii_case(name))
        .map(|(_, value)| value)
}

/// The member named `name` of `value`, ignoring case; None when `value` is not an object.
pub(crate) fn get<'v>(value: &'v Value, name: &str) -> Option<&'v Value> {
    value.as_object().and_then(|object| member(object, name))
}

/// Removes the member named `name`, ignoring case, and returns it.
pub(crate) fn remove(object: &mut Map<String, Value>, name: &str) -> Option<Value> {
    let key = object
        .keys()
        .find(|key| key.eq_ignore_ascii_case(name))?
        .clone();
    object.remove(&key)
}

/// Sets the member `name` (in this exact case), replacing one spelled in another case.
pub(crate) fn put(object: &mut Map<String, Value>, name: &str, value: Value) {
    remove(object, name);
    object.insert(name.to_owned(), value);
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn object(value: Value) -> Map<String, Value> {
        value.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn members_are_found_ignoring_case() {
        let user = json!({"userName": "ann"});
        assert_eq!(get(&user, "USERNAME"), Some(&json!("ann")));
        assert_eq!(get(&json!("text"), "userName"), None);
    }

    #[test]
    fn put_replaces_a_member_spelled_in_another_case() {
        let mut user = object(json!({"username": "ann"}));
        put(&mut user, "userName", json!("bob"));
        assert_eq!(Value::Object(user), json!({"userName": "bob"}));
    }

    #[test]
    fn remove_and_member_mut_ignore_case() {
        let mut user = object(json!({"Active": true, "title": "x"}));
        if let Some(title) = member_mut(&mut user, "TITLE") {
            *title = json!("y");
        }
        assert_eq!(remove(&mut user, "active"), Some(json!(true)));
        assert_eq!(Value::Object(user), json!({"title": "y"}));
    }
}
