//! Importing identities: a job reads its file twice. The first pass checks every record and
//! writes nothing (the validation report); the second writes the records in batches of
//! [`BATCH`], each batch and the job's new position in one transaction, so an interrupted
//! import resumes after its last batch. Identities are matched by external id, then address,
//! then id: a match is brought up to date, anything else created, so importing the same file
//! again changes nothing. A batch that fails as a whole (a record the database refuses) is
//! written again record by record, so only the refused records fail.
//!
//! Nothing is published to CRM connectors and each import is audited once (start and end),
//! not per identity: a connector catches up with `latchkey connectors sync`.

use crate::checked::{Checked, CheckedIdentityRecord, Seen, check};
use crate::formats::{Format, FormatOptions, Read};
use crate::jobs::{self, ImportJob, ImportStatus, NewJob, Outcome};
use crate::problem::Problem;
use chrono::Utc;
use latchkey_core::actor::{Actor, Permission};
use latchkey_core::audit::Target;
use latchkey_core::authz::{Grant, Resource, authorize};
use latchkey_core::db::{Database, TenantTx};
use latchkey_core::error::{Error, Result};
use latchkey_core::granted::{self, transfer};
use latchkey_core::identities::{Identity, ImportedIdentity};
use latchkey_core::scope::TenantScope;
use serde_json::json;
use std::collections::{HashMap, HashSet};
use uuid::Uuid;

/// Records written per transaction.
pub const BATCH: usize = 1000;

/// What a new import is.
pub struct ImportRequest {
    pub format: Format,
    pub options: FormatOptions,
    /// Where the file comes from, for the job list: `cli:<name>` or `upload:<name>`.
    pub source: String,
    /// The file's SHA-256, hex.
    pub digest: String,
    /// Check every record and count what would be created and updated; write nothing.
    pub dry_run: bool,
    /// Report and skip invalid records instead of failing the whole import.
    pub skip_invalid: bool,
    /// The uploaded file, for jobs of the API.
    pub file_id: Option<Uuid>,
}

/// What an import may do: write identities, and write organizations (their roles and
/// memberships).
struct Grants<'a> {
    identities: Grant<'a>,
    organizations: Grant<'a>,
}

fn grant(actor: &Actor) -> Result<Grants<'_>> {
    Ok(Grants {
        identities: authorize(actor, Permission::WriteIdentities, Resource::Tenant)?,
        organizations: authorize(actor, Permission::WriteOrganizations, Resource::Tenant)?,
    })
}

/// Starts an import job. Requires `WriteIdentities` and `WriteOrganizations`.
pub async fn start_import(
    db: &Database,
    scope: &TenantScope,
    actor: &Actor,
    request: ImportRequest,
) -> Result<ImportJob> {
    let grants = grant(actor)?;
    let (actor_type, actor_id) = actor.audit_identity();
    let tx = db.begin_tenant(scope).await?;
    let job = jobs::insert_in(
        &tx,
        NewJob {
            format: request.format,
            options: request.options,
            skip_invalid: request.skip_invalid,
            source: request.source,
            digest: request.digest,
            dry_run: request.dry_run,
            file_id: request.file_id,
            created_by: format!("{actor_type}:{}", actor_id.unwrap_or_default()),
        },
        Utc::now(),
    )
    .await?;
    let id = job.id.to_string();
    granted::audit(
        &tx,
        &grants.identities,
        "identity.import.start",
        Some(Target {
            kind: "identity_import",
            id: &id,
        }),
        json!({ "format": job.format.as_str(), "source": job.source, "dryRun": job.dry_run }),
    )
    .await?;
    tx.commit().await?;
    Ok(job)
}

/// One import job. Requires `ReadIdentities`.
pub async fn get_import(
    db: &Database,
    scope: &TenantScope,
    actor: &Actor,
    id: Uuid,
) -> Result<ImportJob> {
    authorize(actor, Permission::ReadIdentities, Resource::Tenant)?;
    let tx = db.begin_tenant(scope).await?;
    let job = jobs::find_in(&tx, id).await?;
    tx.commit().await?;
    Ok(job)
}

/// The newest unfinished import of the file with `digest`, to resume. Requires
/// `WriteIdentities` and `WriteOrganizations`.
pub async fn resumable_import(
    db: &Database,
    scope: &TenantScope,
    actor: &Actor,
    digest: &str,
) -> Result<Option<ImportJob>> {
    grant(actor)?;
    let tx = db.begin_tenant(scope).await?;
    let job = jobs::resumable_in(&tx, digest).await?;
    tx.commit().await?;
    Ok(job)
}

