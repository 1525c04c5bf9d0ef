//! Import jobs: one row per import, from the command line or an uploaded file, with its
//! progress, its resume point (`position`, the records handled, written in the same
//! transaction as each batch) and its report (the first [`MAX_ERRORS`] problems). A job and
//! its report are kept until `expires_at`.

use crate::formats::{Format, FormatOptions};
use crate::problem::Problem;
use chrono::{DateTime, Duration, Utc};
use latchkey_core::db::TenantTx;
use latchkey_core::error::{Error, Result};
use sea_orm::{ColumnTrait, QueryFilter, QueryOrder, QuerySelect, Set};
use serde_json::json;
use uuid::Uuid;

/// How many problems a job's report keeps (the count goes on).
pub const MAX_ERRORS: usize = 1000;
/// How long a job and its report are kept after it starts.
pub const KEPT_FOR: Duration = Duration::days(7);
/// How long a replica's worker holds a job of the API before another may take it over; each
/// batch written renews it.
pub const LEASE: Duration = Duration::minutes(5);

pub(crate) mod import_row {
    use sea_orm::entity::prelude::*;

    #[sea_orm::model]
    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "identity_imports")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub tenant_id: Uuid,
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub format: String,
        pub source: String,
        pub digest: String,
        pub options: Json,
        pub dry_run: bool,
        pub status: String,
        pub total: i64,
        pub position: i64,
        pub created: i64,
        pub updated: i64,
        pub failed: i64,
        pub errors: Json,
        pub file_id: Option<Uuid>,
        pub lease_until: Option<DateTimeUtc>,
        pub created_by: String,
        pub created_at: DateTimeUtc,
        pub updated_at: DateTimeUtc,
        pub finished_at: Option<DateTimeUtc>,
        pub expires_at: DateTimeUtc,
    }

    impl ActiveModelBehavior for ActiveModel {}
}
latchkey_core::tenant_owned!(import_row);
impl latchkey_core::db::QueueTable for import_row::Entity {}

/// Where an import stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ImportStatus {
    /// Every record is being read and checked; nothing is written yet.
    Validating,
    /// Records are being written (or, for a dry run, tried and rolled back).
    Running,
    Succeeded,
    /// Stopped: the report says why (invalid records, or an error to fix before resuming).
    Failed,
}

impl ImportStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ImportStatus::Validating => "validating",
            ImportStatus::Running => "running",
            ImportStatus::Succeeded => "succeeded",
            ImportStatus::Failed => "failed",
        }
    }

    fn parse(value: &str) -> Result<Self> {
        match value {
            "validating" => Ok(ImportStatus::Validating),
            "running" => Ok(ImportStatus::Running),
            "succeeded" => Ok(ImportStatus::Succeeded),
            "failed" => Ok(ImportStatus::Failed),
            other => Err(Error::internal(format!("unknown import status {other:?}"))),
        }
    }
}

/// An import job.
#[derive(Clone, Debug, PartialEq)]
pub struct ImportJob {
    pub id: Uuid,
    pub format: Format,
    pub options: FormatOptions,
    /// Invalid records are reported and skipped rather than failing the whole import.
    pub skip_invalid: bool,
    /// `cli:<file name>` or `upload:<file name>`.
    pub source: String,
    /// The SHA-256 of the file, hex: `--resume` finds the job of the same file.
    pub digest: String,
    pub dry_run: bool,
    pub status: ImportStatus,
    /// Records in the file (known once validated).
    pub total: u64,
    /// Records handled: the next run starts after them.
    pub position: u64,
    pub created: u64,
    pub updated: u64,
    pub failed: u64,
    pub errors: Vec<Problem>,
    pub file_id: Option<Uuid>,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    pub expires_at: DateTime<Utc>,
}

impl ImportJob {
    /// Records handled without failing, written or (dry run) would be.
    pub fn processed(&self) -> u64 {
        self.position
    }

    pub fn finished(&self) -> bool {
        matches!(self.status, ImportStatus::Succeeded | ImportStatus::Failed)
    }

    /// Adds `problems` to the job's report (kept up to [`MAX_ERRORS`]).
    pub(crate) fn note(&mut self, problems: Vec<Problem>) {
        let room = MAX_ERRORS.saturating_sub(self.errors.len());
        self.errors.extend(problems.into_iter().take(room));
    }

    /// Moves the job past `count` records that had `outcome`.
    pub(crate) fn advance(&mut self, count: u64, outcome: Outcome) {
        self.position += count;
        self.created += outcome.created;
        self.updated += outcome.updated;
        self.failed += outcome.failed.len() as u64;
        self.note(outcome.failed);
    }
}

/// What writing some records did.
#[derive(Default)]
pub(crate) struct Outcome {
    pub(crate) created: u64,
    pub(crate) updated: u64,
    pub(crate) failed: Vec<Problem>,
}

impl Outcome {
    pub(crate) fn add(&mut self, other: Outcome) {
        self.created += other.created;
        self.updated += other.updated;
        self.failed.extend(other.failed);
    }
}

impl TryFrom<import_row::Model> for ImportJob {
    type Error = Error;

