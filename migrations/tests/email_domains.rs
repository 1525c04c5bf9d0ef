//! The migration that gives stored email addresses with an internationalized domain their
//! ASCII form, on rows written as the server wrote them before it: on SQLite, and on
//! PostgreSQL in a database of its own when `LATCHKEY_TEST_MIGRATION_DATABASE_URL` is set.

use latchkey_migrations::{Migrator, MigratorTrait};
use sea_orm_migration::sea_orm::{
    ConnectionTrait, Database, DatabaseConnection, DbBackend, Statement,
};

const AT: &str = "'2026-12-01T00:00:00Z'";

/// The literal of the test id `n` on `backend`.
fn id(backend: DbBackend, n: u8) -> String {
    match backend {
        DbBackend::Postgres => format!("'00000000-0000-0000-0000-0000000000{n:02x}'"),
        _ => format!("X'{n:02x}'"),
    }
}

async fn normalized(db: &DatabaseConnection, table: &str, n: u8) -> String {
    let backend = db.get_database_backend();
    let row = db
        .query_one_raw(Statement::from_string(
            backend,
            format!(
                "SELECT email_normalized FROM {table} WHERE id = {}",
                id(backend, n)
            ),
        ))
        .await
        .unwrap()
        .unwrap();
    row.try_get("", "email_normalized").unwrap()
}

#[tokio::test]
async fn internationalized_domains_get_their_ascii_form_on_sqlite() {
    let path =
        std::env::temp_dir().join(format!("latchkey-email-domains-{}.db", std::process::id()));
    let _ = std::fs::remove_file(&path);
    let db = Database::connect(format!("sqlite://{}?mode=rwc", path.display()))
        .await
        .unwrap();
    migrate_and_check(&db).await;
    db.close().await.unwrap();
    let _ = std::fs::remove_file(&path);
}

#[tokio::test]
async fn internationalized_domains_get_their_ascii_form_on_postgres() {
    let Some(url) = std::env::var("LATCHKEY_TEST_MIGRATION_DATABASE_URL")
        .ok()
        .filter(|url| url.starts_with("postgres"))
    else {
        return;
    };
    // A database of its own: the suites share theirs, already migrated.
    let admin = Database::connect(url.as_str()).await.unwrap();
    let name = format!("latchkey_email_domains_{}", std::process::id());
    let create = |sql: String| Statement::from_string(DbBackend::Postgres, sql);
    admin
        .execute_raw(create(format!("DROP DATABASE IF EXISTS {name}")))
        .await
        .unwrap();
    admin
        .execute_raw(create(format!("CREATE DATABASE {name}")))
        .await
        .unwrap();
    let (base, _) = url.rsplit_once('/').unwrap();
    let db = Database::connect(format!("{base}/{name}")).await.unwrap();
    migrate_and_check(&db).await;
    db.close().await.unwrap();
    admin
        .execute_raw(create(format!("DROP DATABASE {name}")))
        .await
        .unwrap();
}

async fn migrate_and_check(db: &DatabaseConnection) {
    let backend = db.get_database_backend();
    let id = |n: u8| id(backend, n);
    Migrator::up(db, Some(9)).await.unwrap();
    let identity = |tenant: u8, n: u8, email: &str, normalized: &str, deleted: bool| {
        let deleted = if deleted { AT } else { "NULL" };
        format!(
            "INSERT INTO identities (tenant_id, id, email, email_normalized, email_verified, status, attributes, created_at, updated_at, deleted_at) \
             VALUES ({}, {}, '{email}', '{normalized}', false, 'active', '{{}}', {AT}, {AT}, {deleted})",
            id(tenant),
            id(n)
        )
    };
    let tenant = |n: u8, slug: &str| {
        format!(
            "INSERT INTO tenants (id, slug, name, status, settings, created_at, updated_at) VALUES ({}, '{slug}', '{slug}', 'active', '{{}}', {AT}, {AT})",
            id(n)
        )
    };
    // Rows are written as the server writes them: under its tenant's row-level security.
    let in_tenant = |n: u8, sql: String| match backend {
        DbBackend::Postgres => format!(
            "BEGIN; SELECT set_config('latchkey.tenant_id', {}, true); {sql}; COMMIT",
            id(n)
        ),
        _ => sql,
    };
    for statement in [
        tenant(1, "alpha"),
        tenant(2, "bravo"),
        in_tenant(
            1,
            identity(1, 1, "Ada@Exämple.com", "ada@exämple.com", false),
        ),
        in_tenant(
            1,
            identity(1, 2, "bob@example.com", "bob@example.com", false),
        ),
        // The same mailbox in both spellings: the older row keeps its form.
        in_tenant(1, identity(1, 3, "cy@exämple.com", "cy@exämple.com", false)),
        in_tenant(
            1,
            identity(
                1,
                4,
                "cy@xn--exmple-cua.com",
                "cy@xn--exmple-cua.com",
                false,
            ),
        ),
        // A deleted identity takes no form from anyone.
        in_tenant(
            1,
            identity(1, 5, "bob@exämple.com", "bob@exämple.com", true),
        ),
        in_tenant(
            1,
            identity(
                1,
                6,
                "bob@xn--exmple-cua.com",
                "bob@xn--exmple-cua.com",
                false,
            ),
        ),
        in_tenant(2, identity(2, 7, "cy@exämple.com", "cy@exämple.com", false)),
        in_tenant(
            1,
            format!(
                "INSERT INTO organizations (tenant_id, id, name, slug, kind, metadata, created_at, updated_at) VALUES ({}, {}, 'Org', 'org', 'organization', '{{}}', {AT}, {AT})",
                id(1),
                id(8)
            ),
        ),
        in_tenant(
            1,
            format!(
                "INSERT INTO invitations (tenant_id, id, organization_id, email, email_normalized, roles, token_hash, created_at, sent_at, expires_at) \
             VALUES ({}, {}, {}, 'Dee@Exämple.com', 'dee@exämple.com', '[]', 'h', {AT}, {AT}, {AT})",
                id(1),
                id(9),
                id(8)
            ),
        ),
    ] {
        db.execute_unprepared(&statement).await.unwrap();
    }

    Migrator::up(db, None).await.unwrap();
    assert_eq!(
        normalized(db, "identities", 1).await,
        "ada@xn--exmple-cua.com"
    );
    assert_eq!(normalized(db, "identities", 2).await, "bob@example.com");
    assert_eq!(normalized(db, "identities", 3).await, "cy@exämple.com");
    assert_eq!(
        normalized(db, "identities", 4).await,
        "cy@xn--exmple-cua.com"
    );
    assert_eq!(
        normalized(db, "identities", 5).await,
        "bob@xn--exmple-cua.com"
    );
    assert_eq!(
        normalized(db, "identities", 7).await,
        "cy@xn--exmple-cua.com"
    );
    assert_eq!(
        normalized(db, "invitations", 9).await,
        "dee@xn--exmple-cua.com"
    );
}
