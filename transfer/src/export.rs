//! Exporting a tenant's identities. The Latchkey format ([`crate::record`]) carries
//! everything an import brings back (roles, organizations, identities with their passkeys'
//! public keys and memberships with roles and windows) and, for the record, federated links
//! and linked CRM records; never private keys, client secrets or tokens. Password hashes
//! only when asked for, by a tenant manager, and audited. CSV carries the identities' own
//! fields and attributes (as JSON), one row each.
//!
//! The export reads in pages of [`PAGE`] identities, each in its own transaction, so it never
//! holds the database for long; an identity created meanwhile may or may not be in it.

use crate::record::{
    FederatedLinkRecord, IdentityRecord, MembershipRecord, OrganizationRecord, Record, RoleRecord,
};
use latchkey_core::actor::{Actor, Permission};
use latchkey_core::authz::{Resource, authorize};
use latchkey_core::db::Database;
use latchkey_core::error::{Error, Result};
use latchkey_core::granted::{self, transfer};
use latchkey_core::identities::Identity;
use latchkey_core::scope::TenantScope;
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::collections::HashMap;
use std::io::Write;
use uuid::Uuid;

/// Identities read per transaction.
pub const PAGE: u64 = 500;

/// The format of an export.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ExportFormat {
    Latchkey,
    Csv,
}

impl ExportFormat {
    pub fn parse(value: &str) -> Option<Self> {
        match value.to_ascii_lowercase().as_str() {
            "latchkey" => Some(ExportFormat::Latchkey),
            "csv" => Some(ExportFormat::Csv),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            ExportFormat::Latchkey => "latchkey",
            ExportFormat::Csv => "csv",
        }
    }
}

/// What to export.
#[derive(Clone, Copy, Debug)]
pub struct ExportRequest {
    pub format: ExportFormat,
    /// Include password hashes: requires `ManageTenant`, and is audited.
    pub password_hashes: bool,
}

fn io(error: std::io::Error) -> Error {
    Error::internal(format!("the export cannot be written: {error}"))
}

/// Writes the tenant's identities to `out`, calling `progress` with the identities written
/// so far; returns their number. Requires `WriteIdentities` (administrators), and
/// `ManageTenant` for password hashes.
pub async fn export_identities(
    db: &Database,
    scope: &TenantScope,
    actor: &Actor,
    request: ExportRequest,
    out: &mut (impl Write + Send),
    mut progress: impl FnMut(u64) + Send,
) -> Result<u64> {
    // Administrators only: a whole tenant's data is more than reading identities one by one.
    let grant = authorize(actor, Permission::WriteIdentities, Resource::Tenant)?;
    let identities = authorize(actor, Permission::ReadIdentities, Resource::Tenant)?;
    let organizations = authorize(actor, Permission::ReadOrganizations, Resource::Tenant)?;
    let connectors = authorize(actor, Permission::ReadConnectors, Resource::Tenant)?;
    let hashes = match request.password_hashes {
        true => Some(authorize(
            actor,
            Permission::ManageTenant,
            Resource::Tenant,
        )?),
        false => None,
    };
    let csv = request.format == ExportFormat::Csv;
    let mut sink = Sink::new(out, csv);
    let tx = db.begin_tenant(scope).await?;
    granted::audit(
        &tx,
        &grant,
        "identity.export",
        None,
        json!({ "format": request.format.as_str(), "passwordHashes": request.password_hashes }),
    )
    .await?;
    let mut slugs = HashMap::new();
    if !csv {
        for role in transfer::tenant_roles(&tx, &organizations).await? {
            sink.line(&Record::Role(RoleRecord {
                name: role.name,
                description: role.description,
                permissions: role.permissions,
            }))?;
        }
        let mut after = None;
        loop {
            let page = granted::organizations_after(&tx, &organizations, after, 1000).await?;
            let Some(last) = page.last() else { break };
            after = Some(last.id);
            for organization in page {
                slugs.insert(organization.id, organization.slug.clone());
                sink.line(&Record::Organization(OrganizationRecord {
                    slug: organization.slug,
                    name: organization.name,
                    kind: Some(organization.kind.as_str().to_owned()),
                    external_id: organization.external_id,
                    metadata: Some(organization.metadata),
                }))?;
            }
        }
    } else {
        sink.row(csv_header(request.password_hashes))?;
    }
    tx.commit().await?;

    let mut written = 0;
    let mut after = None;
    loop {
        let tx = db.begin_tenant(scope).await?;
        let page = granted::identities_after(&tx, &identities, after, PAGE).await?;
        let Some(last) = page.last() else {
            tx.commit().await?;
            break;
        };
        after = Some(last.id);
        let ids: Vec<Uuid> = page.iter().map(|identity| identity.id).collect();
        let mut hashes = match &hashes {
            Some(grant) => transfer::password_hashes(&tx, grant, &ids).await?,
            None => HashMap::new(),
        };
        let mut records: HashMap<Uuid, IdentityRecord> = HashMap::new();
        if !csv {
            for (id, passkey) in transfer::passkeys_of(&tx, &identities, &ids).await? {
                records.entry(id).or_default().passkeys.push(passkey);
            }
            for membership in transfer::memberships_of(&tx, &organizations, &ids).await? {
                records
                    .entry(membership.identity_id)
                    .or_default()
                    .memberships
                    .push(MembershipRecord {
                        organization: slugs
                            .get(&membership.organization_id)
                            .cloned()
                            .unwrap_or_default(),
                        roles: membership.roles,
                        valid_from: membership.window.valid_from,
                        valid_until: membership.window.valid_until,
                    });
            }
            for link in transfer::federated_links_of(&tx, &identities, &ids).await? {
                records
                    .entry(link.identity_id)
                    .or_default()
                    .federated_links
                    .push(FederatedLinkRecord {
                        provider_id: link.provider_id,
                        subject: link.subject,
                        email: link.email,
                        created_at: link.created_at,
                    });
            }
            for link in latchkey_tenants::crm::record_links_of_in(&tx, &connectors, &ids).await? {
                records
                    .entry(link.subject_id)
                    .or_default()
                    .crm_records
                    .push(link);
            }
        }
        tx.commit().await?;
        for identity in page {
            let mut record = records.remove(&identity.id).unwrap_or_default();
            record.password_hash = hashes.remove(&identity.id);
            if csv {
                let hash = record.password_hash.as_deref();
                sink.row(csv_row(&identity, hash, request.password_hashes))?;
            } else {
                sink.line(&Record::Identity(Box::new(fill(record, identity))))?;
            }
            written += 1;
        }
        progress(written);
    }
    sink.flush()?;
    Ok(written)
}

