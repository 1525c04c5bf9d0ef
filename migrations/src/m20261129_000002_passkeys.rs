//! Passkeys, sessions with rotating refresh tokens, per-tenant signing keys and one-time
//! registration links.

use crate::sql::{grant_app_role, run_ddl, tenant_isolation};
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

const DDL: &str = r#"
CREATE TABLE signing_keys (
    tenant_id UUID NOT NULL REFERENCES tenants (id),
    id UUID NOT NULL,
    algorithm TEXT NOT NULL,
    status TEXT NOT NULL,
    public_jwk JSONB NOT NULL,
    private_key_sealed TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    activated_at TIMESTAMPTZ NULL,
    retired_at TIMESTAMPTZ NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX signing_keys_status ON signing_keys (tenant_id, status);

CREATE TABLE passkeys (
    tenant_id UUID NOT NULL REFERENCES tenants (id),
    id UUID NOT NULL,
    identity_id UUID NOT NULL,
    credential_id TEXT NOT NULL,
    name TEXT NOT NULL,
    passkey JSONB NOT NULL,
    sign_count BIGINT NOT NULL,
    backup_eligible BOOLEAN NOT NULL,
    backup_state BOOLEAN NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    last_used_at TIMESTAMPTZ NULL,
    revoked_at TIMESTAMPTZ NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, identity_id) REFERENCES identities (tenant_id, id)
);
CREATE UNIQUE INDEX passkeys_credential ON passkeys (tenant_id, credential_id);
CREATE INDEX passkeys_identity ON passkeys (tenant_id, identity_id, id);

CREATE TABLE sessions (
    tenant_id UUID NOT NULL REFERENCES tenants (id),
    id UUID NOT NULL,
    identity_id UUID NOT NULL,
    auth_method TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    last_used_at TIMESTAMPTZ NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL,
    revoked_at TIMESTAMPTZ NULL,
    revoked_reason TEXT NULL,
    user_agent TEXT NULL,
    ip_address TEXT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, identity_id) REFERENCES identities (tenant_id, id)
);
CREATE INDEX sessions_identity ON sessions (tenant_id, identity_id, id);

CREATE TABLE refresh_tokens (
    tenant_id UUID NOT NULL REFERENCES tenants (id),
    id UUID NOT NULL,
    session_id UUID NOT NULL,
    token_hash TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    rotated_at TIMESTAMPTZ NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, session_id) REFERENCES sessions (tenant_id, id)
);
CREATE UNIQUE INDEX refresh_tokens_hash ON refresh_tokens (tenant_id, token_hash);

CREATE TABLE registration_tokens (
    tenant_id UUID NOT NULL REFERENCES tenants (id),
    id UUID NOT NULL,
    identity_id UUID NOT NULL,
    token_hash TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL,
    used_at TIMESTAMPTZ NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, identity_id) REFERENCES identities (tenant_id, id)
);
CREATE UNIQUE INDEX registration_tokens_hash ON registration_tokens (tenant_id, token_hash);
"#;

const TENANT_OWNED: [&str; 5] = [
    "signing_keys",
    "passkeys",
    "sessions",
    "refresh_tokens",
    "registration_tokens",
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        run_ddl(manager, DDL).await?;
        for table in TENANT_OWNED {
            tenant_isolation(manager, table).await?;
        }
        grant_app_role(manager).await
    }
}