/// The tenant's newest import jobs (at most 100). Requires `ReadIdentities`.
pub async fn list_imports(
    db: &Database,
    scope: &TenantScope,
    actor: &Actor,
) -> Result<Vec<ImportJob>> {
    authorize(actor, Permission::ReadIdentities, Resource::Tenant)?;
    let tx = db.begin_tenant(scope).await?;
    let list = jobs::list_in(&tx, 100).await?;
    tx.commit().await?;
    Ok(list)
}

async fn save(db: &Database, scope: &TenantScope, job: &ImportJob) -> Result<()> {
    let tx = db.begin_tenant(scope).await?;
    jobs::save_in(&tx, job, Utc::now()).await?;
    tx.commit().await
}

/// The first pass: reads and checks every record of `records`, writing nothing but the job's
/// report and total. Unless the job skips invalid records, a file with any problem fails here.
pub async fn validate_import(
    db: &Database,
    scope: &TenantScope,
    actor: &Actor,
    job: ImportJob,
    records: impl Iterator<Item = Read>,
) -> Result<ImportJob> {
    grant(actor)?;
    let mut job = job;
    let mut seen = Seen::default();
    let (mut total, mut invalid) = (0, 0);
    job.errors.clear();
    for (number, read) in records {
        total += 1;
        if let Err(problems) = read.and_then(|record| check(number, record, &mut seen)) {
            invalid += 1;
            job.note(problems);
        }
    }
    job.total = total;
    if invalid > 0 && !job.skip_invalid {
        job.failed = invalid;
        job.status = ImportStatus::Failed;
        job.finished_at = Some(Utc::now());
    } else {
        job.status = ImportStatus::Running;
    }
    save(db, scope, &job).await?;
    Ok(job)
}

/// The second pass: writes the records of `records` after the job's position, in batches,
/// calling `progress` after each. Invalid records (kept only with `skip_invalid`) count as
/// failed.
pub async fn run_import(
    db: &Database,
    scope: &TenantScope,
    actor: &Actor,
    job: ImportJob,
    records: impl Iterator<Item = Read>,
    mut progress: impl FnMut(&ImportJob),
) -> Result<ImportJob> {
    let grants = grant(actor)?;
    let mut job = job;
    let mut seen = Seen::default();
    let mut organizations = HashMap::new();
    let mut batch = Vec::with_capacity(BATCH);
    let mut index = 0;
    for (number, read) in records {
        index += 1;
        let checked = read.and_then(|record| check(number, record, &mut seen));
        if index <= job.position {
            continue;
        }
        batch.push((number, checked));
        if batch.len() == BATCH {
            write(
                db,
                scope,
                &grants,
                &mut job,
                &mut organizations,
                std::mem::take(&mut batch),
            )
            .await?;
            progress(&job);
        }
    }
    write(db, scope, &grants, &mut job, &mut organizations, batch).await?;
    job.status = ImportStatus::Succeeded;
    job.finished_at = Some(Utc::now());
    let tx = db.begin_tenant(scope).await?;
    jobs::save_in(&tx, &job, Utc::now()).await?;
    let id = job.id.to_string();
    granted::audit(
        &tx,
        &grants.identities,
        "identity.import.finish",
        Some(Target { kind: "identity_import", id: &id }),
        json!({ "created": job.created, "updated": job.updated, "failed": job.failed, "dryRun": job.dry_run }),
    )
    .await?;
    tx.commit().await?;
    progress(&job);
    Ok(job)
}

/// Writes one batch and the job's new position in one transaction (a dry run writes nothing
/// and saves its position on its own). A batch the database refuses is written again record
/// by record, so only the refused records fail.
async fn write(
    db: &Database,
    scope: &TenantScope,
    grants: &Grants<'_>,
    job: &mut ImportJob,
    organizations: &mut HashMap<String, Uuid>,
    batch: Vec<(u64, std::result::Result<Checked, Vec<Problem>>)>,
) -> Result<()> {
    if batch.is_empty() {
        return Ok(());
    }
    let count = batch.len() as u64;
    let mut outcome = Outcome::default();
    let mut valid = Vec::with_capacity(batch.len());
    for (number, checked) in batch {
        match checked {
            Ok(checked) => valid.push((number, checked)),
            Err(problems) => outcome.failed.extend(problems.into_iter().take(1)),
        }
    }
    let dry_run = job.dry_run;
    let mut known = organizations.clone();
    let tx = db.begin_tenant(scope).await?;
    match write_in(&tx, grants, &mut known, &valid, dry_run).await {
        Ok(written) => {
            outcome.add(written);
            job.advance(count, outcome);
            if dry_run {
                drop(tx);
                return save(db, scope, job).await;
            }
            jobs::save_in(&tx, job, Utc::now()).await?;
            tx.commit().await?;
            *organizations = known;
            return Ok(());
        }
        Err(error @ Error::Internal(_)) => return Err(error),
        Err(_) => drop(tx),
    }
    for record in valid {
        let mut known = organizations.clone();
        let tx = db.begin_tenant(scope).await?;
        match write_in(
            &tx,
            grants,
            &mut known,
            std::slice::from_ref(&record),
            dry_run,
        )
        .await
        {
            Ok(written) => {
                tx.commit().await?;
                outcome.add(written);
                *organizations = known;
            }
            Err(error @ Error::Internal(_)) => return Err(error),
            Err(error) => {
                drop(tx);
                outcome.failed.push(Problem::from_error(record.0, &error));
            }
        }
    }
    job.advance(count, outcome);
    save(db, scope, job).await
}