/// Where an export's records go: JSON lines, or CSV rows through one writer (quoted where
/// they need to be).
enum Sink<'o, W: Write> {
    Lines(&'o mut W),
    Csv(Box<csv::Writer<&'o mut W>>),
}

impl<'o, W: Write> Sink<'o, W> {
    fn new(out: &'o mut W, csv: bool) -> Self {
        match csv {
            true => Sink::Csv(Box::new(csv::WriterBuilder::new().from_writer(out))),
            false => Sink::Lines(out),
        }
    }

    fn line(&mut self, record: &Record) -> Result<()> {
        let Sink::Lines(out) = self else {
            return Err(Error::internal("a JSON line in a CSV export"));
        };
        serde_json::to_writer(&mut **out, record).map_err(Error::internal)?;
        out.write_all(b"\n").map_err(io)
    }

    fn row<T: AsRef<[u8]>>(&mut self, fields: Vec<T>) -> Result<()> {
        let Sink::Csv(writer) = self else {
            return Err(Error::internal("a CSV row in a JSON-lines export"));
        };
        writer.write_record(fields).map_err(|e| io(e.into()))
    }

    fn flush(&mut self) -> Result<()> {
        match self {
            Sink::Lines(out) => out.flush(),
            Sink::Csv(writer) => writer.flush(),
        }
        .map_err(io)
    }
}

/// `record` (holding what other tables say) with the identity's own fields.
fn fill(record: IdentityRecord, identity: Identity) -> IdentityRecord {
    IdentityRecord {
        id: Some(identity.id),
        email: identity.email,
        email_verified: identity.email_verified,
        display_name: identity.display_name,
        phone: identity.phone,
        locale: identity.locale,
        external_id: identity.external_id,
        status: Some(identity.status.as_str().to_owned()),
        attributes: Some(identity.attributes),
        created_at: Some(identity.created_at),
        ..record
    }
}

fn csv_header(password_hashes: bool) -> Vec<&'static str> {
    let mut header = vec![
        "id",
        "email",
        "email_verified",
        "display_name",
        "phone",
        "locale",
        "external_id",
        "status",
        "attributes",
    ];
    if password_hashes {
        header.push("password_hash");
    }
    header
}

fn csv_row(identity: &Identity, hash: Option<&str>, password_hashes: bool) -> Vec<String> {
    let mut row = vec![
        identity.id.to_string(),
        identity.email.clone(),
        identity.email_verified.to_string(),
        identity.display_name.clone().unwrap_or_default(),
        identity.phone.clone().unwrap_or_default(),
        identity.locale.clone().unwrap_or_default(),
        identity.external_id.clone().unwrap_or_default(),
        identity.status.as_str().to_owned(),
        identity.attributes.to_string(),
    ];
    if password_hashes {
        row.push(hash.unwrap_or_default().to_owned());
    }
    row
}
