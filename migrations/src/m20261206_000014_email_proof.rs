//! Email ownership proof: the challenges (codes sent, and the proofs completed ones produced)
//! and the recovery requests that wait for an administrator's approval.

use crate::sql::{grant_app_role, run_ddl, tenant_isolation};
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

const DDL: &str = r#"
CREATE TABLE email_challenges (
    tenant_id UUID NOT NULL REFERENCES tenants (id),
    id UUID NOT NULL,
    purpose TEXT NOT NULL,
    email TEXT NOT NULL,
    email_normalized TEXT NOT NULL,
    code_hash TEXT NOT NULL,
    failures INTEGER NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL,
    completed_at TIMESTAMPTZ NULL,
    proof_hash TEXT NULL,
    proof_expires_at TIMESTAMPTZ NULL,
    proof_used_at TIMESTAMPTZ NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX email_challenges_address ON email_challenges (tenant_id, email_normalized, purpose, created_at);
CREATE UNIQUE INDEX email_challenges_proof ON email_challenges (tenant_id, proof_hash);
CREATE TABLE recovery_requests (
    tenant_id UUID NOT NULL REFERENCES tenants (id),
    id UUID NOT NULL,
    identity_id UUID NOT NULL,
    status TEXT NOT NULL,
    ip_address TEXT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    decided_at TIMESTAMPTZ NULL,
    decided_by TEXT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, identity_id) REFERENCES identities (tenant_id, id)
);
CREATE INDEX recovery_requests_status ON recovery_requests (tenant_id, status, id);
CREATE INDEX recovery_requests_identity ON recovery_requests (tenant_id, identity_id)
"#;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        run_ddl(manager, DDL).await?;
        tenant_isolation(manager, "email_challenges").await?;
        tenant_isolation(manager, "recovery_requests").await?;
        grant_app_role(manager).await
    }
}
