//! The formats an import reads, each into [`Record`]s of the Latchkey format:
//! - `latchkey`: Latchkey's own JSON lines (what an export writes);
//! - `auth0`: Auth0's user export, JSON lines, with bcrypt `passwordHash` where Auth0 gave it;
//! - `keycloak`: a realm or users export (`{"users": […]}`), with PBKDF2 credentials;
//! - `firebase`: `firebase auth:export` JSON (`{"users": […]}`), whose scrypt hashes need the
//!   project's hash parameters ([`FormatOptions::firebase`]);
//! - `csv`: one identity per row with a header (see [`csv`]).
//!
//! Each record comes with its number (its line, or its position in `users`), or with what is
//! wrong with it; a file that cannot be read at all is one problem at record 0.

mod auth0;
mod csv;
mod firebase;
mod keycloak;
mod latchkey;

use crate::problem::Problem;
use crate::record::Record;
use latchkey_password_hashes::FirebaseConfig;
use serde::{Deserialize, Serialize};
use std::io::BufRead;

/// The format of an import file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    Latchkey,
    Auth0,
    Keycloak,
    Firebase,
    Csv,
}

impl Format {
    pub const ALL: [Format; 5] = [
        Format::Latchkey,
        Format::Auth0,
        Format::Keycloak,
        Format::Firebase,
        Format::Csv,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Format::Latchkey => "latchkey",
            Format::Auth0 => "auth0",
            Format::Keycloak => "keycloak",
            Format::Firebase => "firebase",
            Format::Csv => "csv",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|format| format.as_str().eq_ignore_ascii_case(value))
    }
}

/// What a format needs besides the file.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FormatOptions {
    /// Firebase's project hash parameters (Authentication → Users → ⋮ → Password hash
    /// parameters), needed to import Firebase password hashes.
    #[serde(default)]
    pub firebase: Option<FirebaseConfig>,
}

/// One record read from a file: its number and the record, or what is wrong with it.
pub type Read = (u64, Result<Record, Vec<Problem>>);

/// Reads `source` as `format`.
pub fn read<'a>(
    format: Format,
    source: Box<dyn BufRead + Send + 'a>,
    options: &FormatOptions,
) -> Box<dyn Iterator<Item = Read> + Send + 'a> {
    match format {
        Format::Latchkey => Box::new(latchkey::read(source)),
        Format::Auth0 => Box::new(auth0::read(source)),
        Format::Keycloak => keycloak::read(source),
        Format::Firebase => firebase::read(source, options.firebase.clone()),
        Format::Csv => csv::read(source),
    }
}

/// Record `number` as one of `what` (`an Auth0 user`), from the parser's answer.
fn parsed<T>(number: u64, answer: serde_json::Result<T>, what: &str) -> Result<T, Vec<Problem>> {
    answer.map_err(|error| vec![Problem::new(number, "", format!("not {what}: {error}"))])
}

/// The address of record `number`, which every Latchkey identity has.
fn required_email(number: u64, email: Option<String>) -> Result<String, Vec<Problem>> {
    email.ok_or_else(|| {
        vec![Problem::new(
            number,
            "email",
            "is missing; Latchkey identities have an address",
        )]
    })
}

/// The lines of `source` that are not blank, numbered from 1, each parsed by `parse`.
fn json_lines<'a, T: Send + 'a>(
    source: Box<dyn BufRead + Send + 'a>,
    parse: impl Fn(u64, &str) -> Result<T, Vec<Problem>> + Send + 'a,
) -> impl Iterator<Item = (u64, Result<T, Vec<Problem>>)> + Send + 'a {
    source.lines().enumerate().filter_map(move |(index, line)| {
        let number = index as u64 + 1;
        let parsed = match line {
            Ok(line) if line.trim().is_empty() => return None,
            Ok(line) => parse(number, &line),
            Err(error) => Err(vec![Problem::new(
                number,
                "",
                format!("cannot be read: {error}"),
            )]),
        };
        Some((number, parsed))
    })
}

/// The `users` array of a JSON document (`{"users": […]}`, or the array itself), each user
/// numbered from 1 and converted by `convert`.
fn json_users<'a>(
    source: Box<dyn BufRead + Send + 'a>,
    convert: impl Fn(u64, serde_json::Value) -> Result<Record, Vec<Problem>> + Send + 'a,
) -> Box<dyn Iterator<Item = Read> + Send + 'a> {
    let document: serde_json::Value = match serde_json::from_reader(source) {
        Ok(document) => document,
        Err(error) => {
            return Box::new(std::iter::once((
                0,
                Err(vec![Problem::new(
                    0,
                    "",
                    format!("the file is not JSON: {error}"),
                )]),
            )));
        }
    };
    let users = match document {
        serde_json::Value::Array(users) => users,
        serde_json::Value::Object(mut map) => match map.remove("users") {
            Some(serde_json::Value::Array(users)) => users,
            _ => {
                return Box::new(std::iter::once((
                    0,
                    Err(vec![Problem::new(
                        0,
                        "users",
                        "the file has no `users` array",
                    )]),
                )));
            }
        },
        _ => {
            return Box::new(std::iter::once((
                0,
                Err(vec![Problem::new(0, "", "the file is not a JSON object")]),
            )));
        }
    };
    Box::new(users.into_iter().enumerate().map(move |(index, user)| {
        let number = index as u64 + 1;
        (number, convert(number, user))
    }))
}

/// A password hash as CSV files and Auth0 give it: bcrypt or a PHC string as it is, a stored
/// form of `latchkey-password-hashes`, or Django's `algorithm$iterations$salt$hash`.
fn any_hash(record: u64, field: &str, value: &str) -> Result<String, Problem> {
    let converted = if value.starts_with('$') {
        latchkey_password_hashes::parse(value).map(|_| value.to_owned())
    } else {
        latchkey_password_hashes::from_django(value)
    };
    converted.map_err(|error| Problem::new(record, field, error.to_string()))
}