/// Writes `records` inside `tx`; for a dry run, only matches the identities (what would be
/// created and updated) and writes nothing.
async fn write_in(
    tx: &TenantTx,
    grants: &Grants<'_>,
    organizations: &mut HashMap<String, Uuid>,
    records: &[(u64, Checked)],
    dry_run: bool,
) -> Result<Outcome> {
    let mut outcome = Outcome::default();
    let mut identities: Vec<(u64, &CheckedIdentityRecord)> = Vec::new();
    for (number, record) in records {
        match record {
            Checked::Role(_) | Checked::Organization(_) if dry_run => {}
            Checked::Role(role) => {
                transfer::import_role(tx, &grants.organizations, role).await?;
            }
            Checked::Organization(new) => {
                let (organization, _) =
                    transfer::import_organization(tx, &grants.organizations, new.clone()).await?;
                organizations.insert(organization.slug, organization.id);
            }
            Checked::Identity(identity) => identities.push((*number, identity)),
        }
    }
    if !dry_run {
        organizations_named(tx, grants, organizations, &mut identities, &mut outcome).await?;
    }
    if identities.is_empty() {
        return Ok(outcome);
    }
    let matches = classify(tx, grants, &identities).await?;
    let ids: Vec<Uuid> = identities.iter().filter_map(|(_, r)| r.id).collect();
    let taken: HashSet<Uuid> = transfer::taken_identity_ids(tx, &grants.identities, &ids)
        .await?
        .into_iter()
        .collect();
    let now = Utc::now();
    let mut new = Vec::new();
    let mut written: Vec<(Uuid, &CheckedIdentityRecord)> = Vec::new();
    for ((_, record), matched) in identities.into_iter().zip(matches) {
        let matched = match matched {
            Ok(matched) => matched,
            Err(problem) => {
                outcome.failed.push(problem);
                continue;
            }
        };
        let imported = ImportedIdentity {
            id: match (&matched, record.id) {
                (Some(current), _) => current.id,
                (None, Some(id)) if !taken.contains(&id) => id,
                (None, _) => Uuid::now_v7(),
            },
            identity: record.identity.clone(),
            status: record.status,
            created_at: record.created_at.unwrap_or(now),
        };
        match &matched {
            Some(_) if dry_run => outcome.updated += 1,
            Some(current) => {
                if transfer::overwrite_identity(tx, &grants.identities, current, &imported, now)
                    .await?
                {
                    outcome.updated += 1;
                }
            }
            None => {
                outcome.created += 1;
                written.push((imported.id, record));
                new.push(imported);
                continue;
            }
        }
        written.push((imported.id, record));
    }
    if dry_run {
        return Ok(outcome);
    }
    transfer::insert_identities(tx, &grants.identities, &new).await?;
    let hashes = written
        .iter()
        .filter_map(|(id, r)| r.password_hash.clone().map(|hash| (*id, hash)))
        .collect();
    transfer::import_password_hashes(tx, &grants.identities, hashes, now).await?;
    let passkeys = written
        .iter()
        .flat_map(|(id, r)| r.passkeys.iter().map(|p| (*id, p.clone())))
        .collect();
    transfer::import_passkeys(tx, &grants.identities, passkeys).await?;
    for (id, record) in &written {
        for membership in &record.memberships {
            let organization = organizations[&membership.organization];
            transfer::import_membership(
                tx,
                &grants.organizations,
                organization,
                *id,
                &membership.roles,
                membership.window,
            )
            .await?;
        }
    }
    Ok(outcome)
}

