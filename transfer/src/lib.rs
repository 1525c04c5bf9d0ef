//! Latchkey's identity transfer: bringing a tenant's identities in from other platforms
//! (Auth0, Keycloak, Firebase, CSV, or a Latchkey export) with their password hashes, and
//! taking them out again.
//!
//! Modules, in layers: `problem` (what is wrong with a record), `record` (the Latchkey
//! transfer format), `formats` (reading each format into records), `checked` (records
//! checked field by field), `jobs` (import jobs with progress and resume point), `import`
//! (the two passes of an import), `export` (writing an export), `files` (uploaded and exported
//! files in the database), `export_jobs` (exports of the API), `worker` (what every replica
//! runs: due jobs of the API, and removing expired ones).

pub mod checked;
pub mod export;
pub mod export_jobs;
pub mod files;
pub mod formats;
pub mod import;
pub mod jobs;
pub mod problem;
pub mod record;
pub mod worker;

pub use export::{ExportFormat, ExportRequest, export_identities};
pub use export_jobs::{
    ExportJob, ExportStatus, export_chunk, get_export, list_exports, start_export,
};
pub use files::{TransferFile, Upload, begin_upload};
pub use formats::{Format, FormatOptions};
pub use import::{
    ImportRequest, UploadedImport, get_import, list_imports, resumable_import, run_import,
    start_import, start_uploaded_import, validate_import,
};
pub use jobs::{ImportJob, ImportStatus};
pub use problem::Problem;
