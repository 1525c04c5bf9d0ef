//! B2B organizations, their per-tenant roles, and memberships; sessions may be scoped to one
//! organization.

use crate::sql::{grant_app_role, run_ddl, tenant_isolation};
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

const DDL: &str = r#"
CREATE TABLE organizations (
    tenant_id UUID NOT NULL REFERENCES tenants (id),
    id UUID NOT NULL,
    name TEXT NOT NULL,
    slug TEXT NOT NULL,
    kind TEXT NOT NULL,
    metadata JSONB NOT NULL,
    external_id TEXT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE UNIQUE INDEX organizations_slug ON organizations (tenant_id, slug);
CREATE UNIQUE INDEX organizations_external_id ON organizations (tenant_id, external_id);
CREATE INDEX organizations_kind ON organizations (tenant_id, kind, id);

CREATE TABLE organization_roles (
    tenant_id UUID NOT NULL REFERENCES tenants (id),
    id UUID NOT NULL,
    name TEXT NOT NULL,
    description TEXT NULL,
    permissions JSONB NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE UNIQUE INDEX organization_roles_name ON organization_roles (tenant_id, name);

CREATE TABLE memberships (
    tenant_id UUID NOT NULL REFERENCES tenants (id),
    id UUID NOT NULL,
    organization_id UUID NOT NULL,
    identity_id UUID NOT NULL,
    roles JSONB NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, organization_id) REFERENCES organizations (tenant_id, id),
    FOREIGN KEY (tenant_id, identity_id) REFERENCES identities (tenant_id, id)
);
CREATE UNIQUE INDEX memberships_pair ON memberships (tenant_id, organization_id, identity_id);
CREATE INDEX memberships_identity ON memberships (tenant_id, identity_id, id);

ALTER TABLE sessions ADD COLUMN organization_id UUID NULL;
CREATE INDEX sessions_organization ON sessions (tenant_id, organization_id, identity_id);
"#;

const TENANT_OWNED: [&str; 3] = ["organizations", "organization_roles", "memberships"];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        run_ddl(manager, DDL).await?;
        for table in TENANT_OWNED {
            tenant_isolation(manager, table).await?;
        }
        grant_app_role(manager).await
    }
}
