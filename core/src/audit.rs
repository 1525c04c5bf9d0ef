//! The audit log: one row per administrative change, written in the transaction of the change.

use crate::actor::{Actor, Permission};
use crate::authz::{Resource, authorize};
use crate::db::{Database, TenantTx};
use crate::error::Result;
use crate::page::{Page, PageRequest, keyset};
use crate::scope::TenantScope;
use chrono::{DateTime, Utc};
use sea_orm::{ColumnTrait, QueryFilter, Set};
use serde_json::Value;
use uuid::Uuid;

mod row {
    use sea_orm::entity::prelude::*;

    #[sea_orm::model]
    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "audit_events")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub tenant_id: Uuid,
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub actor_type: String,
        pub actor_id: Option<String>,
        pub action: String,
        pub target_type: Option<String>,
        pub target_id: Option<String>,
        pub request_id: Option<String>,
        pub data: Json,
        pub occurred_at: DateTimeUtc,
    }

    impl ActiveModelBehavior for ActiveModel {}
}
crate::tenant_owned!(row);

/// What an audit event is about.
pub struct Target<'a> {
    pub kind: &'static str,
    pub id: &'a str,
}

/// One recorded change.
#[derive(Clone, Debug)]
pub struct AuditEvent {
    pub id: Uuid,
    pub actor_type: String,
    pub actor_id: Option<String>,
    pub action: String,
    pub target_type: Option<String>,
    pub target_id: Option<String>,
    pub request_id: Option<String>,
    pub data: Value,
    pub occurred_at: DateTime<Utc>,
}

impl From<row::Model> for AuditEvent {
    fn from(row: row::Model) -> Self {
        Self {
            id: row.id,
            actor_type: row.actor_type,
            actor_id: row.actor_id,
            action: row.action,
            target_type: row.target_type,
            target_id: row.target_id,
            request_id: row.request_id,
            data: row.data,
            occurred_at: row.occurred_at,
        }
    }
}

/// Records `action` by `actor` on `target` in the change's own transaction.
pub(crate) async fn record(
    tx: &TenantTx,
    actor: &Actor,
    action: &str,
    target: Option<Target<'_>>,
    mut data: Value,
) -> Result<()> {
    let (actor_type, actor_id) = actor.audit_identity();
    // A partner's admin acting in a customer organization: the record names the relationship.
    if let (Some(delegation), Some(fields)) = (tx.delegation(), data.as_object_mut()) {
        fields.insert("delegation".into(), delegation);
    }
    tx.insert(row::ActiveModel {
        tenant_id: Set(tx.tenant_id()),
        id: Set(Uuid::now_v7()),
        actor_type: Set(actor_type.to_owned()),
        actor_id: Set(actor_id),
        action: Set(action.to_owned()),
        target_type: Set(target.as_ref().map(|t| t.kind.to_owned())),
        target_id: Set(target.as_ref().map(|t| t.id.to_owned())),
        request_id: Set(actor.request_id().map(str::to_owned)),
        data: Set(data),
        occurred_at: Set(tx.now()),
    })
    .await?;
    Ok(())
}

/// Filters for [`list_audit_events`].
#[derive(Clone, Debug, Default)]
pub struct AuditFilter {
    pub action: Option<String>,
    pub target_id: Option<String>,
    /// `administrator`, `api_key`, `identity`, `platform`, …
    pub actor_type: Option<String>,
    pub actor_id: Option<String>,
    /// Entries recorded at or after this time.
    pub occurred_after: Option<DateTime<Utc>>,
    /// Entries recorded before this time.
    pub occurred_before: Option<DateTime<Utc>>,
}

