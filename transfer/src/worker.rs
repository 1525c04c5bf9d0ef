//! The worker every replica runs: it claims the due import and export jobs of the API (a
//! lease in the job's row, renewed as it goes, so a job whose replica stopped is taken over
//! after [`LEASE`](crate::jobs::LEASE) and resumes after its last batch), and removes expired
//! jobs and files.

use crate::export_jobs::{self, ExportJob, export_row};
use crate::files::{self, file_row};
use crate::formats;
use crate::import::{run_import, validate_import};
use crate::jobs::{self, ImportJob, ImportStatus, LEASE, import_row};
use chrono::{SubsecRound, Utc};
use latchkey_core::Actor;
use latchkey_core::db::{Database, DueClaim};
use latchkey_core::error::{Error, Result};
use latchkey_core::scope::TenantScope;
use latchkey_tenants::{operators, resolution};
use sea_orm::{ColumnTrait, QueryFilter, QuerySelect};
use std::collections::BTreeSet;
use std::time::Duration;
use uuid::Uuid;

/// How often an idle worker looks for due jobs.
pub const POLL_INTERVAL: Duration = Duration::from_secs(1);
/// How often expired jobs and files are removed.
const CLEANUP_INTERVAL: Duration = Duration::from_secs(600);

/// Runs due jobs until `stop` turns true.
pub async fn run(db: Database, mut stop: tokio::sync::watch::Receiver<bool>) {
    let mut last_cleanup = None::<tokio::time::Instant>;
    loop {
        if *stop.borrow() {
            return;
        }
        let worked = match run_due(&db).await {
            Ok(worked) => worked,
            Err(error) => {
                tracing::warn!(%error, "an import or export job could not run; it is tried again");
                false
            }
        };
        if last_cleanup.is_none_or(|at| at.elapsed() >= CLEANUP_INTERVAL) {
            if let Err(error) = remove_expired(&db).await {
                tracing::warn!(%error, "expired import and export files could not be removed");
            }
            last_cleanup = Some(tokio::time::Instant::now());
        }
        if !worked {
            tokio::select! {
                _ = tokio::time::sleep(POLL_INTERVAL) => {}
                _ = stop.changed() => {}
            }
        }
    }
}

/// Claims and runs one due import or export of any tenant; answers whether there was one.
pub async fn run_due(db: &Database) -> Result<bool> {
    if let Some(row) =
        claim::<import_row::Entity>(db, "identity_imports", import_row::Column::LeaseUntil).await?
    {
        let Some((scope, actor)) = tenant_of(db, row.tenant_id).await? else {
            return Ok(true);
        };
        run_claimed_import(db, &scope, &actor, ImportJob::try_from(row)?).await?;
        return Ok(true);
    }
    if let Some(row) =
        claim::<export_row::Entity>(db, "identity_exports", export_row::Column::LeaseUntil).await?
    {
        let Some((scope, actor)) = tenant_of(db, row.tenant_id).await? else {
            return Ok(true);
        };
        export_jobs::run_export(db, &scope, &actor, ExportJob::try_from(row)?).await?;
        return Ok(true);
    }
    Ok(false)
}

async fn claim<E>(db: &Database, table: &'static str, due: E::Column) -> Result<Option<E::Model>>
where
    E: latchkey_core::db::QueueTable,
    E::Model: Send + Sync,
{
    let tx = db.begin_dispatcher().await?;
    let now = Utc::now().trunc_subsecs(6);
    if !tx.any_due::<E>(due, now).await? {
        tx.commit().await?;
        return Ok(None);
    }
    let claimed = tx
        .claim_due::<E>(
            DueClaim {
                table,
                key: "tenant_id, id",
                due_column: "lease_until",
                stamp_column: None,
                condition: Some("finished_at IS NULL"),
                limit: 1,
            },
            now,
            now + LEASE,
        )
        .one()
        .await?;
    tx.commit().await?;
    Ok(claimed)
}

/// The tenant of a claimed job and the worker's actor there; `None` while it is suspended
/// (the lease runs out and the job waits).
async fn tenant_of(db: &Database, tenant_id: Uuid) -> Result<Option<(TenantScope, Actor)>> {
    match resolution::resolve_id(db, tenant_id).await {
        Ok((scope, _)) => Ok(Some((
            scope,
            Actor::platform(&operators::local_operator(db), None),
        ))),
        Err(Error::TenantSuspended) => Ok(None),
        Err(error) => Err(error),
    }
}

/// Validates (if not yet) and writes a claimed import from where it stands.
async fn run_claimed_import(
    db: &Database,
    scope: &TenantScope,
    actor: &Actor,
    job: ImportJob,
) -> Result<()> {
    let Some(file_id) = job.file_id else {
        return Ok(());
    };
    let contents = files::contents(db, scope, file_id).await?;
    if contents.is_empty() {
        let mut job = job;
        job.status = ImportStatus::Failed;
        job.finished_at = Some(Utc::now());
        job.errors.push(crate::Problem::new(
            0,
            "",
            "the uploaded file has expired: upload it again and start a new import",
        ));
        let tx = db.begin_tenant(scope).await?;
        jobs::save_in(&tx, &job, Utc::now()).await?;
        return tx.commit().await;
    }
    let records = || {
        formats::read(
            job.format,
            Box::new(std::io::Cursor::new(contents.as_slice())),
            &job.options,
        )
    };
    let job = match job.status {
        ImportStatus::Validating => {
            validate_import(db, scope, actor, job.clone(), records()).await?
        }
        _ => job.clone(),
    };
    if job.status == ImportStatus::Running {
        run_import(db, scope, actor, job, records(), |_| {}).await?;
    }
    Ok(())
}

/// Removes the expired jobs and files of every tenant that has some.
pub async fn remove_expired(db: &Database) -> Result<u64> {
    let now = Utc::now();
    let tx = db.begin_dispatcher().await?;
    let mut tenants = BTreeSet::new();
    tenants.extend(
        tx.find::<import_row::Entity>()
            .filter(import_row::Column::ExpiresAt.lte(now))
            .select_only()
            .column(import_row::Column::TenantId)
            .into_tuple::<Uuid>()
            .all()
            .await?,
    );
    tenants.extend(
        tx.find::<export_row::Entity>()
            .filter(export_row::Column::ExpiresAt.lte(now))
            .select_only()
            .column(export_row::Column::TenantId)
            .into_tuple::<Uuid>()
            .all()
            .await?,
    );
    tenants.extend(
        tx.find::<file_row::Entity>()
            .filter(file_row::Column::ExpiresAt.lte(now))
            .select_only()
            .column(file_row::Column::TenantId)
            .into_tuple::<Uuid>()
            .all()
            .await?,
    );
    tx.commit().await?;
    let mut removed = 0;
    for tenant_id in tenants {
        let scope = match resolution::resolve_id(db, tenant_id).await {
            Ok((scope, _)) => scope,
            Err(Error::TenantSuspended) => continue,
            Err(error) => return Err(error),
        };
        let tx = db.begin_tenant(&scope).await?;
        removed += jobs::delete_expired_in(&tx, now).await?;
        removed += export_jobs::delete_expired_in(&tx, now).await?;
        removed += files::delete_expired_in(&tx, now).await?;
        tx.commit().await?;
    }
    Ok(removed)
}
