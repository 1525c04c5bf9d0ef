//! A record read from a file, checked field by field as the services check their input, so
//! that the validation report names every problem before anything is written. An identity's
//! address and external id are also checked against the records before it: a file may name
//! each only once.

use crate::problem::Problem;
use crate::record::{IdentityRecord, MembershipRecord, OrganizationRecord, Record, RoleRecord};
use chrono::{DateTime, Utc};
use latchkey_core::identities::{CheckedIdentity, IdentityStatus, NewIdentity};
use latchkey_core::organizations::{NewOrganization, OrganizationKind, OrganizationRole, Window};
use latchkey_core::passkeys::PortablePasskey;
use std::collections::HashMap;
use uuid::Uuid;

/// A record ready to be written.
#[derive(Clone, Debug)]
pub enum Checked {
    Role(OrganizationRole),
    Organization(NewOrganization),
    Identity(Box<CheckedIdentityRecord>),
}

/// An identity record with every field checked.
#[derive(Clone, Debug)]
pub struct CheckedIdentityRecord {
    pub id: Option<Uuid>,
    pub identity: CheckedIdentity,
    pub status: IdentityStatus,
    pub created_at: Option<DateTime<Utc>>,
    pub password_hash: Option<String>,
    pub passkeys: Vec<PortablePasskey>,
    pub memberships: Vec<CheckedMembership>,
}

/// A membership naming its organization by slug, with a checked window.
#[derive(Clone, Debug)]
pub struct CheckedMembership {
    pub organization: String,
    pub roles: Vec<String>,
    pub window: Window,
}

/// The addresses and external ids seen so far in a file, with the record that named each.
#[derive(Default)]
pub struct Seen {
    emails: HashMap<String, u64>,
    external_ids: HashMap<String, u64>,
}

/// Checks record `number`; `seen` remembers its address and external id.
pub fn check(number: u64, record: Record, seen: &mut Seen) -> Result<Checked, Vec<Problem>> {
    match record {
        Record::Role(role) => Ok(Checked::Role(role_of(role))),
        Record::Organization(organization) => organization_of(number, organization)
            .map(Checked::Organization)
            .map_err(|problem| vec![problem]),
        Record::Identity(identity) => {
            identity_of(number, *identity, seen).map(|checked| Checked::Identity(Box::new(checked)))
        }
    }
}

fn role_of(role: RoleRecord) -> OrganizationRole {
    OrganizationRole {
        id: None,
        name: role.name,
        description: role.description,
        permissions: role.permissions,
        created_at: None,
    }
}

fn organization_of(number: u64, record: OrganizationRecord) -> Result<NewOrganization, Problem> {
    let kind = match record
        .kind
        .as_deref()
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        None | Some("customer") => OrganizationKind::Customer,
        Some("partner") => OrganizationKind::Partner,
        Some(other) => {
            return Err(Problem::new(
                number,
                "kind",
                format!("{other:?} is neither customer nor partner"),
            ));
        }
    };
    Ok(NewOrganization {
        name: record.name,
        slug: record.slug,
        kind,
        metadata: record.metadata,
        external_id: record.external_id,
    })
}

fn identity_of(
    number: u64,
    record: IdentityRecord,
    seen: &mut Seen,
) -> Result<CheckedIdentityRecord, Vec<Problem>> {
    let mut problems = Vec::new();
    let status = match record
        .status
        .as_deref()
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        None | Some("active") => IdentityStatus::Active,
        Some("suspended") => IdentityStatus::Suspended,
        Some(other) => {
            problems.push(Problem::new(
                number,
                "status",
                format!("{other:?} is neither active nor suspended"),
            ));
            IdentityStatus::Active
        }
    };
    let identity = NewIdentity {
        email: record.email,
        email_verified: record.email_verified,
        display_name: record.display_name,
        phone: record.phone,
        attributes: record.attributes,
        external_id: record.external_id,
        locale: record.locale,
    }
    .check()
    .map_err(|error| problems.push(Problem::from_error(number, &error)))
    .ok();
    if let Some(hash) = &record.password_hash
        && let Err(error) = latchkey_password_hashes::parse(hash)
    {
        problems.push(Problem::new(number, "passwordHash", error.to_string()));
    }
    for passkey in &record.passkeys {
        if let Err(error) = passkey.check() {
            problems.push(Problem::from_error(number, &error));
        }
    }
    let memberships = record
        .memberships
        .into_iter()
        .filter_map(|membership| membership_of(number, membership, &mut problems))
        .collect();
    if let Some(identity) = &identity {
        if let Some(first) = seen
            .emails
            .insert(identity.email.normalized().to_owned(), number)
        {
            problems.push(Problem::new(
                number,
                "email",
                format!("record {first} has the same address; an identity may appear once"),
            ));
        }
        if let Some(external_id) = &identity.external_id
            && let Some(first) = seen.external_ids.insert(external_id.clone(), number)
        {
            problems.push(Problem::new(
                number,
                "externalId",
                format!("record {first} has the same external id"),
            ));
        }
    }
    match identity {
        Some(identity) if problems.is_empty() => Ok(CheckedIdentityRecord {
            id: record.id,
            identity,
            status,
            created_at: record.created_at,
            password_hash: record.password_hash,
            passkeys: record.passkeys,
            memberships,
        }),
        _ => Err(problems),
    }
}

fn membership_of(
    number: u64,
    membership: MembershipRecord,
    problems: &mut Vec<Problem>,
) -> Option<CheckedMembership> {
    match Window::checked(membership.valid_from, membership.valid_until) {
        Ok(window) => Some(CheckedMembership {
            organization: membership.organization,
            roles: membership.roles,
            window,
        }),
        Err(error) => {
            problems.push(Problem::from_error(number, &error));
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn identity(email: &str, external_id: Option<&str>) -> Record {
        Record::Identity(Box::new(IdentityRecord {
            email: email.into(),
            external_id: external_id.map(str::to_owned),
            ..IdentityRecord::default()
        }))
    }

    #[test]
    fn every_problem_of_a_record_is_named() {
        let record = Record::Identity(Box::new(IdentityRecord {
            email: "not an address".into(),
            status: Some("gone".into()),
            password_hash: Some("$2b$99$nope".into()),
            ..IdentityRecord::default()
        }));
        let problems = check(5, record, &mut Seen::default()).unwrap_err();
        let fields: Vec<&str> = problems.iter().map(|p| p.field.as_str()).collect();
        assert_eq!(fields, ["status", "email", "passwordHash"]);
        assert!(problems.iter().all(|p| p.record == 5));
    }

    #[test]
    fn an_address_or_external_id_may_appear_once() {
        let mut seen = Seen::default();
        check(1, identity("ada@example.com", Some("a")), &mut seen).unwrap();
        let again = check(2, identity("ADA@example.com", None), &mut seen).unwrap_err();
        assert!(again[0].message.contains("record 1"));
        let external = check(3, identity("bob@example.com", Some("a")), &mut seen).unwrap_err();
        assert_eq!(external[0].field, "externalId");
    }
}
