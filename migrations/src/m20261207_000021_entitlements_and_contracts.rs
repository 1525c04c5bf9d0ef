//! What customer organizations have bought: entitlement keys defined per tenant and held by
//! organizations for a window; the contracts CRM connectors pull (each the window, roles and
//! entitlements it gives its organization and contacts); and per connector the table mapping
//! what was bought to roles and entitlements.

use crate::sql::{grant_app_role, run_ddl, tenant_isolation};
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

const DDL: &str = r#"
CREATE TABLE entitlements (
    tenant_id UUID NOT NULL REFERENCES tenants (id),
    key TEXT NOT NULL,
    description TEXT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (tenant_id, key)
);
CREATE TABLE organization_entitlements (
    tenant_id UUID NOT NULL REFERENCES tenants (id),
    id UUID NOT NULL,
    organization_id UUID NOT NULL,
    key TEXT NOT NULL,
    valid_from TIMESTAMPTZ NULL,
    valid_until TIMESTAMPTZ NULL,
    source TEXT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, organization_id, key),
    FOREIGN KEY (tenant_id, key) REFERENCES entitlements (tenant_id, key),
    FOREIGN KEY (tenant_id, organization_id) REFERENCES organizations (tenant_id, id) ON DELETE CASCADE
);
CREATE TABLE crm_contracts (
    tenant_id UUID NOT NULL REFERENCES tenants (id),
    connector_id UUID NOT NULL,
    remote_id TEXT NOT NULL,
    organization_id UUID NOT NULL,
    state TEXT NOT NULL,
    valid_from TIMESTAMPTZ NULL,
    valid_until TIMESTAMPTZ NULL,
    grants JSONB NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (tenant_id, connector_id, remote_id),
    FOREIGN KEY (tenant_id, connector_id) REFERENCES crm_connectors (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX crm_contracts_organization ON crm_contracts (tenant_id, organization_id);
ALTER TABLE crm_connectors ADD COLUMN contract_mapping JSONB NULL;
"#;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        run_ddl(manager, DDL).await?;
        for table in ["entitlements", "organization_entitlements", "crm_contracts"] {
            tenant_isolation(manager, table).await?;
        }
        grant_app_role(manager).await
    }
}
