//! Auth0's user export: JSON lines as the export job (and, with hashes, Auth0 support) writes
//! them. The fields read: `user_id` (or `_id.$oid`, as `auth0|<oid>`) as the external id,
//! `email`, `email_verified`, `name` (or `given_name` and `family_name`), `phone_number`,
//! `user_metadata` as attributes, `blocked` as a suspension, `created_at`, and `passwordHash`
//! (bcrypt). Other fields are ignored.

use super::{Read, any_hash, json_lines, parsed, required_email};
use crate::problem::Problem;
use crate::record::{IdentityRecord, Record};
use serde::Deserialize;
use serde_json::Value;
use std::io::BufRead;

#[derive(Deserialize)]
struct User {
    #[serde(rename = "_id")]
    oid: Option<Value>,
    user_id: Option<String>,
    email: Option<String>,
    #[serde(default)]
    email_verified: bool,
    name: Option<String>,
    given_name: Option<String>,
    family_name: Option<String>,
    phone_number: Option<String>,
    user_metadata: Option<Value>,
    #[serde(default)]
    blocked: bool,
    created_at: Option<chrono::DateTime<chrono::Utc>>,
    #[serde(rename = "passwordHash")]
    password_hash: Option<String>,
}

pub(super) fn read<'a>(source: Box<dyn BufRead + Send + 'a>) -> impl Iterator<Item = Read> + 'a {
    json_lines(source, convert)
}

fn convert(number: u64, line: &str) -> Result<Record, Vec<Problem>> {
    let user: User = parsed(number, serde_json::from_str(line), "an Auth0 user")?;
    let oid = match &user.oid {
        Some(Value::Object(map)) => map.get("$oid").and_then(Value::as_str).map(str::to_owned),
        Some(Value::String(oid)) => Some(oid.clone()),
        _ => None,
    };
    let external_id = user.user_id.or(oid.map(|oid| format!("auth0|{oid}")));
    let email = required_email(number, user.email)?;
    let display_name = user.name.or_else(|| {
        let joined = [user.given_name, user.family_name]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(" ");
        (!joined.is_empty()).then_some(joined)
    });
    let password_hash = user
        .password_hash
        .map(|hash| any_hash(number, "passwordHash", &hash))
        .transpose()
        .map_err(|problem| vec![problem])?;
    Ok(Record::Identity(Box::new(IdentityRecord {
        email,
        email_verified: user.email_verified,
        display_name,
        phone: user.phone_number,
        external_id,
        status: user.blocked.then(|| "suspended".to_owned()),
        attributes: user.user_metadata,
        created_at: user.created_at,
        password_hash,
        ..IdentityRecord::default()
    })))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_export_line_becomes_an_identity() {
        let line = r#"{"_id":{"$oid":"60425da93519d90068f82966"},"email":"ada@example.com","email_verified":true,"name":"Ada","passwordHash":"$2b$10$C9h/eR2NiMzZ1a5Ya1xEGOm4xMcHZgZAUlJyDxYsnqeuvSSuIEcPm","connection":"Username-Password-Authentication","user_metadata":{"plan":"pro"},"blocked":true}"#;
        let Record::Identity(identity) = convert(1, line).unwrap() else {
            panic!("not an identity");
        };
        assert_eq!(
            identity.external_id.as_deref(),
            Some("auth0|60425da93519d90068f82966")
        );
        assert!(identity.email_verified);
        assert_eq!(identity.status.as_deref(), Some("suspended"));
        assert_eq!(identity.attributes.unwrap()["plan"], "pro");
        assert!(identity.password_hash.unwrap().starts_with("$2b$10$"));
    }

    #[test]
    fn a_line_without_an_address_is_a_problem() {
        let problems = convert(7, r#"{"user_id":"auth0|1"}"#).unwrap_err();
        assert_eq!(problems[0].record, 7);
        assert_eq!(problems[0].field, "email");
    }
}
