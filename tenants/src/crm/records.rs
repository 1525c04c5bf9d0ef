//! CRM records as Latchkey knows them: a record as pulled from a CRM ([`RemoteRecord`]), and
//! the links (`crm_records`) that say which CRM record of a connector is which identity or
//! organization, written by pushes (the CRM's answer) and pulls alike. A link also says
//! whether its record created the subject (a pull that found no identity): the CRM is then
//! the identity's source, so its record may keep it current whatever its address's state.

use chrono::{DateTime, Utc};
use latchkey_core::actor::Permission;
use latchkey_core::authz::Grant;
use latchkey_core::db::TenantTx;
use latchkey_core::error::Result;
use sea_orm::{ColumnTrait, QueryFilter, Set};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use uuid::Uuid;

/// A CRM record as pulled: its id in the CRM, its fields by CRM field name (Latchkey field
/// names for a `WEBHOOK` connector), and for a contact its company or account.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct RemoteRecord {
    pub id: String,
    pub fields: Map<String, Value>,
    pub company: Option<Box<RemoteRecord>>,
}

/// Where a pulled contract stands.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ContractState {
    /// Won (or active): it gives access within its dates.
    #[default]
    Won,
    /// Lost or cancelled: it gives nothing after its `ends`.
    Ended,
}

impl ContractState {
    pub fn as_str(self) -> &'static str {
        match self {
            ContractState::Won => "won",
            ContractState::Ended => "ended",
        }
    }
}

/// A closed deal or opportunity as pulled, the contract: its dates, what was bought and who is
/// on it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RemoteContract {
    pub id: String,
    pub state: ContractState,
    /// When access starts: the contract's start date, else the day it was won.
    pub starts: Option<DateTime<Utc>>,
    /// When access ends (exclusive): the day after its end date; for an ended contract the
    /// day it was lost or cancelled, if earlier.
    pub ends: Option<DateTime<Utc>>,
    /// Each product or line item bought, by its identifiers (SKU, product code, id, name).
    pub products: Vec<Vec<String>>,
    /// Its contacts (CRM record ids) with the role each has on it.
    pub contacts: Vec<(String, Option<String>)>,
    /// The company or account it was sold to (its CRM record id).
    pub company: Option<String>,
}

pub(crate) mod record_row {
    use sea_orm::entity::prelude::*;

    #[sea_orm::model]
    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "crm_records")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub tenant_id: Uuid,
        #[sea_orm(primary_key, auto_increment = false)]
        pub connector_id: Uuid,
        #[sea_orm(primary_key, auto_increment = false)]
        pub subject_id: Uuid,
        pub remote_id: String,
        pub updated_at: DateTimeUtc,
        pub created_subject: bool,
    }

    impl ActiveModelBehavior for ActiveModel {}
}
latchkey_core::tenant_owned!(record_row);

/// The subject a CRM record is linked to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Link {
    pub subject_id: Uuid,
    /// The record created the subject (a pull that found no identity for it).
    pub created_subject: bool,
}

pub(super) async fn linked_subject(
    tx: &TenantTx,
    connector_id: Uuid,
    remote_id: &str,
) -> Result<Option<Link>> {
    Ok(tx
        .find::<record_row::Entity>()
        .filter(record_row::Column::ConnectorId.eq(connector_id))
        .filter(record_row::Column::RemoteId.eq(remote_id))
        .one()
        .await?
        .map(|row| Link {
            subject_id: row.subject_id,
            created_subject: row.created_subject,
        }))
}

/// Every subject the connector's record `remote_id` is linked to (a CRM may use one id for a
/// contact and a company).
pub(super) async fn linked_subjects(
    tx: &TenantTx,
    connector_id: Uuid,
    remote_id: &str,
) -> Result<Vec<Uuid>> {
    Ok(tx
        .find::<record_row::Entity>()
        .filter(record_row::Column::ConnectorId.eq(connector_id))
        .filter(record_row::Column::RemoteId.eq(remote_id))
        .all()
        .await?
        .into_iter()
        .map(|row| row.subject_id)
        .collect())
}

pub(super) async fn remote_record(
    tx: &TenantTx,
    connector_id: Uuid,
    subject_id: Uuid,
) -> Result<Option<String>> {
    Ok(tx
        .find::<record_row::Entity>()
        .filter(record_row::Column::ConnectorId.eq(connector_id))
        .filter(record_row::Column::SubjectId.eq(subject_id))
        .one()
        .await?
        .map(|row| row.remote_id))
}

