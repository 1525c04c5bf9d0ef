//! Imports and exports of identities as jobs of the API: `startIdentityImport` of a file
//! uploaded to `POST /t/{slug}/imports`, `identityImport`/`identityImports` to follow it;
//! `startIdentityExport`, `identityExport`/`identityExports`, and the file at
//! `GET /t/{slug}/exports/{id}` once it is ready.

use super::context::request;
use super::types::{IntoGraphql, parse_id};
use async_graphql::{Context, Enum, ID, InputObject, Object, SimpleObject};
use chrono::{DateTime, Utc};
use latchkey_password_hashes::FirebaseConfig;
use latchkey_transfer::{self as transfer, ExportRequest, FormatOptions, UploadedImport};

/// The format of an import file.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
#[graphql(remote = "transfer::Format")]
pub enum ImportFormat {
    /// Latchkey's own JSON lines, as an export writes them.
    Latchkey,
    /// Auth0's user export (JSON lines), with bcrypt password hashes where Auth0 gave them.
    Auth0,
    /// A Keycloak realm or users export, with its PBKDF2 or argon2 credentials.
    Keycloak,
    /// `firebase auth:export` JSON; its scrypt hashes need `firebase`.
    Firebase,
    /// CSV with a header row (see docs/import-export.md).
    Csv,
}

/// Where an import stands.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
#[graphql(remote = "transfer::ImportStatus")]
pub enum ImportStatus {
    /// Every record is being checked; nothing is written yet.
    Validating,
    Running,
    Succeeded,
    /// Stopped: `errors` says why.
    Failed,
}

/// What is wrong with one record of an import file.
#[derive(SimpleObject, Clone, Debug)]
pub struct ImportProblem {
    /// The record's line (JSON lines, CSV with its header as line 1) or position in `users`
    /// (Keycloak, Firebase), from 1; 0 for the file as a whole.
    pub record: i64,
    pub field: String,
    pub message: String,
}

/// An import job and its report.
#[derive(SimpleObject, Clone, Debug)]
pub struct IdentityImport {
    pub id: ID,
    pub status: ImportStatus,
    pub format: ImportFormat,
    /// `upload:<file name>` or `cli:<file name>`.
    pub source: String,
    pub dry_run: bool,
    pub skip_invalid: bool,
    /// Records in the file, once checked.
    pub total: i64,
    /// Records handled (written, or counted for a dry run); an interrupted import resumes
    /// after them.
    pub processed: i64,
    /// Identities created (or that a dry run would create).
    pub created: i64,
    /// Identities brought up to date.
    pub updated: i64,
    /// Records refused.
    pub failed: i64,
    /// The first 1000 problems.
    pub errors: Vec<ImportProblem>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    /// When the job and its report are removed.
    pub expires_at: DateTime<Utc>,
}

