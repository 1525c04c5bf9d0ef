//! CRM records that wait (`crm_waiting_records`). Latchkey trusts no unverified email address:
//! a pulled contact whose identity's address is not verified is not linked to it, copies none
//! of the CRM's data onto it, and creates no second identity for the address. It waits here
//! instead, as pulled (the CRM's later versions of the record replace it), with the reason the
//! tenant's admins see ([`list_waiting_records`]).
//!
//! When an identity's address is verified (an identity created verified, or `emailVerified`
//! turning true), or the identity changes address or is deleted, [`WaitingRecordReactions`]
//! releases the records waiting for it or for its address in that change's own transaction,
//! and wakes the dispatcher: it applies them like a pull (`pull::released`), so a change of
//! someone's address is never held up or rolled back by a CRM's data. A released record whose
//! identity is still not verified waits again.

use super::connector::find_row;
use super::records::RemoteRecord;
use chrono::{DateTime, SubsecRound, Utc};
use latchkey_core::actor::{Actor, Permission};
use latchkey_core::authz::{Resource, authorize};
use latchkey_core::db::{Database, TenantTx};
use latchkey_core::error::{Error, Result};
use latchkey_core::outbox::{DomainEvent, EventSubscriber, EventType};
use latchkey_core::page::{Page, PageRequest, keyset};
use latchkey_core::scope::TenantScope;
use latchkey_core::validate::Email;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, Condition, QueryFilter, Set};
use uuid::Uuid;

pub(crate) mod waiting_row {
    use sea_orm::entity::prelude::*;

    #[sea_orm::model]
    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "crm_waiting_records")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub tenant_id: Uuid,
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub connector_id: Uuid,
        pub remote_id: String,
        pub email: String,
        pub email_normalized: String,
        /// The identity whose address must be verified first.
        pub identity_id: Uuid,
        /// The [`RemoteRecord`](super::RemoteRecord) as pulled.
        pub record: Json,
        pub reason: String,
        /// Set when released for the dispatcher (then moved forward by its claim); null while
        /// the record waits.
        pub ready_at: Option<DateTimeUtc>,
        pub received_at: DateTimeUtc,
        pub updated_at: DateTimeUtc,
    }

    impl ActiveModelBehavior for ActiveModel {}
}
latchkey_core::tenant_owned!(waiting_row);
impl latchkey_core::db::QueueTable for waiting_row::Entity {}

/// Why a record waits for its identity.
pub(super) const UNVERIFIED: &str = "waiting: the identity's email address is not verified yet";

/// Keeps `record` waiting for `identity_id`'s address to be verified, with `reason`: a new row,
/// or the record's row brought up to date (and held back, if it had been released).
pub(super) async fn wait_in(
    tx: &TenantTx,
    connector_id: Uuid,
    record: &RemoteRecord,
    email: &Email,
    identity_id: Uuid,
    reason: &str,
) -> Result<()> {
    let now = Utc::now().trunc_subsecs(6);
    let stored = serde_json::to_value(record).map_err(Error::internal)?;
    let existing = tx
        .find::<waiting_row::Entity>()
        .filter(waiting_row::Column::ConnectorId.eq(connector_id))
        .filter(waiting_row::Column::RemoteId.eq(&record.id))
        .one()
        .await?;
    match existing {
        Some(row) => {
            let mut active: waiting_row::ActiveModel = row.into();
            active.email = Set(email.as_str().to_owned());
            active.email_normalized = Set(email.normalized().to_owned());
            active.identity_id = Set(identity_id);
            active.record = Set(stored);
            active.reason = Set(reason.to_owned());
            active.ready_at = Set(None);
            active.updated_at = Set(now);
            tx.update(active).await?;
        }
        None => {
            tx.insert(waiting_row::ActiveModel {
                tenant_id: Set(tx.scope().tenant_id()),
                id: Set(Uuid::now_v7()),
                connector_id: Set(connector_id),
                remote_id: Set(record.id.clone()),
                email: Set(email.as_str().to_owned()),
                email_normalized: Set(email.normalized().to_owned()),
                identity_id: Set(identity_id),
                record: Set(stored),
                reason: Set(reason.to_owned()),
                ready_at: Set(None),
                received_at: Set(now),
                updated_at: Set(now),
            })
            .await?;
        }
    }
    Ok(())
}

/// Holds a released record back with `reason` (it could not be applied): it waits until the
/// CRM sends it again, or its identity changes again.
pub(super) async fn hold_in(tx: &TenantTx, id: Uuid, reason: &str) -> Result<()> {
    tx.update_many::<waiting_row::Entity>()
        .col_expr(waiting_row::Column::Reason, Expr::value(reason))
        .col_expr(
            waiting_row::Column::ReadyAt,
            Expr::value(Option::<DateTime<Utc>>::None),
        )
        .col_expr(
            waiting_row::Column::UpdatedAt,
            Expr::value(Utc::now().trunc_subsecs(6)),
        )
        .filter(waiting_row::Column::Id.eq(id))
        .exec()
        .await?;
    Ok(())
}

