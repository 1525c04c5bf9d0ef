//! OpenID Connect applications (the tenant's OAuth clients) and the links from a session to
//! the application it was issued to and to the browser session it came from.

use crate::sql::{grant_app_role, run_ddl, tenant_isolation};
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

const DDL: &str = r#"
CREATE TABLE applications (
    tenant_id UUID NOT NULL REFERENCES tenants (id),
    id UUID NOT NULL,
    client_id TEXT NOT NULL,
    name TEXT NOT NULL,
    app_type TEXT NOT NULL,
    secret_hash TEXT NULL,
    redirect_uris JSONB NOT NULL,
    post_logout_redirect_uris JSONB NOT NULL,
    scopes JSONB NOT NULL,
    access_token_ttl_seconds INTEGER NULL,
    refresh_token_ttl_seconds INTEGER NULL,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    secret_rotated_at TIMESTAMPTZ NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE UNIQUE INDEX applications_client_id ON applications (tenant_id, client_id);

ALTER TABLE sessions ADD COLUMN application_id UUID NULL;
ALTER TABLE sessions ADD COLUMN parent_session_id UUID NULL;
ALTER TABLE sessions ADD COLUMN scope TEXT NULL;
CREATE INDEX sessions_parent ON sessions (tenant_id, parent_session_id);
CREATE INDEX sessions_application ON sessions (tenant_id, application_id);
"#;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        run_ddl(manager, DDL).await?;
        tenant_isolation(manager, "applications").await?;
        grant_app_role(manager).await
    }
}
