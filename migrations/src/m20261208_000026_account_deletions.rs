//! Each person's data: the deletions end users asked for (`deleteViewerAccount`), waiting out
//! their tenant's grace period; any replica's worker erases them when due. An index for the
//! audit-log retention, which removes a tenant's oldest entries.

use crate::sql::{dispatcher_access, grant_app_role, run_ddl, tenant_isolation};
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

const DDL: &str = r#"
CREATE TABLE account_deletions (
    tenant_id UUID NOT NULL REFERENCES tenants (id),
    identity_id UUID NOT NULL,
    requested_at TIMESTAMPTZ NOT NULL,
    erase_at TIMESTAMPTZ NOT NULL,
    due_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (tenant_id, identity_id)
);
CREATE INDEX account_deletions_due ON account_deletions (due_at);
CREATE INDEX audit_events_occurred ON audit_events (tenant_id, occurred_at)
"#;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        run_ddl(manager, DDL).await?;
        tenant_isolation(manager, "account_deletions").await?;
        // Any replica's worker claims the due deletions of every tenant.
        dispatcher_access(manager, "account_deletions").await?;
        grant_app_role(manager).await
    }
}