    fn try_from(row: import_row::Model) -> Result<Self> {
        let count = |value: i64| u64::try_from(value).unwrap_or_default();
        Ok(Self {
            id: row.id,
            format: Format::parse(&row.format).ok_or_else(|| {
                Error::internal(format!("unknown import format {:?}", row.format))
            })?,
            options: serde_json::from_value(row.options["format"].clone())
                .map_err(Error::internal)?,
            skip_invalid: row.options["skipInvalid"].as_bool().unwrap_or(false),
            source: row.source,
            digest: row.digest,
            dry_run: row.dry_run,
            status: ImportStatus::parse(&row.status)?,
            total: count(row.total),
            position: count(row.position),
            created: count(row.created),
            updated: count(row.updated),
            failed: count(row.failed),
            errors: serde_json::from_value(row.errors).map_err(Error::internal)?,
            file_id: row.file_id,
            created_by: row.created_by,
            created_at: row.created_at,
            updated_at: row.updated_at,
            finished_at: row.finished_at,
            expires_at: row.expires_at,
        })
    }
}

/// What a new job is.
pub(crate) struct NewJob {
    pub format: Format,
    pub options: FormatOptions,
    pub skip_invalid: bool,
    pub source: String,
    pub digest: String,
    pub dry_run: bool,
    pub file_id: Option<Uuid>,
    pub created_by: String,
}

pub(crate) async fn insert_in(tx: &TenantTx, new: NewJob, now: DateTime<Utc>) -> Result<ImportJob> {
    let row = tx
        .insert(import_row::ActiveModel {
            tenant_id: Set(tx.scope().tenant_id()),
            id: Set(Uuid::now_v7()),
            format: Set(new.format.as_str().to_owned()),
            source: Set(new.source),
            digest: Set(new.digest),
            options: Set(json!({ "format": new.options, "skipInvalid": new.skip_invalid })),
            dry_run: Set(new.dry_run),
            status: Set(ImportStatus::Validating.as_str().to_owned()),
            total: Set(0),
            position: Set(0),
            created: Set(0),
            updated: Set(0),
            failed: Set(0),
            errors: Set(json!([])),
            file_id: Set(new.file_id),
            // A job of the API is due for a worker at once; the command line runs its own.
            lease_until: Set(new.file_id.map(|_| now)),
            created_by: Set(new.created_by),
            created_at: Set(now),
            updated_at: Set(now),
            finished_at: Set(None),
            expires_at: Set(now + KEPT_FOR),
        })
        .await?;
    ImportJob::try_from(row)
}

pub(crate) async fn find_in(tx: &TenantTx, id: Uuid) -> Result<ImportJob> {
    tx.find::<import_row::Entity>()
        .filter(import_row::Column::Id.eq(id))
        .one()
        .await?
        .ok_or(Error::NotFound)?
        .try_into()
}

/// The newest unfinished job (not a dry run) of the file with `digest`.
pub(crate) async fn resumable_in(tx: &TenantTx, digest: &str) -> Result<Option<ImportJob>> {
    tx.find::<import_row::Entity>()
        .filter(import_row::Column::Digest.eq(digest))
        .filter(import_row::Column::DryRun.eq(false))
        .filter(import_row::Column::FinishedAt.is_null())
        .order_by_desc(import_row::Column::Id)
        .one()
        .await?
        .map(ImportJob::try_from)
        .transpose()
}

/// The tenant's jobs, newest first.
pub(crate) async fn list_in(tx: &TenantTx, limit: u64) -> Result<Vec<ImportJob>> {
    tx.find::<import_row::Entity>()
        .order_by_desc(import_row::Column::Id)
        .limit(limit)
        .all()
        .await?
        .into_iter()
        .map(ImportJob::try_from)
        .collect()
}

/// Writes the job's progress, status and report as they are in `job`.
pub(crate) async fn save_in(tx: &TenantTx, job: &ImportJob, now: DateTime<Utc>) -> Result<()> {
    let signed = |value: u64| i64::try_from(value).unwrap_or(i64::MAX);
    tx.update(import_row::ActiveModel {
        tenant_id: Set(tx.scope().tenant_id()),
        id: Set(job.id),
        status: Set(job.status.as_str().to_owned()),
        total: Set(signed(job.total)),
        position: Set(signed(job.position)),
        created: Set(signed(job.created)),
        updated: Set(signed(job.updated)),
        failed: Set(signed(job.failed)),
        errors: Set(serde_json::to_value(&job.errors).map_err(Error::internal)?),
        updated_at: Set(now),
        finished_at: Set(job.finished_at),
        lease_until: Set(job.file_id.filter(|_| !job.finished()).map(|_| now + LEASE)),
        ..Default::default()
    })
    .await?;
    Ok(())
}

/// Removes the tenant's jobs kept past their expiry.
pub(crate) async fn delete_expired_in(tx: &TenantTx, now: DateTime<Utc>) -> Result<u64> {
    Ok(tx
        .delete_many::<import_row::Entity>()
        .filter(import_row::Column::ExpiresAt.lte(now))
        .exec()
        .await?
        .rows_affected)
}
