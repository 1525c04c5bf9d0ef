//! Federation: a tenant's identity providers (tenant-wide social ones and an organization's
//! enterprise SSO), with their sealed credentials, and the links of identities to an account
//! at a provider, keyed by the provider and the subject it names (never by email); and the
//! organizations that require their members to sign in through their SSO.

use crate::sql::{grant_app_role, run_ddl, tenant_isolation};
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

const DDL: &str = r#"
CREATE TABLE identity_providers (
    tenant_id UUID NOT NULL REFERENCES tenants (id),
    id UUID NOT NULL,
    organization_id UUID NULL,
    name TEXT NOT NULL,
    protocol TEXT NOT NULL,
    preset TEXT NOT NULL,
    domains JSONB NOT NULL,
    settings JSONB NOT NULL,
    credentials TEXT NOT NULL,
    role_mapping JSONB NULL,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, organization_id) REFERENCES organizations (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX identity_providers_organization ON identity_providers (tenant_id, organization_id);
CREATE TABLE federated_links (
    tenant_id UUID NOT NULL REFERENCES tenants (id),
    id UUID NOT NULL,
    identity_id UUID NOT NULL,
    provider_id UUID NOT NULL,
    subject TEXT NOT NULL,
    email TEXT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    last_sign_in_at TIMESTAMPTZ NULL,
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, provider_id, subject),
    FOREIGN KEY (tenant_id, identity_id) REFERENCES identities (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, provider_id) REFERENCES identity_providers (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX federated_links_identity ON federated_links (tenant_id, identity_id);
CREATE TABLE sso_requirements (
    tenant_id UUID NOT NULL REFERENCES tenants (id),
    organization_id UUID NOT NULL,
    exceptions JSONB NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (tenant_id, organization_id),
    FOREIGN KEY (tenant_id, organization_id) REFERENCES organizations (tenant_id, id) ON DELETE CASCADE
);
"#;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        run_ddl(manager, DDL).await?;
        tenant_isolation(manager, "identity_providers").await?;
        tenant_isolation(manager, "federated_links").await?;
        tenant_isolation(manager, "sso_requirements").await?;
        grant_app_role(manager).await
    }
}
