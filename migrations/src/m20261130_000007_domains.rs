//! Verified email domains of organizations, the organization's policy for new sign-ups at
//! them, and the join requests that policy can create.

use crate::sql::{grant_app_role, run_ddl, tenant_isolation};
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

const DDL: &str = r#"
ALTER TABLE organizations ADD COLUMN domain_policy TEXT NOT NULL DEFAULT 'none';
CREATE TABLE organization_domains (
    tenant_id UUID NOT NULL REFERENCES tenants (id),
    id UUID NOT NULL,
    organization_id UUID NOT NULL,
    domain TEXT NOT NULL,
    verification_token TEXT NOT NULL,
    verified_at TIMESTAMPTZ NULL,
    verification_method TEXT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, organization_id) REFERENCES organizations (tenant_id, id)
);
CREATE UNIQUE INDEX organization_domains_per_organization ON organization_domains (tenant_id, organization_id, domain);
CREATE UNIQUE INDEX organization_domains_verified ON organization_domains (tenant_id, domain) WHERE verified_at IS NOT NULL;
CREATE TABLE join_requests (
    tenant_id UUID NOT NULL REFERENCES tenants (id),
    id UUID NOT NULL,
    organization_id UUID NOT NULL,
    identity_id UUID NOT NULL,
    domain TEXT NOT NULL,
    status TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    decided_at TIMESTAMPTZ NULL,
    decided_by TEXT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, organization_id) REFERENCES organizations (tenant_id, id),
    FOREIGN KEY (tenant_id, identity_id) REFERENCES identities (tenant_id, id)
);
CREATE UNIQUE INDEX join_requests_pending ON join_requests (tenant_id, organization_id, identity_id) WHERE status = 'pending';
CREATE INDEX join_requests_organization ON join_requests (tenant_id, organization_id, id)
"#;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        run_ddl(manager, DDL).await?;
        tenant_isolation(manager, "organization_domains").await?;
        tenant_isolation(manager, "join_requests").await?;
        grant_app_role(manager).await
    }
}
