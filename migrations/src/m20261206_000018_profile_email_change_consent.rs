//! Self-service profile, email change and consent: the identity's language (`locale`) and its
//! current consent decisions (`consents`, one JSON object, what events and CRM mappings read);
//! every consent decision as it was made (`consent_decisions`); and the undo links of email
//! changes (`email_change_undos`), stored hashed.

use crate::sql::{grant_app_role, run_ddl, tenant_isolation};
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

const DDL: &str = r#"
ALTER TABLE identities ADD COLUMN locale TEXT NULL;
ALTER TABLE identities ADD COLUMN consents JSONB NOT NULL DEFAULT '{}';
CREATE TABLE consent_decisions (
    tenant_id UUID NOT NULL REFERENCES tenants (id),
    id UUID NOT NULL,
    identity_id UUID NOT NULL,
    purpose TEXT NOT NULL,
    version INTEGER NOT NULL,
    granted BOOLEAN NOT NULL,
    ip_address TEXT NULL,
    decided_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, identity_id) REFERENCES identities (tenant_id, id)
);
CREATE INDEX consent_decisions_identity ON consent_decisions (tenant_id, identity_id, decided_at);
CREATE TABLE email_change_undos (
    tenant_id UUID NOT NULL REFERENCES tenants (id),
    id UUID NOT NULL,
    identity_id UUID NOT NULL,
    old_email TEXT NOT NULL,
    new_email TEXT NOT NULL,
    token_hash TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL,
    used_at TIMESTAMPTZ NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, identity_id) REFERENCES identities (tenant_id, id)
);
CREATE UNIQUE INDEX email_change_undos_token ON email_change_undos (tenant_id, token_hash)
"#;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        run_ddl(manager, DDL).await?;
        tenant_isolation(manager, "consent_decisions").await?;
        tenant_isolation(manager, "email_change_undos").await?;
        grant_app_role(manager).await
    }
}
