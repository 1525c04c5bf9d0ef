//! The transactional outbox: domain events written in the transaction of the change they
//! describe, for the CRM connectors to deliver.

use crate::sql::{grant_app_role, run_ddl, tenant_isolation};
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

const DDL: &str = r#"
CREATE TABLE outbox_events (
    tenant_id UUID NOT NULL REFERENCES tenants (id),
    id UUID NOT NULL,
    event_type TEXT NOT NULL,
    subject_type TEXT NOT NULL,
    subject_id UUID NOT NULL,
    data JSONB NOT NULL,
    request_id TEXT NULL,
    occurred_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX outbox_events_subject ON outbox_events (tenant_id, subject_id, id);
CREATE INDEX outbox_events_type ON outbox_events (tenant_id, event_type, id)
"#;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        run_ddl(manager, DDL).await?;
        tenant_isolation(manager, "outbox_events").await?;
        grant_app_role(manager).await
    }
}
