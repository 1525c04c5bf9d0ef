//! How an organization's members must have signed in for its sessions and tokens
//! (`Organization.authenticationPolicy`): `any` (the default) or `passkey`.

use crate::sql::run_ddl;
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

const DDL: &str = r#"
ALTER TABLE organizations ADD COLUMN authentication_policy TEXT NOT NULL DEFAULT 'any'
"#;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        run_ddl(manager, DDL).await
    }
}
