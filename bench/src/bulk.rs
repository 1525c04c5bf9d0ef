//! Bench-only bulk seeding: identities written straight into the server's `identities` table
//! (columns as `migrations/` defines them) in one statement, so that a tenant of a million
//! identities takes seconds instead of a million `createIdentity` calls. Run it while the server
//! is stopped: the server then reads these rows like any other. They have no audit events, no
//! outbox events and no passkeys, which the listing and the lookup by email do not read.
//!
//! Identity `n` (0-based) is `user{n}@example.com`, verified, active, named `User {n}`. Ids are
//! UUIDv7 like the server's, their time the identity's creation time: one millisecond apart,
//! starting a day before the seeding, so they sort in creation order.

use chrono::Utc;
use sea_orm::{ConnectionTrait, Database, DbBackend, Statement, TransactionTrait};

/// `$1` tenant id, `$2` creation time of identity 0 in Unix milliseconds, `$3` count.
const POSTGRES: &str = "
INSERT INTO identities (tenant_id, id, email, email_normalized, email_verified, display_name,
                        status, attributes, consents, created_at, updated_at)
SELECT $1::uuid,
       (lpad(to_hex($2::bigint + n), 12, '0') || '7' || lpad(to_hex(n % 4096), 3, '0')
        || '8' || lpad(to_hex((n / 4096) % 4096), 3, '0') || lpad(to_hex(n), 12, '0'))::uuid,
       'user' || n || '@example.com', 'user' || n || '@example.com', true, 'User ' || n,
       'active', '{}', '{}', stamp, stamp
FROM generate_series(0::bigint, $3::bigint - 1) AS n,
     LATERAL (SELECT to_timestamp(($2::bigint + n) / 1000.0::float8) AS stamp) AS created";

/// The same for SQLite, where the schema stores UUIDs as 16-byte blobs and times as RFC 3339
/// text.
const SQLITE: &str = "
WITH RECURSIVE seq(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM seq WHERE n + 1 < ?3)
INSERT INTO identities (tenant_id, id, email, email_normalized, email_verified, display_name,
                        status, attributes, consents, created_at, updated_at)
SELECT unhex(replace(?1, '-', '')),
       unhex(printf('%012x7%03x8%03x%012x', ?2 + n, n % 4096, (n / 4096) % 4096, n)),
       'user' || n || '@example.com', 'user' || n || '@example.com', 1, 'User ' || n,
       'active', '{}', '{}', stamp, stamp
FROM (SELECT n, strftime('%Y-%m-%dT%H:%M:%f+00:00', (?2 + n) / 1000.0, 'unixepoch') AS stamp
      FROM seq)";

/// The email of seeded identity `n`.
pub fn seeded_email(n: u64) -> String {
    format!("user{n}@example.com")
}

/// Inserts `count` identities into tenant `tenant_id` through `database_url` (the schema
/// owner's on PostgreSQL, where the table is then vacuumed and analysed as autovacuum would
/// after such a load, so that it does not do it during a measurement).
pub async fn insert_identities(database_url: &str, tenant_id: &str, count: u64) {
    let db = Database::connect(database_url)
        .await
        .expect("the bench connects to the database");
    let backend = db.get_database_backend();
    let first_ms = Utc::now().timestamp_millis() - 86_400_000 - count as i64;
    let values = [tenant_id.into(), first_ms.into(), (count as i64).into()];
    let tx = db.begin().await.expect("a transaction");
    let insert = match backend {
        DbBackend::Postgres => {
            // Row-level security lets the owner insert only into the transaction's tenant.
            tx.execute_raw(Statement::from_sql_and_values(
                backend,
                "SELECT set_config('latchkey.tenant_id', $1, true)",
                [tenant_id.into()],
            ))
            .await
            .expect("the tenant is set");
            POSTGRES
        }
        _ => SQLITE,
    };
    let inserted = tx
        .execute_raw(Statement::from_sql_and_values(backend, insert, values))
        .await
        .expect("identities are inserted")
        .rows_affected();
    assert_eq!(inserted, count);
    tx.commit().await.expect("the insert commits");
    if backend == DbBackend::Postgres {
        db.execute_unprepared("VACUUM ANALYZE identities")
            .await
            .expect("VACUUM ANALYZE identities");
    }
    db.close().await.expect("the connection closes");
}
