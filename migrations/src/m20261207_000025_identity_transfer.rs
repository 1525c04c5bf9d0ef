//! Moving identities in and out: import jobs (from the command line or an uploaded file), with
//! their progress, resume point and report; export jobs; and the files both work on, stored in
//! the database in chunks (so any replica serves them) until they expire.

use crate::sql::{dispatcher_access, grant_app_role, run_ddl, tenant_isolation};
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

const DDL: &str = r#"
CREATE TABLE transfer_files (
    tenant_id UUID NOT NULL REFERENCES tenants (id),
    id UUID NOT NULL,
    purpose TEXT NOT NULL,
    name TEXT NOT NULL,
    size BIGINT NOT NULL,
    digest TEXT NULL,
    created_by TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE TABLE transfer_file_chunks (
    tenant_id UUID NOT NULL REFERENCES tenants (id),
    file_id UUID NOT NULL,
    seq INTEGER NOT NULL,
    data BYTEA NOT NULL,
    PRIMARY KEY (tenant_id, file_id, seq),
    FOREIGN KEY (tenant_id, file_id) REFERENCES transfer_files (tenant_id, id) ON DELETE CASCADE
);
CREATE TABLE identity_imports (
    tenant_id UUID NOT NULL REFERENCES tenants (id),
    id UUID NOT NULL,
    format TEXT NOT NULL,
    source TEXT NOT NULL,
    digest TEXT NOT NULL,
    options JSONB NOT NULL,
    dry_run BOOLEAN NOT NULL,
    status TEXT NOT NULL,
    total BIGINT NOT NULL,
    position BIGINT NOT NULL,
    created BIGINT NOT NULL,
    updated BIGINT NOT NULL,
    failed BIGINT NOT NULL,
    errors JSONB NOT NULL,
    file_id UUID NULL,
    lease_until TIMESTAMPTZ NULL,
    created_by TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    finished_at TIMESTAMPTZ NULL,
    expires_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX identity_imports_digest ON identity_imports (tenant_id, digest);
CREATE INDEX identity_imports_lease ON identity_imports (lease_until);
CREATE TABLE identity_exports (
    tenant_id UUID NOT NULL REFERENCES tenants (id),
    id UUID NOT NULL,
    format TEXT NOT NULL,
    password_hashes BOOLEAN NOT NULL,
    status TEXT NOT NULL,
    processed BIGINT NOT NULL,
    error TEXT NULL,
    file_id UUID NULL,
    lease_until TIMESTAMPTZ NULL,
    created_by TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    finished_at TIMESTAMPTZ NULL,
    expires_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX identity_exports_lease ON identity_exports (lease_until)
"#;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        run_ddl(manager, DDL).await?;
        for table in [
            "transfer_files",
            "transfer_file_chunks",
            "identity_imports",
            "identity_exports",
        ] {
            tenant_isolation(manager, table).await?;
        }
        // Any replica's worker claims the jobs of the API (command-line jobs have no lease).
        dispatcher_access(manager, "identity_imports").await?;
        dispatcher_access(manager, "identity_exports").await?;
        // … and finds the tenants whose files expired.
        dispatcher_access(manager, "transfer_files").await?;
        grant_app_role(manager).await
    }
}