/// Links a connector's CRM record to a subject. `created_subject`: the record just created
/// it. A link to the same record keeps what it knew; a link to another record starts over.
pub(super) async fn remember_record(
    tx: &TenantTx,
    connector_id: Uuid,
    subject_id: Uuid,
    remote_id: &str,
    created_subject: bool,
) -> Result<()> {
    let existing = tx
        .find::<record_row::Entity>()
        .filter(record_row::Column::ConnectorId.eq(connector_id))
        .filter(record_row::Column::SubjectId.eq(subject_id))
        .one()
        .await?;
    match existing {
        Some(row) if row.remote_id == remote_id && (row.created_subject || !created_subject) => {}
        Some(row) => {
            let mut active: record_row::ActiveModel = row.into();
            active.remote_id = Set(remote_id.to_owned());
            active.created_subject = Set(created_subject);
            active.updated_at = Set(Utc::now());
            tx.update(active).await?;
        }
        None => {
            tx.insert(record_row::ActiveModel {
                tenant_id: Set(tx.scope().tenant_id()),
                connector_id: Set(connector_id),
                subject_id: Set(subject_id),
                remote_id: Set(remote_id.to_owned()),
                updated_at: Set(Utc::now()),
                created_subject: Set(created_subject),
            })
            .await?;
        }
    }
    Ok(())
}

/// A CRM record linked to an identity or organization, as exports show it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RecordLink {
    pub connector_id: Uuid,
    pub subject_id: Uuid,
    /// The record's id in the CRM.
    pub remote_id: String,
    pub updated_at: DateTime<Utc>,
}

/// The CRM records linked to `subject_ids`, of every connector (for exports).
pub async fn links_of_in(
    tx: &TenantTx,
    grant: &Grant<'_>,
    subject_ids: &[Uuid],
) -> Result<Vec<RecordLink>> {
    grant.require(Permission::ReadConnectors)?;
    Ok(tx
        .find::<record_row::Entity>()
        .filter(record_row::Column::SubjectId.is_in(subject_ids.iter().copied()))
        .all()
        .await?
        .into_iter()
        .map(|row| RecordLink {
            connector_id: row.connector_id,
            subject_id: row.subject_id,
            remote_id: row.remote_id,
            updated_at: row.updated_at,
        })
        .collect())
}

/// Forgets the CRM links of `subject_id` except those of the connectors in `keep` (its
/// erasure: they are still to be told).
pub(super) async fn forget_links_in(tx: &TenantTx, subject_id: Uuid, keep: &[Uuid]) -> Result<()> {
    tx.delete_many::<record_row::Entity>()
        .filter(record_row::Column::SubjectId.eq(subject_id))
        .filter(record_row::Column::ConnectorId.is_not_in(keep.iter().copied()))
        .exec()
        .await?;
    Ok(())
}

/// Forgets the link of `connector_id`'s record to `subject_id` (the connector was told of
/// the subject's erasure).
pub(super) async fn forget_record(
    tx: &TenantTx,
    connector_id: Uuid,
    subject_id: Uuid,
) -> Result<()> {
    tx.delete_many::<record_row::Entity>()
        .filter(record_row::Column::ConnectorId.eq(connector_id))
        .filter(record_row::Column::SubjectId.eq(subject_id))
        .exec()
        .await?;
    Ok(())
}

/// The CRM records linked to the signed-in caller, with their connectors' names and kinds,
/// for their data export.
pub(crate) async fn own_links_in(tx: &TenantTx, identity_id: Uuid) -> Result<Vec<Value>> {
    use super::connector::connector_row;
    let connectors = tx.find::<connector_row::Entity>().all().await?;
    Ok(tx
        .find::<record_row::Entity>()
        .filter(record_row::Column::SubjectId.eq(identity_id))
        .all()
        .await?
        .into_iter()
        .map(|row| {
            let connector = connectors.iter().find(|c| c.id == row.connector_id);
            serde_json::json!({
                "connector": connector.map(|c| c.name.clone()),
                "kind": connector.map(|c| c.kind.clone()),
                "recordId": row.remote_id,
                "linkedAt": row.updated_at,
            })
        })
        .collect())
}