fn count(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

impl From<transfer::ImportJob> for IdentityImport {
    fn from(job: transfer::ImportJob) -> Self {
        Self {
            id: ID(job.id.to_string()),
            status: job.status.into(),
            format: job.format.into(),
            source: job.source,
            dry_run: job.dry_run,
            skip_invalid: job.skip_invalid,
            total: count(job.total),
            processed: count(job.position),
            created: count(job.created),
            updated: count(job.updated),
            failed: count(job.failed),
            errors: job
                .errors
                .into_iter()
                .map(|problem| ImportProblem {
                    record: count(problem.record),
                    field: problem.field,
                    message: problem.message,
                })
                .collect(),
            created_at: job.created_at,
            updated_at: job.updated_at,
            finished_at: job.finished_at,
            expires_at: job.expires_at,
        }
    }
}

/// The format of an export file.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
#[graphql(remote = "transfer::ExportFormat")]
pub enum ExportFileFormat {
    /// JSON lines: roles, organizations, identities with passkeys and memberships; what an
    /// import reads back.
    Latchkey,
    /// One row per identity (its own fields and attributes).
    Csv,
}

/// An export job.
#[derive(SimpleObject, Clone, Debug)]
pub struct IdentityExport {
    pub id: ID,
    /// `QUEUED`, `RUNNING`, `SUCCEEDED` or `FAILED`.
    pub status: String,
    pub format: ExportFileFormat,
    pub password_hashes: bool,
    /// Identities written.
    pub processed: i64,
    pub error: Option<String>,
    /// Where to download the file once `status` is `SUCCEEDED` (with the same credential).
    pub download_path: Option<String>,
    pub created_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    pub expires_at: DateTime<Utc>,
}

fn export_of(job: transfer::ExportJob, slug: &str) -> IdentityExport {
    IdentityExport {
        id: ID(job.id.to_string()),
        status: job.status.as_str().to_ascii_uppercase(),
        format: job.format.into(),
        password_hashes: job.password_hashes,
        processed: count(job.processed),
        download_path: job.ready().then(|| format!("/t/{slug}/exports/{}", job.id)),
        error: job.error,
        created_at: job.created_at,
        finished_at: job.finished_at,
        expires_at: job.expires_at,
    }
}

#[derive(Default)]
pub struct IdentityTransferQuery;

#[Object]
impl IdentityTransferQuery {
    /// One import job. Requires the viewer role.
    async fn identity_import(
        &self,
        ctx: &Context<'_>,
        id: ID,
    ) -> async_graphql::Result<IdentityImport> {
        let (services, req) = request(ctx);
        let id = parse_id("id", &id)?;
        let job = transfer::get_import(&services.db, &req.scope, &req.actor, id)
            .await
            .gql()?;
        Ok(job.into())
    }

    /// The newest import jobs (at most 100), from the API and the command line. Requires the
    /// viewer role.
    async fn identity_imports(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Vec<IdentityImport>> {
        let (services, req) = request(ctx);
        let jobs = transfer::list_imports(&services.db, &req.scope, &req.actor)
            .await
            .gql()?;
        Ok(jobs.into_iter().map(IdentityImport::from).collect())
    }

    /// One export job. Requires the viewer role.
    async fn identity_export(
        &self,
        ctx: &Context<'_>,
        id: ID,
    ) -> async_graphql::Result<IdentityExport> {
        let (services, req) = request(ctx);
        let id = parse_id("id", &id)?;
        let job = transfer::get_export(&services.db, &req.scope, &req.actor, id)
            .await
            .gql()?;
        Ok(export_of(job, req.scope.slug()))
    }

    /// The newest export jobs (at most 100). Requires the viewer role.
    async fn identity_exports(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Vec<IdentityExport>> {
        let (services, req) = request(ctx);
        let jobs = transfer::list_exports(&services.db, &req.scope, &req.actor)
            .await
            .gql()?;
        Ok(jobs
            .into_iter()
            .map(|job| export_of(job, req.scope.slug()))
            .collect())
    }
}

/// Firebase's project password hash parameters (console: Authentication → Users → ⋮ →
/// Password hash parameters).
#[derive(InputObject)]
pub struct FirebaseHashInput {
    /// `base64_signer_key`.
    pub signer_key: String,
    /// `base64_salt_separator`.
    pub salt_separator: String,
    pub rounds: u32,
    pub mem_cost: u32,
}

#[derive(InputObject)]
pub struct StartIdentityImportInput {
    /// The `uploadId` that `POST /t/{slug}/imports` answered.
    pub upload_id: ID,
    pub format: ImportFormat,
    /// Check every record and count what would be created and updated; write nothing.
    #[graphql(default)]
    pub dry_run: bool,
    /// Import the valid records of a file that has invalid ones (they are reported).
    #[graphql(default)]
    pub skip_invalid: bool,
    /// Needed to import Firebase password hashes.
    pub firebase: Option<FirebaseHashInput>,
}

#[derive(SimpleObject)]
pub struct StartIdentityImportPayload {
    pub identity_import: IdentityImport,
}

#[derive(InputObject)]
pub struct StartIdentityExportInput {
    #[graphql(default_with = "ExportFileFormat::Latchkey")]
    pub format: ExportFileFormat,
    /// Include password hashes (requires the owner or admin role; audited).
    #[graphql(default)]
    pub password_hashes: bool,
}

#[derive(SimpleObject)]
pub struct StartIdentityExportPayload {
    pub identity_export: IdentityExport,
}

#[derive(Default)]
pub struct IdentityTransferMutation;

#[Object]
impl IdentityTransferMutation {
    /// Starts importing an uploaded file: it is checked first (nothing is written if any record
    /// is invalid, unless `skipInvalid`), then written in batches; follow it with
    /// `identityImport`. Requires the admin role.
    async fn start_identity_import(
        &self,
        ctx: &Context<'_>,
        input: StartIdentityImportInput,
    ) -> async_graphql::Result<StartIdentityImportPayload> {
        let (services, req) = request(ctx);
        let upload_id = parse_id("uploadId", &input.upload_id)?;
        let job = transfer::start_uploaded_import(
            &services.db,
            &req.scope,
            &req.actor,
            UploadedImport {
                upload_id,
                format: input.format.into(),
                options: FormatOptions {
                    firebase: input.firebase.map(|f| FirebaseConfig {
                        signer_key: f.signer_key,
                        salt_separator: f.salt_separator,
                        rounds: f.rounds,
                        mem_cost: f.mem_cost,
                    }),
                },
                dry_run: input.dry_run,
                skip_invalid: input.skip_invalid,
            },
        )
        .await
        .gql()?;
        Ok(StartIdentityImportPayload {
            identity_import: job.into(),
        })
    }

    /// Starts an export of the tenant's identities; download it from `downloadPath` once
    /// `identityExport` says `SUCCEEDED`. Requires the admin role.
    async fn start_identity_export(
        &self,
        ctx: &Context<'_>,
        input: StartIdentityExportInput,
    ) -> async_graphql::Result<StartIdentityExportPayload> {
        let (services, req) = request(ctx);
        let request = ExportRequest {
            format: input.format.into(),
            password_hashes: input.password_hashes,
        };
        let job = transfer::start_export(&services.db, &req.scope, &req.actor, request)
            .await
            .gql()?;
        Ok(StartIdentityExportPayload {
            identity_export: export_of(job, req.scope.slug()),
        })
    }
}
