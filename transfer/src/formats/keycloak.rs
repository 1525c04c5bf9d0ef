//! Keycloak's realm or users export (`kc.sh export`, or the admin console's partial export):
//! `{"users": […]}`. The fields read: `id` as the external id, `email`, `emailVerified`,
//! `firstName` and `lastName` as the display name, `enabled` (`false` suspends),
//! `createdTimestamp`, `attributes` (one-value lists become values; `locale` becomes the
//! language), and the `password` credential (PBKDF2 `secretData` and `credentialData`).

use super::{Read, json_users, parsed, required_email};
use crate::problem::Problem;
use crate::record::{IdentityRecord, Record};
use serde::Deserialize;
use serde_json::{Map, Value};
use std::io::BufRead;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct User {
    id: Option<String>,
    email: Option<String>,
    #[serde(default)]
    email_verified: bool,
    first_name: Option<String>,
    last_name: Option<String>,
    enabled: Option<bool>,
    created_timestamp: Option<i64>,
    #[serde(default)]
    attributes: Map<String, Value>,
    #[serde(default)]
    credentials: Vec<Credential>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Credential {
    #[serde(rename = "type")]
    kind: String,
    secret_data: Option<String>,
    credential_data: Option<String>,
}

pub(super) fn read<'a>(
    source: Box<dyn BufRead + Send + 'a>,
) -> Box<dyn Iterator<Item = Read> + Send + 'a> {
    json_users(source, convert)
}

fn convert(number: u64, user: Value) -> Result<Record, Vec<Problem>> {
    let user: User = parsed(number, serde_json::from_value(user), "a Keycloak user")?;
    let email = required_email(number, user.email)?;
    let mut attributes = Map::new();
    let mut locale = None;
    for (name, value) in user.attributes {
        let value = match value {
            Value::Array(mut values) if values.len() == 1 => values.remove(0),
            other => other,
        };
        if name == "locale" {
            locale = value.as_str().map(str::to_owned);
        } else {
            attributes.insert(name, value);
        }
    }
    let password_hash = user
        .credentials
        .iter()
        .find(|credential| credential.kind == "password")
        .map(|credential| {
            latchkey_password_hashes::from_keycloak(
                credential.secret_data.as_deref().unwrap_or_default(),
                credential.credential_data.as_deref().unwrap_or_default(),
            )
            .map_err(|error| vec![Problem::new(number, "credentials", error.to_string())])
        })
        .transpose()?;
    let display_name = [user.first_name, user.last_name]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" ");
    Ok(Record::Identity(Box::new(IdentityRecord {
        email,
        email_verified: user.email_verified,
        display_name: (!display_name.is_empty()).then_some(display_name),
        locale,
        external_id: user.id,
        status: (user.enabled == Some(false)).then(|| "suspended".to_owned()),
        attributes: (!attributes.is_empty()).then_some(Value::Object(attributes)),
        created_at: user
            .created_timestamp
            .and_then(chrono::DateTime::from_timestamp_millis),
        password_hash,
        ..IdentityRecord::default()
    })))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_user_with_a_pbkdf2_credential_becomes_an_identity() {
        let user = json!({
            "id": "5d3fbd8b-4ee1-4f2b-9bb7-5c06d8a3b6a1",
            "username": "ada",
            "email": "ada@example.com",
            "emailVerified": false,
            "enabled": false,
            "firstName": "Ada",
            "lastName": "Lovelace",
            "createdTimestamp": 1700000000000_i64,
            "attributes": { "locale": ["fr"], "team": ["blue"] },
            "credentials": [{
                "type": "password",
                "secretData": "{\"value\":\"4571tXhE/j30Fqse9JNH5XmYQMRl6N5pDdskpgIkPn4=\",\"salt\":\"c2Vhc2FsdDIwMjQ=\",\"additionalParameters\":{}}",
                "credentialData": "{\"hashIterations\":260000,\"algorithm\":\"pbkdf2-sha256\",\"additionalParameters\":{}}"
            }]
        });
        let Record::Identity(identity) = convert(3, user).unwrap() else {
            panic!("not an identity");
        };
        assert_eq!(identity.display_name.as_deref(), Some("Ada Lovelace"));
        assert_eq!(identity.locale.as_deref(), Some("fr"));
        assert_eq!(identity.attributes.unwrap(), json!({ "team": "blue" }));
        assert_eq!(identity.status.as_deref(), Some("suspended"));
        assert!(!identity.email_verified);
        let stored = identity.password_hash.unwrap();
        assert!(latchkey_password_hashes::verify(b"hunter2", &stored).unwrap());
    }
}
