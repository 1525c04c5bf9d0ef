//! An identity as a SCIM User, and a SCIM User as the changes it asks for.
//!
//! The mapping: `userName` is the identity's address; `displayName` its display name;
//! `preferredLanguage` its locale; `active` the identity's status (tenant directory) or the
//! membership's (organization directory); `externalId`, `name`, `title`, `emails` and the
//! enterprise extension are the directory's own (`links`). An identity the directory has not
//! provisioned shows its address as the one `work` email, so `emails[type eq "work"].value`
//! resolves.

use super::links::UserLink;
use super::{ScimResult, version_of};
use crate::identities::Identity;
use crate::validate::Locale;
use chrono::{DateTime, SecondsFormat, Utc};
use latchkey_scim::schema::{ENTERPRISE_USER, USER};
use latchkey_scim::{ScimError, schema};
use serde_json::{Map, Value, json};

/// The attributes kept in the link's profile, as the schema names them.
const PROFILE_ATTRIBUTES: [&str; 4] = ["name", "title", "emails", ENTERPRISE_USER];

/// The most a directory may keep per user in its profile.
const MAX_PROFILE_BYTES: usize = 16 * 1024;

/// One user as a directory sees it.
pub(super) struct UserView<'a> {
    pub identity: &'a Identity,
    pub link: Option<&'a UserLink>,
    pub active: bool,
    /// When the membership changed last (organization directories).
    pub membership_updated_at: Option<DateTime<Utc>>,
}

fn timestamp(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// The SCIM User of `view`, with `meta` (its version over everything else).
pub(super) fn render(view: &UserView<'_>, base_url: &str) -> Value {
    let identity = view.identity;
    let mut user = Map::new();
    let profile = view.link.map(|link| &link.profile);
    let mut schemas = vec![json!(USER)];
    if profile.is_some_and(|p| p.get(ENTERPRISE_USER).is_some()) {
        schemas.push(json!(ENTERPRISE_USER));
    }
    user.insert("schemas".into(), Value::Array(schemas));
    user.insert("id".into(), json!(identity.id));
    if let Some(external_id) = view.link.and_then(|link| link.external_id.as_ref()) {
        user.insert("externalId".into(), json!(external_id));
    }
    user.insert("userName".into(), json!(identity.email));
    if let Some(name) = &identity.display_name {
        user.insert("displayName".into(), json!(name));
    }
    if let Some(locale) = &identity.locale {
        user.insert("preferredLanguage".into(), json!(locale));
    }
    user.insert("active".into(), json!(view.active));
    if let Some(profile) = profile.and_then(Value::as_object) {
        for (key, value) in profile {
            user.insert(key.clone(), value.clone());
        }
    }
    // Someone the directory did not provision (a sign-up) still shows an address; what the
    // directory provisioned shows exactly the emails it sent.
    if !user.contains_key("emails") && view.link.is_none() {
        user.insert(
            "emails".into(),
            json!([{ "value": identity.email, "type": "work", "primary": true }]),
        );
    }
    let last_modified = [
        Some(identity.updated_at),
        view.link.and_then(|link| link.updated_at),
        view.membership_updated_at,
    ]
    .into_iter()
    .flatten()
    .max()
    .unwrap_or(identity.updated_at);
    let mut user = Value::Object(user);
    let version = version_of(&user);
    user["meta"] = json!({
        "resourceType": "User",
        "created": timestamp(identity.created_at),
        "lastModified": timestamp(last_modified),
        "location": format!("{base_url}/Users/{}", identity.id),
        "version": version,
    });
    user
}

/// What a User from a directory (a POST or PUT body, or the result of a PATCH) asks for.
#[derive(Clone, Debug, PartialEq)]
pub(super) struct UserInput {
    pub user_name: String,
    pub display_name: Option<String>,
    pub preferred_language: Option<String>,
    pub active: bool,
    pub link: UserLink,
}

fn string_of(user: &Value, attribute: &str) -> ScimResult<Option<String>> {
    match user.get(attribute) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(text)) if text.trim().is_empty() => Ok(None),
        Some(Value::String(text)) => Ok(Some(text.clone())),
        Some(_) => Err(ScimError::invalid_value(format!(
            "{attribute} must be a string"
        ))),
    }
}

