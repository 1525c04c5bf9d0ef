//! The successor of a rotated refresh token, kept sealed on the spent token's row under a key
//! derived from the spent token itself, so that presenting it again within the tenant's reuse
//! interval answers the same new token (see `core/src/sessions.rs`). The table keeps its
//! row-level security.

use crate::sql::run_ddl;
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

const DDL: &str = "ALTER TABLE refresh_tokens ADD COLUMN successor_sealed TEXT NULL";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        run_ddl(manager, DDL).await
    }
}
