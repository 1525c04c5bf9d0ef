//! Scoped storage: the only way code outside this module reaches a table. A [`TenantTx`] hands
//! out queries on tenant-owned tables ([`TenantOwned`]) with the tenant filter already in
//! them, sets the tenant on every insert and adds it to every update and delete; there is no raw
//! SQL on a tenant's tables (a query that ranks rows, [`Query::first_of_each`], is built from a
//! scoped query, so it keeps the tenant filter). Cross-tenant work has narrow
//! transactions that reach only their own tables: [`PlatformTx`] the platform catalogue
//! ([`PlatformTable`]), [`DispatchTx`] the work queues ([`QueueTable`]).
//!
//! A [`Query`] holds its transaction's connection privately: it can be narrowed (filters,
//! order, limits, joins) and run, but no unscoped query can be run on it.
//!
//! A service declares its rows tenant-owned and reaches them through the transaction:
//!
//! ```
//! mod row {
//!     use sea_orm::entity::prelude::*;
//!
//!     #[sea_orm::model]
//!     #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
//!     #[sea_orm(table_name = "notes")]
//!     pub struct Model {
//!         #[sea_orm(primary_key, auto_increment = false)]
//!         pub tenant_id: Uuid,
//!         #[sea_orm(primary_key, auto_increment = false)]
//!         pub id: Uuid,
//!     }
//!
//!     impl ActiveModelBehavior for ActiveModel {}
//! }
//! latchkey_core::tenant_owned!(row);
//!
//! async fn notes(tx: &latchkey_core::db::TenantTx) -> Result<Vec<row::Model>, sea_orm::DbErr> {
//!     tx.find::<row::Entity>().all().await
//! }
//! ```
//!
//! A table not declared tenant-owned cannot be queried at all:
//!
//! ```compile_fail
//! mod row {
//!     use sea_orm::entity::prelude::*;
//!
//!     #[sea_orm::model]
//!     #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
//!     #[sea_orm(table_name = "notes")]
//!     pub struct Model {
//!         #[sea_orm(primary_key, auto_increment = false)]
//!         pub tenant_id: Uuid,
//!         #[sea_orm(primary_key, auto_increment = false)]
//!         pub id: Uuid,
//!     }
//!
//!     impl ActiveModelBehavior for ActiveModel {}
//! }
//!
//! async fn notes(tx: &latchkey_core::db::TenantTx) -> Result<Vec<row::Model>, sea_orm::DbErr> {
//!     tx.find::<row::Entity>().all().await
//! }
//! ```
//!
//! An unscoped query (the tenant filter forgotten) does not compile: a transaction is no
//! connection, and neither it nor a [`Query`] hands its connection out.
//!
//! ```compile_fail
//! mod row {
//!     use sea_orm::entity::prelude::*;
//!
//!     #[sea_orm::model]
//!     #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
//!     #[sea_orm(table_name = "notes")]
//!     pub struct Model {
//!         #[sea_orm(primary_key, auto_increment = false)]
//!         pub tenant_id: Uuid,
//!         #[sea_orm(primary_key, auto_increment = false)]
//!         pub id: Uuid,
//!     }
//!
//!     impl ActiveModelBehavior for ActiveModel {}
//! }
//! latchkey_core::tenant_owned!(row);
//!
//! async fn every_tenants_notes(
//!     tx: &latchkey_core::db::TenantTx,
//! ) -> Result<Vec<row::Model>, sea_orm::DbErr> {
//!     use sea_orm::EntityTrait;
//!     row::Entity::find().all(tx).await
//! }
//! ```
//!
//! ```compile_fail
//! fn raw(tx: &latchkey_core::db::TenantTx) -> &sea_orm::DatabaseTransaction {
//!     &tx.transaction
//! }
//! ```
//!
//! ```compile_fail
//! fn raw<'t, Q>(query: &latchkey_core::db::Query<'t, Q>) -> &'t sea_orm::DatabaseTransaction {
//!     query.connection
//! }
//! ```

