//! CSV: a header row, then one identity per row. Columns (only `email` is required; the
//! order is free):
//! `email`, `email_verified` (`true`/`false`, `1`/`0`, `yes`/`no`), `display_name`, `phone`,
//! `locale`, `external_id`, `status` (`active`, `suspended`), `password_hash` (bcrypt, a PHC
//! string or Django's `pbkdf2_sha256$…`), `organization` (a slug) with `roles` (separated by
//! spaces or `;`), `attributes` (a JSON object) and `attributes.<name>` for one attribute,
//! and `id` (kept when no identity has it). An empty cell is no value. This is also what a
//! CSV export writes.

use super::{Read, any_hash};
use crate::problem::Problem;
use crate::record::{IdentityRecord, MembershipRecord, Record};
use serde_json::{Map, Value};
use std::io::BufRead;

const COLUMNS: [&str; 12] = [
    "id",
    "attributes",
    "email",
    "email_verified",
    "display_name",
    "phone",
    "locale",
    "external_id",
    "status",
    "password_hash",
    "organization",
    "roles",
];

pub(super) fn read<'a>(
    source: Box<dyn BufRead + Send + 'a>,
) -> Box<dyn Iterator<Item = Read> + Send + 'a> {
    let mut reader = ::csv::ReaderBuilder::new()
        .flexible(false)
        .from_reader(source);
    let header: Vec<String> = match reader.headers() {
        Ok(header) => header.iter().map(|name| name.trim().to_owned()).collect(),
        Err(error) => {
            return Box::new(std::iter::once((
                1,
                Err(vec![Problem::new(
                    1,
                    "",
                    format!("the header cannot be read: {error}"),
                )]),
            )));
        }
    };
    let unknown: Vec<Problem> = header
        .iter()
        .filter(|name| !COLUMNS.contains(&name.as_str()) && !name.starts_with("attributes."))
        .map(|name| {
            Problem::new(
                1,
                name.as_str(),
                format!("is not a column Latchkey reads; name an attribute `attributes.{name}`"),
            )
        })
        .collect();
    if !header.iter().any(|name| name == "email") {
        return Box::new(std::iter::once((
            1,
            Err(vec![Problem::new(
                1,
                "email",
                "the header has no `email` column",
            )]),
        )));
    }
    if !unknown.is_empty() {
        return Box::new(std::iter::once((1, Err(unknown))));
    }
    Box::new(reader.into_records().map(move |row| {
        let number = row
            .as_ref()
            .ok()
            .and_then(|row| row.position())
            .map_or(0, |p| p.line());
        let row = match row {
            Ok(row) => row,
            Err(error) => {
                let line = error.position().map_or(0, |p| p.line());
                return (
                    line,
                    Err(vec![Problem::new(
                        line,
                        "",
                        format!("cannot be read: {error}"),
                    )]),
                );
            }
        };
        let cells = header
            .iter()
            .zip(row.iter())
            .filter(|(_, value)| !value.trim().is_empty())
            .map(|(name, value)| (name.as_str(), value.trim()));
        (number, convert(number, cells))
    }))
}

fn convert<'r>(
    number: u64,
    cells: impl Iterator<Item = (&'r str, &'r str)>,
) -> Result<Record, Vec<Problem>> {
    let mut identity = IdentityRecord::default();
    let mut attributes = Map::new();
    let mut organization = None;
    let mut roles = Vec::new();
    let mut problems = Vec::new();
    for (name, value) in cells {
        match name {
            "id" => match uuid::Uuid::parse_str(value) {
                Ok(id) => identity.id = Some(id),
                Err(_) => problems.push(Problem::new(number, name, "is not a UUID")),
            },
            "attributes" => match serde_json::from_str::<Value>(value) {
                Ok(Value::Object(map)) => attributes.extend(map),
                _ => problems.push(Problem::new(number, name, "is not a JSON object")),
            },
            "email" => identity.email = value.to_owned(),
            "email_verified" => match value.to_ascii_lowercase().as_str() {
                "true" | "1" | "yes" => identity.email_verified = true,
                "false" | "0" | "no" => identity.email_verified = false,
                _ => problems.push(Problem::new(number, name, "is not true or false")),
            },
            "display_name" => identity.display_name = Some(value.to_owned()),
            "phone" => identity.phone = Some(value.to_owned()),
            "locale" => identity.locale = Some(value.to_owned()),
            "external_id" => identity.external_id = Some(value.to_owned()),
            "status" => identity.status = Some(value.to_owned()),
            "password_hash" => match any_hash(number, name, value) {
                Ok(hash) => identity.password_hash = Some(hash),
                Err(problem) => problems.push(problem),
            },
            "organization" => organization = Some(value.to_owned()),
            "roles" => {
                roles = value
                    .split([';', ' '])
                    .filter(|role| !role.is_empty())
                    .map(str::to_owned)
                    .collect();
            }
            attribute => {
                let key = attribute.trim_start_matches("attributes.");
                attributes.insert(key.to_owned(), Value::String(value.to_owned()));
            }
        }
    }
    if identity.email.is_empty() {
        problems.push(Problem::new(number, "email", "is empty"));
    }
    match organization {
        Some(organization) => identity.memberships.push(MembershipRecord {
            organization,
            roles,
            valid_from: None,
            valid_until: None,
        }),
        None if !roles.is_empty() => {
            problems.push(Problem::new(
                number,
                "roles",
                "are given without an organization",
            ));
        }
        None => {}
    }
    if !attributes.is_empty() {
        identity.attributes = Some(Value::Object(attributes));
    }
    if problems.is_empty() {
        Ok(Record::Identity(Box::new(identity)))
    } else {
        Err(problems)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(text: &'static str) -> Vec<Read> {
        read(Box::new(text.as_bytes())).collect()
    }

    #[test]
    fn rows_become_identities_with_memberships_and_attributes() {
        let rows = all(
            "email,email_verified,display_name,organization,roles,attributes.plan\nada@example.com,yes,Ada,acme,org:admin;org:member,pro\n",
        );
        assert_eq!(rows.len(), 1);
        let (number, Ok(Record::Identity(identity))) = &rows[0] else {
            panic!("not an identity: {rows:?}");
        };
        assert_eq!(*number, 2);
        assert!(identity.email_verified);
        assert_eq!(identity.memberships[0].roles, ["org:admin", "org:member"]);
        assert_eq!(identity.attributes.as_ref().unwrap()["plan"], "pro");
    }

    #[test]
    fn unknown_columns_and_bad_cells_are_problems_with_their_line() {
        let rows = all("email,colour\nada@example.com,blue\n");
        let (_, Err(problems)) = &rows[0] else {
            panic!()
        };
        assert_eq!(problems[0].field, "colour");
        let rows = all("email,email_verified,roles\nada@example.com,maybe,org:admin\n");
        let (number, Err(problems)) = &rows[0] else {
            panic!()
        };
        assert_eq!(*number, 2);
        assert_eq!(problems.len(), 2);
    }
}
