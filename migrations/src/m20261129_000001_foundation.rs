//! Tenants, their domains, identities, API keys, audit events and platform credentials.

use crate::sql::{grant_app_role, run_ddl, tenant_isolation};
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

const DDL: &str = r#"
CREATE TABLE tenants (
    id UUID PRIMARY KEY,
    slug TEXT NOT NULL,
    name TEXT NOT NULL,
    status TEXT NOT NULL,
    settings JSONB NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);
CREATE UNIQUE INDEX tenants_slug ON tenants (slug);

CREATE TABLE tenant_domains (
    tenant_id UUID NOT NULL REFERENCES tenants (id),
    id UUID NOT NULL,
    domain TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE UNIQUE INDEX tenant_domains_domain ON tenant_domains (domain);

CREATE TABLE platform_credentials (
    id UUID PRIMARY KEY,
    name TEXT NOT NULL,
    token_hash TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    revoked_at TIMESTAMPTZ NULL
);
CREATE UNIQUE INDEX platform_credentials_token ON platform_credentials (token_hash);

CREATE TABLE identities (
    tenant_id UUID NOT NULL REFERENCES tenants (id),
    id UUID NOT NULL,
    email TEXT NOT NULL,
    email_normalized TEXT NOT NULL,
    email_verified BOOLEAN NOT NULL,
    phone TEXT NULL,
    display_name TEXT NULL,
    status TEXT NOT NULL,
    attributes JSONB NOT NULL,
    external_id TEXT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    last_sign_in_at TIMESTAMPTZ NULL,
    deleted_at TIMESTAMPTZ NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE UNIQUE INDEX identities_email ON identities (tenant_id, email_normalized) WHERE deleted_at IS NULL;
CREATE UNIQUE INDEX identities_external_id ON identities (tenant_id, external_id) WHERE deleted_at IS NULL AND external_id IS NOT NULL;
CREATE INDEX identities_status ON identities (tenant_id, status, id);

CREATE TABLE api_keys (
    tenant_id UUID NOT NULL REFERENCES tenants (id),
    id UUID NOT NULL,
    name TEXT NOT NULL,
    key_prefix TEXT NOT NULL,
    secret_hash TEXT NOT NULL,
    roles JSONB NOT NULL,
    created_by TEXT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    last_used_at TIMESTAMPTZ NULL,
    revoked_at TIMESTAMPTZ NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE UNIQUE INDEX api_keys_secret ON api_keys (tenant_id, secret_hash);

CREATE TABLE audit_events (
    tenant_id UUID NOT NULL REFERENCES tenants (id),
    id UUID NOT NULL,
    actor_type TEXT NOT NULL,
    actor_id TEXT NULL,
    action TEXT NOT NULL,
    target_type TEXT NULL,
    target_id TEXT NULL,
    request_id TEXT NULL,
    data JSONB NOT NULL,
    occurred_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX audit_events_action ON audit_events (tenant_id, action, id);
"#;

/// Tables whose rows belong to one tenant: row-level security on PostgreSQL.
const TENANT_OWNED: [&str; 4] = ["tenant_domains", "identities", "api_keys", "audit_events"];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        run_ddl(manager, DDL).await?;
        for table in TENANT_OWNED {
            tenant_isolation(manager, table).await?;
        }
        // Host-based tenant resolution reads domains before any tenant is known.
        if manager.get_database_backend() == sea_orm_migration::sea_orm::DbBackend::Postgres {
            run_ddl(
                manager,
                "CREATE POLICY domain_resolution ON tenant_domains FOR SELECT USING (true)",
            )
            .await?;
        }
        grant_app_role(manager).await
    }
}