use super::{DispatchTx, PlatformTx, TenantTx};
use crate::freshness::Guard;
use chrono::{DateTime, Utc};
use sea_orm::sea_query::{
    self, Asterisk, DeleteStatement, Expr, ExprTrait, IntoIden, Order, SelectStatement, SimpleExpr,
    UpdateStatement, WindowStatement,
};
use sea_orm::{
    ActiveModelBehavior, ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseTransaction,
    DbBackend, DbErr, DeleteMany, DeleteResult, EntityTrait, IntoActiveModel, PaginatorTrait,
    QueryFilter, QueryOrder, QuerySelect, QueryTrait, Select, SelectGetableTuple, SelectModel,
    Selector, SelectorRaw, SelectorTrait, Statement, TryGetableMany, UpdateMany, UpdateResult,
    Value,
};
use uuid::Uuid;

/// The UTC calendar day (`YYYY-MM-DD`) of the timestamp column `column`, in the SQL of
/// `backend`, for counts per day. `column` is a name written in the code, never input.
pub(crate) fn utc_day(backend: DbBackend, column: &'static str) -> SimpleExpr {
    match backend {
        DbBackend::Postgres => Expr::cust(format!(
            "to_char({column} AT TIME ZONE 'UTC', 'YYYY-MM-DD')"
        )),
        // SQLite keeps timestamps as UTC text that starts with the date.
        _ => Expr::cust(format!("substr({column}, 1, 10)")),
    }
}

/// A table whose rows belong to one tenant. Implemented with [`tenant_owned!`](crate::tenant_owned).
pub trait TenantOwned: EntityTrait {
    /// What a change to its rows makes stale in the replicas' caches: a transaction that
    /// updates or deletes rows of a guarded table publishes the change when it commits.
    const GUARD: Guard = Guard::Nothing;

    /// The column that holds the owning tenant's id.
    fn tenant_column() -> Self::Column;
}

/// A table of the platform, read before any tenant is known (the tenant catalogue, custom
/// domains, platform credentials, the deployment's administrators).
pub trait PlatformTable: EntityTrait {
    /// What a change to its rows makes stale in the replicas' caches: tenant resolution,
    /// unless the table says otherwise.
    const GUARD: Guard = Guard::Catalogue;
}

/// A work queue that background workers claim from across tenants.
pub trait QueueTable: TenantOwned {}

/// Declares the entity of row module `$module` owned by the tenant in its `tenant_id` column
/// (or in the column named second, for the tenant's own row); `guards Tenant` (or
/// `guards Catalogue`) declares what its changes make stale ([`Guard`]).
#[macro_export]
macro_rules! tenant_owned {
    ($module:ident) => {
        $crate::tenant_owned!($module, TenantId, guards Nothing);
    };
    ($module:ident, guards $guard:ident) => {
        $crate::tenant_owned!($module, TenantId, guards $guard);
    };
    ($module:ident, $column:ident) => {
        $crate::tenant_owned!($module, $column, guards Nothing);
    };
    ($module:ident, $column:ident, guards $guard:ident) => {
        impl $crate::db::TenantOwned for $module::Entity {
            const GUARD: $crate::freshness::Guard = $crate::freshness::Guard::$guard;

            fn tenant_column() -> $module::Column {
                $module::Column::$column
            }
        }
    };
}

/// A query bound to the transaction that made it: narrow it with the sea-orm builder traits,
/// then run it with `one`, `all`, `count` or `exec`.
#[derive(Clone, Debug)]
pub struct Query<'t, Q> {
    connection: &'t DatabaseTransaction,
    query: Q,
}

fn bound<Q>(connection: &DatabaseTransaction, query: Q) -> Query<'_, Q> {
    Query { connection, query }
}

impl<E: EntityTrait> QueryFilter for Query<'_, Select<E>> {
    type QueryStatement = SelectStatement;

    fn query(&mut self) -> &mut SelectStatement {
        QueryFilter::query(&mut self.query)
    }
}

impl<E: EntityTrait> QueryOrder for Query<'_, Select<E>> {
    type QueryStatement = SelectStatement;

    fn query(&mut self) -> &mut SelectStatement {
        QueryOrder::query(&mut self.query)
    }
}

impl<E: EntityTrait> QuerySelect for Query<'_, Select<E>> {
    type QueryStatement = SelectStatement;

    fn query(&mut self) -> &mut SelectStatement {
        QuerySelect::query(&mut self.query)
    }
}

