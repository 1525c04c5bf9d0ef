//! The database handle and the transactions every repository function works in. On
//! PostgreSQL a tenant transaction sets `latchkey.tenant_id` with `set_config(…, true)` (the
//! function form of `SET LOCAL`), which row-level security policies compare against.

use crate::clock::{Clock, SystemClock};
use crate::error::{Error, Result};
use crate::freshness::{Change, Freshness, Guard};
use crate::near_cache::NearCache;
use crate::scope::{PlatformScope, TenantScope};
use sea_orm::{
    ConnectOptions, ConnectionTrait, DatabaseConnection, DatabaseTransaction, DbBackend, DbErr,
    Statement, TransactionTrait,
};
use sea_orm_migration_api::MigratorTrait;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU64, Ordering};
use std::time::Duration;
use tokio::sync::Notify;
use uuid::Uuid;

mod events;
mod scoped;

pub use events::{DomainEvent, EventSubscriber};
pub(crate) use scoped::utc_day;
pub use scoped::{DueClaim, PlatformTable, Query, QueueTable, TenantOwned};

// Keep the migrations crate's items under one clear name here.
use latchkey_migrations as sea_orm_migration_api;

/// Key of the PostgreSQL advisory lock that keeps two migration runs from racing.
const MIGRATION_LOCK: i64 = 0x6c61_7463_686b_6579; // "latchkey"

/// Statements run through a pool, counted by sea-orm's metric callback.
#[derive(Debug, Default)]
struct StatementCounts {
    succeeded: AtomicU64,
    failed: AtomicU64,
}

/// A pool of connections to SQLite or PostgreSQL.
#[derive(Clone, Debug)]
pub struct Database {
    connection: DatabaseConnection,
    /// Where tenants and platform credentials are resolved, before anyone is known. On a SQLite
    /// file it is a pool of its own beside the one writer (WAL lets readers run beside it), so
    /// one tenant's long request does not queue every other tenant's resolution behind it.
    /// Elsewhere it is `connection`.
    resolution: DatabaseConnection,
    statements: Arc<StatementCounts>,
    /// Rung when a transaction that queued background work (CRM deliveries) commits, so this
    /// process's workers start at once instead of at their next poll.
    work_queued: Arc<Notify>,
    /// Who reacts to domain events in the transaction that writes them (the outbox's
    /// subscribers: the CRM connectors queue their deliveries).
    subscribers: Arc<[Arc<dyn EventSubscriber>]>,
    /// Lookups kept in memory, and the counters that say whether they still hold (bumped by
    /// the commits of transactions that changed a guarded table).
    near_cache: NearCache,
    /// What time-based rules inside transactions measure against ([`TenantTx::now`]).
    clock: Arc<dyn Clock>,
}

impl Database {
    /// Connects to `url` (`sqlite://…`, `sqlite::memory:` or `postgres://…`). SQLite gets one
    /// connection for transactions: it has one writer anyway, a deferred transaction that
    /// starts reading and then writes fails with "database is locked" when another connection
    /// writes, and every connection to `sqlite::memory:` would be a database of its own. A
    /// SQLite file is put in WAL mode and gets a second, read-only pool for tenant resolution
    /// (`RESOLUTION_READERS` connections), whose reads never write and so never wait for the
    /// writer.
    ///
    /// The error is the driver's, with its cause (connection refused, authentication failed),
    /// for the start-up to say.
    pub(crate) async fn connect(url: &str, pool: PoolSettings) -> Result<Self, DbErr> {
        let statements = Arc::new(StatementCounts::default());
        let sqlite = url.starts_with("sqlite:");
        let writers = PoolSettings {
            max_connections: if sqlite { 1 } else { pool.max_connections },
            ..pool
        };
        let connection = open_pool(url, writers, &statements).await?;
        let resolution = if sqlite && !url.contains(":memory:") && !url.contains("mode=memory") {
            connection
                .execute_unprepared("PRAGMA journal_mode=WAL")
                .await?;
            let readers = PoolSettings {
                max_connections: RESOLUTION_READERS,
                ..pool
            };
            open_pool(url, readers, &statements).await?
        } else {
            connection.clone()
        };
        Ok(Self {
            connection,
            resolution,
            statements,
            work_queued: Arc::new(Notify::new()),
            subscribers: Arc::new([]),
            near_cache: NearCache::new(Arc::new(Freshness::default())),
            clock: Arc::new(SystemClock),
        })
    }