/// The tenant's audit log, oldest first. Requires `ReadAuditEvents`.
#[tracing::instrument(name = "core.list_audit_events", skip_all, fields(tenant.id = %scope.tenant_id()))]
pub async fn list_audit_events(
    db: &Database,
    scope: &TenantScope,
    actor: &Actor,
    filter: AuditFilter,
    page: PageRequest,
) -> Result<Page<AuditEvent>> {
    authorize(actor, Permission::ReadAuditEvents, Resource::Tenant)?;
    let tx = db.begin_tenant(scope).await?;
    let mut query = tx.find::<row::Entity>();
    if let Some(action) = filter.action {
        query = query.filter(row::Column::Action.eq(action));
    }
    if let Some(target_id) = filter.target_id {
        query = query.filter(row::Column::TargetId.eq(target_id));
    }
    if let Some(actor_type) = filter.actor_type {
        query = query.filter(row::Column::ActorType.eq(actor_type));
    }
    if let Some(actor_id) = filter.actor_id {
        query = query.filter(row::Column::ActorId.eq(actor_id));
    }
    if let Some(after) = filter.occurred_after {
        query = query.filter(row::Column::OccurredAt.gte(after));
    }
    if let Some(before) = filter.occurred_before {
        query = query.filter(row::Column::OccurredAt.lt(before));
    }
    let rows = keyset(query, row::Column::Id, page).await?;
    tx.commit().await?;
    Ok(rows.map(AuditEvent::from))
}

/// The newest `limit` events with one of `actions` about the identity `identity_id` or one
/// of `passkey_ids`, newest first.
pub(crate) async fn events_about_in(
    tx: &TenantTx,
    identity_id: Uuid,
    passkey_ids: &[Uuid],
    actions: &[&str],
    limit: u64,
) -> Result<Vec<AuditEvent>> {
    use sea_orm::{Condition, QueryOrder, QuerySelect};
    let about = Condition::any()
        .add(
            Condition::all()
                .add(row::Column::TargetType.eq("identity"))
                .add(row::Column::TargetId.eq(identity_id.to_string())),
        )
        .add(
            Condition::all()
                .add(row::Column::TargetType.eq("passkey"))
                .add(row::Column::TargetId.is_in(passkey_ids.iter().map(Uuid::to_string))),
        );
    Ok(tx
        .find::<row::Entity>()
        .filter(about)
        .filter(row::Column::Action.is_in(actions.iter().copied()))
        .order_by_desc(row::Column::Id)
        .limit(limit)
        .all()
        .await?
        .into_iter()
        .map(AuditEvent::from)
        .collect())
}

/// What makes an entry about `identity_id`: it acted, it was the target, or the entry's data
/// names it (or, with `email`, its address).
fn about(identity_id: Uuid, email: Option<&str>) -> sea_orm::Condition {
    use crate::page::contains_pattern;
    use sea_orm::sea_query::{Alias, Expr, ExprTrait, Func, LikeExpr};
    let id = identity_id.to_string();
    let data_text = || Func::lower(Expr::col(row::Column::Data).cast_as(Alias::new("text")));
    let mut condition = sea_orm::Condition::any()
        .add(
            sea_orm::Condition::all()
                .add(row::Column::ActorType.eq("identity"))
                .add(row::Column::ActorId.eq(id.clone())),
        )
        .add(row::Column::TargetId.eq(id.clone()))
        .add(Expr::expr(data_text()).like(LikeExpr::new(contains_pattern(&id)).escape('\\')));
    if let Some(email) = email.filter(|email| !email.is_empty()) {
        condition = condition
            .add(Expr::expr(data_text()).like(LikeExpr::new(contains_pattern(email)).escape('\\')));
    }
    condition
}

/// Every entry about `identity_id`, oldest first, for its owner's data export.
pub(crate) async fn entries_about_in(tx: &TenantTx, identity_id: Uuid) -> Result<Vec<AuditEvent>> {
    use sea_orm::QueryOrder;
    Ok(tx
        .find::<row::Entity>()
        .filter(about(identity_id, None))
        .order_by_asc(row::Column::Id)
        .all()
        .await?
        .into_iter()
        .map(AuditEvent::from)
        .collect())
}