impl<E: EntityTrait> QueryFilter for Query<'_, UpdateMany<E>> {
    type QueryStatement = UpdateStatement;

    fn query(&mut self) -> &mut UpdateStatement {
        QueryFilter::query(&mut self.query)
    }
}

impl<E: EntityTrait> QueryFilter for Query<'_, DeleteMany<E>> {
    type QueryStatement = DeleteStatement;

    fn query(&mut self) -> &mut DeleteStatement {
        QueryFilter::query(&mut self.query)
    }
}

impl<E: EntityTrait> Query<'_, Select<E>> {
    /// This query's statement, its tenant filter included, to narrow another scoped query of
    /// the same transaction (`IN (…)`); it cannot be run on its own.
    pub(crate) fn into_statement(self) -> SelectStatement {
        self.query.into_query()
    }
}

impl<'t, E> Query<'t, Select<E>>
where
    E: EntityTrait,
    E::Model: Send + Sync,
{
    pub async fn one(self) -> Result<Option<E::Model>, DbErr> {
        self.query.one(self.connection).await
    }

    pub async fn all(self) -> Result<Vec<E::Model>, DbErr> {
        self.query.all(self.connection).await
    }

    pub async fn count(self) -> Result<u64, DbErr> {
        self.query.count(self.connection).await
    }

    /// Selects the chosen columns as a tuple.
    pub fn into_tuple<T: TryGetableMany>(self) -> Query<'t, Selector<SelectGetableTuple<T>>> {
        bound(self.connection, self.query.into_tuple())
    }

    /// The first `limit` rows by `order` of each value of `partition` among the rows this query
    /// selects, ordered by `partition` then `order`, in one statement. The query's filters (the
    /// tenant's among them) apply before the rows are ranked, so no partition comes back short.
    pub fn first_of_each(
        self,
        partition: E::Column,
        order: E::Column,
        limit: u64,
    ) -> Query<'t, SelectorRaw<SelectModel<E::Model>>> {
        const RANK: &str = "rank_in_partition";
        let mut ranked = self.query.into_query();
        ranked.expr_window_as(
            Expr::cust("ROW_NUMBER()"),
            WindowStatement::partition_by(partition)
                .order_by(order, Order::Asc)
                .take(),
            RANK,
        );
        let first = sea_query::Query::select()
            .column(Asterisk)
            .from_subquery(ranked, "ranked")
            .and_where(Expr::col(RANK).lte(i64::try_from(limit).unwrap_or(i64::MAX)))
            .order_by(partition, Order::Asc)
            .order_by(order, Order::Asc)
            .to_owned();
        let statement = self.connection.get_database_backend().build(&first);
        bound(self.connection, E::find().from_raw_sql(statement))
    }
}

impl<S: SelectorTrait> Query<'_, Selector<S>> {
    pub async fn one(self) -> Result<Option<S::Item>, DbErr> {
        self.query.one(self.connection).await
    }

    pub async fn all(self) -> Result<Vec<S::Item>, DbErr> {
        self.query.all(self.connection).await
    }
}

impl<S: SelectorTrait> Query<'_, SelectorRaw<S>> {
    pub async fn one(self) -> Result<Option<S::Item>, DbErr> {
        self.query.one(self.connection).await
    }

    pub async fn all(self) -> Result<Vec<S::Item>, DbErr> {
        self.query.all(self.connection).await
    }
}

impl<E: EntityTrait> Query<'_, UpdateMany<E>> {
    pub fn col_expr<T: IntoIden>(self, column: T, expr: impl Into<SimpleExpr>) -> Self {
        bound(self.connection, self.query.col_expr(column, expr.into()))
    }

    pub async fn exec(self) -> Result<UpdateResult, DbErr> {
        self.query.exec(self.connection).await
    }
}

impl<E: EntityTrait> Query<'_, DeleteMany<E>> {
    pub async fn exec(self) -> Result<DeleteResult, DbErr> {
        self.query.exec(self.connection).await
    }
}

impl TenantTx {
    fn scoped<A>(&self, mut model: A) -> A
    where
        A: ActiveModelTrait,
        A::Entity: TenantOwned,
    {
        model.set(
            <A::Entity as TenantOwned>::tenant_column(),
            self.tenant_id().into(),
        );
        model
    }