    /// This pool with its transactions telling the time by `clock` (tests move theirs).
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// The time time-based rules are measured against.
    pub fn now(&self) -> chrono::DateTime<chrono::Utc> {
        self.clock.now()
    }

    /// This replica's cache of lookups.
    pub fn near_cache(&self) -> &NearCache {
        &self.near_cache
    }

    fn freshness(&self) -> Arc<Freshness> {
        self.near_cache.freshness().clone()
    }

    /// This pool with `subscriber` told of every domain event, in the event's transaction.
    pub(crate) fn with_subscriber(mut self, subscriber: Arc<dyn EventSubscriber>) -> Self {
        let mut subscribers = self.subscribers.to_vec();
        subscribers.push(subscriber);
        self.subscribers = subscribers.into();
        self
    }

    /// Completes when a transaction of this pool that queued background work has committed
    /// (at once if one did since the last wait).
    pub async fn work_queued(&self) {
        self.work_queued.notified().await;
    }

    /// How many SQL statements this pool has run: (succeeded, failed).
    pub fn statements(&self) -> (u64, u64) {
        (
            self.statements.succeeded.load(Ordering::Relaxed),
            self.statements.failed.load(Ordering::Relaxed),
        )
    }

    pub fn backend(&self) -> DbBackend {
        self.connection.get_database_backend()
    }

    /// Applies every pending migration. On PostgreSQL an advisory lock serialises concurrent
    /// runs (several replicas, or a Job racing a replica).
    pub async fn migrate(&self) -> Result<()> {
        if self.backend() != DbBackend::Postgres {
            return sea_orm_migration_api::Migrator::up(&self.connection, None)
                .await
                .map_err(Error::from);
        }
        let lock = self.connection.begin().await?;
        lock.execute_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT pg_advisory_xact_lock($1)",
            [MIGRATION_LOCK.into()],
        ))
        .await?;
        sea_orm_migration_api::Migrator::up(&lock, None).await?;
        lock.commit().await?;
        Ok(())
    }

    /// The number of migrations not applied yet.
    pub async fn pending_migrations(&self) -> Result<usize> {
        Ok(
            sea_orm_migration_api::Migrator::get_pending_migrations_read_only(&self.connection)
                .await?
                .len(),
        )
    }

    /// Open and idle connections of the pool, for metrics.
    pub fn pool_usage(&self) -> (u32, usize) {
        match self.backend() {
            DbBackend::Postgres => {
                let pool = self.connection.get_postgres_connection_pool();
                (pool.size(), pool.num_idle())
            }
            _ => {
                let pool = self.connection.get_sqlite_connection_pool();
                (pool.size(), pool.num_idle())
            }
        }
    }

    /// Checks that the database answers.
    pub async fn ping(&self) -> Result<()> {
        self.connection.ping().await.map_err(Error::from)
    }

    /// On PostgreSQL: whether the connected role skips row-level security (superuser or
    /// `BYPASSRLS`), which production must not do.
    pub async fn role_bypasses_row_security(&self) -> Result<bool> {
        if self.backend() != DbBackend::Postgres {
            return Ok(false);
        }
        let row = self
            .connection
            .query_one_raw(Statement::from_string(
                DbBackend::Postgres,
                "SELECT (rolsuper OR rolbypassrls) AS bypass FROM pg_roles WHERE rolname = current_user",
            ))
            .await?;
        Ok(match row {
            Some(row) => row.try_get::<bool>("", "bypass")?,
            None => false,
        })
    }

    /// Opens a transaction in which only `scope`'s rows are visible (PostgreSQL) and which
    /// every repository function of the core requires.
    pub async fn begin_tenant(&self, scope: &TenantScope) -> Result<TenantTx> {
        let transaction = self.connection.begin().await?;
        set_tenant(&transaction, scope.tenant_id()).await?;
        Ok(TenantTx {
            transaction,
            scope: scope.clone(),
            work_queued: self.work_queued.clone(),
            queued: AtomicBool::new(false),
            subscribers: self.subscribers.clone(),
            freshness: self.freshness(),
            changed: Changed::default(),
            clock: self.clock.clone(),
            delegation: std::sync::Mutex::new(None),
        })
    }

    /// Opens a transaction for platform work (the tenant catalogue).
    pub async fn begin_platform(&self, _scope: &PlatformScope) -> Result<PlatformTx> {
        self.platform_tx(self.connection.begin().await?)
    }

    fn platform_tx(&self, transaction: DatabaseTransaction) -> Result<PlatformTx> {
        Ok(PlatformTx {
            transaction,
            work_queued: self.work_queued.clone(),
            subscribers: self.subscribers.clone(),
            freshness: self.freshness(),
            changed: Changed::default(),
            clock: self.clock.clone(),
        })
    }

    /// A transaction of the outbox dispatcher: on PostgreSQL it sets `latchkey.dispatcher`,
    /// which lets it see the due deliveries of every tenant (and nothing else beyond the
    /// tenantless tables).
    pub async fn begin_dispatcher(&self) -> Result<DispatchTx> {
        let transaction = self.connection.begin().await?;
        if transaction.get_database_backend() == DbBackend::Postgres {
            transaction
                .execute_unprepared("SELECT set_config('latchkey.dispatcher', 'on', true)")
                .await?;
        }
        Ok(DispatchTx { transaction })
    }

    /// A transaction for resolving a tenant or a platform credential before anyone is known
    /// (it only reads: on a SQLite file it runs on the resolution pool).
    pub(crate) async fn begin_resolution(&self) -> Result<PlatformTx> {
        self.platform_tx(self.resolution.begin().await?)
    }
}

