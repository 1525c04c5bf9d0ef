//! Custom domains of tenants are verified by a DNS TXT record before they route: each row gets
//! the token of its record and the time it was verified. Domains added before this migration
//! were already routing, so they are marked verified (at the time they were added) and keep
//! working; their token is never checked.

use crate::sql::run_ddl;
use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DbBackend};

#[derive(DeriveMigrationName)]
pub struct Migration;

const DDL: &str = r#"
ALTER TABLE tenant_domains ADD COLUMN verification_token TEXT NOT NULL DEFAULT '';
ALTER TABLE tenant_domains ADD COLUMN verified_at TIMESTAMPTZ NULL
"#;

/// SQLite has no row-level security.
const BACKFILL_SQLITE: &str = "UPDATE tenant_domains \
    SET verification_token = lower(hex(randomblob(32))), verified_at = created_at";

/// On PostgreSQL, `tenant_domains` keeps its forced row-level security: the rows are updated
/// one tenant at a time with that tenant set for the transaction, as the server does, so this
/// works for a migration role that is the table's owner without BYPASSRLS.
const BACKFILL_POSTGRES: &str = r#"
DO $$
DECLARE t uuid;
BEGIN
    FOR t IN SELECT DISTINCT tenant_id FROM tenant_domains LOOP
        PERFORM set_config('latchkey.tenant_id', t::text, true);
        UPDATE tenant_domains
            SET verification_token = md5(random()::text || id::text), verified_at = created_at
            WHERE tenant_id = t;
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
            connection
                .execute_unprepared(
                    "ALTER TABLE tenant_domains ALTER COLUMN verification_token DROP DEFAULT",
                )
                .await?;
        } else {
            connection.execute_unprepared(BACKFILL_SQLITE).await?;
        }
        Ok(())
    }
}