    pub fn backend(&self) -> DbBackend {
        self.transaction.get_database_backend()
    }

    /// Rows of `E` in this tenant.
    pub fn find<E: TenantOwned>(&self) -> Query<'_, Select<E>> {
        bound(
            &self.transaction,
            E::find().filter(E::tenant_column().eq(self.tenant_id())),
        )
    }

    /// An update of rows of `E` in this tenant.
    pub fn update_many<E: TenantOwned>(&self) -> Query<'_, UpdateMany<E>> {
        self.changes(E::GUARD);
        bound(
            &self.transaction,
            E::update_many().filter(E::tenant_column().eq(self.tenant_id())),
        )
    }

    /// An update that only records use (a last-used or last-sign-in time) of rows of `E` in
    /// this tenant: no cached decision reads those columns, so it publishes no change even on
    /// a guarded table. Anything else is an [`update_many`](Self::update_many).
    pub fn record_use<E: TenantOwned>(&self) -> Query<'_, UpdateMany<E>> {
        bound(
            &self.transaction,
            E::update_many().filter(E::tenant_column().eq(self.tenant_id())),
        )
    }

    /// A deletion of rows of `E` in this tenant.
    pub fn delete_many<E: TenantOwned>(&self) -> Query<'_, DeleteMany<E>> {
        self.changes(E::GUARD);
        bound(
            &self.transaction,
            E::delete_many().filter(E::tenant_column().eq(self.tenant_id())),
        )
    }

    /// Inserts `model` as a row of this tenant (whatever tenant it names).
    pub async fn insert<A>(&self, model: A) -> Result<<A::Entity as EntityTrait>::Model, DbErr>
    where
        A: ActiveModelTrait + ActiveModelBehavior + Send,
        A::Entity: TenantOwned,
        <A::Entity as EntityTrait>::Model: IntoActiveModel<A>,
    {
        self.scoped(model).insert(&self.transaction).await
    }

    /// Inserts `models` as rows of this tenant (whatever tenant they name) in one statement,
    /// for bulk work such as imports; nothing is returned.
    pub async fn insert_many<A>(&self, models: Vec<A>) -> Result<(), DbErr>
    where
        A: ActiveModelTrait + Send,
        A::Entity: TenantOwned,
    {
        if models.is_empty() {
            return Ok(());
        }
        let models: Vec<A> = models.into_iter().map(|model| self.scoped(model)).collect();
        <A::Entity as EntityTrait>::insert_many(models)
            .exec_without_returning(&self.transaction)
            .await?;
        Ok(())
    }

    /// Updates `model`'s row in this tenant (a row of another tenant is never touched: the
    /// tenant is part of every primary key).
    pub async fn update<A>(&self, model: A) -> Result<<A::Entity as EntityTrait>::Model, DbErr>
    where
        A: ActiveModelTrait + ActiveModelBehavior + Send,
        A::Entity: TenantOwned,
        <A::Entity as EntityTrait>::Model: IntoActiveModel<A>,
    {
        self.changes(<A::Entity as TenantOwned>::GUARD);
        self.scoped(model).update(&self.transaction).await
    }

    /// Deletes `model`'s row in this tenant.
    pub async fn delete<A>(&self, model: A) -> Result<DeleteResult, DbErr>
    where
        A: ActiveModelTrait + ActiveModelBehavior + Send,
        A::Entity: TenantOwned,
    {
        self.changes(<A::Entity as TenantOwned>::GUARD);
        self.scoped(model).delete(&self.transaction).await
    }
}

