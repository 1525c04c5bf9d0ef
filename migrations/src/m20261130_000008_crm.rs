//! CRM connectors, their deliveries of outbox events, and the CRM record each subject maps to.
//! On PostgreSQL the dispatcher claims due deliveries of every tenant in one statement: its
//! transaction sets `latchkey.dispatcher` = `on`, which a second policy on `crm_deliveries`
//! (and only there) accepts.

use crate::sql::{dispatcher_access, grant_app_role, run_ddl, tenant_isolation};
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

const DDL: &str = r#"
CREATE TABLE crm_connectors (
    tenant_id UUID NOT NULL REFERENCES tenants (id),
    id UUID NOT NULL,
    name TEXT NOT NULL,
    kind TEXT NOT NULL,
    direction TEXT NOT NULL,
    triggers JSONB NOT NULL,
    settings JSONB NOT NULL,
    credentials TEXT NOT NULL,
    field_mapping JSONB NOT NULL,
    enabled BOOLEAN NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE UNIQUE INDEX crm_connectors_name ON crm_connectors (tenant_id, name);
CREATE TABLE crm_deliveries (
    tenant_id UUID NOT NULL REFERENCES tenants (id),
    id UUID NOT NULL,
    connector_id UUID NOT NULL,
    event_id UUID NOT NULL,
    event_type TEXT NOT NULL,
    subject_id UUID NOT NULL,
    status TEXT NOT NULL,
    attempts INTEGER NOT NULL,
    next_attempt_at TIMESTAMPTZ NOT NULL,
    last_error TEXT NULL,
    remote_id TEXT NULL,
    sync_run_id UUID NULL,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    delivered_at TIMESTAMPTZ NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, connector_id) REFERENCES crm_connectors (tenant_id, id),
    FOREIGN KEY (tenant_id, event_id) REFERENCES outbox_events (tenant_id, id)
);
CREATE INDEX crm_deliveries_due ON crm_deliveries (status, next_attempt_at);
CREATE INDEX crm_deliveries_connector ON crm_deliveries (tenant_id, connector_id, id);
CREATE INDEX crm_deliveries_subject ON crm_deliveries (tenant_id, subject_id, id);
CREATE UNIQUE INDEX crm_deliveries_sync_run ON crm_deliveries (tenant_id, sync_run_id, subject_id) WHERE sync_run_id IS NOT NULL;
CREATE TABLE crm_sync_runs (
    tenant_id UUID NOT NULL REFERENCES tenants (id),
    id UUID NOT NULL,
    connector_id UUID NOT NULL,
    total INTEGER NOT NULL,
    queued INTEGER NOT NULL,
    status TEXT NOT NULL,
    started_at TIMESTAMPTZ NOT NULL,
    queued_at TIMESTAMPTZ NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, connector_id) REFERENCES crm_connectors (tenant_id, id)
);
CREATE UNIQUE INDEX crm_sync_runs_queuing ON crm_sync_runs (tenant_id, connector_id) WHERE status = 'queuing';
CREATE TABLE crm_records (
    tenant_id UUID NOT NULL REFERENCES tenants (id),
    connector_id UUID NOT NULL,
    subject_id UUID NOT NULL,
    remote_id TEXT NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (tenant_id, connector_id, subject_id),
    FOREIGN KEY (tenant_id, connector_id) REFERENCES crm_connectors (tenant_id, id)
)
"#;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        run_ddl(manager, DDL).await?;
        for table in [
            "crm_connectors",
            "crm_deliveries",
            "crm_records",
            "crm_sync_runs",
        ] {
            tenant_isolation(manager, table).await?;
        }
        dispatcher_access(manager, "crm_deliveries").await?;
        grant_app_role(manager).await
    }
}
