//! Invitations to join an organization: single-use, expiring, sent by email.

use crate::sql::{grant_app_role, run_ddl, tenant_isolation};
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

const DDL: &str = r#"
CREATE TABLE invitations (
    tenant_id UUID NOT NULL REFERENCES tenants (id),
    id UUID NOT NULL,
    organization_id UUID NOT NULL,
    email TEXT NOT NULL,
    email_normalized TEXT NOT NULL,
    roles JSONB NOT NULL,
    token_hash TEXT NOT NULL,
    invited_by TEXT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    sent_at TIMESTAMPTZ NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL,
    accepted_at TIMESTAMPTZ NULL,
    accepted_by UUID NULL,
    revoked_at TIMESTAMPTZ NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, organization_id) REFERENCES organizations (tenant_id, id)
);
CREATE UNIQUE INDEX invitations_token ON invitations (tenant_id, token_hash);
CREATE INDEX invitations_organization ON invitations (tenant_id, organization_id, id);
"#;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        run_ddl(manager, DDL).await?;
        tenant_isolation(manager, "invitations").await?;
        grant_app_role(manager).await
    }
}
