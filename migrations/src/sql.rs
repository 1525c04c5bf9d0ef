//! Helpers that let one SQL text serve both backends.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DbBackend};

/// Runs `ddl` after replacing the portable type names `UUID`, `TIMESTAMPTZ`, `JSONB` and
/// `BYTEA` with what the connected backend stores them as.
pub async fn run_ddl(manager: &SchemaManager<'_>, ddl: &str) -> Result<(), DbErr> {
    let connection = manager.get_connection();
    let text = match connection.get_database_backend() {
        DbBackend::Sqlite => ddl
            .replace("UUID", "BLOB")
            .replace("TIMESTAMPTZ", "TEXT")
            .replace("JSONB", "TEXT")
            .replace("BYTEA", "BLOB"),
        _ => ddl.to_owned(),
    };
    for statement in text.split(';').map(str::trim).filter(|s| !s.is_empty()) {
        connection.execute_unprepared(statement).await?;
    }
    Ok(())
}

/// On PostgreSQL: turns on (and forces) row-level security for a tenant-owned table, with a
/// policy that shows and accepts only rows of the tenant set by `SET LOCAL` for the
/// transaction. Without the setting no row is visible.
pub async fn tenant_isolation(manager: &SchemaManager<'_>, table: &str) -> Result<(), DbErr> {
    let connection = manager.get_connection();
    if connection.get_database_backend() != DbBackend::Postgres {
        return Ok(());
    }
    let current = "NULLIF(current_setting('latchkey.tenant_id', true), '')::uuid";
    for statement in [
        format!("ALTER TABLE {table} ENABLE ROW LEVEL SECURITY"),
        format!("ALTER TABLE {table} FORCE ROW LEVEL SECURITY"),
        format!(
            "CREATE POLICY tenant_isolation ON {table} USING (tenant_id = {current}) WITH CHECK (tenant_id = {current})"
        ),
    ] {
        connection.execute_unprepared(&statement).await?;
    }
    Ok(())
}

/// On PostgreSQL: creates the application role if it does not exist yet (roles are shared by
/// every database of a cluster, so another database may have created it; a migration role
/// without CREATEROLE works once an operator has created it) and grants it data
/// access to every table, including the ones this migration added.
pub async fn grant_app_role(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    let connection = manager.get_connection();
    if connection.get_database_backend() != DbBackend::Postgres {
        return Ok(());
    }
    let role = crate::APP_ROLE;
    connection
        .execute_unprepared(&format!(
            "DO $$ BEGIN \
             IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{role}') THEN \
             CREATE ROLE {role} NOLOGIN NOSUPERUSER NOBYPASSRLS; END IF; \
             EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$"
        ))
        .await?;
    connection
        .execute_unprepared(&format!("GRANT USAGE ON SCHEMA public TO {role}"))
        .await?;
    connection
        .execute_unprepared(&format!(
            "GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {role}"
        ))
        .await?;
    Ok(())
}

/// On PostgreSQL: lets the outbox dispatcher's transactions (`latchkey.dispatcher` = `on`)
/// read and update `table` in every tenant; never insert or delete.
pub async fn dispatcher_access(manager: &SchemaManager<'_>, table: &str) -> Result<(), DbErr> {
    let connection = manager.get_connection();
    if connection.get_database_backend() != DbBackend::Postgres {
        return Ok(());
    }
    let on = "current_setting('latchkey.dispatcher', true) = 'on'";
    for statement in [
        format!("CREATE POLICY dispatcher_read ON {table} FOR SELECT USING ({on})"),
        format!(
            "CREATE POLICY dispatcher_update ON {table} FOR UPDATE USING ({on}) WITH CHECK ({on})"
        ),
    ] {
        connection.execute_unprepared(&statement).await?;
    }
    Ok(())
}
