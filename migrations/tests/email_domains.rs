//! The migration that gives stored email addresses with an internationalized domain their
//! ASCII form, on SQLite rows written as the server wrote them before it.

use latchkey_migrations::{Migrator, MigratorTrait};
use sea_orm_migration::sea_orm::{ConnectionTrait, Database, DatabaseConnection};

const AT: &str = "'2026-12-01T00:00:00Z'";

async fn normalized(db: &DatabaseConnection, table: &str, id: u8) -> String {
    let row = db
        .query_one_raw(sea_orm_migration::sea_orm::Statement::from_string(
            db.get_database_backend(),
            format!("SELECT email_normalized FROM {table} WHERE id = X'{id:02x}'"),
        ))
        .await
        .unwrap()
        .unwrap();
    row.try_get("", "email_normalized").unwrap()
}

#[tokio::test]
async fn internationalized_domains_get_their_ascii_form_once() {
    let path = std::env::temp_dir().join(format!(
        "latchkey-email-domains-{}.db",
        std::process::id()
    ));
    let _ = std::fs::remove_file(&path);
    let db = Database::connect(format!("sqlite://{}?mode=rwc", path.display()))
        .await
        .unwrap();
    Migrator::up(&db, Some(9)).await.unwrap();
    let identity = |tenant: u8, id: u8, email: &str, normalized: &str, deleted: bool| {
        let deleted = if deleted { AT } else { "NULL" };
        format!(
            "INSERT INTO identities (tenant_id, id, email, email_normalized, email_verified, status, attributes, created_at, updated_at, deleted_at) \
             VALUES (X'{tenant:02x}', X'{id:02x}', '{email}', '{normalized}', 0, 'active', '{{}}', {AT}, {AT}, {deleted})"
        )
    };
    for statement in [
        format!("INSERT INTO tenants (id, slug, name, status, settings, created_at, updated_at) VALUES (X'01', 'alpha', 'Alpha', 'active', '{{}}', {AT}, {AT})"),
        format!("INSERT INTO tenants (id, slug, name, status, settings, created_at, updated_at) VALUES (X'02', 'bravo', 'Bravo', 'active', '{{}}', {AT}, {AT})"),
        identity(1, 1, "Ada@Exämple.com", "ada@exämple.com", false),
        identity(1, 2, "bob@example.com", "bob@example.com", false),
        // The same mailbox in both spellings: the older row keeps its form.
        identity(1, 3, "cy@exämple.com", "cy@exämple.com", false),
        identity(1, 4, "cy@xn--exmple-cua.com", "cy@xn--exmple-cua.com", false),
        // A deleted identity takes no form from anyone.
        identity(1, 5, "bob@exämple.com", "bob@exämple.com", true),
        identity(1, 6, "bob@xn--exmple-cua.com", "bob@xn--exmple-cua.com", false),
        identity(2, 7, "cy@exämple.com", "cy@exämple.com", false),
        format!("INSERT INTO organizations (tenant_id, id, name, slug, kind, metadata, created_at, updated_at) VALUES (X'01', X'08', 'Org', 'org', 'organization', '{{}}', {AT}, {AT})"),
        format!(
            "INSERT INTO invitations (tenant_id, id, organization_id, email, email_normalized, roles, token_hash, created_at, sent_at, expires_at) \
             VALUES (X'01', X'09', X'08', 'Dee@Exämple.com', 'dee@exämple.com', '[]', 'h', {AT}, {AT}, {AT})"
        ),
    ] {
        db.execute_unprepared(&statement).await.unwrap();
    }

    Migrator::up(&db, None).await.unwrap();
    assert_eq!(normalized(&db, "identities", 1).await, "ada@xn--exmple-cua.com");
    assert_eq!(normalized(&db, "identities", 2).await, "bob@example.com");
    assert_eq!(normalized(&db, "identities", 3).await, "cy@exämple.com");
    assert_eq!(normalized(&db, "identities", 4).await, "cy@xn--exmple-cua.com");
    assert_eq!(normalized(&db, "identities", 5).await, "bob@xn--exmple-cua.com");
    assert_eq!(normalized(&db, "identities", 7).await, "cy@xn--exmple-cua.com");
    assert_eq!(normalized(&db, "invitations", 9).await, "dee@xn--exmple-cua.com");
    db.close().await.unwrap();
    let _ = std::fs::remove_file(&path);
}
