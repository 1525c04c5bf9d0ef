//! The deployment's administrators: people who sign in to the console with passkeys and hold
//! roles per tenant (and, for operators, a platform role). These are platform tables, like
//! the tenant catalogue: an administrator may administer several tenants, and the console
//! reads who they are before any tenant is chosen. Every tenant-level query on them filters
//! by the tenant explicitly (`core::administrators`).

use crate::sql::{grant_app_role, run_ddl};
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

const DDL: &str = r#"
CREATE TABLE administrators (
    id UUID PRIMARY KEY,
    email TEXT NOT NULL,
    email_normalized TEXT NOT NULL,
    display_name TEXT NULL,
    platform_role TEXT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    last_sign_in_at TIMESTAMPTZ NULL
);
CREATE UNIQUE INDEX administrators_email ON administrators (email_normalized);

CREATE TABLE administrator_roles (
    administrator_id UUID NOT NULL REFERENCES administrators (id),
    tenant_id UUID NOT NULL REFERENCES tenants (id),
    role TEXT NOT NULL,
    granted_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (administrator_id, tenant_id)
);
CREATE INDEX administrator_roles_tenant ON administrator_roles (tenant_id, role);

CREATE TABLE administrator_passkeys (
    id UUID PRIMARY KEY,
    administrator_id UUID NOT NULL REFERENCES administrators (id),
    credential_id TEXT NOT NULL,
    passkey JSONB NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    last_used_at TIMESTAMPTZ NULL
);
CREATE UNIQUE INDEX administrator_passkeys_credential ON administrator_passkeys (credential_id);
CREATE INDEX administrator_passkeys_owner ON administrator_passkeys (administrator_id);

CREATE TABLE administrator_sessions (
    id UUID PRIMARY KEY,
    administrator_id UUID NOT NULL REFERENCES administrators (id),
    token_hash TEXT NOT NULL,
    csrf_token TEXT NOT NULL,
    user_agent_hash TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    last_seen_at TIMESTAMPTZ NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL
);
CREATE UNIQUE INDEX administrator_sessions_token ON administrator_sessions (token_hash);
CREATE INDEX administrator_sessions_owner ON administrator_sessions (administrator_id);

CREATE TABLE administrator_enrolments (
    id UUID PRIMARY KEY,
    token_hash TEXT NOT NULL,
    purpose TEXT NOT NULL,
    email TEXT NULL,
    administrator_id UUID NULL REFERENCES administrators (id),
    tenant_id UUID NULL REFERENCES tenants (id),
    role TEXT NULL,
    platform_role TEXT NULL,
    invited_by TEXT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL,
    used_at TIMESTAMPTZ NULL
);
CREATE UNIQUE INDEX administrator_enrolments_token ON administrator_enrolments (token_hash);
CREATE INDEX administrator_enrolments_tenant ON administrator_enrolments (tenant_id)
"#;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        run_ddl(manager, DDL).await?;
        grant_app_role(manager).await
    }
}
