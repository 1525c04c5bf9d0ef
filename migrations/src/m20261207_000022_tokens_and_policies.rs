//! What tokens say and who may sign in where: per application, the claim mappings it adds to
//! its tokens and its access policy (who may sign in to it); and the relationships that give a
//! partner organization's admins delegated roles in customer organizations, for a window.

use crate::sql::{grant_app_role, run_ddl, tenant_isolation};
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

const DDL: &str = r#"
ALTER TABLE applications ADD COLUMN claim_mappings JSONB NULL;
ALTER TABLE applications ADD COLUMN access_policy JSONB NULL;
CREATE TABLE organization_relationships (
    tenant_id UUID NOT NULL REFERENCES tenants (id),
    id UUID NOT NULL,
    partner_id UUID NOT NULL,
    customer_id UUID NOT NULL,
    roles JSONB NOT NULL,
    valid_from TIMESTAMPTZ NULL,
    valid_until TIMESTAMPTZ NULL,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, partner_id, customer_id),
    FOREIGN KEY (tenant_id, partner_id) REFERENCES organizations (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, customer_id) REFERENCES organizations (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX organization_relationships_customer ON organization_relationships (tenant_id, customer_id);
"#;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        run_ddl(manager, DDL).await?;
        tenant_isolation(manager, "organization_relationships").await?;
        grant_app_role(manager).await
    }
}
