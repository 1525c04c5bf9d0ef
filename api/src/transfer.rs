//! `latchkey identities import` and `latchkey identities export`: moving a tenant's
//! identities in and out from the command line, beside a running server or without one.

use crate::config::Config;
use crate::progress::bar;
use crate::retry::patiently;
use crate::server;
use anyhow::Context;
use latchkey_core::Actor;
use latchkey_core::db::Database;
use latchkey_core::scope::TenantScope;
use latchkey_password_hashes::FirebaseConfig;
use latchkey_tenants::{operators, resolution};
use latchkey_transfer::formats;
use latchkey_transfer::{
    ExportFormat, ExportRequest, Format, FormatOptions, ImportJob, ImportRequest, ImportStatus,
};
use sha2::{Digest, Sha256};
use std::fs::File;
use std::io::{BufReader, BufWriter, Read};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// What `latchkey identities import` was given.
pub struct ImportArgs {
    pub tenant: String,
    pub file: PathBuf,
    pub format: Format,
    pub dry_run: bool,
    pub resume: bool,
    pub skip_invalid: bool,
    pub firebase: Option<FirebaseConfig>,
}

/// What `latchkey identities export` was given.
pub struct ExportArgs {
    pub tenant: String,
    pub format: ExportFormat,
    pub output: Option<PathBuf>,
    pub password_hashes: bool,
}

async fn open(config: &Config, tenant: &str) -> anyhow::Result<(Database, TenantScope, Actor)> {
    let db = server::open_database(config).await?;
    let (scope, _) = resolution::resolve_slug(&db, tenant)
        .await
        .with_context(|| format!("tenant {tenant:?}: not found or suspended"))?;
    let actor = Actor::platform(&operators::local_operator(&db), None);
    Ok((db, scope, actor))
}

fn digest_of(path: &Path) -> anyhow::Result<String> {
    let mut file = File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let mut hasher = Sha256::new();
    let mut buffer = vec![0; 1 << 20];
    loop {
        let read = file.read(&mut buffer)?;
        if read == 0 {
            return Ok(hex::encode(hasher.finalize()));
        }
        hasher.update(&buffer[..read]);
    }
}

fn records(
    args: &ImportArgs,
    options: &FormatOptions,
) -> anyhow::Result<impl Iterator<Item = formats::Read> + Send + use<>> {
    let file =
        File::open(&args.file).with_context(|| format!("cannot open {}", args.file.display()))?;
    Ok(formats::read(
        args.format,
        Box::new(BufReader::with_capacity(1 << 20, file)),
        options,
    ))
}

fn report(job: &ImportJob) {
    const SHOWN: usize = 20;
    for problem in job.errors.iter().take(SHOWN) {
        eprintln!("  {problem}");
    }
    let more = job
        .failed
        .max(job.errors.len() as u64)
        .saturating_sub(SHOWN as u64);
    if more > 0 {
        eprintln!(
            "  … and {more} more (identityImport(id: \"{}\") {{ errors }} lists up to 1000)",
            job.id
        );
    }
}

pub async fn import(config: Config, args: ImportArgs) -> anyhow::Result<()> {
    let (db, scope, actor) = open(&config, &args.tenant).await?;
    let digest = digest_of(&args.file)?;
    let options = FormatOptions {
        firebase: args.firebase.clone(),
    };
    let unfinished =
        patiently(|| latchkey_transfer::resumable_import(&db, &scope, &actor, &digest)).await?;
    let mut job = match (args.resume, unfinished) {
        (true, Some(job)) => {
            eprintln!(
                "resuming import {} after record {} of {}",
                job.id, job.position, job.total
            );
            job
        }
        (true, None) => anyhow::bail!(
            "no unfinished import of {} in tenant {:?}: run again without --resume",
            args.file.display(),
            args.tenant
        ),
        (false, unfinished) => {
            if let Some(old) = unfinished.filter(|_| !args.dry_run) {
                eprintln!(
                    "note: import {} of this file stopped after {} of {} records; --resume continues it (this run starts over, which changes nothing already imported)",
                    old.id, old.position, old.total
                );
            }
            let name = args
                .file
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            patiently(|| {
                latchkey_transfer::start_import(
                    &db,
                    &scope,
                    &actor,
                    ImportRequest {
                        format: args.format,
                        options: options.clone(),
                        source: format!("cli:{name}"),
                        digest: digest.clone(),
                        dry_run: args.dry_run,
                        skip_invalid: args.skip_invalid,
                        file_id: None,
                    },
                )
            })
            .await?
        }
    };
    if job.status == ImportStatus::Validating {
        eprintln!(
            "checking {} ({} format)…",
            args.file.display(),
            args.format.as_str()
        );
        job =
            latchkey_transfer::validate_import(&db, &scope, &actor, job, records(&args, &options)?)
                .await?;
        let invalid = job.errors.len();
        if job.status == ImportStatus::Failed {
            eprintln!(
                "{} of {} records are not valid; nothing was written:",
                job.failed, job.total
            );
            report(&job);
            anyhow::bail!(
                "fix the records above and run again, or add --skip-invalid to import the valid ones"
            );
        }
        if invalid > 0 {
            eprintln!("{invalid} records are not valid and will be skipped (--skip-invalid):");
            report(&job);
        }
        eprintln!(
            "{} records to import{}",
            job.total,
            if args.dry_run {
                " (dry run: nothing is written)"
            } else {
                ""
            }
        );
    }
    let total = job.total;
    let mut failures = 0;
    let done = loop {
        let records = records(&args, &options)?;
        match latchkey_transfer::run_import(&db, &scope, &actor, job.clone(), records, |job| {
            bar(job.position, total, "records")
        })
        .await
        {
            Ok(done) => break done,
            Err(error) if failures < 5 => {
                failures += 1;
                eprintln!(
                    "\nimport paused ({:#}); trying again",
                    anyhow::Error::from(error)
                );
                tokio::time::sleep(Duration::from_millis(500 * failures)).await;
                job = patiently(|| latchkey_transfer::get_import(&db, &scope, &actor, job.id))
                    .await?;
            }
            Err(error) => anyhow::bail!(
                "the import stopped: {:#}; run again with --resume to continue after record {}",
                anyhow::Error::from(error),
                job.position
            ),
        }
    };
    eprintln!();
    if done.failed > 0 {
        eprintln!("{} records failed:", done.failed);
        report(&done);
    }
    let verb = if done.dry_run { "would be" } else { "were" };
    println!(
        "import {}: {} records; {} identities {verb} created, {} {verb} updated, {} failed",
        done.id, done.total, done.created, done.updated, done.failed
    );
    Ok(())
}

pub async fn export(config: Config, args: ExportArgs) -> anyhow::Result<()> {
    let (db, scope, actor) = open(&config, &args.tenant).await?;
    let request = ExportRequest {
        format: args.format,
        password_hashes: args.password_hashes,
    };
    let progress = |done| bar(done, done, "identities exported");
    let written = match &args.output {
        Some(path) => {
            let file =
                File::create(path).with_context(|| format!("cannot create {}", path.display()))?;
            let mut out = BufWriter::new(file);
            latchkey_transfer::export_identities(&db, &scope, &actor, request, &mut out, progress)
                .await?
        }
        None => {
            let mut out = BufWriter::new(std::io::stdout());
            latchkey_transfer::export_identities(&db, &scope, &actor, request, &mut out, progress)
                .await?
        }
    };
    eprintln!();
    eprintln!("{written} identities exported");
    Ok(())
}
