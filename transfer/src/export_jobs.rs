//! Export jobs of the API: an administrator starts one (`startIdentityExport`), a worker of
//! any replica writes the file into the database, and the administrator downloads it from
//! `GET /t/{slug}/exports/{id}` until it expires.

use crate::export::{ExportFormat, ExportRequest, export_identities};
use crate::files;
use chrono::{DateTime, Utc};
use latchkey_core::actor::{Actor, Permission};
use latchkey_core::audit::Target;
use latchkey_core::authz::{Grant, Resource, authorize};
use latchkey_core::db::{Database, TenantTx};
use latchkey_core::error::{Error, Result};
use latchkey_core::granted;
use latchkey_core::scope::TenantScope;
use sea_orm::{ColumnTrait, QueryFilter, QueryOrder, QuerySelect, Set};
use serde_json::json;
use uuid::Uuid;

pub(crate) mod export_row {
    use sea_orm::entity::prelude::*;

    #[sea_orm::model]
    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "identity_exports")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub tenant_id: Uuid,
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub format: String,
        pub password_hashes: bool,
        pub status: String,
        pub processed: i64,
        pub error: Option<String>,
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
latchkey_core::tenant_owned!(export_row);
impl latchkey_core::db::QueueTable for export_row::Entity {}

/// Where an export job stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExportStatus {
    /// Waiting for a worker.
    Queued,
    Running,
    /// Its file is ready to download.
    Succeeded,
    /// Stopped: `error` says why.
    Failed,
}

impl ExportStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ExportStatus::Queued => "queued",
            ExportStatus::Running => "running",
            ExportStatus::Succeeded => "succeeded",
            ExportStatus::Failed => "failed",
        }
    }

    fn parse(value: &str) -> Result<Self> {
        match value {
            "queued" => Ok(ExportStatus::Queued),
            "running" => Ok(ExportStatus::Running),
            "succeeded" => Ok(ExportStatus::Succeeded),
            "failed" => Ok(ExportStatus::Failed),
            other => Err(Error::internal(format!("unknown export status {other:?}"))),
        }
    }
}

/// An export job.
#[derive(Clone, Debug, PartialEq)]
pub struct ExportJob {
    pub id: Uuid,
    pub format: ExportFormat,
    pub password_hashes: bool,
    pub status: ExportStatus,
    /// Identities written so far.
    pub processed: u64,
    /// Why it failed.
    pub error: Option<String>,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    /// When the job and its file are removed.
    pub expires_at: DateTime<Utc>,
    file_id: Option<Uuid>,
}

impl ExportJob {
    /// Whether its file is ready to download.
    pub fn ready(&self) -> bool {
        self.status == ExportStatus::Succeeded && self.file_id.is_some()
    }
}

impl TryFrom<export_row::Model> for ExportJob {
    type Error = Error;

    fn try_from(row: export_row::Model) -> Result<Self> {
        Ok(Self {
            id: row.id,
            format: ExportFormat::parse(&row.format).ok_or_else(|| {
                Error::internal(format!("unknown export format {:?}", row.format))
            })?,
            password_hashes: row.password_hashes,
            status: ExportStatus::parse(&row.status)?,
            processed: u64::try_from(row.processed).unwrap_or_default(),
            error: row.error,
            created_by: row.created_by,
            created_at: row.created_at,
            finished_at: row.finished_at,
            expires_at: row.expires_at,
            file_id: row.file_id,
        })
    }
}

/// Who may export: administrators (`WriteIdentities`, `ReadOrganizations`), and tenant
/// managers (`ManageTenant`) for password hashes.
fn grant(actor: &Actor, password_hashes: bool) -> Result<Grant<'_>> {
    authorize(actor, Permission::ReadOrganizations, Resource::Tenant)?;
    if password_hashes {
        authorize(actor, Permission::ManageTenant, Resource::Tenant)?;
    }
    authorize(actor, Permission::WriteIdentities, Resource::Tenant)
}

/// Starts an export; a worker writes its file.
pub async fn start_export(
    db: &Database,
    scope: &TenantScope,
    actor: &Actor,
    request: ExportRequest,
) -> Result<ExportJob> {
    let grant = grant(actor, request.password_hashes)?;
    let (actor_type, actor_id) = actor.audit_identity();
    let now = Utc::now();
    let tx = db.begin_tenant(scope).await?;
    let row = tx
        .insert(export_row::ActiveModel {
            tenant_id: Set(scope.tenant_id()),
            id: Set(Uuid::now_v7()),
            format: Set(request.format.as_str().to_owned()),
            password_hashes: Set(request.password_hashes),
            status: Set(ExportStatus::Queued.as_str().into()),
            processed: Set(0),
            error: Set(None),
            file_id: Set(None),
            lease_until: Set(Some(now)),
            created_by: Set(format!("{actor_type}:{}", actor_id.unwrap_or_default())),
            created_at: Set(now),
            updated_at: Set(now),
            finished_at: Set(None),
            expires_at: Set(now + files::KEPT_FOR),
        })
        .await?;
    let id = row.id.to_string();
    granted::audit(
        &tx,
        &grant,
        "identity.export.start",
        Some(Target {
            kind: "identity_export",
            id: &id,
        }),
        json!({ "format": request.format.as_str(), "passwordHashes": request.password_hashes }),
    )
    .await?;
    tx.commit().await?;
    ExportJob::try_from(row)
}

