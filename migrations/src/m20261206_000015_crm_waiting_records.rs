//! Pulled CRM records never trust an unverified email address. A record link says whether the
//! record created its identity (`crm_records.created_subject`: the CRM is then that identity's
//! source, and its record may keep it current whatever its address's state); a record whose
//! identity's address is not verified waits (`crm_waiting_records`, with the record as pulled)
//! and is applied once the address is verified. Waiting records released for the dispatcher
//! (`ready_at`) are claimed by any replica, like deliveries and pulls.
//!
//! Links made before this migration are marked by the audit log: an identity a connector
//! created (`identity.create` by that `crm_connector`) is the record's own.

use crate::sql::{dispatcher_access, grant_app_role, run_ddl, tenant_isolation};
use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DbBackend};

#[derive(DeriveMigrationName)]
pub struct Migration;

const DDL: &str = r#"
ALTER TABLE crm_records ADD COLUMN created_subject BOOLEAN NOT NULL DEFAULT FALSE;
CREATE TABLE crm_waiting_records (
    tenant_id UUID NOT NULL REFERENCES tenants (id),
    id UUID NOT NULL,
    connector_id UUID NOT NULL,
    remote_id TEXT NOT NULL,
    email TEXT NOT NULL,
    email_normalized TEXT NOT NULL,
    identity_id UUID NOT NULL,
    record JSONB NOT NULL,
    reason TEXT NOT NULL,
    ready_at TIMESTAMPTZ NULL,
    received_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, connector_id) REFERENCES crm_connectors (tenant_id, id)
);
CREATE UNIQUE INDEX crm_waiting_records_record ON crm_waiting_records (tenant_id, connector_id, remote_id);
CREATE INDEX crm_waiting_records_identity ON crm_waiting_records (tenant_id, identity_id);
CREATE INDEX crm_waiting_records_email ON crm_waiting_records (tenant_id, email_normalized);
CREATE INDEX crm_waiting_records_ready ON crm_waiting_records (ready_at)
"#;

/// SQLite stores ids as 16 bytes; the audit log holds them as text.
const BACKFILL_SQLITE: &str = "UPDATE crm_records SET created_subject = TRUE WHERE EXISTS (\
    SELECT 1 FROM audit_events a WHERE a.tenant_id = crm_records.tenant_id \
    AND a.action = 'identity.create' AND a.actor_type = 'crm_connector' \
    AND replace(a.actor_id, '-', '') = lower(hex(crm_records.connector_id)) \
    AND replace(a.target_id, '-', '') = lower(hex(crm_records.subject_id)))";

/// One tenant at a time with that tenant set for the transaction, as the server does, so it
/// works under forced row-level security for a migration role without BYPASSRLS (the tenants
/// come from `tenants`, which has none: no `crm_records` row is visible before one is set).
const BACKFILL_POSTGRES: &str = r#"
DO $$
DECLARE t uuid;
BEGIN
    FOR t IN SELECT id FROM tenants LOOP
        PERFORM set_config('latchkey.tenant_id', t::text, true);
        UPDATE crm_records r SET created_subject = TRUE
            WHERE r.tenant_id = t AND EXISTS (
                SELECT 1 FROM audit_events a WHERE a.tenant_id = t
                AND a.action = 'identity.create' AND a.actor_type = 'crm_connector'
                AND a.actor_id = r.connector_id::text AND a.target_id = r.subject_id::text);
    END LOOP;
    PERFORM set_config('latchkey.tenant_id', '', true);
END $$
"#;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        run_ddl(manager, DDL).await?;
        // Not through `run_ddl`, which splits at semicolons: the DO block has some.
        let connection = manager.get_connection();
        if manager.get_database_backend() == DbBackend::Postgres {
            connection.execute_unprepared(BACKFILL_POSTGRES).await?;
        } else {
            connection.execute_unprepared(BACKFILL_SQLITE).await?;
        }
        tenant_isolation(manager, "crm_waiting_records").await?;
        dispatcher_access(manager, "crm_waiting_records").await?;
        grant_app_role(manager).await
    }
}
