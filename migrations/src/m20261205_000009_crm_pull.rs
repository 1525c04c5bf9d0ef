//! Pulling from CRMs: each pulling connector's schedule and cursor (`crm_pulls`, claimed by
//! the dispatcher of any replica, like deliveries), the ids of inbound webhook events already
//! applied (`crm_inbound_events`, so a CRM's retry changes nothing), and a lookup of a CRM
//! record's subject.

use crate::sql::{dispatcher_access, grant_app_role, run_ddl, tenant_isolation};
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

const DDL: &str = r#"
CREATE TABLE crm_pulls (
    tenant_id UUID NOT NULL REFERENCES tenants (id),
    connector_id UUID NOT NULL,
    pull_cursor TEXT NULL,
    next_pull_at TIMESTAMPTZ NOT NULL,
    last_pull_at TIMESTAMPTZ NULL,
    last_error TEXT NULL,
    records INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, connector_id),
    FOREIGN KEY (tenant_id, connector_id) REFERENCES crm_connectors (tenant_id, id)
);
CREATE INDEX crm_pulls_due ON crm_pulls (next_pull_at);
CREATE TABLE crm_inbound_events (
    tenant_id UUID NOT NULL REFERENCES tenants (id),
    connector_id UUID NOT NULL,
    event_id TEXT NOT NULL,
    received_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (tenant_id, connector_id, event_id),
    FOREIGN KEY (tenant_id, connector_id) REFERENCES crm_connectors (tenant_id, id)
);
CREATE INDEX crm_records_remote ON crm_records (tenant_id, connector_id, remote_id)
"#;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        run_ddl(manager, DDL).await?;
        for table in ["crm_pulls", "crm_inbound_events"] {
            tenant_isolation(manager, table).await?;
        }
        dispatcher_access(manager, "crm_pulls").await?;
        grant_app_role(manager).await
    }
}