async fn find_in(tx: &TenantTx, id: Uuid) -> Result<ExportJob> {
    tx.find::<export_row::Entity>()
        .filter(export_row::Column::Id.eq(id))
        .one()
        .await?
        .ok_or(Error::NotFound)?
        .try_into()
}

/// One export job. Requires `ReadIdentities`.
pub async fn get_export(
    db: &Database,
    scope: &TenantScope,
    actor: &Actor,
    id: Uuid,
) -> Result<ExportJob> {
    authorize(actor, Permission::ReadIdentities, Resource::Tenant)?;
    let tx = db.begin_tenant(scope).await?;
    let job = find_in(&tx, id).await?;
    tx.commit().await?;
    Ok(job)
}

/// The tenant's newest export jobs (at most 100). Requires `ReadIdentities`.
pub async fn list_exports(
    db: &Database,
    scope: &TenantScope,
    actor: &Actor,
) -> Result<Vec<ExportJob>> {
    authorize(actor, Permission::ReadIdentities, Resource::Tenant)?;
    let tx = db.begin_tenant(scope).await?;
    let jobs = tx
        .find::<export_row::Entity>()
        .order_by_desc(export_row::Column::Id)
        .limit(100)
        .all()
        .await?
        .into_iter()
        .map(ExportJob::try_from)
        .collect::<Result<Vec<_>>>()?;
    tx.commit().await?;
    Ok(jobs)
}

/// Chunk `seq` of a finished export's file, `None` past its end; `NotFound` while it is not
/// ready. Requires what starting it did; the first chunk's download is audited.
pub async fn export_chunk(
    db: &Database,
    scope: &TenantScope,
    actor: &Actor,
    id: Uuid,
    seq: i32,
) -> Result<Option<Vec<u8>>> {
    authorize(actor, Permission::ReadIdentities, Resource::Tenant)?;
    let tx = db.begin_tenant(scope).await?;
    let job = find_in(&tx, id).await?;
    let grant = grant(actor, job.password_hashes)?;
    let Some(file_id) = job
        .file_id
        .filter(|_| job.ready() && job.expires_at > Utc::now())
    else {
        return Err(Error::NotFound);
    };
    let chunk = files::chunk_in(&tx, file_id, seq).await?;
    if seq == 0 {
        let id = id.to_string();
        granted::audit(
            &tx,
            &grant,
            "identity.export.download",
            Some(Target {
                kind: "identity_export",
                id: &id,
            }),
            json!({ "passwordHashes": job.password_hashes }),
        )
        .await?;
    }
    tx.commit().await?;
    Ok(chunk)
}

async fn save(
    db: &Database,
    scope: &TenantScope,
    id: Uuid,
    change: export_row::ActiveModel,
) -> Result<()> {
    let tx = db.begin_tenant(scope).await?;
    tx.update(export_row::ActiveModel {
        tenant_id: Set(scope.tenant_id()),
        id: Set(id),
        updated_at: Set(Utc::now()),
        ..change
    })
    .await?;
    tx.commit().await
}

/// Runs a claimed export as `actor` (the worker's): writes the file, then marks the job done
/// (or failed, with why).
pub(crate) async fn run_export(
    db: &Database,
    scope: &TenantScope,
    actor: &Actor,
    job: ExportJob,
) -> Result<()> {
    save(
        db,
        scope,
        job.id,
        export_row::ActiveModel {
            status: Set(ExportStatus::Running.as_str().into()),
            ..Default::default()
        },
    )
    .await?;
    let mut contents = Vec::new();
    let request = ExportRequest {
        format: job.format,
        password_hashes: job.password_hashes,
    };
    let written = export_identities(db, scope, actor, request, &mut contents, |_| {}).await;
    let done = match written {
        Ok(count) => {
            let extension = match job.format {
                ExportFormat::Latchkey => "jsonl",
                ExportFormat::Csv => "csv",
            };
            let name = format!("identities-{}.{extension}", job.id);
            let file_id = files::store_export(db, scope, actor, &name, &contents).await?;
            export_row::ActiveModel {
                status: Set(ExportStatus::Succeeded.as_str().into()),
                processed: Set(i64::try_from(count).unwrap_or(i64::MAX)),
                file_id: Set(Some(file_id)),
                ..Default::default()
            }
        }
        Err(error @ Error::Internal(_)) => return Err(error),
        Err(error) => export_row::ActiveModel {
            status: Set(ExportStatus::Failed.as_str().into()),
            error: Set(Some(error.to_string())),
            ..Default::default()
        },
    };
    save(
        db,
        scope,
        job.id,
        export_row::ActiveModel {
            finished_at: Set(Some(Utc::now())),
            lease_until: Set(None),
            ..done
        },
    )
    .await
}

/// Removes the tenant's export jobs kept past their expiry.
pub(crate) async fn delete_expired_in(tx: &TenantTx, now: DateTime<Utc>) -> Result<u64> {
    Ok(tx
        .delete_many::<export_row::Entity>()
        .filter(export_row::Column::ExpiresAt.lte(now))
        .exec()
        .await?
        .rows_affected)
}