/// Connections of the resolution pool beside a SQLite file's one writer.
const RESOLUTION_READERS: u32 = 4;

/// How a pool is sized and how long a request waits for one of its connections.
#[derive(Clone, Copy, Debug)]
pub struct PoolSettings {
    pub max_connections: u32,
    /// The longest a request waits for a connection (opening one included) before it fails
    /// with [`Error::Unavailable`]: a database that is down answers within this, not later.
    pub acquire_timeout: Duration,
}

impl PoolSettings {
    /// The default wait for a connection (`LATCHKEY_DATABASE_ACQUIRE_TIMEOUT_MS`).
    pub const DEFAULT_ACQUIRE_TIMEOUT: Duration = Duration::from_secs(2);

    pub fn new(max_connections: u32) -> Self {
        Self {
            max_connections,
            acquire_timeout: Self::DEFAULT_ACQUIRE_TIMEOUT,
        }
    }
}

/// A pool of `pool.max_connections` to `url`, counting its statements into `statements`.
async fn open_pool(
    url: &str,
    pool: PoolSettings,
    statements: &Arc<StatementCounts>,
) -> Result<DatabaseConnection, DbErr> {
    let mut options = ConnectOptions::new(url.to_owned());
    options
        .max_connections(pool.max_connections)
        .min_connections(0)
        .connect_timeout(pool.acquire_timeout)
        .acquire_timeout(pool.acquire_timeout)
        .sqlx_logging(false);
    let mut connection = sea_orm::Database::connect(options).await?;
    let counts = statements.clone();
    connection.set_metric_callback(move |info| {
        let counter = if info.failed {
            &counts.failed
        } else {
            &counts.succeeded
        };
        counter.fetch_add(1, Ordering::Relaxed);
    });
    Ok(connection)
}

async fn set_tenant(transaction: &DatabaseTransaction, tenant_id: Uuid) -> Result<()> {
    if transaction.get_database_backend() == DbBackend::Postgres {
        transaction
            .execute_raw(Statement::from_sql_and_values(
                DbBackend::Postgres,
                "SELECT set_config('latchkey.tenant_id', $1, true)",
                [tenant_id.to_string().into()],
            ))
            .await?;
    }
    Ok(())
}

/// The widest [`Guard`] a transaction's changes reached, published when it commits.
#[derive(Default)]
struct Changed(AtomicU8);

impl Changed {
    fn note(&self, guard: Guard) {
        let level = match guard {
            Guard::Nothing => return,
            Guard::Tenant => 1,
            Guard::Catalogue => 2,
        };
        self.0.fetch_max(level, Ordering::Relaxed);
    }

