//! Imports and exports through the command line's functions, in this process, against the
//! database a test server shares ([`crate::durable_settings`]).

use latchkey_api::config::{Config, Settings};
use latchkey_api::transfer::{ExportArgs, ImportArgs};
use latchkey_password_hashes::FirebaseConfig;
use latchkey_transfer::{ExportFormat, Format};
use std::path::PathBuf;

/// What to import and how.
pub struct Import<'a> {
    pub tenant: &'a str,
    pub format: Format,
    pub contents: &'a str,
    pub dry_run: bool,
    pub resume: bool,
    pub skip_invalid: bool,
    pub firebase: Option<FirebaseConfig>,
}

impl<'a> Import<'a> {
    pub fn new(tenant: &'a str, format: Format, contents: &'a str) -> Self {
        Self {
            tenant,
            format,
            contents,
            dry_run: false,
            resume: false,
            skip_invalid: false,
            firebase: None,
        }
    }
}

/// Writes `contents` to a file of the test's data directory named for its digest, so the
/// same contents are the same file (what `--resume` finds).
pub fn file_of(settings: &Settings, contents: &str) -> PathBuf {
    use sha2::Digest;
    std::fs::create_dir_all(&settings.data_dir).unwrap();
    let name = hex::encode(sha2::Sha256::digest(contents.as_bytes()));
    let path = settings.data_dir.join(format!("{}.import", &name[..16]));
    std::fs::write(&path, contents).unwrap();
    path
}

/// `latchkey identities import` with `import`.
pub async fn import(settings: &Settings, import: Import<'_>) -> anyhow::Result<()> {
    let config = Config::check(settings.clone()).unwrap();
    latchkey_api::transfer::import(
        config,
        ImportArgs {
            tenant: import.tenant.to_owned(),
            file: file_of(settings, import.contents),
            format: import.format,
            dry_run: import.dry_run,
            resume: import.resume,
            skip_invalid: import.skip_invalid,
            firebase: import.firebase,
        },
    )
    .await
}

/// `latchkey identities export --output <file>`, returning what the file holds.
pub async fn export(
    settings: &Settings,
    tenant: &str,
    format: ExportFormat,
    password_hashes: bool,
) -> anyhow::Result<String> {
    std::fs::create_dir_all(&settings.data_dir).unwrap();
    let output = settings.data_dir.join(crate::unique("export"));
    let config = Config::check(settings.clone()).unwrap();
    latchkey_api::transfer::export(
        config,
        ExportArgs {
            tenant: tenant.to_owned(),
            format,
            output: Some(output.clone()),
            password_hashes,
        },
    )
    .await?;
    Ok(std::fs::read_to_string(output).unwrap())
}