/// Finds the organization of every membership of `identities` (in `organizations` or the
/// tenant); a record naming one that does not exist fails as a whole.
async fn organizations_named(
    tx: &TenantTx,
    grants: &Grants<'_>,
    organizations: &mut HashMap<String, Uuid>,
    identities: &mut Vec<(u64, &CheckedIdentityRecord)>,
    outcome: &mut Outcome,
) -> Result<()> {
    let mut missing = HashSet::new();
    for (_, identity) in identities.iter() {
        for membership in &identity.memberships {
            let slug = &membership.organization;
            if organizations.contains_key(slug) || missing.contains(slug) {
                continue;
            }
            match transfer::organization_by_slug(tx, &grants.organizations, slug).await? {
                Some(organization) => {
                    organizations.insert(organization.slug, organization.id);
                }
                None => {
                    missing.insert(slug.clone());
                }
            }
        }
    }
    identities.retain(|(number, identity)| {
        let absent = identity
            .memberships
            .iter()
            .find(|m| missing.contains(&m.organization));
        if let Some(membership) = absent {
            outcome.failed.push(Problem::new(
                *number,
                "memberships.organization",
                format!(
                    "no organization has the slug {:?}: add it to the file (before its members) or create it first",
                    membership.organization
                ),
            ));
        }
        absent.is_none()
    });
    Ok(())
}

/// For each identity record, the identity it matches (by external id, then address, then
/// id), or the problem of an external id and an address that belong to two identities.
async fn classify(
    tx: &TenantTx,
    grants: &Grants<'_>,
    identities: &[(u64, &CheckedIdentityRecord)],
) -> Result<Vec<std::result::Result<Option<Identity>, Problem>>> {
    let emails: Vec<String> = identities
        .iter()
        .map(|(_, r)| r.identity.email.normalized().to_owned())
        .collect();
    let external_ids: Vec<String> = identities
        .iter()
        .filter_map(|(_, r)| r.identity.external_id.clone())
        .collect();
    let ids: Vec<Uuid> = identities.iter().filter_map(|(_, r)| r.id).collect();
    let existing =
        transfer::matching_identities(tx, &grants.identities, &emails, &external_ids, &ids).await?;
    let by_email: HashMap<&str, &Identity> = existing
        .iter()
        .map(|i| (i.email_normalized.as_str(), i))
        .collect();
    let by_external_id: HashMap<&str, &Identity> = existing
        .iter()
        .filter_map(|i| i.external_id.as_deref().map(|e| (e, i)))
        .collect();
    let by_id: HashMap<Uuid, &Identity> = existing.iter().map(|i| (i.id, i)).collect();
    Ok(identities
        .iter()
        .map(|(number, record)| {
            let by_address = by_email.get(record.identity.email.normalized()).copied();
            let by_external = record
                .identity
                .external_id
                .as_deref()
                .and_then(|e| by_external_id.get(e).copied());
            if let (Some(a), Some(b)) = (by_external, by_address)
                && a.id != b.id
            {
                return Err(Problem::new(
                    *number,
                    "email",
                    format!(
                        "belongs to identity {}, while the external id belongs to identity {}: change one of them first",
                        b.id, a.id
                    ),
                ));
            }
            Ok(by_external
                .or(by_address)
                .or_else(|| record.id.and_then(|id| by_id.get(&id).copied()))
                .cloned())
        })
        .collect())
}

/// What an import of an uploaded file is.
pub struct UploadedImport {
    pub upload_id: Uuid,
    pub format: Format,
    pub options: FormatOptions,
    pub dry_run: bool,
    pub skip_invalid: bool,
}

/// Starts an import of a file uploaded to `POST /t/{slug}/imports`; a worker of any replica
/// runs it. `NotFound` for an upload that is not the tenant's, incomplete or expired.
/// Requires `WriteIdentities` and `WriteOrganizations`.
pub async fn start_uploaded_import(
    db: &Database,
    scope: &TenantScope,
    actor: &Actor,
    import: UploadedImport,
) -> Result<ImportJob> {
    grant(actor)?;
    let tx = db.begin_tenant(scope).await?;
    let file = crate::files::upload_in(&tx, import.upload_id).await?;
    tx.commit().await?;
    start_import(
        db,
        scope,
        actor,
        ImportRequest {
            format: import.format,
            options: import.options,
            source: format!("upload:{}", file.name),
            digest: file.digest.unwrap_or_default(),
            dry_run: import.dry_run,
            skip_invalid: import.skip_invalid,
            file_id: Some(file.id),
        },
    )
    .await
}