/// The record no longer waits (it was applied, or its connector stopped pulling).
pub(super) async fn forget_in(tx: &TenantTx, connector_id: Uuid, remote_id: &str) -> Result<()> {
    tx.delete_many::<waiting_row::Entity>()
        .filter(waiting_row::Column::ConnectorId.eq(connector_id))
        .filter(waiting_row::Column::RemoteId.eq(remote_id))
        .exec()
        .await?;
    Ok(())
}

/// Removes a connector's waiting records, before the connector goes.
pub(super) async fn delete_for_connector_in(tx: &TenantTx, connector_id: Uuid) -> Result<()> {
    tx.delete_many::<waiting_row::Entity>()
        .filter(waiting_row::Column::ConnectorId.eq(connector_id))
        .exec()
        .await?;
    Ok(())
}

/// Releases the waiting records that `waiting` selects for the dispatcher, which is woken
/// when the transaction commits.
async fn release_in(tx: &TenantTx, waiting: Condition) -> Result<()> {
    let released = tx
        .update_many::<waiting_row::Entity>()
        .col_expr(
            waiting_row::Column::ReadyAt,
            Expr::value(Some(Utc::now().trunc_subsecs(6))),
        )
        .filter(waiting)
        .exec()
        .await?
        .rows_affected;
    if released > 0 {
        tx.wake_workers_on_commit();
    }
    Ok(())
}

/// Releases waiting records when an identity's address may have become one they can trust:
/// those waiting for the identity when its address or its verification changes or it is
/// deleted, and those waiting for its address when that address is verified. Runs in the
/// change's own transaction, so only that tenant's records are seen.
#[derive(Debug, Default)]
pub struct WaitingRecordReactions;

#[async_trait::async_trait]
impl EventSubscriber for WaitingRecordReactions {
    async fn on_event(
        &self,
        tx: &TenantTx,
        _actor: &Actor,
        event: &DomainEvent,
        changed: &[&'static str],
    ) -> Result<()> {
        let deleted = match EventType::parse(&event.event_type) {
            Some(EventType::IdentityCreated) => false,
            Some(EventType::IdentityUpdated)
                if changed.contains(&"email") || changed.contains(&"emailVerified") =>
            {
                false
            }
            // An erased identity's waiting records go: applying them would bring it back.
            Some(EventType::IdentityDeleted) if event.is_erasure() => {
                tx.delete_many::<waiting_row::Entity>()
                    .filter(waiting_row::Column::IdentityId.eq(event.subject_id))
                    .exec()
                    .await?;
                return Ok(());
            }
            Some(EventType::IdentityDeleted) => true,
            _ => return Ok(()),
        };
        let mut waiting =
            Condition::any().add(waiting_row::Column::IdentityId.eq(event.subject_id));
        if !deleted
            && event.data["emailVerified"].as_bool() == Some(true)
            && let Some(address) = event.data["email"]
                .as_str()
                .and_then(|email| Email::parse("email", email).ok())
        {
            waiting = waiting.add(waiting_row::Column::EmailNormalized.eq(address.normalized()));
        }
        release_in(tx, waiting).await
    }
}

/// A CRM record waiting to be applied.
#[derive(Clone, Debug)]
pub struct WaitingRecord {
    pub id: Uuid,
    pub connector_id: Uuid,
    /// The record's id in the CRM.
    pub remote_id: String,
    /// The address the record carries.
    pub email: String,
    /// The identity whose address must be verified first.
    pub identity_id: Uuid,
    pub reason: String,
    pub received_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<waiting_row::Model> for WaitingRecord {
    fn from(row: waiting_row::Model) -> Self {
        Self {
            id: row.id,
            connector_id: row.connector_id,
            remote_id: row.remote_id,
            email: row.email,
            identity_id: row.identity_id,
            reason: row.reason,
            received_at: row.received_at,
            updated_at: row.updated_at,
        }
    }
}

/// A connector's waiting records, oldest first; `NotFound` for a connector not in the
/// tenant. Requires `ReadConnectors`.
pub async fn list_waiting_records(
    db: &Database,
    scope: &TenantScope,
    actor: &Actor,
    connector_id: Uuid,
    page: PageRequest,
) -> Result<Page<WaitingRecord>> {
    authorize(actor, Permission::ReadConnectors, Resource::Tenant)?;
    let tx = db.begin_tenant(scope).await?;
    find_row(&tx, connector_id).await?;
    let query = tx
        .find::<waiting_row::Entity>()
        .filter(waiting_row::Column::ConnectorId.eq(connector_id));
    let rows = keyset(query, waiting_row::Column::Id, page).await?;
    tx.commit().await?;
    Ok(rows.map(WaitingRecord::from))
}
