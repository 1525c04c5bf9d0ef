//! SCIM 2.0 provisioning: the tokens a directory (Microsoft Entra ID, Okta…) presents, each for
//! the whole tenant or for one organization (with the organization roles it may assign, when
//! the tenant lists them); the links of provisioned users and groups to the
//! directory's `externalId` with the attributes only SCIM carries, per directory (`scope_id`:
//! the organization of an organization's token, the nil UUID for tenant-wide tokens); and a
//! membership's suspension (an organization's directory deactivating its member keeps the
//! membership with its roles, giving no access until reactivated).

use crate::sql::{grant_app_role, run_ddl, tenant_isolation};
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

const DDL: &str = r#"
CREATE TABLE scim_tokens (
    tenant_id UUID NOT NULL REFERENCES tenants (id),
    id UUID NOT NULL,
    name TEXT NOT NULL,
    organization_id UUID NULL,
    roles JSONB NULL,
    secret_hash TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    last_used_at TIMESTAMPTZ NULL,
    revoked_at TIMESTAMPTZ NULL,
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, secret_hash),
    FOREIGN KEY (tenant_id, organization_id) REFERENCES organizations (tenant_id, id) ON DELETE CASCADE
);
CREATE TABLE scim_users (
    tenant_id UUID NOT NULL REFERENCES tenants (id),
    scope_id UUID NOT NULL,
    identity_id UUID NOT NULL,
    external_id TEXT NULL,
    profile JSONB NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (tenant_id, scope_id, identity_id),
    UNIQUE (tenant_id, scope_id, external_id),
    FOREIGN KEY (tenant_id, identity_id) REFERENCES identities (tenant_id, id) ON DELETE CASCADE
);
CREATE TABLE scim_groups (
    tenant_id UUID NOT NULL REFERENCES tenants (id),
    scope_id UUID NOT NULL,
    group_id TEXT NOT NULL,
    external_id TEXT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (tenant_id, scope_id, group_id),
    UNIQUE (tenant_id, scope_id, external_id)
);
ALTER TABLE memberships ADD COLUMN suspended_at TIMESTAMPTZ NULL;
"#;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        run_ddl(manager, DDL).await?;
        for table in ["scim_tokens", "scim_users", "scim_groups"] {
            tenant_isolation(manager, table).await?;
        }
        grant_app_role(manager).await
    }
}
