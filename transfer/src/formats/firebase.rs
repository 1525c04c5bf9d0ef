//! `firebase auth:export users.json --format=JSON`: `{"users": […]}`. The fields read:
//! `localId` as the external id, `email`, `emailVerified`, `displayName`, `phoneNumber`,
//! `disabled` (suspends), `createdAt` (milliseconds), `customAttributes` (a JSON object in a
//! string) as attributes, and `passwordHash` with `salt`, which verify only with the project's
//! hash parameters.

use super::{Read, json_users, parsed, required_email};
use crate::problem::Problem;
use crate::record::{IdentityRecord, Record};
use latchkey_password_hashes::FirebaseConfig;
use serde::Deserialize;
use serde_json::Value;
use std::io::BufRead;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct User {
    local_id: Option<String>,
    email: Option<String>,
    #[serde(default)]
    email_verified: bool,
    display_name: Option<String>,
    phone_number: Option<String>,
    #[serde(default)]
    disabled: bool,
    created_at: Option<String>,
    custom_attributes: Option<String>,
    password_hash: Option<String>,
    salt: Option<String>,
}

pub(super) fn read<'a>(
    source: Box<dyn BufRead + Send + 'a>,
    config: Option<FirebaseConfig>,
) -> Box<dyn Iterator<Item = Read> + Send + 'a> {
    json_users(source, move |number, user| {
        convert(number, user, config.as_ref())
    })
}

fn convert(
    number: u64,
    user: Value,
    config: Option<&FirebaseConfig>,
) -> Result<Record, Vec<Problem>> {
    let user: User = parsed(number, serde_json::from_value(user), "a Firebase user")?;
    let email = required_email(number, user.email)?;
    let mut problems = Vec::new();
    let password_hash = match (user.password_hash, config) {
        (None, _) => None,
        (Some(_), None) => {
            problems.push(Problem::new(
                number,
                "passwordHash",
                "needs the project's password hash parameters (signer key, salt separator, rounds, memory cost): give them with the import",
            ));
            None
        }
        (Some(hash), Some(config)) => {
            match latchkey_password_hashes::from_firebase(
                &hash,
                user.salt.as_deref().unwrap_or_default(),
                config,
            ) {
                Ok(stored) => Some(stored),
                Err(error) => {
                    problems.push(Problem::new(number, "passwordHash", error.to_string()));
                    None
                }
            }
        }
    };
    let attributes = match user.custom_attributes {
        None => None,
        Some(text) => match serde_json::from_str::<Value>(&text) {
            Ok(value @ Value::Object(_)) => Some(value),
            _ => {
                problems.push(Problem::new(
                    number,
                    "customAttributes",
                    "is not a JSON object",
                ));
                None
            }
        },
    };
    let created_at = match user.created_at {
        None => None,
        Some(text) => match text
            .parse::<i64>()
            .ok()
            .and_then(chrono::DateTime::from_timestamp_millis)
        {
            Some(time) => Some(time),
            None => {
                problems.push(Problem::new(
                    number,
                    "createdAt",
                    "is not a time in milliseconds",
                ));
                None
            }
        },
    };
    if !problems.is_empty() {
        return Err(problems);
    }
    Ok(Record::Identity(Box::new(IdentityRecord {
        email,
        email_verified: user.email_verified,
        display_name: user.display_name,
        phone: user.phone_number,
        external_id: user.local_id,
        status: user.disabled.then(|| "suspended".to_owned()),
        attributes,
        created_at,
        password_hash,
        ..IdentityRecord::default()
    })))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// The example of Firebase's scrypt repository (github.com/firebase/scrypt).
    fn config() -> FirebaseConfig {
        FirebaseConfig {
            signer_key: "jxspr8Ki0RYycVU8zykbdLGjFQ3McFUH0uiiTvC8pVMXAn210wjLNmdZJzxUECKbm0QsEmYUSDzZvpjeJ9WmXA==".into(),
            salt_separator: "Bw==".into(),
            rounds: 8,
            mem_cost: 14,
        }
    }

    fn user() -> Value {
        json!({
            "localId": "u1",
            "email": "user1@example.com",
            "emailVerified": true,
            "passwordHash": "lSrfV15cpx95/sZS2W9c9Kp6i/LVgQNDNC/qzrCnh1SAyZvqmZqAjTdn3aoItz+VHjoZilo78198JAdRuid5lQ==",
            "salt": "42xEC+ixf3L2lw==",
            "createdAt": "1700000000000",
            "customAttributes": "{\"tier\":\"gold\"}",
            "disabled": false
        })
    }

    #[test]
    fn an_exported_user_with_the_project_parameters_becomes_an_identity() {
        let Record::Identity(identity) = convert(1, user(), Some(&config())).unwrap() else {
            panic!("not an identity");
        };
        assert_eq!(identity.external_id.as_deref(), Some("u1"));
        assert_eq!(identity.attributes.unwrap()["tier"], "gold");
        let stored = identity.password_hash.unwrap();
        assert!(latchkey_password_hashes::verify(b"user1password", &stored).unwrap());
    }

    #[test]
    fn a_hash_without_the_project_parameters_is_a_problem() {
        let problems = convert(4, user(), None).unwrap_err();
        assert_eq!(problems[0].field, "passwordHash");
        assert!(problems[0].message.contains("signer key"));
    }
}
