//! Per-tenant request quotas that a platform operator sets (`setTenantQuota`). A platform
//! table like `tenants`: it is read when a request's tenant is known and written by the
//! platform API, so it has no row-level security.

use crate::sql::{grant_app_role, run_ddl};
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

const DDL: &str = r#"
CREATE TABLE tenant_quotas (
    tenant_id UUID PRIMARY KEY REFERENCES tenants (id),
    requests_per_minute INTEGER NULL,
    updated_at TIMESTAMPTZ NOT NULL
)
"#;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        run_ddl(manager, DDL).await?;
        grant_app_role(manager).await
    }
}