/// Reads a User: normalised by the schema (attribute names, string booleans), `userName`
/// required, `active` true unless said otherwise; attributes Latchkey does not keep are
/// dropped.
pub(super) fn parse(mut user: Value) -> ScimResult<UserInput> {
    if !user.is_object() {
        return Err(ScimError::invalid_syntax("the body must be a JSON object"));
    }
    schema::user().normalize(&mut user)?;
    let user_name = string_of(&user, "userName")?
        .ok_or_else(|| ScimError::invalid_value("userName is required"))?;
    let active = match user.get("active") {
        None | Some(Value::Null) => true,
        Some(Value::Bool(active)) => *active,
        Some(_) => return Err(ScimError::invalid_value("active must be a boolean")),
    };
    let mut profile = Map::new();
    for attribute in PROFILE_ATTRIBUTES {
        if let Some(value) = user.get(attribute).filter(|v| !v.is_null()) {
            profile.insert(attribute.to_owned(), value.clone());
        }
    }
    let profile = Value::Object(profile);
    if profile.to_string().len() > MAX_PROFILE_BYTES {
        return Err(ScimError::invalid_value(
            "name, title, emails and the enterprise extension must total at most 16 KiB",
        ));
    }
    let preferred_language = string_of(&user, "preferredLanguage")?;
    if let Some(language) = &preferred_language {
        Locale::parse("preferredLanguage", language).map_err(super::scim_error)?;
    }
    Ok(UserInput {
        user_name,
        display_name: string_of(&user, "displayName")?,
        preferred_language,
        active,
        link: UserLink {
            external_id: string_of(&user, "externalId")?,
            profile,
            updated_at: None,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identities::IdentityStatus;
    use uuid::Uuid;

    fn identity() -> Identity {
        let now = Utc::now();
        Identity {
            id: Uuid::now_v7(),
            email: "Ann@Example.com".into(),
            email_normalized: "ann@example.com".into(),
            email_verified: true,
            phone: None,
            display_name: Some("Ann".into()),
            status: IdentityStatus::Active,
            attributes: json!({}),
            external_id: None,
            locale: Some("en-US".into()),
            consents: json!({}),
            created_at: now,
            updated_at: now,
            last_sign_in_at: None,
            deleted_at: None,
        }
    }

    #[test]
    fn a_user_without_emails_from_its_directory_shows_its_address_as_the_work_email() {
        let identity = identity();
        let view = UserView {
            identity: &identity,
            link: None,
            active: true,
            membership_updated_at: None,
        };
        let user = render(&view, "https://id.example/t/a/scim/v2");
        assert_eq!(user["userName"], "Ann@Example.com");
        assert_eq!(user["emails"][0]["type"], "work");
        assert_eq!(user["emails"][0]["value"], "Ann@Example.com");
        assert_eq!(user["preferredLanguage"], "en-US");
        assert_eq!(
            user["meta"]["location"],
            format!("https://id.example/t/a/scim/v2/Users/{}", identity.id)
        );
        assert!(user["meta"]["version"].as_str().unwrap().starts_with("W/"));
    }

    #[test]
    fn the_directory_profile_is_shown_with_the_enterprise_schema() {
        let identity = identity();
        let link = UserLink {
            external_id: Some("e-1".into()),
            profile: json!({ "name": { "givenName": "Ann" }, ENTERPRISE_USER: { "department": "Sales" } }),
            updated_at: None,
        };
        let view = UserView {
            identity: &identity,
            link: Some(&link),
            active: false,
            membership_updated_at: None,
        };
        let user = render(&view, "https://id.example/t/a/scim/v2");
        assert_eq!(user["externalId"], "e-1");
        assert_eq!(user["active"], false);
        assert_eq!(user["name"]["givenName"], "Ann");
        assert_eq!(user[ENTERPRISE_USER]["department"], "Sales");
        assert_eq!(user["schemas"], json!([USER, ENTERPRISE_USER]));
    }

    #[test]
    fn parsing_requires_user_name_and_reads_string_booleans() {
        let missing = parse(json!({ "schemas": [USER], "displayName": "A" })).unwrap_err();
        assert_eq!(missing.scim_type, Some("invalidValue"));
        let input = parse(json!({
            "schemas": [USER], "UserName": "a@example.com", "active": "False",
            "name": { "givenName": "A", "familyName": "B" }, "externalId": "x",
            "phoneNumbers": [{ "value": "+1" }]
        }))
        .unwrap();
        assert_eq!(input.user_name, "a@example.com");
        assert!(!input.active);
        assert_eq!(input.link.external_id.as_deref(), Some("x"));
        assert_eq!(
            input.link.profile,
            json!({ "name": { "givenName": "A", "familyName": "B" } })
        );
    }
}
