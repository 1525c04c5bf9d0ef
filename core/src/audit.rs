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
        occurred_at: Set(Utc::now()),
    })
    .await?;
    Ok(())
}

/// Filters for [`list_audit_events`].
#[derive(Clone, Debug, Default)]
pub struct AuditFilter {
    pub action: Option<String>,
    pub target_id: Option<String>,
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