impl PlatformTx {
    /// Rows of a platform table.
    pub fn find<E: PlatformTable>(&self) -> Query<'_, Select<E>> {
        bound(&self.transaction, E::find())
    }

    pub fn update_many<E: PlatformTable>(&self) -> Query<'_, UpdateMany<E>> {
        self.changed.note(E::GUARD);
        bound(&self.transaction, E::update_many())
    }

    pub fn delete_many<E: PlatformTable>(&self) -> Query<'_, DeleteMany<E>> {
        self.changed.note(E::GUARD);
        bound(&self.transaction, E::delete_many())
    }

    pub async fn insert<A>(&self, model: A) -> Result<<A::Entity as EntityTrait>::Model, DbErr>
    where
        A: ActiveModelTrait + ActiveModelBehavior + Send,
        A::Entity: PlatformTable,
        <A::Entity as EntityTrait>::Model: IntoActiveModel<A>,
    {
        model.insert(&self.transaction).await
    }

    pub async fn update<A>(&self, model: A) -> Result<<A::Entity as EntityTrait>::Model, DbErr>
    where
        A: ActiveModelTrait + ActiveModelBehavior + Send,
        A::Entity: PlatformTable,
        <A::Entity as EntityTrait>::Model: IntoActiveModel<A>,
    {
        self.changed.note(<A::Entity as PlatformTable>::GUARD);
        model.update(&self.transaction).await
    }
}

/// Which rows of a queue table [`DispatchTx::claim_due`] claims. The names and the condition
/// are SQL written in the code, never input.
pub struct DueClaim<'a> {
    pub table: &'static str,
    /// The key columns, e.g. `tenant_id, id`.
    pub key: &'static str,
    /// When a row is due; the claim moves it to the lease's end.
    pub due_column: &'static str,
    /// A column the claim sets to now, if any (`updated_at`).
    pub stamp_column: Option<&'static str>,
    /// Another condition rows must meet, if any (`status = 'pending'`).
    pub condition: Option<&'a str>,
    /// Rows claimed at most.
    pub limit: i64,
}

impl DispatchTx {
    pub fn backend(&self) -> DbBackend {
        self.transaction.get_database_backend()
    }

    /// Queue rows of every tenant.
    pub fn find<E: QueueTable>(&self) -> Query<'_, Select<E>> {
        bound(&self.transaction, E::find())
    }

    /// Whether a queue row of any tenant is due (`due` at or before `now`). Only a read, so an
    /// idle round that finds nothing takes no write lock (on SQLite, the one writer's).
    pub async fn any_due<E>(&self, due: E::Column, now: DateTime<Utc>) -> crate::error::Result<bool>
    where
        E: QueueTable,
        E::Model: Send + Sync,
    {
        Ok(self.find::<E>().filter(due.lte(now)).count().await? > 0)
    }

    /// An update of queue rows of the tenant a claimed row belongs to.
    pub fn update_many_of<E: QueueTable>(&self, tenant_id: Uuid) -> Query<'_, UpdateMany<E>> {
        bound(
            &self.transaction,
            E::update_many().filter(E::tenant_column().eq(tenant_id)),
        )
    }

    /// Claims the due rows of a queue table of every tenant: an `UPDATE … RETURNING *` that
    /// moves each claimed row's due time to `until` (so no other replica takes it until then),
    /// oldest due first, skipping rows another transaction holds on PostgreSQL.
    pub fn claim_due<E: QueueTable>(
        &self,
        claim: DueClaim<'_>,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Query<'_, SelectorRaw<SelectModel<E::Model>>> {
        let backend = self.backend();
        let param = |n: usize| match backend {
            DbBackend::Postgres => format!("${n}"),
            _ => "?".to_owned(),
        };
        let lock = match backend {
            DbBackend::Postgres => " FOR UPDATE SKIP LOCKED",
            _ => "",
        };
        let DueClaim {
            table,
            key,
            due_column,
            stamp_column,
            condition,
            limit,
        } = claim;
        let mut values: Vec<Value> = vec![until.into()];
        let mut set = format!("{due_column} = {}", param(1));
        if let Some(stamp) = stamp_column {
            values.push(now.into());
            set.push_str(&format!(", {stamp} = {}", param(values.len())));
        }
        values.push(now.into());
        let due = param(values.len());
        values.push(limit.into());
        let limit = param(values.len());
        let condition = condition.map(|c| format!("{c} AND ")).unwrap_or_default();
        let sql = format!(
            "UPDATE {table} SET {set} WHERE ({key}) IN (SELECT {key} FROM {table} \
             WHERE {condition}{due_column} <= {due} ORDER BY {due_column} LIMIT {limit}{lock}) \
             RETURNING *"
        );
        bound(
            &self.transaction,
            E::find().from_raw_sql(Statement::from_sql_and_values(backend, sql, values)),
        )
    }
}
