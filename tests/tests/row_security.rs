//! PostgreSQL row-level security as defense in depth: as the application role, raw SQL with
//! no tenant set sees no rows and cannot write any, and the tenant set for one transaction
//! does not leak into the next transaction on the same pooled connection.
//! Runs only when `LATCHKEY_TEST_DATABASE_URL` names PostgreSQL.

use latchkey_tests::{TestApp, test_database_url};
use sea_orm::{
    ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DbBackend, Statement,
    TransactionTrait,
};
use serde_json::json;

async fn count(connection: &impl ConnectionTrait, tenant_id: &str) -> i64 {
    let row = connection
        .query_one_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT count(*) AS n FROM identities WHERE tenant_id = $1::uuid",
            [tenant_id.into()],
        ))
        .await
        .unwrap()
        .unwrap();
    row.try_get::<i64>("", "n").unwrap()
}

async fn set_tenant(connection: &impl ConnectionTrait, tenant_id: &str) {
    connection
        .execute_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT set_config('latchkey.tenant_id', $1, true)",
            [tenant_id.into()],
        ))
        .await
        .unwrap();
}

#[tokio::test]
async fn application_role_sees_only_the_tenant_set_for_its_transaction() {
    let Some(url) = test_database_url() else {
        eprintln!("skipped: LATCHKEY_TEST_DATABASE_URL is not set (PostgreSQL only)");
        return;
    };
    let app = TestApp::start().await;
    let a = app.create_tenant("rls-a").await;
    let b = app.create_tenant("rls-b").await;
    app.create_identity(&a, "rls@example.com").await;
    app.create_identity(&b, "rls@example.com").await;

    let mut options = ConnectOptions::new(url);
    options.max_connections(1).min_connections(1);
    let connection: DatabaseConnection = Database::connect(options).await.unwrap();
    let bypass = connection
        .query_one_raw(Statement::from_string(
            DbBackend::Postgres,
            "SELECT (rolsuper OR rolbypassrls) AS bypass FROM pg_roles WHERE rolname = current_user",
        ))
        .await
        .unwrap()
        .unwrap()
        .try_get::<bool>("", "bypass")
        .unwrap();
    assert!(
        !bypass,
        "the test database URL must use the application role, not a superuser"
    );

    // No tenant set: nothing visible, even when asking for the tenant by id.
    assert_eq!(count(&connection, &a.id).await, 0);
    let total = connection
        .query_one_raw(Statement::from_string(
            DbBackend::Postgres,
            "SELECT count(*) AS n FROM api_keys",
        ))
        .await
        .unwrap()
        .unwrap()
        .try_get::<i64>("", "n")
        .unwrap();
    assert_eq!(total, 0);

    // Tenant A set for one transaction: A's rows only.
    let tx = connection.begin().await.unwrap();
    set_tenant(&tx, &a.id).await;
    assert_eq!(count(&tx, &a.id).await, 1);
    assert_eq!(count(&tx, &b.id).await, 0);
    // Writing a row of tenant B while A is set is refused by the policy.
    let insert = tx
        .execute_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "INSERT INTO audit_events (tenant_id, id, actor_type, action, data, occurred_at) VALUES ($1::uuid, gen_random_uuid(), 'test', 'test', '{}', now())",
            [b.id.clone().into()],
        ))
        .await;
    assert!(insert.is_err(), "cross-tenant insert must fail");
    tx.rollback().await.unwrap();

    let tx = connection.begin().await.unwrap();
    set_tenant(&tx, &a.id).await;
    tx.commit().await.unwrap();
    // The same (only) pooled connection, next transaction: the setting is gone.
    let tx = connection.begin().await.unwrap();
    assert_eq!(count(&tx, &a.id).await, 0);
    tx.commit().await.unwrap();
    assert_eq!(count(&connection, &a.id).await, 0);

    // Without a tenant, even writes to a tenant's own rows are refused.
    let insert = connection
        .execute_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "INSERT INTO audit_events (tenant_id, id, actor_type, action, data, occurred_at) VALUES ($1::uuid, gen_random_uuid(), 'test', 'test', '{}', now())",
            [a.id.clone().into()],
        ))
        .await;
    assert!(insert.is_err());

    // The application keeps working through all of this.
    let listed = app
        .tenant(&a, "{ identities { totalCount } }", json!({}))
        .await;
    assert_eq!(listed.data()["identities"]["totalCount"], 1);
    app.stop().await;
}