/// Makes the entries about `identity_id` (its account is being erased) pseudonymous: where
/// it acted or was the target, its id becomes `pseudonym`; the data of every entry about it
/// (naming its id or `email`) is removed. The entries themselves stay: what happened and when.
pub(crate) async fn pseudonymize_in(
    tx: &TenantTx,
    identity_id: Uuid,
    email: &str,
    pseudonym: &str,
) -> Result<()> {
    use sea_orm::sea_query::Expr;
    let id = identity_id.to_string();
    let erased = || Expr::value(serde_json::json!({ "erased": true }));
    tx.update_many::<row::Entity>()
        .col_expr(row::Column::ActorId, Expr::value(pseudonym))
        .filter(row::Column::ActorType.eq("identity"))
        .filter(row::Column::ActorId.eq(id.clone()))
        .exec()
        .await?;
    tx.update_many::<row::Entity>()
        .col_expr(row::Column::TargetId, Expr::value(pseudonym))
        .filter(row::Column::TargetId.eq(id))
        .exec()
        .await?;
    // Entries naming the pseudonym were about the identity too.
    let pseudonymous = sea_orm::Condition::any()
        .add(row::Column::ActorId.eq(pseudonym))
        .add(row::Column::TargetId.eq(pseudonym));
    tx.update_many::<row::Entity>()
        .col_expr(row::Column::Data, erased())
        .filter(
            sea_orm::Condition::any()
                .add(pseudonymous)
                .add(about(identity_id, Some(email))),
        )
        .exec()
        .await?;
    Ok(())
}

/// Records the erasure of an account under its `pseudonym`: by `actor` (an administrator's
/// `eraseIdentity`), or, without one, by the account's owner (its own deletion request, which
/// the entry names by the pseudonym too).
pub(crate) async fn record_erasure(
    tx: &TenantTx,
    actor: Option<&Actor>,
    pseudonym: &str,
    data: Value,
) -> Result<()> {
    let (actor_type, actor_id) = match actor {
        Some(actor) => actor.audit_identity(),
        None => ("identity", Some(pseudonym.to_owned())),
    };
    tx.insert(row::ActiveModel {
        tenant_id: Set(tx.tenant_id()),
        id: Set(Uuid::now_v7()),
        actor_type: Set(actor_type.to_owned()),
        actor_id: Set(actor_id),
        action: Set("identity.erase".to_owned()),
        target_type: Set(Some("identity".to_owned())),
        target_id: Set(Some(pseudonym.to_owned())),
        request_id: Set(actor.and_then(Actor::request_id).map(str::to_owned)),
        data: Set(data),
        occurred_at: Set(tx.now()),
    })
    .await?;
    Ok(())
}

/// Removes the entries that occurred before `cutoff` (the tenant's audit-log retention), at
/// most `batch` of them, oldest first; answers how many.
pub(crate) async fn prune_in(tx: &TenantTx, cutoff: DateTime<Utc>, batch: u64) -> Result<u64> {
    use sea_orm::{QueryOrder, QuerySelect};
    let ids: Vec<Uuid> = tx
        .find::<row::Entity>()
        .select_only()
        .column(row::Column::Id)
        .filter(row::Column::OccurredAt.lt(cutoff))
        .order_by_asc(row::Column::OccurredAt)
        .limit(batch)
        .into_tuple()
        .all()
        .await?;
    if ids.is_empty() {
        return Ok(0);
    }
    Ok(tx
        .delete_many::<row::Entity>()
        .filter(row::Column::Id.is_in(ids))
        .exec()
        .await?
        .rows_affected)
}

/// How many entries of any of `actions` were recorded per UTC day since `since`:
/// `(day, count)`.
pub(crate) async fn daily_counts_in(
    tx: &TenantTx,
    actions: &[&str],
    since: DateTime<Utc>,
) -> Result<Vec<(String, i64)>> {
    use sea_orm::QuerySelect;
    use sea_orm::sea_query::Expr;
    let day = crate::db::utc_day(tx.backend(), "occurred_at");
    Ok(tx
        .find::<row::Entity>()
        .select_only()
        .column_as(day.clone(), "day")
        .column_as(Expr::cust("COUNT(*)"), "count")
        .filter(row::Column::Action.is_in(actions.iter().copied()))
        .filter(row::Column::OccurredAt.gte(since))
        .group_by(day)
        .into_tuple()
        .all()
        .await?)
}
