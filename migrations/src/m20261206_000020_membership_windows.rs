//! Access with a validity window: memberships, invitations and time-bound role grants carry
//! `valid_from` / `valid_until`, and each start and end of a window is a row of
//! `membership_transitions`, claimed when due (like CRM deliveries) to write its domain event
//! exactly once.

use crate::sql::{dispatcher_access, grant_app_role, run_ddl, tenant_isolation};
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

const DDL: &str = r#"
ALTER TABLE memberships ADD COLUMN valid_from TIMESTAMPTZ NULL;
ALTER TABLE memberships ADD COLUMN valid_until TIMESTAMPTZ NULL;
ALTER TABLE invitations ADD COLUMN valid_from TIMESTAMPTZ NULL;
ALTER TABLE invitations ADD COLUMN valid_until TIMESTAMPTZ NULL;
CREATE INDEX memberships_valid_until ON memberships (tenant_id, organization_id, valid_until);
CREATE TABLE membership_role_grants (
    tenant_id UUID NOT NULL REFERENCES tenants (id),
    id UUID NOT NULL,
    membership_id UUID NOT NULL,
    role TEXT NOT NULL,
    valid_from TIMESTAMPTZ NULL,
    valid_until TIMESTAMPTZ NULL,
    created_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, membership_id) REFERENCES memberships (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX membership_role_grants_membership ON membership_role_grants (tenant_id, membership_id);
CREATE TABLE membership_transitions (
    tenant_id UUID NOT NULL REFERENCES tenants (id),
    id UUID NOT NULL,
    membership_id UUID NOT NULL,
    grant_id UUID NULL,
    event_type TEXT NOT NULL,
    at TIMESTAMPTZ NOT NULL,
    due_at TIMESTAMPTZ NOT NULL,
    status TEXT NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX membership_transitions_due ON membership_transitions (status, due_at);
CREATE INDEX membership_transitions_membership ON membership_transitions (tenant_id, membership_id);
"#;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        run_ddl(manager, DDL).await?;
        for table in ["membership_role_grants", "membership_transitions"] {
            tenant_isolation(manager, table).await?;
        }
        dispatcher_access(manager, "membership_transitions").await?;
        grant_app_role(manager).await
    }
}
