//! Passwords and TOTP second factors: one argon2id hash per identity (a PHC string, which
//! carries its algorithm and parameters, so imported hashes of other algorithms fit too), one
//! TOTP authenticator per identity (its secret sealed under the master key, the last time step
//! accepted so no code works twice, and no confirmation until a first right code), and its
//! single-use recovery codes, stored hashed.

use crate::sql::{grant_app_role, run_ddl, tenant_isolation};
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

const DDL: &str = r#"
CREATE TABLE password_credentials (
    tenant_id UUID NOT NULL REFERENCES tenants (id),
    identity_id UUID NOT NULL,
    hash TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (tenant_id, identity_id),
    FOREIGN KEY (tenant_id, identity_id) REFERENCES identities (tenant_id, id)
);
CREATE TABLE totp_authenticators (
    tenant_id UUID NOT NULL REFERENCES tenants (id),
    identity_id UUID NOT NULL,
    sealed_secret TEXT NOT NULL,
    confirmed_at TIMESTAMPTZ NULL,
    last_used_step BIGINT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (tenant_id, identity_id),
    FOREIGN KEY (tenant_id, identity_id) REFERENCES identities (tenant_id, id)
);
CREATE TABLE totp_recovery_codes (
    tenant_id UUID NOT NULL REFERENCES tenants (id),
    id UUID NOT NULL,
    identity_id UUID NOT NULL,
    code_hash TEXT NOT NULL,
    used_at TIMESTAMPTZ NULL,
    created_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, identity_id) REFERENCES identities (tenant_id, id)
);
CREATE INDEX totp_recovery_codes_identity ON totp_recovery_codes (tenant_id, identity_id)
"#;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        run_ddl(manager, DDL).await?;
        tenant_isolation(manager, "password_credentials").await?;
        tenant_isolation(manager, "totp_authenticators").await?;
        tenant_isolation(manager, "totp_recovery_codes").await?;
        grant_app_role(manager).await
    }
}