    /// Applies and publishes what changed in `tenant` once the transaction committed.
    async fn publish(&self, freshness: &Freshness, tenant: Option<Uuid>) {
        let change = match (self.0.load(Ordering::Relaxed), tenant) {
            (0, _) => return,
            (1, Some(tenant)) => Change::Tenant(tenant),
            _ => Change::Everything,
        };
        freshness.changed(change).await;
    }
}

/// A transaction bound to one tenant.
pub struct TenantTx {
    transaction: DatabaseTransaction,
    scope: TenantScope,
    work_queued: Arc<Notify>,
    queued: AtomicBool,
    subscribers: Arc<[Arc<dyn EventSubscriber>]>,
    freshness: Arc<Freshness>,
    changed: Changed,
    clock: Arc<dyn Clock>,
    /// How the caller reaches what it acts on, when not in its own right (a partner's admin
    /// through a relationship): every audit record of the transaction names it.
    delegation: std::sync::Mutex<Option<serde_json::Value>>,
}

impl TenantTx {
    /// Notes that the caller acts through `delegation` (see [`Self::delegation`]).
    pub(crate) fn act_through(&self, delegation: serde_json::Value) {
        *self
            .delegation
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(delegation);
    }

    /// The delegation the caller acts through in this transaction, if any.
    pub(crate) fn delegation(&self) -> Option<serde_json::Value> {
        self.delegation
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    pub fn scope(&self) -> &TenantScope {
        &self.scope
    }

    /// The time time-based rules in this transaction are measured against (the database's
    /// clock: the system's, or a test's).
    pub fn now(&self) -> chrono::DateTime<chrono::Utc> {
        self.clock.now()
    }

    pub(crate) fn tenant_id(&self) -> Uuid {
        self.scope.tenant_id()
    }

    pub(crate) fn subscribers(&self) -> &[Arc<dyn EventSubscriber>] {
        &self.subscribers
    }

    /// Notes that this transaction queued background work: the workers are woken on commit.
    pub fn wake_workers_on_commit(&self) {
        self.queued.store(true, Ordering::Relaxed);
    }

    /// Notes a change to a table guarded by `guard`.
    pub(crate) fn changes(&self, guard: Guard) {
        self.changed.note(guard);
    }

    pub async fn commit(self) -> Result<()> {
        self.transaction.commit().await.map_err(Error::from)?;
        self.changed
            .publish(&self.freshness, Some(self.scope.tenant_id()))
            .await;
        if self.queued.load(Ordering::Relaxed) {
            self.work_queued.notify_one();
        }
        Ok(())
    }
}

/// A transaction over the platform tables (tenants, domains, platform credentials).
pub struct PlatformTx {
    transaction: DatabaseTransaction,
    work_queued: Arc<Notify>,
    subscribers: Arc<[Arc<dyn EventSubscriber>]>,
    freshness: Arc<Freshness>,
    changed: Changed,
    clock: Arc<dyn Clock>,
}

impl PlatformTx {
    /// Turns this transaction into one bound to a tenant created or resolved in it, so that the
    /// tenant's first rows are written atomically with the tenant itself.
    pub(crate) async fn into_tenant(self, scope: TenantScope) -> Result<TenantTx> {
        set_tenant(&self.transaction, scope.tenant_id()).await?;
        Ok(TenantTx {
            transaction: self.transaction,
            scope,
            work_queued: self.work_queued,
            queued: AtomicBool::new(false),
            subscribers: self.subscribers,
            freshness: self.freshness,
            changed: self.changed,
            clock: self.clock,
            delegation: std::sync::Mutex::new(None),
        })
    }

    pub async fn commit(self) -> Result<()> {
        self.transaction.commit().await.map_err(Error::from)?;
        self.changed.publish(&self.freshness, None).await;
        Ok(())
    }
}

/// A transaction of a background worker over the work queues of every tenant (and nothing
/// else): it claims due rows, then does each one's work in a tenant transaction.
pub struct DispatchTx {
    transaction: DatabaseTransaction,
}

impl DispatchTx {
    pub async fn commit(self) -> Result<()> {
        self.transaction.commit().await.map_err(Error::from)
    }
}
